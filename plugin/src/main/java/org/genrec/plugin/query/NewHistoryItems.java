package org.genrec.plugin.query;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.IndicesOptions;
import org.opensearch.common.xcontent.support.XContentMapValues;
import org.opensearch.index.query.BoolQueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A history's events of items the model was not trained on (added to the catalogue after training) get their item's
 * text, read from the items the request searches: a model with item text then reads such an event by that text instead
 * of leaving it out (docs/bundle-format.md, "Items added after training"). One search per request, and only for a history
 * that holds such items and only for those of them that {@link NewItemTextCache} does not hold: a {@code terms} query on the
 * item id field for their ids.
 */
final class NewHistoryItems {

    /** Where items are found: the indices the request searches, their item id field and text fields. */
    record Source(String[] indices, String itemIdField, ItemTextFields textFields) {}

    private NewHistoryItems() {}

    /** The ids of events the model has no id row for and no text, when the model could read them by their text; else none. */
    static Set<String> unread(List<HistoryEvent> history, GenrecModel model) {
        Set<String> ids = new LinkedHashSet<>();
        if (!model.encoder().readsNewHistoryItems()) {
            return ids;
        }
        for (HistoryEvent event : history) {
            if (event.itemText() == null && model.bundle().items().indexOf(event.itemId()) < 1) {
                ids.add(event.itemId());
            }
        }
        return ids;
    }

    static SearchRequest request(Source source, Set<String> ids) {
        // Only documents with text: a search over all indices (or a pattern) also reaches events, which share the item id
        // field, and must not crowd the items out of the hits.
        BoolQueryBuilder withText = QueryBuilders.boolQuery().minimumShouldMatch(1)
            .should(QueryBuilders.existsQuery(source.textFields().title()))
            .should(QueryBuilders.existsQuery(source.textFields().categories()));
        SearchSourceBuilder search = new SearchSourceBuilder()
            .query(QueryBuilders.boolQuery().filter(QueryBuilders.termsQuery(source.itemIdField(), ids)).filter(withText))
            .size(ids.size())
            .fetchSource(new String[] { source.itemIdField(), source.textFields().title(), source.textFields().categories() }, null);
        // An index pattern or alias the request searches may cover indices without these items: not an error here.
        return new SearchRequest(source.indices()).source(search).indicesOptions(IndicesOptions.lenientExpandOpen());
    }

    /** The text of each item with text that the search found, by item id (the first of several documents of one id). */
    static Map<String, ItemText> texts(SearchResponse response, Source source) {
        Map<String, ItemText> texts = new HashMap<>();
        for (SearchHit hit : response.getHits().getHits()) {
            Map<String, Object> doc = hit.getSourceAsMap();
            if (doc == null) {
                continue;
            }
            Object id = XContentMapValues.extractValue(source.itemIdField(), doc);
            ItemText text = ItemTexts.of(doc, source.textFields());
            if (id != null && !text.isEmpty()) {
                texts.putIfAbsent(id.toString(), text);
            }
        }
        return texts;
    }

    /** The history with the text of each item in {@code texts}; an item not in it stays as it was (and is left out by the model). */
    static List<HistoryEvent> withTexts(List<HistoryEvent> history, Map<String, ItemText> texts) {
        List<HistoryEvent> out = new ArrayList<>(history.size());
        for (HistoryEvent event : history) {
            ItemText text = event.itemText() == null ? texts.get(event.itemId()) : null;
            out.add(text == null ? event : event.withItemText(text));
        }
        return out;
    }
}
