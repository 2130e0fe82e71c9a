package org.genrec.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * The history cache as the bundle contract lays it out (docs/bundle-format.md, format 2): one keys
 * and one values tensor per layer, already in the layout the score graph reads, so that a score
 * call copies nothing before its products. Per layer and request, keys are [1, H, S, Dh + 2] and
 * values [1, H, S, Dh] over S = T + 1 slots (the T history and context positions, then the slot of
 * each candidate's own key); the two extra key columns carry the own-key marker and the mask. The
 * runtime never reads inside them: it only cuts, concatenates and passes them through, which this
 * class gives the sizes and names for.
 *
 * @param layers  L
 * @param heads   H
 * @param slots   S = T + 1, or 0 for an encoding without a cache
 * @param headDim Dh
 */
public record CacheLayout(int layers, int heads, int slots, int headDim) {

    /** The own-key column and the mask column the encode graph appends to every key. */
    public static final int EXTRA_KEY_COLUMNS = 2;

    /** The layout of a cache of {@code cacheShape} = [L, 1, H, T, Dh] ({@link UserEncoding#cacheShape()}). */
    public static CacheLayout of(long[] cacheShape) {
        if (cacheShape.length != 5 || cacheShape[1] != 1) {
            throw new IllegalArgumentException("cache shape must be [L, 1, H, T, Dh], got " + java.util.Arrays.toString(cacheShape));
        }
        int positions = Math.toIntExact(cacheShape[3]);
        return new CacheLayout(Math.toIntExact(cacheShape[0]), Math.toIntExact(cacheShape[2]), positions == 0 ? 0 : positions + 1,
            Math.toIntExact(cacheShape[4]));
    }

    public int keyColumns() {
        return headDim + EXTRA_KEY_COLUMNS;
    }

    /** Floats of one layer's keys. */
    public int keysPerLayer() {
        return heads * slots * keyColumns();
    }

    /** Floats of one layer's values. */
    public int valuesPerLayer() {
        return heads * slots * headDim;
    }

    /** One layer's keys tensor for a single request: [1, H, S, Dh + 2]. */
    public long[] keyShape() {
        return new long[] { 1, heads, slots, keyColumns() };
    }

    /** One layer's values tensor for a single request: [1, H, S, Dh]. */
    public long[] valueShape() {
        return new long[] { 1, heads, slots, headDim };
    }

    public static String keysName(int layer) {
        return "cache_keys_" + layer;
    }

    public static String valuesName(int layer) {
        return "cache_values_" + layer;
    }

    /** The encode graph's outputs for an L-layer model, in order. */
    public static List<String> encodeOutputs(int layers) {
        List<String> names = new ArrayList<>(List.of("embedding"));
        names.addAll(cacheNames(layers));
        names.add("cache_mask");
        return names;
    }

    /** The score graph's inputs for an L-layer model, in order. */
    public static List<String> scoreInputs(int layers) {
        List<String> names = new ArrayList<>(cacheNames(layers));
        names.add("candidates");
        return names;
    }

    /** The score_rows graph's inputs (candidates given by their input rows: items added after training), in order. */
    public static List<String> scoreRowsInputs(int layers) {
        List<String> names = new ArrayList<>(cacheNames(layers));
        names.add("candidate_rows");
        return names;
    }

    private static List<String> cacheNames(int layers) {
        List<String> names = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            names.add(keysName(l));
        }
        for (int l = 0; l < layers; l++) {
            names.add(valuesName(l));
        }
        return names;
    }
}
