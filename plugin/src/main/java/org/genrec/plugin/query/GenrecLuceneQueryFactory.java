package org.genrec.plugin.query;

import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper.GenrecVectorFieldType;
import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.index.mapper.KeywordFieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

import java.util.List;

/**
 * Builds the shard's Lucene query from a rewritten {@link GenrecQueryBuilder}: validates the
 * index's fields against the model, then kNN on the vector field (history items filtered inside
 * the kNN search, not after it) wrapped in {@link RankedKnnQuery} when ranking is on.
 */
final class GenrecLuceneQueryFactory {

    private final QueryShardContext context;
    private final GenrecServices services;

    GenrecLuceneQueryFactory(QueryShardContext context, GenrecServices services) {
        this.context = context;
        this.services = services;
    }

    Query create(GenrecQueryBuilder builder) {
        float[] embedding = builder.encoding().embedding();
        GenrecVectorFieldType vectorType = vectorField(builder.vectorField(), embedding.length, builder.model());
        boolean needsItemIds = builder.rank() || (builder.excludeHistory() && !builder.history().isEmpty());
        MappedFieldType idType = needsItemIds ? itemIdField(builder.itemIdField()) : null;

        Query filter = null;
        if (builder.excludeHistory() && !builder.history().isEmpty()) {
            List<Object> seen = builder.history().stream().map(HistoryEvent::itemId).distinct().map(id -> (Object) id).toList();
            filter = new BooleanQuery.Builder()
                .add(new MatchAllDocsQuery(), BooleanClause.Occur.FILTER)
                .add(idType.termsQuery(seen, context), BooleanClause.Occur.MUST_NOT)
                .build();
        }
        Query knn = new KnnFloatVectorQuery(vectorType.name(), embedding, builder.k(), filter);
        if (!builder.rank()) {
            return knn;
        }
        return new RankedKnnQuery(knn, idType.name(), services.models().get(builder.model()), builder.encoding(), services.rankedHits());
    }

    private GenrecVectorFieldType vectorField(String name, int modelDimension, String model) {
        MappedFieldType type = context.fieldMapper(name);
        if (type == null) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] does not exist in index [" + context.index().getName() + "]");
        }
        if (!(type instanceof GenrecVectorFieldType vectorType)) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] is of type [" + type.typeName() + "]; [vector_field] must be a ["
                + org.genrec.plugin.mapper.GenrecVectorFieldMapper.CONTENT_TYPE + "] field");
        }
        if (vectorType.dimension() != modelDimension) {
            throw new IllegalArgumentException("[genrec] field [" + name + "] has dimension " + vectorType.dimension() + " but model [" + model
                + "] produces embeddings of dimension " + modelDimension);
        }
        return vectorType;
    }

    private MappedFieldType itemIdField(String name) {
        MappedFieldType type = context.fieldMapper(name);
        if (!(type instanceof KeywordFieldMapper.KeywordFieldType) || !type.hasDocValues()) {
            throw new IllegalArgumentException("[genrec] needs a [keyword] field with doc values holding the model's item ids; [" + name
                + "] is " + (type == null ? "missing" : "of type [" + type.typeName() + "]") + " in index [" + context.index().getName()
                + "] (set [item_id_field])");
        }
        return type;
    }
}
