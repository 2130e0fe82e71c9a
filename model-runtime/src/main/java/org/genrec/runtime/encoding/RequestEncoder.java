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
    /** max_item_tokens when the encode graph reads items added after training from their text, else 0. */
    private final int newItemTokens;
    private final boolean readsRequestTime;
    /** co_occurrence.span: the co-occurrence term reads the last this many kept events; 0: the latest kept second. */
    private final int coOccurrenceSpan;

    public RequestEncoder(Manifest manifest, ItemCatalog items, TextTokenizer tokenizer) {
        this.items = items;
        this.tokenizer = tokenizer;
        this.actions = List.copyOf(manifest.actions());
        for (int i = 0; i < actions.size(); i++) {
            actionIndex.put(actions.get(i), i + 1);
        }
        this.maxHistory = manifest.maxHistory();
        this.newItemTokens = manifest.readsNewHistoryItems() ? manifest.items().maxItemTokens() : 0;
        this.readsRequestTime = manifest.readsRequestTime();
        this.coOccurrenceSpan = manifest.coOccurrenceSpan();
    }

    /** Whether the encode graph takes the request's time itself, not only the events' ages (models trained with --absolute-time). */
    public boolean readsRequestTime() {
        return readsRequestTime;
    }

    /** Whether the model reads a history event of an item it was not trained on, given the item's text. */
    public boolean readsNewHistoryItems() {
        return newItemTokens > 0;
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

        // Events the model can read: trained items, and (bundles that read them) new items whose text has a token.
        List<Readable> known = new ArrayList<>(ordered.size());
        for (HistoryEvent event : ordered) {
            if (!actionIndex.containsKey(event.action())) {
                throw new InvalidRequestException("unknown action [" + event.action() + "]; this model knows " + actions);
            }
            int index = items.indexOf(event.itemId());
            long[] itemTokens = index > 0 ? null : newItemTokens(event);
            if (index > 0 || itemTokens != null) {
                known.add(new Readable(event, Math.max(0, index), itemTokens));
            }
        }
        int dropped = ordered.size() - known.size();
        List<Readable> kept = known.subList(Math.max(0, known.size() - maxHistory), known.size());

        int n = Math.max(1, kept.size());
        int q = tokenizer.maxTokens();
        int it = newItemTokens == 0 ? 0 : kept.stream().anyMatch(r -> r.itemTokens() != null) ? newItemTokens : 1;
        long[] itemIdx = new long[n];
        long[] actionIdx = new long[n];
        long[] ages = new long[n];
        long[] historyTokens = new long[n * q];
        long[] historyItemTokens = new long[n * it];
        // Left padding: real events occupy the last kept.size() slots.
        int offset = n - kept.size();
        for (int i = 0; i < kept.size(); i++) {
            HistoryEvent event = kept.get(i).event();
            int slot = offset + i;
            itemIdx[slot] = kept.get(i).index(); // 0 for an item added after training, read by its text
            if (kept.get(i).itemTokens() != null) {
                System.arraycopy(kept.get(i).itemTokens(), 0, historyItemTokens, slot * it, it);
            }
            actionIdx[slot] = actionIndex.get(event.action());
            ages[slot] = Math.max(0L, Math.subtractExact(request.requestTimeSeconds(), event.timeSeconds()));
            System.arraycopy(tokenizer.encode(event.query()), 0, historyTokens, slot * q, q);
        }
        return new EncodedRequest(n, q, itemIdx, actionIdx, ages, historyTokens, tokenizer.encode(request.query()), dropped, it,
            historyItemTokens, new long[] { request.requestTimeSeconds() }, coOccurrenceContext(kept));
    }

    /**
     * The distinct trained items, ascending, among the kept events of the latest kept event's second, or among the last
     * co_occurrence.span kept events (the trainer's cooccurrence.context_items).
     */
    private int[] coOccurrenceContext(List<Readable> kept) {
        if (kept.isEmpty()) {
            return new int[0];
        }
        List<Readable> read;
        if (coOccurrenceSpan > 0) {
            read = kept.subList(Math.max(0, kept.size() - coOccurrenceSpan), kept.size());
        } else {
            long latest = kept.get(kept.size() - 1).event().timeSeconds();
            read = kept.stream().filter(r -> r.event().timeSeconds() == latest).toList();
        }
        return read.stream().mapToInt(Readable::index).filter(index -> index > 0).distinct().sorted().toArray();
    }

    /** An event the model can read: its item's index (0 for an item added after training) and that item's tokens (else null). */
    private record Readable(HistoryEvent event, int index, long[] itemTokens) {}

    /** The item tokens of an event whose item the model was not trained on, or null when the model cannot read it by them. */
    private long[] newItemTokens(HistoryEvent event) {
        if (newItemTokens == 0 || event.itemText() == null) {
            return null;
        }
        long[] tokens = event.itemText().tokens(tokenizer, newItemTokens); // right-padded: the first is a token when any is
        return tokens[0] == tokenizer.padId() ? null : tokens;
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
