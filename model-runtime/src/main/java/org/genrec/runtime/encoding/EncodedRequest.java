package org.genrec.runtime.encoding;

/**
 * A request as the encode graph's input tensors (batch 1), flattened row-major.
 *
 * @param length               history length N after padding (at least 1)
 * @param queryTokens          tokens per text, Q
 * @param historyItems         [N] model item indices, 0 = padding
 * @param historyActions       [N] action indices, 0 = padding
 * @param historyAgeSeconds    [N] request time minus event time, never negative
 * @param historyQueryTokens   [N * Q]
 * @param requestQueryTokens   [Q]
 * @param droppedHistoryItems  history events whose item the model does not know
 */
public record EncodedRequest(
    int length,
    int queryTokens,
    long[] historyItems,
    long[] historyActions,
    long[] historyAgeSeconds,
    long[] historyQueryTokens,
    long[] requestQueryTokens,
    int droppedHistoryItems
) {}
