package org.genrec.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Builds input tensors over direct buffers that each thread keeps and reuses, one per input name.
 *
 * <p>Why: given a heap array, ONNX Runtime's Java API allocates a fresh direct buffer and copies
 * into it on every call; that memory is returned only when the garbage collector gets to the
 * buffer, so under load the node's native memory (RSS) drifts upward between collections. A
 * direct buffer in native order is used as is. Buffers grow to the largest shape a thread has
 * seen (bounded by the manifest's limits) and are never shrunk.
 *
 * <p>The same holds for outputs: a graph run with pinned outputs ({@link #floatOutput}) writes into
 * this thread's buffers, and {@link #output} reads them where they are. Every accessor of an output
 * that ONNX Runtime allocated copies it into a new heap buffer first: for an encode call that was a
 * second copy of the whole cache (~420 KB at history 200, 4 layers) on top of the one per request.
 *
 * <p>Contract: a tensor made here is valid until the same thread asks again for the same input
 * name or releases its buffers ({@link #releaseThisThread}); callers create, run and close within
 * one call, which is all {@code GenrecModel} does.
 */
public final class InputTensors {

    private static final ThreadLocal<InputTensors> PER_THREAD = ThreadLocal.withInitial(InputTensors::new);

    private static final String OUTPUT = "output:"; // outputs' buffers apart from inputs' of the same name

    private final Map<String, ByteBuffer> buffers = new HashMap<>();

    private InputTensors() {}

    /** This thread's buffers. */
    public static InputTensors forThisThread() {
        return PER_THREAD.get();
    }

    /**
     * Drops this thread's buffers (the collector returns their memory), for a thread that is done with
     * the model for now: the one that warmed it up ran every shape bucket, the largest batches included.
     * The thread's next call allocates afresh.
     */
    public static void releaseThisThread() {
        PER_THREAD.remove();
    }

    /** Bytes of direct memory this thread's buffers hold. */
    public long heldBytes() {
        return buffers.values().stream().mapToLong(ByteBuffer::capacity).sum();
    }

    /** A tensor over {@code data[from, from + count)}. */
    public OnnxTensor longSlice(OrtEnvironment env, String name, long[] data, int from, int count, long... shape) throws OrtException {
        ByteBuffer bytes = buffer(name, (long) count * Long.BYTES);
        bytes.asLongBuffer().put(data, from, count);
        return OnnxTensor.createTensor(env, bytes.asLongBuffer(), shape);
    }

    public OnnxTensor longs(OrtEnvironment env, String name, long[] data, long... shape) throws OrtException {
        return longSlice(env, name, data, 0, data.length, shape);
    }

    /** A tensor over {@code data[from, from + count)}. */
    public OnnxTensor floatSlice(OrtEnvironment env, String name, float[] data, int from, int count, long... shape) throws OrtException {
        ByteBuffer bytes = buffer(name, (long) count * Float.BYTES);
        bytes.asFloatBuffer().put(data, from, count);
        return OnnxTensor.createTensor(env, bytes.asFloatBuffer(), shape);
    }

    public OnnxTensor floats(OrtEnvironment env, String name, float[] data, long... shape) throws OrtException {
        return floatSlice(env, name, data, 0, data.length, shape);
    }

    /**
     * A tensor over this thread's buffer for the graph output {@code name} of {@code shape}, to pass to
     * {@code OrtSession.run} as a pinned output: the graph writes into the buffer, which {@link #output} reads.
     */
    public OnnxTensor floatOutput(OrtEnvironment env, String name, long... shape) throws OrtException {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        return OnnxTensor.createTensor(env, buffer(OUTPUT + name, count * Float.BYTES).asFloatBuffer(), shape);
    }

    /** What the last run wrote into the output {@code name} ({@link #floatOutput}): a view, valid until this thread asks for it again. */
    public FloatBuffer output(String name) {
        ByteBuffer buffer = buffers.get(OUTPUT + name);
        if (buffer == null) {
            throw new IllegalStateException("no output buffer [" + name + "] on this thread");
        }
        return buffer.asFloatBuffer();
    }

    /** A native-order direct buffer of exactly {@code size} bytes (position 0, limit size), reused across calls. */
    ByteBuffer buffer(String name, long size) {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("input [" + name + "] too large: " + size + " bytes");
        }
        ByteBuffer buffer = buffers.get(name);
        if (buffer == null || buffer.capacity() < size) {
            buffer = ByteBuffer.allocateDirect((int) Math.max(size, 64)).order(ByteOrder.nativeOrder());
            buffers.put(name, buffer);
        }
        buffer.clear().limit((int) size);
        return buffer;
    }
}
