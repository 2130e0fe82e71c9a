package org.genrec.runtime.batching;

import org.genrec.runtime.onnx.ExecutionProvider;

import java.util.Locale;

/**
 * Whether concurrent requests' histories are encoded together in one graph call.
 *
 * <p>{@code AUTO} (the default) batches only on CUDA: a GPU runs one [32, 200] call in about the
 * time of one [1, 200] call, so batching multiplies its throughput. On CPU each request already
 * runs on its own search thread with one intra-op thread, the cores are the limit, and waiting
 * for a batch would only add latency.
 *
 * @param mode       ON, OFF or AUTO
 * @param maxBatch   most requests per graph call (also the largest batch bucket)
 * @param maxDelayMicros how long the first request of a batch waits for others
 */
public record EncodeBatching(Mode mode, int maxBatch, long maxDelayMicros) {

    public enum Mode {
        AUTO,
        ON,
        OFF;

        public static Mode parse(String value) {
            try {
                return valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("batching mode must be auto, on or off, got [" + value + "]");
            }
        }
    }

    public static final int MAX_BATCH_LIMIT = 256;
    public static final EncodeBatching DEFAULT = new EncodeBatching(Mode.AUTO, 32, 1_000);
    public static final EncodeBatching OFF = new EncodeBatching(Mode.OFF, 1, 0);

    public EncodeBatching {
        if (mode == null) {
            throw new IllegalArgumentException("batching mode is required");
        }
        if (maxBatch < 1 || maxBatch > MAX_BATCH_LIMIT) {
            throw new IllegalArgumentException("batching max_batch must be between 1 and " + MAX_BATCH_LIMIT + ", got " + maxBatch);
        }
        if (maxDelayMicros < 0 || maxDelayMicros > 1_000_000) {
            throw new IllegalArgumentException("batching max_delay must be between 0 and 1s, got " + maxDelayMicros + " µs");
        }
    }

    /** Whether a model whose graphs run on {@code provider} batches. */
    public boolean enabledOn(ExecutionProvider provider) {
        return switch (mode) {
            case ON -> true;
            case OFF -> false;
            case AUTO -> provider == ExecutionProvider.CUDA;
        };
    }
}
