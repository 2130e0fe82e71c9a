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

    /** Every model's. */
    public static final List<String> BASE = List.of(
        "history_items", "history_actions", "history_age_seconds", "history_query_tokens", "query_tokens");

    private EncodeInputs() {}

    /** {@link #BASE}, and {@link #HISTORY_ITEM_TOKENS} after them for a model that reads new items in a history by their text. */
    public static List<String> of(boolean readsNewHistoryItems) {
        if (!readsNewHistoryItems) {
            return BASE;
        }
        List<String> names = new ArrayList<>(BASE);
        names.add(HISTORY_ITEM_TOKENS);
        return List.copyOf(names);
    }
}
