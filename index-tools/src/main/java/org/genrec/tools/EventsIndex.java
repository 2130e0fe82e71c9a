package org.genrec.tools;

import static org.genrec.runtime.encoding.EventSchema.ACTION;
import static org.genrec.runtime.encoding.EventSchema.ITEM_ID;
import static org.genrec.runtime.encoding.EventSchema.LABEL;
import static org.genrec.runtime.encoding.EventSchema.QUERY;
import static org.genrec.runtime.encoding.EventSchema.SEQ;
import static org.genrec.runtime.encoding.EventSchema.TIMESTAMP;
import static org.genrec.runtime.encoding.EventSchema.USER_ID;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The events index: the trainer's event schema ({@link org.genrec.runtime.encoding.EventSchema}) as OpenSearch fields, so that logs, training data
 * and the {@code genrec} query's {@code user} lookup speak one format (user_id, item_id, action,
 * timestamp in epoch seconds, optional query and label), plus {@code seq}, the ingestion order that breaks ties
 * between equal timestamps as the trainer's file order does.
 */
public final class EventsIndex {

    private EventsIndex() {}

    /**
     * The ingest pipeline every events index created here writes through by default: the plugin's {@code genrec_event_seq}
     * processor numbers each event written without a {@code seq} (an application's own writes) in the order the cluster
     * receives it, after every event numbered before.
     */
    public static final String PIPELINE = "genrec-events";

    /**
     * Creates the index with {@link #definition} unless it exists (deleted first with {@code recreate}); true if created.
     * Creates or updates its default pipeline ({@link #PIPELINE}) either way.
     */
    static boolean create(ClusterConnection cluster, String index, int shards, int replicas, boolean recreate) throws IOException {
        cluster.json("PUT", "/_ingest/pipeline/" + PIPELINE, """
            {"description": "genrec events: numbers each event without a seq in the order of ingestion",
             "processors": [{"genrec_event_seq": {}}]}""");
        boolean exists = cluster.client().indices().exists(e -> e.index(index)).value();
        if (exists && recreate) {
            cluster.client().indices().delete(d -> d.index(index));
            exists = false;
        }
        if (!exists) {
            cluster.json("PUT", "/" + index, definition(shards, replicas));
        }
        return !exists;
    }

    /** One event as a document of the index; query and label only when present (the indexer adds seq). */
    public static Map<String, Object> document(String userId, String itemId, String action, long timestamp, String query, Integer label) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put(USER_ID, userId);
        doc.put(ITEM_ID, itemId);
        doc.put(ACTION, action);
        doc.put(TIMESTAMP, timestamp);
        if (query != null) {
            doc.put(QUERY, query);
        }
        if (label != null) {
            doc.put(LABEL, label);
        }
        return doc;
    }

    static String definition(int shards, int replicas) {
        return """
            {
              "settings": {"index": {"number_of_shards": %d, "number_of_replicas": %d, "default_pipeline": "%s"}},
              "mappings": {
                "properties": {
                  "%s": {"type": "keyword"},
                  "%s": {"type": "keyword"},
                  "%s": {"type": "keyword"},
                  "%s": {"type": "date", "format": "epoch_second"},
                  "%s": {"type": "text"},
                  "%s": {"type": "integer"},
                  "%s": {"type": "long"}
                }
              }
            }
            """.formatted(shards, replicas, PIPELINE, USER_ID, ITEM_ID, ACTION, TIMESTAMP, QUERY, LABEL, SEQ);
    }
}
