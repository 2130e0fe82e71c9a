package org.genrec.runtime.encoding;

import org.genrec.runtime.InvalidRequestException;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.Manifest;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a {@link GenrecRequest} into encode-graph tensors exactly as the trainer does
 * (docs/bundle-format.md, "Request encoding"). Any difference here is silent skew, which the
 * golden-vector tests exist to catch.
 */
public final class RequestEncoder {

    /** Longer raw histories are refused rather than sorted: they are a client bug, not a user. */
    public static final int MAX_RAW_HISTORY = 10_000;

    private final ItemCatalog items;
    private final TextTokenizer tokenizer;
    private final Map<String, Integer> actionIndex = new HashMap<>();
    private final List<String> actions;
    private final int maxHistory;

    public RequestEncoder(Manifest manifest, ItemCatalog items, TextTokenizer tokenizer) {
        this.items = items;
        this.tokenizer = tokenizer;
        this.actions = List.copyOf(manifest.actions());
        for (int i = 0; i < actions.size(); i++) {
            actionIndex.put(actions.get(i), i + 1);
        }
        this.maxHistory = manifest.maxHistory();
    }

    public EncodedRequest encode(GenrecRequest request) {
        List<HistoryEvent> history = request.history();
        if (history.size() > MAX_RAW_HISTORY) {
            throw new InvalidRequestException(
                "history has " + history.size() + " events; at most " + MAX_RAW_HISTORY + " are accepted (the model reads the last "
                    + maxHistory + ")"
            );
        }
        // Stable sort: equal times keep the order the caller gave, as in the trainer.
        List<HistoryEvent> ordered = new ArrayList<>(history);
        ordered.sort(Comparator.comparingLong(HistoryEvent::timeSeconds));

        List<HistoryEvent> known = new ArrayList<>(ordered.size());
        for (HistoryEvent event : ordered) {
            if (!actionIndex.containsKey(event.action())) {
                throw new InvalidRequestException("unknown action [" + event.action() + "]; this model knows " + actions);
            }
            if (items.indexOf(event.itemId()) > 0) {
                known.add(event);
            }
        }
        int dropped = ordered.size() - known.size();
        List<HistoryEvent> kept = known.subList(Math.max(0, known.size() - maxHistory), known.size());

        int n = Math.max(1, kept.size());
        int q = tokenizer.maxTokens();
        long[] itemIdx = new long[n];
        long[] actionIdx = new long[n];
        long[] ages = new long[n];
        long[] historyTokens = new long[n * q];
        // Left padding: real events occupy the last kept.size() slots.
        int offset = n - kept.size();
        for (int i = 0; i < kept.size(); i++) {
            HistoryEvent event = kept.get(i);
            int slot = offset + i;
            itemIdx[slot] = items.indexOf(event.itemId());
            actionIdx[slot] = actionIndex.get(event.action());
            ages[slot] = Math.max(0L, Math.subtractExact(request.requestTimeSeconds(), event.timeSeconds()));
            System.arraycopy(tokenizer.encode(event.query()), 0, historyTokens, slot * q, q);
        }
        return new EncodedRequest(n, q, itemIdx, actionIdx, ages, historyTokens, tokenizer.encode(request.query()), dropped);
    }

    /** Model indices of candidate items; unknown ids are an error here (callers filter them first). */
    public long[] encodeCandidates(List<String> itemIds) {
        long[] out = new long[itemIds.size()];
        for (int i = 0; i < out.length; i++) {
            int index = items.indexOf(itemIds.get(i));
            if (index < 1) {
                throw new InvalidRequestException("candidate item [" + itemIds.get(i) + "] is not known to the model");
            }
            out[i] = index;
        }
        return out;
    }
}
