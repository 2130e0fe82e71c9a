package org.genrec.plugin.mapper;

import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.mapper.ArraySourceValueFetcher;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.ParametrizedFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * {@code genrec_vector}: a dense float vector indexed as Lucene's {@link KnnFloatVectorField}, so
 * the default codec builds an HNSW graph per segment. Ours because the k-NN plugin has no build
 * for OpenSearch 3.6 (README, "Why our own vector field").
 *
 * <pre>
 * "item_vector": { "type": "genrec_vector", "dimension": 32, "similarity": "dot_product" }
 * </pre>
 * similarity: {@code dot_product} (unit vectors only, refused otherwise), {@code cosine}, or
 * {@code maximum_inner_product} (any length: for models whose retrieval score is the raw dot product).
 */
public final class GenrecVectorFieldMapper extends ParametrizedFieldMapper {

    public static final String CONTENT_TYPE = "genrec_vector";
    /** Lucene's default codec limit for HNSW vectors. */
    public static final int MAX_DIMENSION = 1024;

    private static GenrecVectorFieldMapper toType(Object in) {
        return (GenrecVectorFieldMapper) in;
    }

    public static final class Builder extends ParametrizedFieldMapper.Builder {

        private final Parameter<Integer> dimension = Parameter.intParam("dimension", false, m -> toType(m).dimension, -1)
            .setValidator(d -> {
                if (d < 1 || d > MAX_DIMENSION) {
                    throw new MapperParsingException("[dimension] must be set, between 1 and " + MAX_DIMENSION + ", got " + d);
                }
            });
        // dot_product first = default: a cosine model's embeddings are L2-normalized, where it equals cosine and
        // is cheaper; maximum_inner_product for a model that scores by the raw dot product (manifest "similarity": "dot").
        private final Parameter<String> similarity = Parameter.restrictedStringParam(
            "similarity",
            false,
            m -> toType(m).similarity.name().toLowerCase(java.util.Locale.ROOT),
            "dot_product",
            "cosine",
            "maximum_inner_product"
        );
        private final Parameter<Map<String, String>> meta = Parameter.metaParam();

        public Builder(String name) {
            super(name);
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(dimension, similarity, meta);
        }

        @Override
        public GenrecVectorFieldMapper build(BuilderContext context) {
            VectorSimilarityFunction function = VectorSimilarityFunction.valueOf(similarity.getValue().toUpperCase(java.util.Locale.ROOT));
            GenrecVectorFieldType type = new GenrecVectorFieldType(buildFullName(context), dimension.getValue(), function, meta.getValue());
            return new GenrecVectorFieldMapper(name, type, multiFieldsBuilder.build(this, context), copyTo.build());
        }
    }

    public static final TypeParser PARSER = new TypeParser((name, context) -> new Builder(name));

    /** What the query side needs to know about the field: its dimension and similarity. */
    public static final class GenrecVectorFieldType extends MappedFieldType {
        private final int dimension;
        private final VectorSimilarityFunction similarity;

        public GenrecVectorFieldType(String name, int dimension, VectorSimilarityFunction similarity, Map<String, String> meta) {
            super(name, true, false, false, TextSearchInfo.NONE, meta);
            this.dimension = dimension;
            this.similarity = similarity;
        }

        public int dimension() {
            return dimension;
        }

        public VectorSimilarityFunction similarity() {
            return similarity;
        }

        @Override
        public String typeName() {
            return CONTENT_TYPE;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup searchLookup, String format) {
            return new ArraySourceValueFetcher(name(), context) {
                @Override
                protected Object parseSourceValue(Object value) {
                    return value;
                }
            };
        }

        @Override
        public Query existsQuery(QueryShardContext context) {
            return new FieldExistsQuery(name());
        }

        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            throw new IllegalArgumentException("field [" + name() + "] of type [" + CONTENT_TYPE + "] supports only the genrec query");
        }
    }

    private final int dimension;
    private final VectorSimilarityFunction similarity;

    private GenrecVectorFieldMapper(String simpleName, GenrecVectorFieldType type, MultiFields multiFields, CopyTo copyTo) {
        super(simpleName, type, multiFields, copyTo);
        this.dimension = type.dimension();
        this.similarity = type.similarity();
    }

    @Override
    public GenrecVectorFieldType fieldType() {
        return (GenrecVectorFieldType) super.fieldType();
    }

    @Override
    public boolean parsesArrayValue() {
        return true;
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        XContentParser parser = context.parser();
        if (parser.currentToken() == XContentParser.Token.VALUE_NULL) {
            return;
        }
        if (parser.currentToken() != XContentParser.Token.START_ARRAY) {
            throw new MapperParsingException("field [" + name() + "] expects an array of " + dimension + " numbers");
        }
        float[] vector = new float[dimension];
        int n = 0;
        for (XContentParser.Token t = parser.nextToken(); t != XContentParser.Token.END_ARRAY; t = parser.nextToken()) {
            if (t != XContentParser.Token.VALUE_NUMBER) {
                throw new MapperParsingException("field [" + name() + "] expects numbers, found [" + t + "]");
            }
            float value = parser.floatValue();
            if (n >= dimension) {
                n++;
                continue;
            }
            if (!Float.isFinite(value)) {
                throw new MapperParsingException("field [" + name() + "] holds a non-finite value at position " + n);
            }
            vector[n++] = value;
        }
        if (n != dimension) {
            throw new MapperParsingException("field [" + name() + "] has dimension " + dimension + " but the document's vector has " + n);
        }
        if (similarity == VectorSimilarityFunction.DOT_PRODUCT) {
            // Lucene's dot_product assumes unit vectors; anything else silently ranks wrong.
            double norm = 0;
            for (float v : vector) {
                norm += v * v;
            }
            if (Math.abs(Math.sqrt(norm) - 1) > 1e-3) {
                throw new MapperParsingException("field [" + name() + "] uses dot_product and needs unit-length vectors; this one has length "
                    + Math.sqrt(norm) + " (normalize it, or map the field with \"similarity\": \"cosine\")");
            }
        }
        if (context.doc().getByKey(name()) != null) {
            throw new MapperParsingException("field [" + name() + "] takes one vector per document");
        }
        context.doc().addWithKey(name(), new KnnFloatVectorField(name(), vector, similarity));
    }

    @Override
    protected String contentType() {
        return CONTENT_TYPE;
    }

    @Override
    public ParametrizedFieldMapper.Builder getMergeBuilder() {
        return new Builder(simpleName()).init(this);
    }
}
