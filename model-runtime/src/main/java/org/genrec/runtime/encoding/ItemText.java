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

    /**
     * An item's text from a document's field values: the title as a string, categories as a list of values or one value
     * (how JSON sources hold them); either may be missing (null).
     */
    public static ItemText fromFields(Object title, Object categories) {
        List<String> names = new ArrayList<>();
        if (categories instanceof List<?> list) {
            list.forEach(c -> names.add(String.valueOf(c)));
        } else if (categories != null) {
            names.add(categories.toString());
        }
        return new ItemText(title == null ? null : title.toString(), names);
    }

    /** Whether there is no text at all: no title (or a blank one) and no categories. */
    public boolean isEmpty() {
        return title.isBlank() && categories.isEmpty();
    }

    /** Whether the text has a token at all: without one there is nothing to embed the item from. */
    public boolean hasTokens(TextTokenizer tokenizer) {
        return tokens(tokenizer, 1)[0] != tokenizer.padId();
    }

    /** The item's token ids, right-padded to exactly {@code maxItemTokens}. */
    public long[] tokens(TextTokenizer tokenizer, int maxItemTokens) {
        List<String> parts = new ArrayList<>(categories);
        parts.add(title);
        return tokenizer.encode(String.join(" ", parts), maxItemTokens);
    }
}
