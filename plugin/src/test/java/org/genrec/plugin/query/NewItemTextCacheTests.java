package org.genrec.plugin.query;

import org.genrec.runtime.encoding.ItemText;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.test.OpenSearchTestCase;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/** What the node's cache of new items' text answers, and when it sends the caller to search instead. */
public class NewItemTextCacheTests extends OpenSearchTestCase {

    private static final NewHistoryItems.Source ITEMS = new NewHistoryItems.Source(new String[] { "items" }, "item_id", ItemTextFields.DEFAULT);
    private static final ItemText A = new ItemText("Alpha", List.of("drama"));
    private static final ItemText B = new ItemText("Beta", List.of("comedy"));

    private final AtomicLong nanos = new AtomicLong(1_000);

    private NewItemTextCache cache(TimeValue ttl, int maxEntries) {
        return new NewItemTextCache(ttl, maxEntries, nanos::get);
    }

    public void testSearchedIdsAreAnsweredFromTheCacheUntilTheirTimeToLiveEnds() {
        NewItemTextCache cache = cache(TimeValue.timeValueSeconds(60), 100);
        NewItemTextCache.Lookup first = cache.lookup(ITEMS, Set.of("a", "b", "gone"));
        assertEquals(Map.of(), first.texts());
        assertEquals(Set.of("a", "b", "gone"), first.toSearch());
        cache.remember(ITEMS, first.toSearch(), Map.of("a", A, "b", B));

        nanos.addAndGet(TimeValue.timeValueSeconds(59).nanos());
        NewItemTextCache.Lookup again = cache.lookup(ITEMS, Set.of("a", "b", "gone", "new"));
        assertEquals(Map.of("a", A, "b", B), again.texts());
        assertEquals("an id the search did not find is remembered as absent", Set.of("new"), again.toSearch());

        nanos.addAndGet(TimeValue.timeValueSeconds(1).nanos());
        assertEquals("expired: searched again", Set.of("a", "b", "gone"), cache.lookup(ITEMS, Set.of("a", "b", "gone")).toSearch());
        assertEquals(new NewItemTextCache.Stats(3, 3, 3, 1), cache.stats());
    }

    public void testAnItemIsCachedPerSearchedIndicesAndFields() {
        NewItemTextCache cache = cache(TimeValue.timeValueSeconds(60), 100);
        cache.remember(ITEMS, Set.of("a"), Map.of("a", A));
        assertEquals(Set.of(), cache.lookup(ITEMS, Set.of("a")).toSearch());
        for (NewHistoryItems.Source other : List.of(
            new NewHistoryItems.Source(new String[] { "items", "more-items" }, "item_id", ItemTextFields.DEFAULT),
            new NewHistoryItems.Source(new String[] { "items" }, "sku", ItemTextFields.DEFAULT),
            new NewHistoryItems.Source(new String[] { "items" }, "item_id", ItemTextFields.DEFAULT.withTitle("name")))) {
            assertEquals(Set.of("a"), cache.lookup(other, Set.of("a")).toSearch());
        }
    }

    public void testANewTimeToLiveDropsWhatWasReadAndZeroTurnsTheCacheOff() {
        NewItemTextCache cache = cache(TimeValue.timeValueSeconds(60), 100);
        cache.remember(ITEMS, Set.of("a"), Map.of("a", A));
        cache.ttl(TimeValue.timeValueSeconds(5));
        assertEquals(Set.of("a"), cache.lookup(ITEMS, Set.of("a")).toSearch());

        cache.ttl(TimeValue.ZERO);
        cache.remember(ITEMS, Set.of("a"), Map.of("a", A));
        assertEquals(Set.of("a"), cache.lookup(ITEMS, Set.of("a")).toSearch());
        assertEquals(0, cache.stats().entries());
    }

    public void testTheLeastRecentlyReadItemLeavesFirstWhenTheCacheIsFull() {
        NewItemTextCache cache = cache(TimeValue.timeValueSeconds(60), 2);
        cache.remember(ITEMS, Set.of("a", "b"), Map.of("a", A, "b", B));
        cache.lookup(ITEMS, Set.of("a"));
        cache.remember(ITEMS, Set.of("c"), Map.of());
        assertEquals(Set.of("b"), cache.lookup(ITEMS, Set.of("a", "b", "c")).toSearch());
        assertEquals(2, cache.stats().entries());
    }
}
