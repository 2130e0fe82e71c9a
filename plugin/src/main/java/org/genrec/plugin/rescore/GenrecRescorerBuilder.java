package org.genrec.plugin.rescore;

import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.query.ItemIds;
import org.genrec.plugin.query.ItemTextFields;
import org.genrec.plugin.query.RankingScores;
import org.genrec.plugin.query.ServedBlend;
import org.genrec.plugin.query.UserContext;
import org.genrec.plugin.query.UserContextParsing;
import org.genrec.runtime.GenrecModel;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.RescorerBuilder;

import java.io.IOException;
import java.util.Objects;

/**
 * The {@code genrec} rescorer: reranks the top {@code window_size} hits of any query (e.g. a BM25
 * {@code match}) with the model. Scores combine like OpenSearch's query rescorer:
 * {@code query_weight * original + rescore_query_weight * served score}, the served score being what a ranked
 * {@code genrec} query gives a hit ({@link RankingScores}: the ranking head blended with the retrieval similarity and
 * the co-occurrence term, by the bundle's weights or the request's {@code retrieval_weight} and
 * {@code co_occurrence_weight}; {@code retrieval_weight} 0: the head's probability alone).
 *
 * <pre>
 * "rescore": { "window_size": 100, "genrec": { "model": "recs", "history": [...], "query": "violin" } }
 * </pre>
 */
public final class GenrecRescorerBuilder extends RescorerBuilder<GenrecRescorerBuilder> {

    public static final String NAME = "genrec";
    static final ParseField ITEM_ID_FIELD = new ParseField("item_id_field");
    static final ParseField QUERY_WEIGHT = new ParseField("query_weight");
    static final ParseField RESCORE_QUERY_WEIGHT = new ParseField("rescore_query_weight");
    static final ParseField RETRIEVAL_WEIGHT = new ParseField("retrieval_weight");
    static final ParseField CO_OCCURRENCE_WEIGHT = new ParseField("co_occurrence_weight");

    private final GenrecServices services;
    private final UserContext user;
    private final String itemIdField;
    private final float queryWeight;
    private final float rescoreQueryWeight;
    private ItemTextFields itemTextFields = ItemTextFields.DEFAULT;
    private Float retrievalWeight;     // null: the bundle's
    private Float coOccurrenceWeight;  // null: the bundle's

    public GenrecRescorerBuilder(GenrecServices services, UserContext user, String itemIdField, float queryWeight, float rescoreQueryWeight) {
        this.services = Objects.requireNonNull(services);
        this.user = Objects.requireNonNull(user);
        this.itemIdField = itemIdField == null ? "item_id" : itemIdField;
        if (!Float.isFinite(queryWeight) || !Float.isFinite(rescoreQueryWeight) || queryWeight < 0 || rescoreQueryWeight < 0) {
            throw new IllegalArgumentException("[" + NAME + "] rescorer weights must be finite and non-negative");
        }
        this.queryWeight = queryWeight;
        this.rescoreQueryWeight = rescoreQueryWeight;
    }

    public GenrecRescorerBuilder(StreamInput in, GenrecServices services) throws IOException {
        super(in);
        this.services = services;
        this.user = new UserContext(in);
        this.itemIdField = in.readString();
        this.queryWeight = in.readFloat();
        this.rescoreQueryWeight = in.readFloat();
        this.itemTextFields = new ItemTextFields(in);
        this.retrievalWeight = in.readOptionalFloat();
        this.coOccurrenceWeight = in.readOptionalFloat();
    }

    /** Where the rescorer reads the text of an item the model was not trained on (default: title and categories). */
    public GenrecRescorerBuilder itemTextFields(ItemTextFields value) {
        this.itemTextFields = Objects.requireNonNull(value);
        return this;
    }

    /** The served score's retrieval weight (default: the bundle's {@code ranking.retrieval_weight}); 0: the head's probability. */
    public GenrecRescorerBuilder retrievalWeight(Float value) {
        this.retrievalWeight = ServedBlend.checkWeight("[" + NAME + "] rescorer [retrieval_weight]", value);
        return this;
    }

    /** The served score's co-occurrence weight (default: the bundle's {@code ranking.co_occurrence_weight}); 0: no such term. */
    public GenrecRescorerBuilder coOccurrenceWeight(Float value) {
        this.coOccurrenceWeight = ServedBlend.checkWeight("[" + NAME + "] rescorer [co_occurrence_weight]", value);
        return this;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        user.writeTo(out);
        out.writeString(itemIdField);
        out.writeFloat(queryWeight);
        out.writeFloat(rescoreQueryWeight);
        itemTextFields.writeTo(out);
        out.writeOptionalFloat(retrievalWeight);
        out.writeOptionalFloat(coOccurrenceWeight);
    }

