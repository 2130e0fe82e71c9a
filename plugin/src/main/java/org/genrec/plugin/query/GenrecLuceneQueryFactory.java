package org.genrec.plugin.query;

import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper.GenrecVectorFieldType;
import org.genrec.plugin.GenrecServices;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.query.QueryShardContext;

import java.io.IOException;
import java.util.List;

/**
 * Builds the shard's Lucene query from a rewritten {@link GenrecQueryBuilder}: validates the
 * index's fields against the model, then kNN on the vector field (the user's filter inside the
 * kNN search; the history excluded after it, from a search widened by the history's size) wrapped
 * in {@link RankedKnnQuery}, which keeps the best k and ranks them when ranking is on.
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
        GenrecModel model = services.models().get(user.model());
        String source = "model [" + user.model() + "]";
        GenrecVectorFieldType vectorType = VectorFields.check(context, builder.vectorField(), embedding.length, source);
        VectorFields.requireRanksLike(vectorType, model.manifest().retrievalSimilarity(), source);
        VectorFields.requireEmbeddingsOf(vectorType, model.bundle(), source);
        boolean excludeHistory = builder.excludeHistory() && !user.history().isEmpty();
        MappedFieldType idType = builder.rank() || excludeHistory ? itemIdField(builder.itemIdField()) : null;

        // The user's filter goes inside the kNN search, so that k hits pass it. The history does not:
        // a must-not filter inside kNN makes Lucene build a bitset over every document of the shard
        // on every request (O(index size)). Instead the search is widened by the number of distinct
        // history items h and those items are dropped afterwards: at most h of the
        // num_candidates + h nearest are history, so at least num_candidates others remain - the
        // same documents the filtered search finds, at the cost of h more graph results.
        Query userFilter = builder.filter() == null ? null : builder.filter().toQuery(context);
        Query candidates;
        if (excludeHistory) {
            List<Object> seen = user.history().stream().map(HistoryEvent::itemId).distinct().map(id -> (Object) id).toList();
            Query knn = new KnnFloatVectorQuery(vectorType.name(), embedding, builder.numCandidates() + seen.size(), userFilter);
            candidates = new BooleanQuery.Builder().add(knn, BooleanClause.Occur.MUST)
                .add(idType.termsQuery(seen, context), BooleanClause.Occur.MUST_NOT)
                .build();
        } else {
            candidates = new KnnFloatVectorQuery(vectorType.name(), embedding, builder.numCandidates(), userFilter);
        }
        if (!builder.rank()) {
            return builder.numCandidates() == builder.k() && !excludeHistory ? candidates : new RankedKnnQuery(candidates, builder.k(), null);
        }
        RankedKnnQuery.Ranking ranking = new RankedKnnQuery.Ranking(idType.name(), builder.itemTextFields(), model, user.encoding(),
            user.encodingId(), builder.rankWindow(), builder.servedBlendFor(model), services.rankedHits());
        return new RankedKnnQuery(candidates, builder.k(), ranking);
    }

    private MappedFieldType itemIdField(String name) {
        return ItemIds.field(context, name);
    }
}
