package org.genrec.plugin.query;

import org.genrec.runtime.encoding.ItemText;
import org.opensearch.common.unit.TimeValue;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The text of items added after training, as this coordinating node last read it from the items a request searched
 * ({@link NewHistoryItems}): a history that names such items pays that search once per item and time to live, not once per
 * request (BENCHMARKS.md: the search is ~2 ms of a ~5 ms request, whatever the number of items). An item the search did not
 * find is remembered as absent too, so a history naming an unknown id does not search on every request either.
 *
 * <p>Why a time to live and not invalidation: the text lives in whichever indices a request searches (patterns and aliases
 * included), written by any client, so this node cannot see every update. A text updated, or an item indexed after a search
 * missed it, is read at most one time to live later: the same kind of bound as an index's refresh interval. Bounded in
 * entries, least recently used first out; an expired entry is not swept, but replaced when its id is searched again.
 */
public final class NewItemTextCache {

    public static final TimeValue DEFAULT_TTL = TimeValue.timeValueMinutes(1);
    public static final int DEFAULT_MAX_ENTRIES = 50_000;

    /** Where the text was read: the same item id may name other items in other indices or fields. */
    private record Place(List<String> indices, String itemIdField, ItemTextFields textFields) {
        Place(NewHistoryItems.Source source) {
            this(List.of(source.indices()), source.itemIdField(), source.textFields());
        }
    }

    private record Key(Place place, String itemId) {}

    /** {@code text} null: the search found no item with text under that id. */
    private record Held(ItemText text, long expiresAtNanos) {}

    /** What the cache knows of some ids: the texts it holds, and the ids to search for. */
    public record Lookup(Map<String, ItemText> texts, Set<String> toSearch) {}

    /** Entries held now; ids answered from the cache; ids searched for; searches made. */
    public record Stats(long entries, long hits, long searchedIds, long searches) {}

    private final int maxEntries;
    private final LongSupplier nanoClock;
    private final LinkedHashMap<Key, Held> entries = new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Held> eldest) {
            return size() > maxEntries;
        }
    };
    private final LongAdder hits = new LongAdder();
    private final LongAdder searchedIds = new LongAdder();
    private final LongAdder searches = new LongAdder();
    private long ttlNanos; // guarded by entries

    public NewItemTextCache(TimeValue ttl, int maxEntries) {
        this(ttl, maxEntries, System::nanoTime);
    }

    NewItemTextCache(TimeValue ttl, int maxEntries, LongSupplier nanoClock) {
        if (maxEntries < 0) {
            throw new IllegalArgumentException("the cache's size must be >= 0, got " + maxEntries);
        }
        this.maxEntries = maxEntries;
        this.nanoClock = nanoClock;
        ttl(ttl);
    }

    /** A new time to live; entries read under the old one are dropped, so a shorter one takes effect at once. 0 turns the cache off. */
    public void ttl(TimeValue ttl) {
        synchronized (entries) {
            ttlNanos = ttl.nanos();
            entries.clear();
        }
    }

    /** The texts held (unexpired) for {@code ids}, and the ids the caller must search for. */
    Lookup lookup(NewHistoryItems.Source source, Set<String> ids) {
        Map<String, ItemText> texts = new HashMap<>();
        Set<String> toSearch = new LinkedHashSet<>();
        Place place = new Place(source);
        long now = nanoClock.getAsLong();
        synchronized (entries) { // empty while the time to live is 0: ttl() clears it and remember() adds nothing
            for (String id : ids) {
                Held entry = entries.get(new Key(place, id));
                if (entry == null || now - entry.expiresAtNanos() >= 0) {
                    toSearch.add(id);
                } else if (entry.text() != null) {
                    texts.put(id, entry.text());
                }
            }
        }
        hits.add(ids.size() - toSearch.size());
        return new Lookup(texts, toSearch);
    }

    /** After a search for {@code searched}: remembers the texts found, and that the other ids were not found. */
    void remember(NewHistoryItems.Source source, Set<String> searched, Map<String, ItemText> found) {
        searches.increment();
        searchedIds.add(searched.size());
        Place place = new Place(source);
        synchronized (entries) { // expires by the time to live in effect when stored, even if ttl() ran during the search
            if (ttlNanos == 0) {
                return;
            }
            long expiresAt = nanoClock.getAsLong() + ttlNanos;
            for (String id : searched) {
                entries.put(new Key(place, id), new Held(found.get(id), expiresAt));
            }
        }
    }

    public Stats stats() {
        int size;
        synchronized (entries) {
            size = entries.size();
        }
        return new Stats(size, hits.sum(), searchedIds.sum(), searches.sum());
    }
}
