package org.genrec.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InputTensorsTest {

    @Test
    void oneDirectBufferPerInputAndThreadGrowsOnlyWhenNeeded() throws Exception {
        InputTensors buffers = InputTensors.forThisThread();
        ByteBuffer first = buffers.buffer("x", 800);
        assertTrue(first.isDirect());
        ByteBuffer smaller = buffers.buffer("x", 40);
        assertSame(first, smaller, "a smaller request reuses the buffer");
        assertEquals(40, smaller.limit());
        assertEquals(0, smaller.position());
        assertNotSame(first, buffers.buffer("x", 8000), "a larger request replaces it");
        assertNotSame(buffers.buffer("y", 8), buffers.buffer("x", 8), "inputs never share a buffer");
        InputTensors other = CompletableFuture.supplyAsync(InputTensors::forThisThread).get();
        assertNotSame(buffers, other, "threads never share buffers");
    }

    @Test
    void aReleasedThreadHoldsNothingAndAllocatesAfreshOnItsNextCall() {
        InputTensors.releaseThisThread(); // whatever earlier tests on this thread left
        InputTensors before = InputTensors.forThisThread();
        before.buffer("x", 800);
        before.buffer("y", 80);
        assertEquals(880, before.heldBytes());
        InputTensors.releaseThisThread();
        InputTensors after = InputTensors.forThisThread();
        assertNotSame(before, after);
        assertEquals(0, after.heldBytes());
        after.buffer("x", 8);
        assertEquals(64, after.heldBytes(), "the smallest buffer is 64 bytes");
    }

    @Test
    void tensorsCarryExactlyTheGivenSliceAndShape() throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        InputTensors buffers = InputTensors.forThisThread();
        try (OnnxTensor t = buffers.longSlice(env, "ids", new long[] { 1, 2, 3, 4, 5 }, 1, 3, 1, 3)) {
            assertArrayEquals(new long[] { 1, 3 }, t.getInfo().getShape());
            assertArrayEquals(new long[] { 2, 3, 4 }, longs(t.getLongBuffer()));
        }
        // a shorter call on the same (reused, larger) buffer sees none of the earlier values
        try (OnnxTensor t = buffers.longs(env, "ids", new long[] { 9 }, 1, 1)) {
            assertArrayEquals(new long[] { 9 }, longs(t.getLongBuffer()));
        }
        try (OnnxTensor t = buffers.floats(env, "cache", new float[] { 0.5f, -1f }, 1, 2)) {
            FloatBuffer f = t.getFloatBuffer();
            assertEquals(2, f.remaining());
            assertEquals(0.5f, f.get(0));
            assertEquals(-1f, f.get(1));
        }
    }

    private static long[] longs(LongBuffer buffer) {
        long[] out = new long[buffer.remaining()];
        buffer.get(out);
        return out;
    }
}
