package org.genrec.runtime.batching;

import java.util.ArrayList;
import java.util.List;

/**
 * Rounds a dynamic axis (batch size, history length) up to a power of two, capped at the axis's
 * maximum. Why: a GPU execution provider plans kernels and allocates per input shape, so a
 * server fed every history length from 1 to 200 keeps meeting new shapes; with buckets there are
 * a handful, all warmed at load time. Padding is free for correctness: histories are left-padded
 * and padded positions are masked, and padded batch rows are dropped.
 */
public final class ShapeBuckets {

    private ShapeBuckets() {}

    /** The smallest power of two {@code >= n}, or {@code cap} when that is smaller. */
    public static int bucket(int n, int cap) {
        if (n < 1 || n > cap) {
            throw new IllegalArgumentException("size " + n + " outside [1, " + cap + "]");
        }
        int power = Integer.highestOneBit(n);
        if (power < n) {
            power <<= 1;
        }
        return Math.min(power, cap);
    }

    /** Every bucket of an axis: 1, 2, 4, ... and {@code cap} itself. */
    public static List<Integer> all(int cap) {
        List<Integer> sizes = new ArrayList<>();
        for (int size = 1; size < cap; size <<= 1) {
            sizes.add(size);
        }
        sizes.add(cap);
        return sizes;
    }
}
