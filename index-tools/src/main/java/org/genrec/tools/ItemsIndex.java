package org.genrec.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * The items index layout genrec expects: the model's item id as a keyword with doc values (the
 * plugin maps hits back to model items through it), text fields for BM25 (the title, and the categories' words in
 * {@code categories.text} beside the exact keyword a filter or aggregation wants), and the item's
 * retrieval embedding in a {@code genrec_vector} field whose mapping meta names the bundle the vectors
 * came from ({@link VectorFieldMeta}: the genrec query refuses another model's user vectors on it).
 */
final class ItemsIndex {

    static final String ITEM_ID = "item_id";
    static final String TITLE = "title";
    static final String CATEGORIES = "categories";
    /** The categories' words for a {@code match} query: the keyword matches only a whole category. */
    static final String CATEGORIES_TEXT = CATEGORIES + ".text";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ItemsIndex() {}

    static String definition(String vectorField, ModelBundle bundle, int shards, int replicas) {
        return """
            {
              "settings": {"index": {"number_of_shards": %d, "number_of_replicas": %d}},
              "mappings": {
                "properties": {
                  "%s": {"type": "keyword"},
                  "%s": {"type": "text"},
                  "%s": {"type": "keyword", "fields": {"text": {"type": "text"}}},
                  "%s": %s
                }
              }
            }
            """.formatted(shards, replicas, ITEM_ID, TITLE, CATEGORIES, vectorField, vectorFieldMapping(bundle, VectorFieldMeta.of(bundle)));
    }

    /**
     * A mapping update that records, on an existing index, what the field holds ({@code ours}: {@link VectorFieldMeta#of}
     * or {@link VectorFieldMeta#beingReplacedBy}). A mapping update replaces the field's whole {@code meta}, so the entries
     * a user put there besides ours are carried over.
     */
    static String vectorFieldUpdate(String vectorField, ModelBundle bundle, Map<String, String> currentMeta, Map<String, String> ours) {
        Map<String, String> meta = new TreeMap<>(currentMeta);
        meta.putAll(ours);
        return "{\"properties\": {\"" + vectorField + "\": " + vectorFieldMapping(bundle, meta) + "}}";
    }

    /**
     * The {@code meta} of {@code vectorField} in a {@code GET INDEX/_mapping} response. The response is keyed by the
     * concrete index, which is not the name given when that is an alias: the first index's is taken.
     */
    static Map<String, String> vectorFieldMeta(String mappingResponse, String vectorField) throws IOException {
        Map<String, String> meta = new TreeMap<>();
        JsonNode indices = JSON.readTree(mappingResponse);
        if (indices.size() > 0) {
            indices.elements().next().path("mappings").path("properties").path(vectorField).path("meta")
                .fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
        }
        return meta;
    }

    /** The field's similarity is the one that ranks like the model (RetrievalSimilarity.fieldSimilarity). */
    private static String vectorFieldMapping(ModelBundle bundle, Map<String, String> meta) {
        try {
            return "{\"type\": \"genrec_vector\", \"dimension\": " + bundle.items().embeddingDim() + ", \"similarity\": \""
                + bundle.manifest().retrievalSimilarity().fieldSimilarity() + "\", \"meta\": " + JSON.writeValueAsString(meta) + "}";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings always serializes", e);
        }
    }
}
