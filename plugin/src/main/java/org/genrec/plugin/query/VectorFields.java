package org.genrec.plugin.query;

import org.genrec.plugin.mapper.GenrecVectorFieldMapper;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper.GenrecVectorFieldType;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.RetrievalSimilarity;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

import java.util.Locale;
import java.util.Map;

/**
 * Checks that a query's vector field exists, is a {@code genrec_vector} field, has the query
 * vector's dimension and, for a model's embedding, the similarity the model scores with.
 */
public final class VectorFields {

    private VectorFields() {}

    /** @param source what produced the vector, for the message (e.g. "model [recs@1]") */
    static GenrecVectorFieldType check(QueryShardContext context, String name, int dimension, String source) {
        MappedFieldType type = context.fieldMapper(name);
        if (type == null) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] does not exist in index [" + context.index().getName() + "]");
        }
        if (!(type instanceof GenrecVectorFieldType vectorType)) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] is of type [" + type.typeName() + "]; [vector_field] must be a ["
                + GenrecVectorFieldMapper.CONTENT_TYPE + "] field");
        }
        if (vectorType.dimension() != dimension) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] has dimension " + vectorType.dimension() + " but " + source
                + " produces vectors of dimension " + dimension);
        }
        return vectorType;
    }

    /**
     * A model's embeddings rank the catalogue like the model only through the matching field
     * similarity: a dot-product model's vectors are not unit length, so a {@code cosine} field would
     * rank by angle and a {@code dot_product} field refuses them.
     */
    static void requireRanksLike(GenrecVectorFieldType field, RetrievalSimilarity model, String source) {
        // A cosine model's unit vectors rank the same under dot_product, cosine and maximum_inner_product.
        if (model == RetrievalSimilarity.DOT && field.similarity() != VectorSimilarityFunction.MAXIMUM_INNER_PRODUCT) {
            throw new IllegalArgumentException("[genrec] field [" + field.name() + "] has similarity ["
                + field.similarity().name().toLowerCase(Locale.ROOT) + "] but " + source + " scores by the dot product of unnormalized "
                + "embeddings: map the field with \"similarity\": \"" + model.fieldSimilarity() + "\"");
        }
    }

    /**
     * A model's user embedding is only comparable with its own item embeddings. A field whose mapping records whose vectors it
     * holds ({@link VectorFieldMeta}, written by {@code genrec-tools index-items}) refuses another model's: typically a model
     * retrained and loaded before its items were indexed, which would otherwise return wrong hits without a sign. A field
     * without the record (mapped and filled by hand) is not checked.
     */
    static void requireEmbeddingsOf(GenrecVectorFieldType field, ModelBundle model, String source) {
        requireEmbeddingsOf("[genrec] field [" + field.name() + "]", field.meta(), model, source);
    }

    /** The same check on a field's mapping {@code meta} ({@code field}: how the message names it). */
    public static void requireEmbeddingsOf(String field, Map<String, String> meta, ModelBundle model, String source) {
        String held = meta.get(VectorFieldMeta.EMBEDDINGS);
        String modelsOwn = model.items().fingerprint();
        if (VectorFieldMeta.BEING_REPLACED.equals(held)) {
            throw new IllegalArgumentException(field + " is having its item vectors replaced by those of model ["
                + meta.getOrDefault(VectorFieldMeta.MODEL, "?") + "] (genrec-tools index-items into the existing index): until "
                + "that finishes it holds two models' vectors, and no model can be searched on it. If index-items stopped before "
                + "the end, run it again; to switch models without this window, index into a new index and move an alias");
        }
        if (held != null && !held.equals(modelsOwn)) {
            throw new IllegalArgumentException(field + " holds the item embeddings of model ["
                + meta.getOrDefault(VectorFieldMeta.MODEL, "?") + "] (" + held + "), not those of " + source + " (" + modelsOwn
                + "): index this model's items first (genrec-tools index-items --bundle ...), or use the model the field was "
                + "indexed with");
        }
    }
}
