package org.genrec.runtime.encoding;

import java.util.ArrayList;
import java.util.List;

/** The encode graph's input names, in graph order (docs/bundle-format.md, "Graphs"). */
public final class EncodeInputs {

    /**
     * Models trained to read an item by its text alone ({@code --item-id-dropout}) only: the text of history items added after
     * training ({@link EncodedRequest#historyItemTokens}).
     */
    public static final String HISTORY_ITEM_TOKENS = "history_item_tokens";

    /**
     * Models that read absolute time ({@code --absolute-time}) only, last: when the request is made ({@link EncodedRequest#requestTime}),
     * which the graph buckets itself.
     */
    public static final String REQUEST_TIME = "request_time";

    /** Every model's. */
    public static final List<String> BASE = List.of(
        "history_items", "history_actions", "history_age_seconds", "history_query_tokens", "query_tokens");

    private EncodeInputs() {}

    /**
     * {@link #BASE}, then {@link #HISTORY_ITEM_TOKENS} for a model that reads new items in a history by their text, then
     * {@link #REQUEST_TIME} for one that reads absolute time.
     */
    public static List<String> of(boolean readsNewHistoryItems, boolean readsRequestTime) {
        List<String> names = new ArrayList<>(BASE);
        if (readsNewHistoryItems) {
            names.add(HISTORY_ITEM_TOKENS);
        }
        if (readsRequestTime) {
            names.add(REQUEST_TIME);
        }
        return List.copyOf(names);
    }
}
