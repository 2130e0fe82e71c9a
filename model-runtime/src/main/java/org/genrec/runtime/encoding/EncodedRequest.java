package org.genrec.runtime.encoding;

/**
 * A request as the encode graph's input tensors (batch 1), flattened row-major.
 *
 * @param length               history length N after padding (at least 1)
 * @param queryTokens          tokens per text, Q
 * @param historyItems         [N] model item indices, 0 = padding or an item added after training
 * @param historyActions       [N] action indices, 0 = padding
 * @param historyAgeSeconds    [N] request time minus event time, never negative
 * @param historyQueryTokens   [N * Q]
 * @param requestQueryTokens   [Q]
 * @param droppedHistoryItems  history events whose item the model cannot read (not trained on it, and no readable text)
 * @param itemTokens           tokens per event in {@code historyItemTokens}, IT: 0 when the encode graph has no
 *                             {@code history_item_tokens} input (an id-only model), the manifest's max_item_tokens when
 *                             an event is of an item added after training, else 1 (padding, which costs the graph nothing)
 * @param historyItemTokens    [N * IT] the item tokens of events of items added after training, padding elsewhere
 * @param requestTime          [1] when the request is made, seconds since the epoch (one per row once batched); the encode
 *                             graph reads it only in models that read absolute time ({@link EncodeInputs#REQUEST_TIME})
 * @param coOccurrenceContext  the trained items of the kept events in the latest kept event's second, or of the last
 *                             {@code co_occurrence.span} kept events: what the served order's co-occurrence term reads
 *                             ({@link org.genrec.runtime.bundle.CoOccurrence}); not a graph input
 */
public record EncodedRequest(
    int length,
    int queryTokens,
    long[] historyItems,
    long[] historyActions,
    long[] historyAgeSeconds,
    long[] historyQueryTokens,
    long[] requestQueryTokens,
    int droppedHistoryItems,
    int itemTokens,
    long[] historyItemTokens,
    long[] requestTime,
    int[] coOccurrenceContext
) {}
