package org.genrec.runtime.encoding;

/**
 * The encode graph's slot masks (docs/bundle-format.md, "Slot masks"), made here rather than in the graph, where they
 * were ~18 kernels per call on the slots' validity (BENCHMARKS.md, "Session 46"). The trainer's {@code
 * encoding.slot_inputs} is the specification. For a batch of {@code rows} histories of {@code length} slots (padding has
 * action 0), each request has S = length + 2 slots: its events, the query context, and the last, RET's, which the cache
 * hands to each candidate's own key.
 *
 * @param keyPadding [rows, 1, 1, S]: 0 where a key may be seen, {@link #HIDDEN} at padding
 * @param keep       [rows, 1, S, 1]: 1, but 0 in the last slot (the own slot's cached key and value are 0)
 * @param columns    [rows, 1, S, 2]: the cache keys' two extra columns, 1 in the last slot only, and {@link #MASK_KEY}
 *                   at padding
 */
public record SlotMasks(float[] keyPadding, float[] keep, float[] columns) {

    /** The mask's "minus infinity" (the trainer's NEG_INF): finite, so that a padding query's row still softmaxes. */
    public static final float HIDDEN = -1e9f;

    /** A hidden key's column in the cache (the trainer's MASK_KEY): far below exp()'s underflow, and it fits float16. */
    public static final float MASK_KEY = -3e4f;

    /** @param actions [rows * length] the histories' actions, 0 for padding */
    public static SlotMasks of(int rows, int length, long[] actions) {
        int slots = length + 2;
        float[] keyPadding = new float[rows * slots];
        float[] keep = new float[rows * slots];
        float[] columns = new float[rows * slots * 2];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < slots; t++) {
                int slot = b * slots + t;
                boolean padding = t < length && actions[b * length + t] == 0;
                keyPadding[slot] = padding ? HIDDEN : 0f;
                keep[slot] = t == slots - 1 ? 0f : 1f;
                columns[2 * slot] = t == slots - 1 ? 1f : 0f;
                columns[2 * slot + 1] = padding ? MASK_KEY : 0f;
            }
        }
        return new SlotMasks(keyPadding, keep, columns);
    }
}
