package org.genrec.plugin.query;

import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.SortedSetDocValues;
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
import java.util.List;
import java.util.Objects;

/**
 * kNN retrieval followed by the model's ranking head, all in {@link #rewrite}: the kNN query runs,
 * the hits' item ids are read from doc values, the model scores them in <b>one</b> batched call
 * against the cached history, and what is left is a {@link PrecomputedScoresQuery} that only hands
 * back those scores (the pattern of Lucene's own kNN query). Nothing is computed per document at
 * scoring time.
 */
final class RankedKnnQuery extends Query {

    private final Query knn;
    private final String itemIdField;
    private final GenrecModel model;
    private final UserEncoding user;
    private final RankedHitsCache cache;

    RankedKnnQuery(Query knn, String itemIdField, GenrecModel model, UserEncoding user, RankedHitsCache cache) {
        this.knn = knn;
        this.itemIdField = itemIdField;
        this.model = model;
        this.user = user;
        this.cache = cache;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        return cache.get(searcher.getIndexReader(), knn, model, user, () -> rank(searcher));
    }

    private PrecomputedScoresQuery rank(IndexSearcher searcher) throws IOException {
        Query retrieved = searcher.rewrite(knn);
        Weight weight = searcher.createWeight(retrieved, ScoreMode.COMPLETE, 1f);
        List<Hit> hits = new ArrayList<>();
        for (LeafReaderContext leaf : searcher.getIndexReader().leaves()) {
            Scorer scorer = weight.scorer(leaf);
            if (scorer == null) {
                continue;
            }
            SortedSetDocValues ids = DocValues.getSortedSet(leaf.reader(), itemIdField);
            DocIdSetIterator it = scorer.iterator();
            for (int doc = it.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = it.nextDoc()) {
                String itemId = ids.advanceExact(doc) ? ids.lookupOrd(ids.nextOrd()).utf8ToString() : null;
                hits.add(new Hit(leaf.docBase + doc, scorer.score(), itemId));
            }
        }

        // One model call for every hit of this shard that the model knows.
        long[] candidates = new long[hits.size()];
        int known = 0;
        for (Hit hit : hits) {
            int index = hit.itemId == null ? -1 : model.bundle().items().indexOf(hit.itemId);
            if (index > 0) {
                candidates[known++] = index;
            }
        }
        float[] logits = model.score(user, java.util.Arrays.copyOf(candidates, known));

        int[] docs = new int[hits.size()];
        float[] rankScores = new float[hits.size()];
        float[] retrievalScores = new float[hits.size()];
        boolean[] ranked = new boolean[hits.size()];
        int next = 0;
        for (int i = 0; i < hits.size(); i++) {
            Hit hit = hits.get(i);
            docs[i] = hit.doc;
            retrievalScores[i] = hit.retrievalScore;
            if (hit.itemId != null && model.bundle().items().indexOf(hit.itemId) > 0) {
                // Lucene scores must be non-negative: the probability, not the logit.
                rankScores[i] = (float) (1.0 / (1.0 + Math.exp(-logits[next++])));
                ranked[i] = true;
            }
        }
        return new PrecomputedScoresQuery(searcher.getIndexReader(), docs, rankScores, retrievalScores, ranked, user.droppedHistoryItems());
    }

    private record Hit(int doc, float retrievalScore, String itemId) {}

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
