package org.genrec.runtime.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import org.genrec.runtime.onnx.InputTensors;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.FloatBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The A/B behind {@link InputTensors}: building the score call's largest input (the history
 * key cache, [L, 1, H, T, Dh] floats) as ONNX Runtime's API does from a heap array — a fresh
 * direct buffer and a copy per call, freed only when the GC gets to it — against the reused
 * per-thread direct buffer. Only tensor creation and closing differ between the two paths, so
 * that is what is timed; the session run is the same either way.
 *
 * <pre>
 * java -jar model-runtime-bench/target/model-runtime-benchmarks.jar InputTensorsBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = { "-Xmx512m" })
public class InputTensorsBenchmark {

    /** Floats in the cache: 2 layers x 2 heads x 201 positions x 32 (the ML-100K model, history 200); and the d 32 fixture's. */
    @Param({ "51456", "6528" })
    public int floats;

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private float[] cache;
    private long[] shape;

    @Setup
    public void setUp() {
        cache = new float[floats];
        for (int i = 0; i < floats; i++) {
            cache[i] = i * 1e-3f;
        }
        shape = new long[] { 1, floats };
    }

    @Benchmark
    public long freshDirectBufferPerCall() throws OrtException {
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(cache), shape)) {
            return tensor.getInfo().getShape()[1];
        }
    }

    @Benchmark
    public long reusedDirectBuffer() throws OrtException {
        try (OnnxTensor tensor = InputTensors.forThisThread().floats(env, "cache_keys", cache, shape)) {
            return tensor.getInfo().getShape()[1];
        }
    }
}
