package org.genrec.plugin.query;

import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.encoding.EventTime;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Reads the {@code genrec} query body. Every malformed input becomes a {@link ParsingException} (HTTP 400) naming the field. */
public final class GenrecQueryParser {

    static final ParseField MODEL = new ParseField("model");
    static final ParseField VECTOR_FIELD = new ParseField("vector_field");
    static final ParseField ITEM_ID_FIELD = new ParseField("item_id_field");
    static final ParseField HISTORY = new ParseField("history");
    static final ParseField QUERY = new ParseField("query");
    static final ParseField K = new ParseField("k");
    static final ParseField REQUEST_TIME = new ParseField("request_time");
    static final ParseField EXCLUDE_HISTORY = new ParseField("exclude_history");
    static final ParseField RANK = new ParseField("rank");

    private GenrecQueryParser() {}

    public static GenrecQueryBuilder parse(XContentParser parser, GenrecServices services) throws IOException {
        String model = null;
        String vectorField = null;
        String itemIdField = null;
        List<HistoryEvent> history = List.of();
        String query = null;
        int k = GenrecQueryBuilder.DEFAULT_K;
        Long requestTime = null;
        boolean excludeHistory = true;
        boolean rank = true;
        float boost = AbstractQueryBuilder.DEFAULT_BOOST;
        String queryName = null;

        String field = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
            } else if (HISTORY.match(field, parser.getDeprecationHandler())) {
                history = parseHistory(parser);
            } else if (token.isValue() || token == XContentParser.Token.VALUE_NULL) {
                try {
                    if (MODEL.match(field, parser.getDeprecationHandler())) {
                        model = parser.text();
                    } else if (VECTOR_FIELD.match(field, parser.getDeprecationHandler())) {
                        vectorField = parser.text();
                    } else if (ITEM_ID_FIELD.match(field, parser.getDeprecationHandler())) {
                        itemIdField = parser.text();
                    } else if (QUERY.match(field, parser.getDeprecationHandler())) {
                        query = token == XContentParser.Token.VALUE_NULL ? null : parser.text();
                    } else if (K.match(field, parser.getDeprecationHandler())) {
                        k = parser.intValue(false);
                    } else if (REQUEST_TIME.match(field, parser.getDeprecationHandler())) {
                        requestTime = EventTime.toUnixSeconds(token == XContentParser.Token.VALUE_NUMBER ? parser.numberValue() : parser.text());
                    } else if (EXCLUDE_HISTORY.match(field, parser.getDeprecationHandler())) {
                        excludeHistory = parser.booleanValue();
                    } else if (RANK.match(field, parser.getDeprecationHandler())) {
                        rank = parser.booleanValue();
                    } else if (AbstractQueryBuilder.BOOST_FIELD.match(field, parser.getDeprecationHandler())) {
                        boost = parser.floatValue();
                    } else if (AbstractQueryBuilder.NAME_FIELD.match(field, parser.getDeprecationHandler())) {
                        queryName = parser.text();
                    } else {
                        throw new ParsingException(parser.getTokenLocation(), "[" + GenrecQueryBuilder.NAME + "] unknown field [" + field + "]");
                    }
                } catch (IllegalArgumentException e) {
                    throw new ParsingException(parser.getTokenLocation(),
                        "[" + GenrecQueryBuilder.NAME + "] invalid value for [" + field + "]: " + e.getMessage(), e);
                }
            } else {
                throw new ParsingException(parser.getTokenLocation(),
                    "[" + GenrecQueryBuilder.NAME + "] unexpected " + token + " for field [" + field + "]");
            }
        }
        try {
            GenrecQueryBuilder builder = new GenrecQueryBuilder(services, model, vectorField, itemIdField, history, query, k, requestTime,
                excludeHistory, rank);
            builder.boost(boost);
            builder.queryName(queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage(), e);
        }
    }

    /** {@code [{"item": "1193", "action": "rate_5", "time": 978300760, "query": "..."}, ...]} */
    private static List<HistoryEvent> parseHistory(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw new ParsingException(parser.getTokenLocation(), "[" + GenrecQueryBuilder.NAME + "] [history] must be an array of events");
        }
        List<HistoryEvent> events = new ArrayList<>();
        while (parser.nextToken() != XContentParser.Token.END_ARRAY) {
            if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
                throw new ParsingException(parser.getTokenLocation(),
                    "[" + GenrecQueryBuilder.NAME + "] [history] entries must be objects like {\"item\": \"42\", \"action\": \"click\", \"time\": 978300760}");
            }
            events.add(parseEvent(parser, events.size()));
        }
        return events;
    }

    private static HistoryEvent parseEvent(XContentParser parser, int position) throws IOException {
        String item = null;
        String action = null;
        Long time = null;
        String query = null;
        String field = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
                continue;
            }
            if (!token.isValue() && token != XContentParser.Token.VALUE_NULL) {
                throw new ParsingException(parser.getTokenLocation(), "[" + GenrecQueryBuilder.NAME + "] history[" + position + "]." + field
                    + " must be a value");
            }
            try {
                switch (field) {
                    case "item" -> item = parser.text();
                    case "action" -> action = parser.text();
                    case "time" -> time = EventTime.toUnixSeconds(token == XContentParser.Token.VALUE_NUMBER ? parser.numberValue() : parser.text());
                    case "query" -> query = token == XContentParser.Token.VALUE_NULL ? null : parser.text();
                    default -> throw new ParsingException(parser.getTokenLocation(),
                        "[" + GenrecQueryBuilder.NAME + "] history[" + position + "] has unknown field [" + field + "]");
                }
            } catch (IllegalArgumentException e) {
                throw new ParsingException(parser.getTokenLocation(),
                    "[" + GenrecQueryBuilder.NAME + "] history[" + position + "]." + field + ": " + e.getMessage(), e);
            }
        }
        if (item == null || item.isEmpty() || action == null || time == null) {
            throw new ParsingException(parser.getTokenLocation(),
                "[" + GenrecQueryBuilder.NAME + "] history[" + position + "] needs [item], [action] and [time]");
        }
        return new HistoryEvent(item, action, time, query);
    }
}
