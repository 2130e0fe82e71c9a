package org.genrec.tools;

import static org.genrec.runtime.encoding.EventSchema.ACTION;
import static org.genrec.runtime.encoding.EventSchema.ITEM_ID;
import static org.genrec.runtime.encoding.EventSchema.LABEL;
import static org.genrec.runtime.encoding.EventSchema.QUERY;
import static org.genrec.runtime.encoding.EventSchema.SEQ;
import static org.genrec.runtime.encoding.EventSchema.TIMESTAMP;
import static org.genrec.runtime.encoding.EventSchema.USER_ID;

/**
 * The events index: the trainer's event schema ({@link org.genrec.runtime.encoding.EventSchema}) as OpenSearch fields, so that logs, training data
 * and the {@code genrec} query's {@code user} lookup speak one format (user_id, item_id, action,
 * timestamp in epoch seconds, optional query and label), plus {@code seq}, the ingestion order that breaks ties
 * between equal timestamps as the trainer's file order does.
 */
final class EventsIndex {

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
                  "%s": {"type": "integer"},
                  "%s": {"type": "long"}
                }
              }
            }
            """.formatted(shards, replicas, USER_ID, ITEM_ID, ACTION, TIMESTAMP, QUERY, LABEL, SEQ);
    }
}
