package org.genrec.runtime.encoding;

/**
 * One past interaction of the user: which item, what they did, when (Unix seconds), and the
 * search text that led to it, if any. Same fields as the trainer's event schema and the events index.
 * {@code itemText}, optional: the item's text, by which a model trained to read items by their text alone reads an item it was
 * not trained on (added to the catalogue after training); without it, or for other models, such an event is left out.
 */
public record HistoryEvent(String itemId, String action, long timeSeconds, String query, ItemText itemText) {
    public HistoryEvent {
        if (itemId == null || itemId.isEmpty()) {
            throw new IllegalArgumentException("history event needs an item id");
        }
    }

    public HistoryEvent(String itemId, String action, long timeSeconds, String query) {
        this(itemId, action, timeSeconds, query, null);
    }

    /** This event with its item's text. */
    public HistoryEvent withItemText(ItemText text) {
        return new HistoryEvent(itemId, action, timeSeconds, query, text);
    }
}
