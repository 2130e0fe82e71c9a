package org.genrec.plugin.query;

import org.genrec.plugin.mapper.GenrecVectorFieldMapper;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper.GenrecVectorFieldType;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

/** Checks that a query's vector field exists, is a {@code genrec_vector} field and has the query vector's dimension. */
final class VectorFields {

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
}
