package org.genrec.plugin.query;

import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.Query;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper.GenrecVectorFieldType;
import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
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

    Query create(GenrecQueryBuilder builder) throws IOException {
        UserContext user = builder.user();
        float[] embedding = user.encoding().embedding();
        GenrecVectorFieldType vectorType = VectorFields.check(context, builder.vectorField(), embedding.length, "model [" + user.model() + "]");
        boolean excludeHistory = builder.excludeHistory() && !user.history().isEmpty();
        MappedFieldType idType = builder.rank() || excludeHistory ? itemIdField(builder.itemIdField()) : null;

        // The user's filter and the history exclusion both go inside the kNN search, so that k hits
        // pass them (filtering after kNN would return fewer).
        BooleanQuery.Builder filter = new BooleanQuery.Builder();
        filter.add(builder.filter() == null ? new MatchAllDocsQuery() : builder.filter().toQuery(context), BooleanClause.Occur.FILTER);
        if (excludeHistory) {
            List<Object> seen = user.history().stream().map(HistoryEvent::itemId).distinct().map(id -> (Object) id).toList();
            filter.add(idType.termsQuery(seen, context), BooleanClause.Occur.MUST_NOT);
        }
        boolean filtered = builder.filter() != null || excludeHistory;
        Query knn = new KnnFloatVectorQuery(vectorType.name(), embedding, builder.numCandidates(), filtered ? filter.build() : null);
        if (!builder.rank()) {
            return builder.numCandidates() == builder.k() ? knn : new RankedKnnQuery(knn, builder.k(), null);
        }
        RankedKnnQuery.Ranking ranking = new RankedKnnQuery.Ranking(idType.name(), services.models().get(user.model()), user.encoding(),
            user.encodingId(), builder.rankWindow(), services.rankedHits());
        return new RankedKnnQuery(knn, builder.k(), ranking);
    }

    private MappedFieldType itemIdField(String name) {
        return ItemIds.field(context, name);
    }
}
