package org.genrec.plugin.query;

import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.Query;
import org.genrec.runtime.GenrecModel;

import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node's recently ranked kNN hits, per shard reader. OpenSearch builds and rewrites the query
 * again in each phase of one search (dfs, query, fetch), each time from a freshly deserialized
 * request; without this the ranking model would run two or three times per shard and request.
 * Keyed by a random id drawn with the request's encoding, so two requests never share hits (a
 * benchmark that repeats requests measures the model, not this cache).
 * Entries are tied to the reader's segments ({@link ReaderKey}), so a refresh never serves stale hits.
 */
public final class RankedHitsCache {

    /** Bounded: entries are only useful for the seconds between the phases of one search. */
    private static final int MAX_ENTRIES = 1024;

    private record Key(Object readerIdentity, Query knn, GenrecModel model, long encodingId) {}

    private final Map<Key, PrecomputedScoresQuery> entries = Collections.synchronizedMap(new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, PrecomputedScoresQuery> eldest) {
            return size() > MAX_ENTRIES;
        }
    });

    interface Ranker {
        PrecomputedScoresQuery rank() throws IOException;
    }

    /** @param encodingId drawn once per search request ({@link UserContext#encodingId()}): requests never share entries */
    PrecomputedScoresQuery get(IndexReader reader, Query knn, GenrecModel model, long encodingId, Ranker ranker) throws IOException {
        Key key = new Key(ReaderKey.of(reader), knn, model, encodingId);
        PrecomputedScoresQuery hit = entries.get(key);
        if (hit == null) {
            hit = ranker.rank();
            entries.put(key, hit);
        }
        return hit;
    }
}
