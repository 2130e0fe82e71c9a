package org.genrec.plugin.query;

import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.opensearch.core.ParseField;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;

/**
 * {@code genrec_knn}: plain Lucene kNN over a {@code genrec_vector} field with a given vector, no
 * model. The baseline every genrec benchmark is measured against, and kNN for clusters without the
 * k-NN plugin.
 *
 * <pre>
 * "genrec_knn": { "field": "item_vector", "vector": [0.1, ...], "k": 100, "filter": { ... } }
 * </pre>
 */
public final class KnnQueryBuilder extends AbstractQueryBuilder<KnnQueryBuilder> {

    public static final String NAME = "genrec_knn";
    static final ParseField FIELD = new ParseField("field");
    static final ParseField VECTOR = new ParseField("vector");
    static final ParseField K = new ParseField("k");
    static final ParseField FILTER = new ParseField("filter");

    private final String field;
    private final float[] vector;
    private final int k;
    private final QueryBuilder filter;

    public KnnQueryBuilder(String field, float[] vector, int k, QueryBuilder filter) {
        if (field == null || field.isEmpty()) {
            throw new IllegalArgumentException("[" + NAME + "] requires [field]");
        }
        if (vector == null || vector.length == 0) {
            throw new IllegalArgumentException("[" + NAME + "] requires a non-empty [vector]");
        }
        if (k < 1 || k > GenrecQueryBuilder.MAX_K) {
            throw new IllegalArgumentException("[" + NAME + "] [k] must be between 1 and " + GenrecQueryBuilder.MAX_K + ", got " + k);
        }
        this.field = field;
        this.vector = vector;
        this.k = k;
        this.filter = filter;
    }

    public KnnQueryBuilder(StreamInput in) throws IOException {
        super(in);
        this.field = in.readString();
        this.vector = in.readFloatArray();
        this.k = in.readVInt();
        this.filter = in.readOptionalNamedWriteable(QueryBuilder.class);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeString(field);
        out.writeFloatArray(vector);
        out.writeVInt(k);
        out.writeOptionalNamedWriteable(filter);
    }

    public static KnnQueryBuilder fromXContent(XContentParser parser) throws IOException {
        String field = null;
        float[] vector = null;
        int k = GenrecQueryBuilder.DEFAULT_K;
        QueryBuilder filter = null;
        float boost = DEFAULT_BOOST;
        String queryName = null;
        String current = null;
        for (XContentParser.Token token = parser.nextToken(); token != XContentParser.Token.END_OBJECT; token = parser.nextToken()) {
            if (token == XContentParser.Token.FIELD_NAME) {
                current = parser.currentName();
            } else if (VECTOR.match(current, parser.getDeprecationHandler()) && token == XContentParser.Token.START_ARRAY) {
                vector = parseVector(parser);
            } else if (FILTER.match(current, parser.getDeprecationHandler()) && token == XContentParser.Token.START_OBJECT) {
                filter = parseInnerQueryBuilder(parser);
            } else if (FIELD.match(current, parser.getDeprecationHandler()) && token.isValue()) {
                field = parser.text();
            } else if (K.match(current, parser.getDeprecationHandler()) && token.isValue()) {
                k = parser.intValue(false);
            } else if (BOOST_FIELD.match(current, parser.getDeprecationHandler()) && token.isValue()) {
                boost = parser.floatValue();
            } else if (NAME_FIELD.match(current, parser.getDeprecationHandler()) && token.isValue()) {
                queryName = parser.text();
            } else {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] unknown field [" + current + "]");
            }
        }
        try {
            KnnQueryBuilder builder = new KnnQueryBuilder(field, vector, k, filter);
            builder.boost(boost);
            builder.queryName(queryName);
            return builder;
        } catch (IllegalArgumentException e) {
            throw new ParsingException(parser.getTokenLocation(), e.getMessage(), e);
        }
    }

    private static float[] parseVector(XContentParser parser) throws IOException {
        float[] values = new float[16];
        int n = 0;
        for (XContentParser.Token t = parser.nextToken(); t != XContentParser.Token.END_ARRAY; t = parser.nextToken()) {
            if (t != XContentParser.Token.VALUE_NUMBER) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] [vector] must hold numbers only");
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, n * 2);
            }
            values[n] = parser.floatValue();
            if (!Float.isFinite(values[n])) {
                throw new ParsingException(parser.getTokenLocation(), "[" + NAME + "] [vector] holds a non-finite value");
            }
            n++;
        }
        return Arrays.copyOf(values, n);
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        builder.field(FIELD.getPreferredName(), field);
        builder.array(VECTOR.getPreferredName(), vector);
        builder.field(K.getPreferredName(), k);
        if (filter != null) {
            builder.field(FILTER.getPreferredName(), filter);
        }
        printBoostAndQueryName(builder);
        builder.endObject();
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        QueryBuilder rewritten = filter == null ? null : filter.rewrite(context);
        if (rewritten == filter) {
            return this;
        }
        KnnQueryBuilder copy = new KnnQueryBuilder(field, vector, k, rewritten);
        copy.boost(boost());
        copy.queryName(queryName());
        return copy;
    }

    @Override
    protected Query doToQuery(QueryShardContext context) throws IOException {
        VectorFields.check(context, field, vector.length, "the query's [vector]");
        return new KnnFloatVectorQuery(field, vector, k, filter == null ? null : filter.toQuery(context));
    }

    @Override
    protected boolean doEquals(KnnQueryBuilder other) {
        return field.equals(other.field) && Arrays.equals(vector, other.vector) && k == other.k && Objects.equals(filter, other.filter);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(field, Arrays.hashCode(vector), k, filter);
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }
}
