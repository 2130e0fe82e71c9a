package org.genrec.runtime.encoding;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The trainer's {@code lowercase_alnum} tokenizer: lowercase, maximal runs of [a-z0-9], vocabulary
 * lookup, first {@code maxTokens} kept, right-padded. Python: {@code re.findall(r"[a-z0-9]+", text.lower())}.
 */
public final class TextTokenizer {

    private static final Pattern TOKEN = Pattern.compile("[a-z0-9]+");

    private final Map<String, Integer> ids;
    private final int padId;
    private final int unkId;
    private final int maxTokens;

    public TextTokenizer(List<String> vocabulary, int padId, int unkId, int maxTokens) {
        this.ids = new HashMap<>(vocabulary.size() * 2);
        for (int i = 0; i < vocabulary.size(); i++) {
            ids.putIfAbsent(vocabulary.get(i), i);
        }
        this.padId = padId;
        this.unkId = unkId;
        this.maxTokens = maxTokens;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public int padId() {
        return padId;
    }

    /** Token ids of {@code text}, exactly {@link #maxTokens()} long; all padding when text is null. */
    public long[] encode(String text) {
        return encode(text, maxTokens);
    }

    /** Token ids of {@code text}, exactly {@code maxTokens} long (an item's text has a limit of its own). */
    public long[] encode(String text, int maxTokens) {
        long[] out = new long[maxTokens];
        Arrays.fill(out, padId);
        if (text == null) {
            return out;
        }
        Matcher m = TOKEN.matcher(text.toLowerCase(Locale.ROOT));
        int n = 0;
        while (n < maxTokens && m.find()) {
            out[n++] = ids.getOrDefault(m.group(), unkId);
        }
        return out;
    }
}
