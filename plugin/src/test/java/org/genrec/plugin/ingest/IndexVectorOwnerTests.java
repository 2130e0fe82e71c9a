package org.genrec.plugin.ingest;

import org.opensearch.test.OpenSearchTestCase;

import java.util.Map;

/** Where a vector field's meta sits in a mapping's source, for a top-level and an object-nested field. */
public class IndexVectorOwnerTests extends OpenSearchTestCase {

    private static final Map<String, Object> MAPPING = Map.of("properties", Map.of(
        "item_vector", Map.of("type", "genrec_vector", "meta", Map.of("genrec_embeddings", "sha256:aa")),
        "embeddings", Map.of("properties", Map.of("genrec", Map.of("type", "genrec_vector", "meta", Map.of("genrec_embeddings", "sha256:bb")))),
        "plain", Map.of("type", "keyword")));

    public void testTheMetaOfATopLevelAndOfANestedField() {
        assertEquals(Map.of("genrec_embeddings", "sha256:aa"), IndexVectorOwner.fieldMeta(MAPPING, "item_vector"));
        assertEquals(Map.of("genrec_embeddings", "sha256:bb"), IndexVectorOwner.fieldMeta(MAPPING, "embeddings.genrec"));
    }

    public void testAFieldWithoutMetaOrNotMappedYetHasNone() {
        assertEquals(Map.of(), IndexVectorOwner.fieldMeta(MAPPING, "plain"));
        assertEquals(Map.of(), IndexVectorOwner.fieldMeta(MAPPING, "missing"));
        assertEquals(Map.of(), IndexVectorOwner.fieldMeta(MAPPING, "item_vector.inner"));
        assertEquals(Map.of(), IndexVectorOwner.fieldMeta(Map.of(), "item_vector"));
    }
}
