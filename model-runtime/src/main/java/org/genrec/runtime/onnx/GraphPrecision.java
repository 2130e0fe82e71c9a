package org.genrec.runtime.onnx;

import java.util.Locale;

/**
 * Which variant of a bundle's graphs runs. A bundle holds float32 graphs ({@code encode},
 * {@code score}) and, from trainers that write them, float16 ones ({@code encode_fp16},
 * {@code score_fp16}: the transformer blocks in float16 behind the same float32/int64 interface,
 * docs/bundle-format.md). Float16 halves memory traffic and uses tensor cores on a GPU; on a CPU
 * ONNX Runtime computes float16 no faster than float32 and less exactly, so AUTO keeps CPU on float32.
 */
public enum GraphPrecision {
    /** float16 on CUDA when the bundle has the float16 graphs, float32 otherwise. */
    AUTO,
    FP32,
    /** float16 on any provider (CPU too: how the float16 graphs are tested without a GPU). */
    FP16;

    static final String FP16_SUFFIX = "_fp16";

    public static GraphPrecision parse(String value) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown graph precision [" + value + "]: use auto, fp32 or fp16");
        }
    }

    /** The variant a graph runs at on {@code provider}; never AUTO. */
    GraphPrecision on(ExecutionProvider provider, boolean bundleHasFp16) {
        return switch (this) {
            case AUTO -> provider == ExecutionProvider.CUDA && bundleHasFp16 ? FP16 : FP32;
            case FP32, FP16 -> this;
        };
    }

    /** The manifest name of graph {@code base} ("encode", "score") at this precision. */
    public String graphName(String base) {
        return this == FP16 ? base + FP16_SUFFIX : base;
    }
}
