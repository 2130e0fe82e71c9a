package org.genrec.runtime.bundle;

import java.util.List;
import java.util.Map;

/**
 * The bundle's items: external id to model index (1-based, 0 is padding) and each item's
 * retrieval embedding (L2-normalized for a cosine model), the vector that goes into the index's vector field.
 */
public final class ItemCatalog {

    /** One line of {@code items.jsonl}. */
    public record Item(String itemId, int index, String title, List<String> categories) {}

    private final List<Item> items;
    private final Map<String, Integer> indexById;
    private final float[] embeddings;
    private final int dim;

    ItemCatalog(List<Item> items, Map<String, Integer> indexById, float[] embeddings, int dim) {
        this.items = List.copyOf(items);
        this.indexById = Map.copyOf(indexById);
        this.embeddings = embeddings;
        this.dim = dim;
    }

    public int size() {
        return items.size();
    }

    public int embeddingDim() {
        return dim;
    }

    public List<Item> items() {
        return items;
    }

    /** Model index of an external item id, or -1 when the model does not know the item. */
    public int indexOf(String itemId) {
        Integer index = indexById.get(itemId);
        return index == null ? -1 : index;
    }

    /** The dot product of the item's retrieval embedding with {@code user}: the model's retrieval similarity (cosine or dot). */
    public float similarity(int index, float[] user) {
        if (index < 1 || index > items.size()) {
            throw new IndexOutOfBoundsException("item index " + index + " not in [1, " + items.size() + "]");
        }
        if (user.length != dim) {
            throw new IllegalArgumentException("a vector of dimension " + user.length + " against item embeddings of dimension " + dim);
        }
        double dot = 0; // in double, as the trainer computes it: a blend weight multiplies its rounding error
        for (int d = 0, row = (index - 1) * dim; d < dim; d++) {
            dot += (double) embeddings[row + d] * user[d];
        }
        return (float) dot;
    }

    /** A copy of the retrieval embedding of the item at model index {@code index} (1-based). */
    public float[] embedding(int index) {
        if (index < 1 || index > items.size()) {
            throw new IndexOutOfBoundsException("item index " + index + " not in [1, " + items.size() + "]");
        }
        float[] row = new float[dim];
        System.arraycopy(embeddings, (index - 1) * dim, row, 0, dim);
        return row;
    }
}
