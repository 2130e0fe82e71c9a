package org.genrec.runtime.encoding;

import java.util.ArrayList;
import java.util.List;

/** The encode graph's input names, in graph order (docs/bundle-format.md, "Graphs"). */
public final class EncodeInputs {

    /**
     * Only models whose graph reads the events' ages beyond the rotary rows made from them (the time-bucket bias, absolute
     * time), third.
     */
    public static final String HISTORY_AGE_SECONDS = "history_age_seconds";

    /**
     * Models trained to read an item by its text alone ({@code --item-id-dropout}) only: the text of history items added after
     * training ({@link EncodedRequest#historyItemTokens}).
     */
    public static final String HISTORY_ITEM_TOKENS = "history_item_tokens";

    /**
     * Models that read absolute time ({@code --absolute-time}) only: when the request is made ({@link EncodedRequest#requestTime}),
     * which the graph buckets itself.
     */
    public static final String REQUEST_TIME = "request_time";

    /** Every model's last inputs: the rotary rows and their ids ({@link RotaryRows}). */
    public static final List<String> ROTARY = List.of("rotary_cos", "rotary_sin", "rotary_ids");

    /** After {@link #ROTARY}, in models whose history tokens query at the next event's time: the keys' row ids. */
    public static final String KEY_ROTARY_IDS = "key_rotary_ids";

    /** Every model's last inputs: the slot masks ({@link SlotMasks}). */
    public static final List<String> SLOTS = List.of("key_padding", "slot_keep", "slot_columns");

    /** Every model's first inputs, {@link #HISTORY_AGE_SECONDS} where the graph reads it between the second and third. */
    public static final List<String> BASE = List.of("history_items", "history_actions", "history_query_tokens", "query_tokens");

    private EncodeInputs() {}

    /**
     * {@link #BASE} (with {@link #HISTORY_AGE_SECONDS} third for a model that reads ages), then {@link #HISTORY_ITEM_TOKENS} for
     * a model that reads new items in a history by their text, then {@link #REQUEST_TIME} for one that reads absolute time,
     * then {@link #ROTARY} and, for one whose queries turn at the next event's time, {@link #KEY_ROTARY_IDS}, then {@link #SLOTS}.
     */
    public static List<String> of(boolean readsAges, boolean readsNewHistoryItems, boolean readsRequestTime, boolean queryAtNextEvent) {
        List<String> names = new ArrayList<>(BASE);
        if (readsAges) {
            names.add(2, HISTORY_AGE_SECONDS);
        }
        if (readsNewHistoryItems) {
            names.add(HISTORY_ITEM_TOKENS);
        }
        if (readsRequestTime) {
            names.add(REQUEST_TIME);
        }
        names.addAll(ROTARY);
        if (queryAtNextEvent) {
            names.add(KEY_ROTARY_IDS);
        }
        names.addAll(SLOTS);
        return List.copyOf(names);
    }
}
