package org.genrec.plugin.query;

import org.apache.lucene.document.DocumentStoredFieldVisitor;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.StoredFields;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.support.XContentMapValues;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.search.SearchHit;

import java.io.IOException;
import java.util.Map;

/**
 * The text of items the model was not trained on, as the items index holds it (in {@code _source}, the fields
 * {@link ItemTextFields} names): what the model ranks such an item by. Read only for those items of a ranked window, so a
 * window of trained items reads nothing.
 */
public final class ItemTexts {

    private ItemTexts() {}

    /**
     * Per doc (global ids), the text of those the model does not know ({@code indices[i] == 0}), when it can rank them by
     * their text; null elsewhere and where the document has no {@code _source}.
     */
    public static ItemText[] ofUnknown(IndexReader reader, int[] docs, long[] indices, GenrecModel model, ItemTextFields fields)
        throws IOException {
        ItemText[] texts = new ItemText[docs.length];
        if (!model.embedsNewItems()) {
            return texts;
        }
        StoredFields stored = null;
        for (int i = 0; i < docs.length; i++) {
            if (indices[i] != 0) {
                continue;
            }
            stored = stored == null ? reader.storedFields() : stored;
            DocumentStoredFieldVisitor visitor = new DocumentStoredFieldVisitor("_source");
            stored.document(docs[i], visitor);
            IndexableField source = visitor.getDocument().getField("_source");
            if (source != null && source.binaryValue() != null) {
                var bytes = source.binaryValue();
                texts[i] = of(XContentHelper.convertToMap(new BytesArray(bytes.bytes, bytes.offset, bytes.length), false).v2(), fields);
            }
        }
        return texts;
    }

    /** The same for search hits, from their {@code _source}. */
    public static ItemText[] ofUnknown(SearchHit[] hits, long[] indices, GenrecModel model, ItemTextFields fields) {
        ItemText[] texts = new ItemText[indices.length];
        if (!model.embedsNewItems()) {
            return texts;
        }
        for (int i = 0; i < indices.length; i++) {
            texts[i] = indices[i] == 0 && hits[i].hasSource() ? of(hits[i].getSourceAsMap(), fields) : null;
        }
        return texts;
    }

    static ItemText of(Map<String, Object> source, ItemTextFields fields) {
        return ItemText.fromFields(XContentMapValues.extractValue(fields.title(), source),
            XContentMapValues.extractValue(fields.categories(), source));
    }
}
