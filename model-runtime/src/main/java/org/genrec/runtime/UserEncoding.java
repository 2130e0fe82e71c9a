package org.genrec.runtime;

/**
 * The result of encoding one request's history, computed once and reused: the retrieval
 * embedding for kNN, and the per-layer key/value cache from which the score graph ranks any
 * number of candidates without reading the history again. Plain arrays so that the plugin can
 * ship it from the coordinating node to the shards.
 *
 * @param embedding           [E] (L2-normalized for a cosine model, see {@link org.genrec.runtime.bundle.RetrievalSimilarity})
 * @param cacheShape          [L, 1, H, T, Dh]: layers, the one request, heads, history + context positions, head width
 * @param cacheKeys           every layer's keys in the score graph's layout, layer after layer ({@link CacheLayout})
 * @param cacheValues         every layer's values likewise
 * @param cacheMask           [T], 1 = real position
 * @param droppedHistoryItems history events whose item the model does not know
 * @param coOccurrenceContext the trained items of the history's latest second (or of its last events), which the served
 *                            order's co-occurrence term reads ({@link org.genrec.runtime.bundle.CoOccurrence})
 */
public record UserEncoding(
    float[] embedding,
    long[] cacheShape,
    float[] cacheKeys,
    float[] cacheValues,
    float[] cacheMask,
    int droppedHistoryItems,
    int[] coOccurrenceContext
) {
    public UserEncoding {
        CacheLayout layout = CacheLayout.of(cacheShape);
        if ((long) layout.layers() * layout.keysPerLayer() != cacheKeys.length
            || (long) layout.layers() * layout.valuesPerLayer() != cacheValues.length || cacheMask.length != cacheShape[3]) {
            throw new IllegalArgumentException("inconsistent user encoding: cache shape " + java.util.Arrays.toString(cacheShape)
                + " with " + cacheKeys.length + " key, " + cacheValues.length + " value and " + cacheMask.length + " mask floats");
        }
    }

    /** How {@link #cacheKeys} and {@link #cacheValues} are laid out. */
    public CacheLayout cacheLayout() {
        return CacheLayout.of(cacheShape);
    }

    /** False for {@link #withoutCache()}: the embedding alone, which retrieves but cannot rank. */
    public boolean hasCache() {
        return cacheShape[3] > 0;
    }

    /**
     * The same embedding with an empty cache (T = 0), for requests that only retrieve: the cache is
     * about 2·L·H·T·Dh floats (213 KB for d 64, 2 layers, 200 events) that a retrieval-only query would
     * otherwise carry to every shard for nothing.
     */
    public UserEncoding withoutCache() {
        long[] shape = cacheShape.clone();
        shape[3] = 0;
        return new UserEncoding(embedding, shape, new float[0], new float[0], new float[0], droppedHistoryItems, coOccurrenceContext);
    }
}
