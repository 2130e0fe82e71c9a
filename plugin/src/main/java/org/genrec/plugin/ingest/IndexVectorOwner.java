package org.genrec.plugin.ingest;

import org.genrec.plugin.query.VectorFields;
import org.genrec.runtime.bundle.ModelBundle;
import org.opensearch.cluster.metadata.IndexAbstraction;
import org.opensearch.cluster.metadata.IndexMetadata;
import org.opensearch.cluster.metadata.MappingMetadata;
import org.opensearch.cluster.service.ClusterService;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Whose item vectors an index's vector field holds, as its mapping records ({@code VectorFieldMeta}, written by
 * {@code genrec-tools index-items}): an ingest processor must not add one model's vector to a field holding another's,
 * which the {@code genrec} query would then search with the other model's users without a sign. Read from the cluster
 * state, so it works on any ingest node, whether or not it holds a shard of the index.
 */
final class IndexVectorOwner {

    private final Supplier<ClusterService> clusterService;
    /** The last mapping read and the field metas found in it: parsing a mapping per document would cost more than the model. */
    private volatile Parsed last;

    private record Parsed(MappingMetadata mapping, String field, Map<String, String> meta) {}

    IndexVectorOwner(Supplier<ClusterService> clusterService) {
        this.clusterService = clusterService;
    }

    /**
     * Refuses (400) when the field of {@code index} (an index or alias; a write to an index that does not exist yet is not
     * checked) records the vectors of another model than {@code model}.
     */
    void requireVectorsOf(String index, String field, ModelBundle model, String source) {
        if (index == null) {
            return;
        }
        IndexAbstraction target = clusterService.get().state().metadata().getIndicesLookup().get(index);
        IndexMetadata write = target == null ? null : target.getWriteIndex();
        MappingMetadata mapping = write == null ? null : write.mapping();
        if (mapping == null) {
            return;
        }
        Parsed parsed = last;
        if (parsed == null || parsed.mapping() != mapping || !parsed.field().equals(field)) {
            parsed = new Parsed(mapping, field, fieldMeta(mapping.sourceAsMap(), field));
            last = parsed;
        }
        VectorFields.requireEmbeddingsOf("field [" + field + "] of index [" + write.getIndex().getName() + "]", parsed.meta(), model,
            source);
    }

    /** The {@code meta} of a (possibly dotted, object-nested) field in a mapping's source; empty when absent. */
    static Map<String, String> fieldMeta(Map<String, Object> mapping, String field) {
        Object node = mapping;
        for (String part : field.split("\\.")) {
            Object properties = node instanceof Map<?, ?> map ? map.get("properties") : null;
            node = properties instanceof Map<?, ?> children ? children.get(part) : null;
        }
        Map<String, String> meta = new HashMap<>();
        if (node instanceof Map<?, ?> definition && definition.get("meta") instanceof Map<?, ?> values) {
            values.forEach((k, v) -> meta.put(String.valueOf(k), String.valueOf(v)));
        }
        return meta;
    }
}
