package org.genrec.runtime.encoding;

import java.util.ArrayList;
import java.util.List;

/**
 * The text the model reads of an item: its categories, then its title, as one text
 * (docs/bundle-format.md, "Item text"; the trainer's {@code data.item_tokens}). Categories come first so that
 * a long title, not the categories, is what the cut at {@code max_item_tokens} shortens.
 */
public record ItemText(String title, List<String> categories) {

    public ItemText {
        title = title == null ? "" : title;
        categories = categories == null ? List.of() : List.copyOf(categories);
    }

    /** The item's token ids, right-padded to exactly {@code maxItemTokens}. */
    public long[] tokens(TextTokenizer tokenizer, int maxItemTokens) {
        List<String> parts = new ArrayList<>(categories);
        parts.add(title);
        return tokenizer.encode(String.join(" ", parts), maxItemTokens);
    }
}
