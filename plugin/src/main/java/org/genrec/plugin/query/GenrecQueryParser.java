package org.genrec.plugin.query;

import org.genrec.plugin.GenrecServices;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;

import java.io.IOException;

/** Reads the {@code genrec} query body. Every malformed input becomes a {@link ParsingException} (HTTP 400) naming the field. */
public final class GenrecQueryParser {

    static final ParseField VECTOR_FIELD = new ParseField("vector_field");
    static final ParseField ITEM_ID_FIELD = new ParseField("item_id_field");
    static final ParseField K = new ParseField("k");
    static final ParseField FILTER = new ParseField("filter");
    static final ParseField EXCLUDE_HISTORY = new ParseField("exclude_history");
    static final ParseField RANK = new ParseField("rank");
    static final ParseField NUM_CANDIDATES = new ParseField("num_candidates");

    private GenrecQueryParser() {}

    public static GenrecQueryBuilder parse(XContentParser parser, GenrecServices services) throws IOException {
        UserContextParsing userFields = new UserContextParsing(GenrecQueryBuilder.NAME);
        String vectorField = null;
        String itemIdField = null;
        int k = GenrecQueryBuilder.DEFAULT_K;
        QueryBuilder filter = null;
        boolean excludeHistory = true;
        boolean rank = true;
        Integer rankWindow = null;
        Float retrievalWeight = null;
        Float coOccurrenceWeight = null;
        Integer numCandidates = null;
        ItemTextFields textFields = ItemTextFields.DEFAULT;
        float boost = AbstractQueryBuilder.DEFAULT_BOOST;
        String queryName = null;

        String field = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
            } else if (userFields.parseField(field, parser)) {
                continue;
            } else if (FILTER.match(field, parser.getDeprecationHandler()) && token == XContentParser.Token.START_OBJECT) {
                filter = AbstractQueryBuilder.parseInnerQueryBuilder(parser);
            } else if (RANK.match(field, parser.getDeprecationHandler()) && token == XContentParser.Token.START_OBJECT) {
                // "rank": {"enabled": true, "window": 50, "retrieval_weight": 10}
                String rankField = null;
                for (XContentParser.Token t = parser.nextToken(); t != XContentParser.Token.END_OBJECT; t = parser.nextToken()) {
                    if (t == XContentParser.Token.FIELD_NAME) {
                        rankField = parser.currentName();
                        continue;
                    }
                    try {
                        if ("enabled".equals(rankField) && t.isValue()) {
                            rank = parser.booleanValue();
                        } else if ("window".equals(rankField) && t.isValue()) {
                            rankWindow = parser.intValue(false);
                        } else if ("retrieval_weight".equals(rankField) && t.isValue()) {
                            retrievalWeight = parser.floatValue(false);
                        } else if ("co_occurrence_weight".equals(rankField) && t.isValue()) {
                            coOccurrenceWeight = parser.floatValue(false);
                        } else {
                            throw new ParsingException(parser.getTokenLocation(), "[" + GenrecQueryBuilder.NAME + "] [rank] has unknown field ["
                                + rankField + "]; it takes [enabled], [window], [retrieval_weight] and [co_occurrence_weight]");
                        }
                    } catch (IllegalArgumentException e) {
                        throw new ParsingException(parser.getTokenLocation(),
                            "[" + GenrecQueryBuilder.NAME + "] invalid value for [rank." + rankField + "]: " + e.getMessage(), e);
                    }
                }
            } else if (token.isValue()) {
                try {
                    if (VECTOR_FIELD.match(field, parser.getDeprecationHandler())) {
                        vectorField = parser.text();
                    } else if (ITEM_ID_FIELD.match(field, parser.getDeprecationHandler())) {
                        itemIdField = parser.text();
                    } else if (ItemTextFields.TITLE_FIELD.match(field, parser.getDeprecationHandler())) {
                        textFields = textFields.withTitle(parser.text());
                    } else if (ItemTextFields.CATEGORIES_FIELD.match(field, parser.getDeprecationHandler())) {
                        textFields = textFields.withCategories(parser.text());
                    } else if (K.match(field, parser.getDeprecationHandler())) {
                        k = parser.intValue(false);
                    } else if (EXCLUDE_HISTORY.match(field, parser.getDeprecationHandler())) {
                        excludeHistory = parser.booleanValue();
                    } else if (RANK.match(field, parser.getDeprecationHandler())) {
                        rank = parser.booleanValue();
                    } else if (NUM_CANDIDATES.match(field, parser.getDeprecationHandler())) {
                        numCandidates = parser.intValue(false);
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
        UserContext user = userFields.build(parser);
        try {
            GenrecQueryBuilder builder = new GenrecQueryBuilder(services, user, vectorField, itemIdField, k, filter, excludeHistory, rank)
                .numCandidates(numCandidates)
                .rankWindow(rankWindow)
                .retrievalWeight(retrievalWeight)
                .coOccurrenceWeight(coOccurrenceWeight)
                .itemTextFields(textFields);
            builder.boost(boost);
            builder.queryName(queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage(), e);
        }
    }
}
