package org.genrec.runtime.encoding;

/**
 * Field names of the one event schema shared by interaction logs, the trainer's input and the
 * events index in OpenSearch (DESIGN.md, "Data"): {@code user_id}, {@code item_id}, {@code action},
 * {@code timestamp} (Unix seconds or ISO-8601), optional {@code query} and {@code label}. The events index adds
 * {@link #SEQ}.
 */
public final class EventSchema {

    public static final String USER_ID = "user_id";
    public static final String ITEM_ID = "item_id";
    public static final String ACTION = "action";
    public static final String TIMESTAMP = "timestamp";
    public static final String QUERY = "query";
    public static final String LABEL = "label";
    /**
     * Events index only: the event's place in the order it was ingested. Timestamps are whole seconds and many events
     * share one (half of MovieLens's consecutive ratings), and the trainer orders those by their place in the log; this
     * field lets the index give them back in that order instead of an arbitrary one.
     */
    public static final String SEQ = "seq";

    private EventSchema() {}
}
