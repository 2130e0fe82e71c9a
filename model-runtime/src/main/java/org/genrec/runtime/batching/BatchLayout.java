package org.genrec.runtime.batching;

import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.EncodedRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The layout of one batched encode call: {@link #join} stacks the requests' inputs into one
 * left-padded batch, {@link #split} cuts the outputs back into each request's solo-shaped encoding.
 */
public final class BatchLayout {

    private BatchLayout() {}

    /**
     * The requests' inputs as [rows, length] (history tokens [rows, length, Q], query [rows, Q]),
     * each history left-padded to {@code length}; rows past {@code batch.size()} are empty histories.
     * Returned as an {@link EncodedRequest} whose arrays are the stacked rows and whose length is {@code length}.
     */
    public static EncodedRequest join(List<EncodedRequest> batch, int rows, int length) {
        int q = batch.get(0).queryTokens();
        long[] items = new long[rows * length];
        long[] actions = new long[rows * length];
        long[] ages = new long[rows * length];
        long[] historyTokens = new long[rows * length * q];
        long[] queryTokens = new long[rows * q];
        for (int row = 0; row < batch.size(); row++) {
            EncodedRequest in = batch.get(row);
            int at = row * length + (length - in.length()); // left padding
            System.arraycopy(in.historyItems(), 0, items, at, in.length());
            System.arraycopy(in.historyActions(), 0, actions, at, in.length());
            System.arraycopy(in.historyAgeSeconds(), 0, ages, at, in.length());
            System.arraycopy(in.historyQueryTokens(), 0, historyTokens, at * q, in.length() * q);
            System.arraycopy(in.requestQueryTokens(), 0, queryTokens, row * q, q);
        }
        return new EncodedRequest(length, q, items, actions, ages, historyTokens, queryTokens, 0);
    }

    /**
     * @param batch      the requests, in batch-row order (rows past {@code batch.size()} are padding)
     * @param length     the history length every row was left-padded to
     * @param embeddings [rows, E]
     * @param cacheShape [L, rows, H, T = length + 1, Dh]
     * @param keys       flattened per cacheShape; values likewise
     * @param mask       [rows, T]
     */
    public static List<UserEncoding> split(List<EncodedRequest> batch, int length, float[] embeddings, long[] cacheShape, float[] keys,
        float[] values, float[] mask) {
        int layers = (int) cacheShape[0], rows = (int) cacheShape[1], heads = (int) cacheShape[2], positions = (int) cacheShape[3];
        int headDim = (int) cacheShape[4];
        if (positions != length + 1 || rows < batch.size()) {
            throw new IllegalStateException("encode graph returned cache shape " + Arrays.toString(cacheShape) + " for " + batch.size()
                + " requests of length " + length);
        }
        int dim = embeddings.length / rows;
        if (rows == 1 && batch.get(0).length() == length) { // a solo call: the outputs are already this request's
            return List.of(new UserEncoding(embeddings, cacheShape, keys, values, mask, batch.get(0).droppedHistoryItems()));
        }
        List<UserEncoding> out = new ArrayList<>(batch.size());
        for (int row = 0; row < batch.size(); row++) {
            EncodedRequest request = batch.get(row);
            int own = request.length() + 1;          // its history + the context token
            int from = positions - own;              // the left padding it did not have alone
            float[] k = new float[layers * heads * own * headDim];
            float[] v = new float[k.length];
            for (int l = 0; l < layers; l++) {
                for (int h = 0; h < heads; h++) {
                    int src = (((l * rows + row) * heads + h) * positions + from) * headDim;
                    int dst = (l * heads + h) * own * headDim;
                    System.arraycopy(keys, src, k, dst, own * headDim);
                    System.arraycopy(values, src, v, dst, own * headDim);
                }
            }
            out.add(new UserEncoding(
                Arrays.copyOfRange(embeddings, row * dim, (row + 1) * dim),
                new long[] { layers, 1, heads, own, headDim },
                k,
                v,
                Arrays.copyOfRange(mask, row * positions + from, (row + 1) * positions),
                request.droppedHistoryItems()
            ));
        }
        return out;
    }
}
