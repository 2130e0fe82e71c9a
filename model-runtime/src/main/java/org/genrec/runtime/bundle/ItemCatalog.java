package org.genrec.runtime.bundle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
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
    private final String fingerprint;

    ItemCatalog(List<Item> items, Map<String, Integer> indexById, float[] embeddings, int dim) {
        this.items = List.copyOf(items);
        this.indexById = Map.copyOf(indexById);
        this.embeddings = embeddings;
        this.dim = dim;
        this.fingerprint = fingerprint(this.items, embeddings, dim);
    }

    /**
     * Identifies these item embeddings: {@code sha256:} and the first 128 bits (hex) of SHA-256 over each item's id (UTF-8,
     * then a 0 byte) and its embedding (float32 little-endian), in index order. Two bundles share it only when they map
     * every item id to the same vector, so an index holding one bundle's vectors can tell whether a model's user
     * embeddings live in their space ({@link VectorFieldMeta}). A model's version string cannot: it is whatever the
     * trainer was told, and a retrained model keeps it unless someone changes it.
     */
    public String fingerprint() {
        return fingerprint;
    }

    private static String fingerprint(List<Item> items, float[] embeddings, int dim) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        ByteBuffer row = ByteBuffer.allocate(dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (Item item : items) {
            sha.update(item.itemId().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            row.clear();
            row.asFloatBuffer().put(embeddings, (item.index() - 1) * dim, dim);
            sha.update(row.array());
        }
        return "sha256:" + HexFormat.of().formatHex(sha.digest(), 0, 16);
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
        return dot(embeddings, (index - 1) * dim, user);
    }

    /**
     * {@code item[from, from + user.length)} dot {@code user}, summed in double as the trainer computes it: a blend weight
     * multiplies its rounding error. The retrieval similarity of any item embedding, trained or from text.
     */
    public static float dot(float[] item, int from, float[] user) {
        double dot = 0;
        for (int d = 0; d < user.length; d++) {
            dot += (double) item[from + d] * user[d];
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
