package org.genrec.tools;

/**
 * The events index: the trainer's event schema as OpenSearch fields, so that logs, training data
 * and the {@code genrec} query's {@code user} lookup speak one format (user_id, item_id, action,
 * timestamp in epoch seconds, optional query and label).
 */
final class EventsIndex {

    static final String USER_ID = "user_id";
    static final String ITEM_ID = "item_id";
    static final String ACTION = "action";
    static final String TIMESTAMP = "timestamp";
    static final String QUERY = "query";
    static final String LABEL = "label";

    private EventsIndex() {}

    static String definition(int shards, int replicas) {
        return """
            {
              "settings": {"index": {"number_of_shards": %d, "number_of_replicas": %d}},
              "mappings": {
                "properties": {
                  "%s": {"type": "keyword"},
                  "%s": {"type": "keyword"},
                  "%s": {"type": "keyword"},
                  "%s": {"type": "date", "format": "epoch_second"},
                  "%s": {"type": "text"},
                  "%s": {"type": "integer"}
                }
              }
            }
            """.formatted(shards, replicas, USER_ID, ITEM_ID, ACTION, TIMESTAMP, QUERY, LABEL);
    }
}
