package org.genrec.runtime.encoding;

/**
 * Field names of the one event schema shared by interaction logs, the trainer's input and the
 * events index in OpenSearch (DESIGN.md, "Data"): {@code user_id}, {@code item_id}, {@code action},
 * {@code timestamp} (Unix seconds or ISO-8601), optional {@code query} and {@code label}.
 */
public final class EventSchema {

    public static final String USER_ID = "user_id";
    public static final String ITEM_ID = "item_id";
    public static final String ACTION = "action";
    public static final String TIMESTAMP = "timestamp";
    public static final String QUERY = "query";
    public static final String LABEL = "label";

    private EventSchema() {}
}
