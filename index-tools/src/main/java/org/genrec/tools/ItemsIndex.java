package org.genrec.tools;

/**
 * The items index layout genrec expects: the model's item id as a keyword with doc values (the
 * plugin maps hits back to model items through it), text fields for BM25, and the item's
 * retrieval embedding in a {@code genrec_vector} field.
 */
final class ItemsIndex {

    static final String ITEM_ID = "item_id";
    static final String TITLE = "title";
    static final String CATEGORIES = "categories";

    private ItemsIndex() {}

    /** @param similarity the {@code genrec_vector} similarity that ranks like the model (RetrievalSimilarity.fieldSimilarity) */
    static String definition(String vectorField, int dimension, String similarity, int shards, int replicas) {
        return """
            {
              "settings": {"index": {"number_of_shards": %d, "number_of_replicas": %d}},
              "mappings": {
                "properties": {
                  "%s": {"type": "keyword"},
                  "%s": {"type": "text"},
                  "%s": {"type": "keyword"},
                  "%s": {"type": "genrec_vector", "dimension": %d, "similarity": "%s"}
                }
              }
            }
            """.formatted(shards, replicas, ITEM_ID, TITLE, CATEGORIES, vectorField, dimension, similarity);
    }
}