    public static GenrecRescorerBuilder fromXContent(XContentParser parser, GenrecServices services) throws IOException {
        UserContextParsing userFields = new UserContextParsing(NAME);
        String itemIdField = null;
        float queryWeight = 1f;
        float rescoreQueryWeight = 1f;
        Float retrievalWeight = null;
        Float coOccurrenceWeight = null;
        ItemTextFields textFields = ItemTextFields.DEFAULT;
        String field = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                field = parser.currentName();
            } else if (userFields.parseField(field, parser)) {
                continue;
            } else if (ITEM_ID_FIELD.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                itemIdField = parser.text();
            } else if (ItemTextFields.TITLE_FIELD.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                textFields = textFields.withTitle(parser.text());
            } else if (ItemTextFields.CATEGORIES_FIELD.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                textFields = textFields.withCategories(parser.text());
            } else if (QUERY_WEIGHT.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                queryWeight = weight(parser, field);
            } else if (RESCORE_QUERY_WEIGHT.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                rescoreQueryWeight = weight(parser, field);
            } else if (RETRIEVAL_WEIGHT.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                retrievalWeight = weight(parser, field);
            } else if (CO_OCCURRENCE_WEIGHT.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                coOccurrenceWeight = weight(parser, field);
            } else {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] rescorer does not support [" + field + "]");
            }
        }
        try {
            return new GenrecRescorerBuilder(services, userFields.build(parser), itemIdField, queryWeight, rescoreQueryWeight)
                .itemTextFields(textFields).retrievalWeight(retrievalWeight).coOccurrenceWeight(coOccurrenceWeight);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage(), e);
        }
    }

    private static float weight(XContentParser parser, String field) throws IOException {
        try {
            return parser.floatValue();
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] rescorer: invalid value for [" + field + "]: " + e.getMessage(), e);
        }
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        user.toXContentFields(builder);
        builder.field(ITEM_ID_FIELD.getPreferredName(), itemIdField);
        itemTextFields.toXContentFields(builder);
        builder.field(QUERY_WEIGHT.getPreferredName(), queryWeight);
        builder.field(RESCORE_QUERY_WEIGHT.getPreferredName(), rescoreQueryWeight);
        if (retrievalWeight != null) {
            builder.field(RETRIEVAL_WEIGHT.getPreferredName(), retrievalWeight);
        }
        if (coOccurrenceWeight != null) {
            builder.field(CO_OCCURRENCE_WEIGHT.getPreferredName(), coOccurrenceWeight);
        }
        builder.endObject();
    }

    @Override
    public GenrecRescorerBuilder rewrite(QueryRewriteContext context) throws IOException {
        UserContext rewritten = user.rewrite(context, services, itemIdField, itemTextFields);
        if (rewritten == user) {
            return this;
        }
        GenrecRescorerBuilder copy = new GenrecRescorerBuilder(services, rewritten, itemIdField, queryWeight, rescoreQueryWeight)
            .itemTextFields(itemTextFields).retrievalWeight(retrievalWeight).coOccurrenceWeight(coOccurrenceWeight);
        if (windowSize() != null) {
            copy.windowSize(windowSize());
        }
        return copy;
    }

    @Override
    protected RescoreContext innerBuildContext(int windowSize, QueryShardContext context) {
        if (user.encoding() == null) {
            throw new IllegalStateException("genrec rescorer reached a shard without its encoding; it must be rewritten first");
        }
        ItemIds.field(context, itemIdField);
        GenrecModel model = services.models().get(user.model());
        return new GenrecRescoreContext(windowSize, model, user.encoding(), itemIdField, itemTextFields, queryWeight, rescoreQueryWeight,
            ServedBlend.of(retrievalWeight, coOccurrenceWeight, model));
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    public boolean equals(Object o) {
        if (!super.equals(o)) {
            return false;
        }
        GenrecRescorerBuilder that = (GenrecRescorerBuilder) o;
        return user.equals(that.user) && itemIdField.equals(that.itemIdField) && itemTextFields.equals(that.itemTextFields)
            && queryWeight == that.queryWeight && rescoreQueryWeight == that.rescoreQueryWeight
            && Objects.equals(retrievalWeight, that.retrievalWeight) && Objects.equals(coOccurrenceWeight, that.coOccurrenceWeight);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), user, itemIdField, itemTextFields, queryWeight, rescoreQueryWeight, retrievalWeight,
            coOccurrenceWeight);
    }
}
