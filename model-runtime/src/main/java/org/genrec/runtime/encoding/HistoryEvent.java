package org.genrec.runtime.encoding;

/**
 * One past interaction of the user: which item, what they did, when (Unix seconds), and the
 * search text that led to it, if any. Same fields as the trainer's event schema and the events index.
 */
public record HistoryEvent(String itemId, String action, long timeSeconds, String query) {
    public HistoryEvent {
        if (itemId == null || itemId.isEmpty()) {
            throw new IllegalArgumentException("history event needs an item id");
        }
    }
}
