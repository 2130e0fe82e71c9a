package org.genrec.plugin.query;

import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.ReaderUtil;
import org.apache.lucene.index.SortedSetDocValues;
import org.genrec.runtime.bundle.ItemCatalog;
import org.opensearch.index.mapper.KeywordFieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.List;

/** Maps documents to the model's item indices through the keyword doc values of the item id field. */
public final class ItemIds {

    private ItemIds() {}

    /** The index's item id field, or a 400 explaining what genrec needs. */
    public static MappedFieldType field(QueryShardContext context, String name) {
        MappedFieldType type = context.fieldMapper(name);
        if (!(type instanceof KeywordFieldMapper.KeywordFieldType) || !type.hasDocValues()) {
            throw new IllegalArgumentException("[genrec] needs a [keyword] field with doc values holding the model's item ids; [" + name
                + "] is " + (type == null ? "missing" : "of type [" + type.typeName() + "]") + " in index [" + context.index().getName()
                + "] (set [item_id_field])");
        }
        return type;
    }

    /**
     * Model item index of each global doc id (0 when the document has no id or the model does not
     * know it). {@code docs} must be sorted ascending: doc values are read forward only.
     */
    public static long[] modelIndices(IndexReader reader, String field, int[] docs, ItemCatalog items) throws IOException {
        long[] out = new long[docs.length];
        List<LeafReaderContext> leaves = reader.leaves();
        int currentLeaf = -1;
        SortedSetDocValues values = null;
        LeafReaderContext leaf = null;
        for (int i = 0; i < docs.length; i++) {
            int leafIndex = ReaderUtil.subIndex(docs[i], leaves);
            if (leafIndex != currentLeaf) {
                currentLeaf = leafIndex;
                leaf = leaves.get(leafIndex);
                values = DocValues.getSortedSet(leaf.reader(), field);
            }
            if (values.advanceExact(docs[i] - leaf.docBase)) {
                out[i] = Math.max(0, items.indexOf(values.lookupOrd(values.nextOrd()).utf8ToString()));
            }
        }
        return out;
    }
}
