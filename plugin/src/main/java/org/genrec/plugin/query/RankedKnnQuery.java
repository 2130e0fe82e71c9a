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
import org.genrec.runtime.encoding.ItemText;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * kNN retrieval (num_candidates per shard, the best k kept) followed by the model's ranking head
 * over the best {@code window} of them, all in {@link #rewrite}: the kNN query runs,
 * the hits' item ids are read from doc values ({@link ItemIds}), the model scores them in <b>one</b> batched call
 * against the cached history, and what is left is a {@link PrecomputedScoresQuery} that only hands
 * back those scores (the pattern of Lucene's own kNN query). Nothing is computed per document at
 * scoring time.
 */
final class RankedKnnQuery extends Query {

    /** What ranking needs; absent when the query only trims num_candidates to k. */
    record Ranking(String itemIdField, ItemTextFields textFields, GenrecModel model, UserEncoding user, long encodingId, int window,
        ServedBlend blend, RankedHitsCache cache) {}

    private final Query knn;
    private final int k;
    private final Ranking ranking;

    RankedKnnQuery(Query knn, int k, Ranking ranking) {
        this.knn = knn;
        this.k = k;
        this.ranking = ranking;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        if (ranking == null) {
            return rank(searcher);
        }
        return ranking.cache().get(searcher.getIndexReader(), knn, ranking.model(), ranking.encodingId(), () -> rank(searcher));
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
            DocIdSetIterator it = scorer.iterator();
            for (int doc = it.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = it.nextDoc()) {
                hits.add(new Hit(leaf.docBase + doc, scorer.score()));
            }
        }
        // The best k of the num_candidates by retrieval score, best first.
        hits.sort((a, b) -> a.score() != b.score() ? Float.compare(b.score(), a.score()) : Integer.compare(a.doc(), b.doc()));
        List<Hit> kept = hits.subList(0, Math.min(k, hits.size()));

        int n = kept.size();
        int[] docs = new int[n];
        float[] retrievalScores = new float[n];
        for (int i = 0; i < n; i++) {
            docs[i] = kept.get(i).doc();
            retrievalScores[i] = kept.get(i).score();
        }
        if (ranking == null) {
            return new PrecomputedScoresQuery(searcher.getIndexReader(), docs, retrievalScores, retrievalScores, null, 0, "");
        }
        int window = Math.min(ranking.window(), n);
        float[] scores = new float[n];
        boolean[] ranked = new boolean[n];
        float lowestRanked = rankWindow(searcher, docs, window, scores, ranked);
        for (int i = 0; i < n; i++) { // after the window, and in it the items the model cannot rank
            if (!ranked[i]) {
                scores[i] = RankingScores.afterWindow(lowestRanked, retrievalScores[i]);
            }
        }
        return new PrecomputedScoresQuery(searcher.getIndexReader(), docs, scores, retrievalScores, ranked, ranking.user().droppedHistoryItems(),
            RankingScores.describe(ranking.blend(), ranking.model().manifest().coOccurrenceSpan()));
    }

    /** Ranks docs[0..window) in one model call; returns the lowest score given (for the hits after the window). */
    private float rankWindow(IndexSearcher searcher, int[] docs, int window, float[] scores, boolean[] ranked) throws IOException {
        // Doc values are read forward: look the window up in doc order.
        Integer[] order = new Integer[window];
        for (int i = 0; i < window; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(docs[a], docs[b]));
        int[] sortedDocs = new int[window];
        for (int i = 0; i < window; i++) {
            sortedDocs[i] = docs[order[i]];
        }
        long[] indices = ItemIds.modelIndices(searcher.getIndexReader(), ranking.itemIdField(), sortedDocs, ranking.model().bundle().items());
        ItemText[] texts = ItemTexts.ofUnknown(searcher.getIndexReader(), sortedDocs, indices, ranking.model(), ranking.textFields());
        float[] rankedScores = RankingScores.scores(ranking.model(), ranking.user(), indices, texts, ranking.blend());
        float lowest = 1f; // at most 1: a window with no item the model can rank still puts the rest below 1
        for (int i = 0; i < window; i++) {
            if (!Float.isNaN(rankedScores[i])) {
                scores[order[i]] = rankedScores[i];
                ranked[order[i]] = true;
                lowest = Math.min(lowest, rankedScores[i]);
            }
        }
        return lowest;
    }

    private record Hit(int doc, float score) {}

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
    }

    @Override
    public String toString(String field) {
        return (ranking == null ? "genrec_top(" : "genrec_rank(") + knn.toString(field) + ", k=" + k + ")";
    }

    @Override
    public boolean equals(Object other) {
        if (!sameClassAs(other)) {
            return false;
        }
        RankedKnnQuery that = (RankedKnnQuery) other;
        // The encoding inside Ranking is compared by identity: it is built once per request.
        return knn.equals(that.knn) && k == that.k && Objects.equals(ranking, that.ranking);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), knn, k, ranking == null ? 0 : ranking.encodingId());
    }
}
