package org.genrec.plugin.query;

import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * kNN retrieval followed by the model's ranking head, all in {@link #rewrite}: the kNN query runs,
 * the hits' item ids are read from doc values ({@link ItemIds}), the model scores them in <b>one</b> batched call
 * against the cached history, and what is left is a {@link PrecomputedScoresQuery} that only hands
 * back those scores (the pattern of Lucene's own kNN query). Nothing is computed per document at
 * scoring time.
 */
final class RankedKnnQuery extends Query {

    private final Query knn;
    private final String itemIdField;
    private final GenrecModel model;
    private final UserEncoding user;
    private final long encodingId;
    private final RankedHitsCache cache;

    RankedKnnQuery(Query knn, String itemIdField, GenrecModel model, UserEncoding user, long encodingId, RankedHitsCache cache) {
        this.knn = knn;
        this.itemIdField = itemIdField;
        this.model = model;
        this.user = user;
        this.encodingId = encodingId;
        this.cache = cache;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        return cache.get(searcher.getIndexReader(), knn, model, encodingId, () -> rank(searcher));
    }

    private PrecomputedScoresQuery rank(IndexSearcher searcher) throws IOException {
        Query retrieved = searcher.rewrite(knn);
        Weight weight = searcher.createWeight(retrieved, ScoreMode.COMPLETE, 1f);
        List<Integer> docList = new ArrayList<>();
        List<Float> scoreList = new ArrayList<>();
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            Scorer scorer = weight.scorer(leaf);
            if (scorer == null) {
                continue;
            }
            DocIdSetIterator it = scorer.iterator();
            for (int doc = it.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = it.nextDoc()) {
                docList.add(leaf.docBase + doc);
                scoreList.add(scorer.score());
            }
        }
        int[] docs = docList.stream().mapToInt(Integer::intValue).toArray(); // ascending: leaves in order
        float[] retrievalScores = new float[docs.length];
        for (int i = 0; i < docs.length; i++) {
            retrievalScores[i] = scoreList.get(i);
        }

        // One model call for every hit of this shard that the model knows.
        long[] indices = ItemIds.modelIndices(searcher.getIndexReader(), itemIdField, docs, model.bundle().items());
        float[] logits = model.score(user, Arrays.stream(indices).filter(i -> i > 0).toArray());
        float[] rankScores = new float[docs.length];
        boolean[] ranked = new boolean[docs.length];
        for (int i = 0, next = 0; i < docs.length; i++) {
            if (indices[i] > 0) {
                // Lucene scores must be non-negative: the probability, not the logit.
                rankScores[i] = (float) (1.0 / (1.0 + Math.exp(-logits[next++])));
                ranked[i] = true;
            }
        }
        return new PrecomputedScoresQuery(searcher.getIndexReader(), docs, rankScores, retrievalScores, ranked, user.droppedHistoryItems());
    }

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
    }

    @Override
    public String toString(String field) {
        return "genrec_rank(" + knn.toString(field) + ")";
    }

    @Override
    public boolean equals(Object other) {
        if (!sameClassAs(other)) {
            return false;
        }
        RankedKnnQuery that = (RankedKnnQuery) other;
        // The encoding is compared by identity: it is built once per request.
        return knn.equals(that.knn) && itemIdField.equals(that.itemIdField) && model == that.model && user == that.user;
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), knn, itemIdField, System.identityHashCode(user));
    }
}
