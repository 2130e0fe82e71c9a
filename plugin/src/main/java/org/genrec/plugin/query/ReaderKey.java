package org.genrec.plugin.query;

import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Identifies the point-in-time view a reader gives: its segments (core cache keys, in order) and
 * their live-doc counts. Two wrappers of the same view (one per search phase) get equal keys, so
 * doc ids computed on one are valid on the other; a refresh or a delete changes the key.
 */
final class ReaderKey {

    private ReaderKey() {}

    static Object of(IndexReader reader) {
        List<Object> parts = new ArrayList<>(reader.leaves().size() * 2);
        for (LeafReaderContext leaf : reader.leaves()) {
            LeafReader leafReader = leaf.reader();
            if (leafReader.getCoreCacheHelper() == null) {
                return reader.getContext().id(); // no stable identity offered: fall back to this exact reader
            }
            parts.add(leafReader.getCoreCacheHelper().getKey());
            parts.add(leafReader.numDocs());
        }
        return parts;
    }
}
