package org.genrec.plugin.query;

import org.genrec.runtime.encoding.EventTime;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.XContentParser;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Parses the {@link UserContext} fields ({@code model}, {@code history}, {@code user}, {@code query},
 * {@code request_time}) for the query and the rescorer. Feed it every field; it says which it took.
 * Malformed input becomes a {@link ParsingException} (HTTP 400) naming the field.
 */
public final class UserContextParsing {

    private final String owner;
    private String model;
    private List<HistoryEvent> history = List.of();
    private UserContext.UserRef user;
    private String queryText;
    private Long requestTime;

    public UserContextParsing(String owner) {
        this.owner = owner;
    }

    /** Consumes the current field's value if it belongs to the user context. */
    public boolean parseField(String field, XContentParser parser) throws IOException {
        XContentParser.Token token = parser.currentToken();
        try {
            switch (field) {
                case "model" -> model = parser.text();
                case "history" -> history = parseHistory(parser);
                case "user" -> user = parseUser(parser);
                case "query" -> queryText = token == XContentParser.Token.VALUE_NULL ? null : parser.text();
                case "request_time" -> requestTime = EventTime.toUnixSeconds(
                    token == XContentParser.Token.VALUE_NUMBER ? parser.numberValue() : parser.text());
                default -> {
                    return false;
                }
            }
            return true;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), "[" + owner + "] invalid [" + field + "]: " + e.getMessage(), e);
        }
    }

    public UserContext build(XContentParser parser) {
        try {
            return new UserContext(model, history, user, queryText, requestTime);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), "[" + owner + "] " + e.getMessage(), e);
        }
    }

    private UserContext.UserRef parseUser(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw fail(parser, "[user] must be an object like {\"index\": \"events\", \"id\": \"42\"}");
        }
        String index = null;
        String id = null;
        Integer events = null;
        String field = null;
        for (XContentParser.Token t = parser.nextToken(); t != XContentParser.Token.END_OBJECT; t = parser.nextToken()) {
            if (t == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
            } else if ("index".equals(field) && t.isValue()) {
                index = parser.text();
            } else if ("id".equals(field) && t.isValue()) {
                id = parser.text();
            } else if ("events".equals(field) && t == XContentParser.Token.VALUE_NUMBER) {
                events = parser.intValue(false);
            } else {
                throw fail(parser, "[user] has unknown field [" + field + "]");
            }
        }
        return new UserContext.UserRef(index, id, events);
    }

    /**
     * {@code [{"item": "1193", "action": "rate_5", "time": 978300760, "query": "..."}, ...]}; an event may give its item's text,
     * {@code "item_text": {"title": "...", "categories": ["..."]}}, which a model reads an item added after training by
     * (otherwise looked up in the searched indices).
     */
    private List<HistoryEvent> parseHistory(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw fail(parser, "[history] must be an array of events");
        }
        List<HistoryEvent> events = new ArrayList<>();
        while (parser.nextToken() != XContentParser.Token.END_ARRAY) {
            if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
                throw fail(parser, "[history] entries must be objects like {\"item\": \"42\", \"action\": \"click\", \"time\": 978300760}");
            }
            events.add(parseEvent(parser, events.size()));
        }
        return events;
    }

    private HistoryEvent parseEvent(XContentParser parser, int position) throws IOException {
        String item = null;
        String action = null;
        Long time = null;
        String query = null;
        ItemText itemText = null;
        String field = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
                continue;
            }
            if ("item_text".equals(field)) {
                if (token != XContentParser.Token.START_OBJECT) {
                    throw fail(parser, "history[" + position + "].item_text must be an object like {\"title\": \"...\", \"categories\": [\"...\"]}");
                }
                itemText = parseItemText(parser, position);
                continue;
            }
            if (!token.isValue() && token != XContentParser.Token.VALUE_NULL) {
                throw fail(parser, "history[" + position + "]." + field + " must be a value");
            }
            try {
                switch (field) {
                    case "item" -> item = parser.text();
                    case "action" -> action = parser.text();
                    case "time" -> time = EventTime.toUnixSeconds(token == XContentParser.Token.VALUE_NUMBER ? parser.numberValue() : parser.text());
                    case "query" -> query = token == XContentParser.Token.VALUE_NULL ? null : parser.text();
                    default -> throw fail(parser, "history[" + position + "] has unknown field [" + field + "]");
                }
            } catch (IllegalArgumentException e) {
                throw new ParsingException(parser.getTokenLocation(), "[" + owner + "] history[" + position + "]." + field + ": " + e.getMessage(), e);
            }
        }
        if (item == null || item.isEmpty() || action == null || time == null) {
            throw fail(parser, "history[" + position + "] needs [item], [action] and [time]");
        }
        return new HistoryEvent(item, action, time, query, itemText);
    }

    private ItemText parseItemText(XContentParser parser, int position) throws IOException {
        Map<String, Object> text = parser.map();
        for (String key : text.keySet()) {
            if (!key.equals("title") && !key.equals("categories")) {
                throw fail(parser, "history[" + position + "].item_text has unknown field [" + key + "]; it takes [title] and [categories]");
            }
        }
        return ItemText.fromFields(text.get("title"), text.get("categories"));
    }

    private ParsingException fail(XContentParser parser, String message) {
        return new ParsingException(parser.getTokenLocation(), "[" + owner + "] " + message);
    }
}
