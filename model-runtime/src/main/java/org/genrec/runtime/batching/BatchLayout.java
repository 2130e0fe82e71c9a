package org.genrec.runtime.batching;

import org.genrec.runtime.CacheLayout;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.EncodedRequest;

import java.nio.FloatBuffer;
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
     * The requests' inputs as [rows, length] (history tokens [rows, length, Q], query [rows, Q], item tokens
     * [rows, length, IT] with IT the largest of the batch, request times [rows]),
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
        int it = batch.stream().mapToInt(EncodedRequest::itemTokens).max().orElseThrow();  // each row's, padded on the right
        long[] itemTokens = new long[rows * length * it];
        long[] requestTimes = new long[rows]; // a padding row's 0 reads as the first time bucket, and its outputs are dropped
        for (int row = 0; row < batch.size(); row++) {
            EncodedRequest in = batch.get(row);
            int at = row * length + (length - in.length()); // left padding
            System.arraycopy(in.historyItems(), 0, items, at, in.length());
            System.arraycopy(in.historyActions(), 0, actions, at, in.length());
            System.arraycopy(in.historyAgeSeconds(), 0, ages, at, in.length());
            System.arraycopy(in.historyQueryTokens(), 0, historyTokens, at * q, in.length() * q);
            System.arraycopy(in.requestQueryTokens(), 0, queryTokens, row * q, q);
            requestTimes[row] = in.requestTime()[0];
            for (int e = 0; e < in.length() * in.itemTokens(); e += in.itemTokens()) {
                System.arraycopy(in.historyItemTokens(), e, itemTokens, (at + e / in.itemTokens()) * it, in.itemTokens());
            }
        }
        return new EncodedRequest(length, q, items, actions, ages, historyTokens, queryTokens, 0, it, itemTokens, requestTimes,
            new int[0]); // the graph's inputs only: each row's co-occurrence context goes to its own UserEncoding (split)
    }

    /**
     * @param batch       the requests, in batch-row order (rows past {@code batch.size()} are padding)
     * @param length      the history length every row was left-padded to
     * @param embeddings  [rows, E]
     * @param layerShape  one layer's keys as the graph returned them: [rows, H, S = length + 2, Dh + 2]
     * @param keys        each layer's keys, flattened per layerShape (read with absolute gets: positions do not move)
     * @param values      each layer's values, [rows, H, S, Dh] flattened
     * @param mask        [rows, T = length + 1]
     */
    public static List<UserEncoding> split(List<EncodedRequest> batch, int length, float[] embeddings, long[] layerShape,
        List<FloatBuffer> keys, List<FloatBuffer> values, float[] mask) {
        if (layerShape.length != 4 || layerShape[2] != length + 2 || layerShape[0] < batch.size() || values.size() != keys.size()) {
            throw new IllegalStateException("encode graph returned a cache layer of shape " + Arrays.toString(layerShape) + " for "
                + batch.size() + " requests of length " + length);
        }
        int layers = keys.size(), rows = (int) layerShape[0], heads = (int) layerShape[1], slots = (int) layerShape[2];
        int headDim = (int) layerShape[3] - CacheLayout.EXTRA_KEY_COLUMNS;
        int dim = embeddings.length / rows;
        List<UserEncoding> out = new ArrayList<>(batch.size());
        for (int row = 0; row < batch.size(); row++) {
            EncodedRequest request = batch.get(row);
            int own = request.length() + 1;                          // its history + the context token
            CacheLayout layout = new CacheLayout(layers, heads, own + 1, headDim);
            int from = slots - layout.slots();                       // the left padding it did not have alone
            out.add(new UserEncoding(
                Arrays.copyOfRange(embeddings, row * dim, (row + 1) * dim),
                new long[] { layers, 1, heads, own, headDim },
                cut(keys, row, heads, slots, from, layout.keyColumns()),
                cut(values, row, heads, slots, from, headDim),
                Arrays.copyOfRange(mask, row * (slots - 1) + from, (row + 1) * (slots - 1)),
                request.droppedHistoryItems(),
                request.coOccurrenceContext()
            ));
        }
        return out;
    }

    /**
     * One row's slots [from, S) of every layer and head, layer after layer: [L, 1, H, S - from, columns],
     * copied straight out of the graph's output buffers (for a solo request this is the one copy).
     */
    private static float[] cut(List<FloatBuffer> layers, int row, int heads, int slots, int from, int columns) {
        int kept = (slots - from) * columns;
        float[] out = new float[layers.size() * heads * kept];
        int at = 0;
        for (FloatBuffer layer : layers) {
            for (int h = 0; h < heads; h++) {
                layer.get(((row * heads + h) * slots + from) * columns, out, at, kept);
                at += kept;
            }
        }
        return out;
    }
}
