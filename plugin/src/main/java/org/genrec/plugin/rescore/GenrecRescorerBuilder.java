package org.genrec.plugin.rescore;

import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.query.ItemIds;
import org.genrec.plugin.query.ItemTextFields;
import org.genrec.plugin.query.UserContext;
import org.genrec.plugin.query.UserContextParsing;
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
 * {@code match}) with the model's ranking head. Scores combine like OpenSearch's query rescorer:
 * {@code query_weight * original + rescore_query_weight * ranking probability}.
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

    private final GenrecServices services;
    private final UserContext user;
    private final String itemIdField;
    private final float queryWeight;
    private final float rescoreQueryWeight;
    private ItemTextFields itemTextFields = ItemTextFields.DEFAULT;

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
    }

    /** Where the rescorer reads the text of an item the model was not trained on (default: title and categories). */
    public GenrecRescorerBuilder itemTextFields(ItemTextFields value) {
        this.itemTextFields = Objects.requireNonNull(value);
        return this;
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        user.writeTo(out);
        out.writeString(itemIdField);
        out.writeFloat(queryWeight);
        out.writeFloat(rescoreQueryWeight);
        itemTextFields.writeTo(out);
    }

    public static GenrecRescorerBuilder fromXContent(XContentParser parser, GenrecServices services) throws IOException {
        UserContextParsing userFields = new UserContextParsing(NAME);
        String itemIdField = null;
        float queryWeight = 1f;
        float rescoreQueryWeight = 1f;
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
                queryWeight = parser.floatValue();
            } else if (RESCORE_QUERY_WEIGHT.match(field, parser.getDeprecationHandler()) && token.isValue()) {
                rescoreQueryWeight = parser.floatValue();
            } else {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] rescorer does not support [" + field + "]");
            }
        }
        try {
            return new GenrecRescorerBuilder(services, userFields.build(parser), itemIdField, queryWeight, rescoreQueryWeight)
                .itemTextFields(textFields);
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage(), e);
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
        builder.endObject();
    }

    @Override
    public GenrecRescorerBuilder rewrite(QueryRewriteContext context) throws IOException {
        UserContext rewritten = user.rewrite(context, services, itemIdField, itemTextFields);
        if (rewritten == user) {
            return this;
        }
        GenrecRescorerBuilder copy = new GenrecRescorerBuilder(services, rewritten, itemIdField, queryWeight, rescoreQueryWeight)
            .itemTextFields(itemTextFields);
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
        return new GenrecRescoreContext(windowSize, services.models().get(user.model()), user.encoding(), itemIdField, itemTextFields,
            queryWeight, rescoreQueryWeight);
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
            && queryWeight == that.queryWeight && rescoreQueryWeight == that.rescoreQueryWeight;
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), user, itemIdField, itemTextFields, queryWeight, rescoreQueryWeight);
    }
}
