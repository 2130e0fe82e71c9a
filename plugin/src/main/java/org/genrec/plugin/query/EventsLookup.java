package org.genrec.plugin.query;

import static org.genrec.runtime.encoding.EventSchema.ACTION;
import static org.genrec.runtime.encoding.EventSchema.ITEM_ID;
import static org.genrec.runtime.encoding.EventSchema.QUERY;
import static org.genrec.runtime.encoding.EventSchema.SEQ;
import static org.genrec.runtime.encoding.EventSchema.TIMESTAMP;
import static org.genrec.runtime.encoding.EventSchema.USER_ID;

import org.genrec.runtime.encoding.EventTime;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.index.query.BoolQueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.search.SearchHit;
import org.opensearch.search.builder.SearchSourceBuilder;
import org.opensearch.search.sort.SortBuilders;
import org.opensearch.search.sort.SortOrder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Reads a user's latest events from an events index in the trainer's event schema
 * ({@link org.genrec.runtime.encoding.EventSchema}), so logs, training data and the cluster speak one format: the latest
 * events, oldest first, events with one timestamp in ingestion order ({@code seq}).
 */
final class EventsLookup {

    private EventsLookup() {}

    /**
     * The user's latest {@code user.events()} events, or {@code maxHistory} (the model's) when not given; with a
     * {@code requestTime}, only those at or before it: a request made at a past time (a replay, an evaluation) sees the
     * history the user had then, not the events logged since.
     */
    static SearchRequest request(UserContext.UserRef user, int maxHistory, Long requestTime) {
        BoolQueryBuilder events = QueryBuilders.boolQuery().filter(QueryBuilders.termQuery(USER_ID, user.id()));
        if (requestTime != null) {
            events.filter(QueryBuilders.rangeQuery(TIMESTAMP).lte(requestTime).format("epoch_second"));
        }
        SearchSourceBuilder source = new SearchSourceBuilder()
            .query(events)
            .sort(TIMESTAMP, SortOrder.DESC)
            // Events in one second are ordered by ingestion, as the trainer orders them by their place in the log.
            // Without it Lucene breaks the tie by doc id ascending, which the reversal below turns into the
            // opposite of the log's order. An index without the field still works: its ties stay unordered.
            .sort(SortBuilders.fieldSort(SEQ).order(SortOrder.DESC).unmappedType("long"))
            .size(user.events() != null ? user.events() : maxHistory)
            .fetchSource(new String[] { ITEM_ID, ACTION, TIMESTAMP, QUERY }, null);
        return new SearchRequest(user.index()).source(source);
    }

    /** The hits as history events, oldest first. */
    static List<HistoryEvent> events(SearchResponse response, UserContext.UserRef user) {
        List<HistoryEvent> events = new ArrayList<>();
        for (SearchHit hit : response.getHits().getHits()) {
            Map<String, Object> source = hit.getSourceAsMap();
            Object item = source.get(ITEM_ID);
            Object action = source.get(ACTION);
            Object time = source.get(TIMESTAMP);
            if (item == null || action == null || time == null) {
                throw new IllegalArgumentException("event [" + hit.getId() + "] of user [" + user.id() + "] in index [" + user.index()
                    + "] lacks [" + ITEM_ID + "], [" + ACTION + "] or [" + TIMESTAMP + "]");
            }
            Object query = source.get(QUERY);
            events.add(new HistoryEvent(item.toString(), action.toString(), EventTime.toUnixSeconds(time), query == null ? null : query.toString()));
        }
        Collections.reverse(events);
        return events;
    }
}
