package org.genrec.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * <p>Contract: a tensor made here is valid until the same thread asks again for the same input
 * name; callers create, run and close within one call, which is all {@code GenrecModel} does.
 */
public final class InputTensors {

    private static final ThreadLocal<InputTensors> PER_THREAD = ThreadLocal.withInitial(InputTensors::new);

    private final Map<String, ByteBuffer> buffers = new HashMap<>();

    private InputTensors() {}

    /** This thread's buffers. */
    public static InputTensors forThisThread() {
        return PER_THREAD.get();
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
