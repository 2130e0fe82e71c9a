package org.genrec.plugin.query;

import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.Weight;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Matches a fixed set of documents with scores computed beforehand by {@link RankedKnnQuery}.
 * Bound to the segments it was computed on ({@link ReaderKey}), like Lucene's kNN results.
 */
final class PrecomputedScoresQuery extends Query {

    private final Object readerIdentity;
    private final int[] docs;
    private final float[] scores;
    private final float[] retrievalScores;
    private final boolean[] ranked;
    private final int[] segmentStarts;
    private final float maxScore;
    private final int droppedHistoryItems;
    private final String rankingScore;

    /**
     * @param ranked              per doc, whether the ranking head scored it; null when no ranking was asked for
     * @param droppedHistoryItems history events the model could not read (for explain)
     * @param rankingScore        what the ranking scores are (for explain; RankingScores.describe)
     */
    PrecomputedScoresQuery(IndexReader reader, int[] docs, float[] scores, float[] retrievalScores, boolean[] ranked, int droppedHistoryItems,
        String rankingScore) {
        this.readerIdentity = ReaderKey.of(reader);
        // Sort by global doc id so that each segment's docs form one run.
        Integer[] order = new Integer[docs.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Integer.compare(docs[a], docs[b]));
        this.docs = new int[docs.length];
        this.scores = new float[docs.length];
        this.retrievalScores = new float[docs.length];
        this.ranked = ranked == null ? null : new boolean[docs.length];
        float max = 0;
        for (int i = 0; i < order.length; i++) {
            this.docs[i] = docs[order[i]];
            this.scores[i] = scores[order[i]];
            this.retrievalScores[i] = retrievalScores[order[i]];
            if (ranked != null) {
                this.ranked[i] = ranked[order[i]];
            }
            max = Math.max(max, this.scores[i]);
        }
        this.maxScore = max;
        this.droppedHistoryItems = droppedHistoryItems;
        this.rankingScore = rankingScore;
        List<LeafReaderContext> leaves = reader.leaves();
        this.segmentStarts = new int[leaves.size() + 1];
        int i = 0;
        for (LeafReaderContext leaf : leaves) {
            segmentStarts[leaf.ord] = i;
            int end = leaf.docBase + leaf.reader().maxDoc();
            while (i < this.docs.length && this.docs[i] < end) {
                i++;
            }
        }
        segmentStarts[leaves.size()] = this.docs.length;
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
        if (!readerIdentity.equals(ReaderKey.of(searcher.getIndexReader()))) {
            throw new IllegalStateException("genrec scores were computed on a different reader");
        }
        return new Weight(this) {
            @Override
            public Explanation explain(LeafReaderContext context, int doc) {
                int found = Arrays.binarySearch(docs, context.docBase + doc);
                if (found < 0) {
                    return Explanation.noMatch("not among the genrec kNN hits of this shard");
                }
                Explanation retrieval = Explanation.match(retrievalScores[found], "retrieval similarity of the user embedding and the item vector");
                if (ranked == null) {
                    return Explanation.match(scores[found] * boost, "genrec kNN similarity, best k of num_candidates", retrieval);
                }
                String dropped = "; history events ignored (items the model was not trained on and could not read by their text): "
                    + droppedHistoryItems;
                if (!ranked[found]) {
                    return Explanation.match(scores[found] * boost,
                        "genrec: not ranked (beyond the rank window, or an item the model was not trained on and has no readable text in"
                            + " _source), placed after the ranked hits" + dropped,
                        retrieval);
                }
                return Explanation.match(scores[found] * boost, "genrec ranking score, " + rankingScore + dropped, retrieval);
            }

            @Override
            public int count(LeafReaderContext context) {
                return segmentStarts[context.ord + 1] - segmentStarts[context.ord];
            }

            @Override
            public ScorerSupplier scorerSupplier(LeafReaderContext context) {
                int lower = segmentStarts[context.ord];
                int upper = segmentStarts[context.ord + 1];
                if (lower == upper) {
                    return null;
                }
                return new DefaultScorerSupplier(new SegmentScorer(context.docBase, lower, upper, boost));
            }

            @Override
            public boolean isCacheable(LeafReaderContext ctx) {
                return true;
            }
        };
    }

    /** Walks this segment's slice of the precomputed docs. */
    private final class SegmentScorer extends Scorer {
        private final int docBase;
        private final int lower;
        private final int upper;
        private final float boost;
        private int position = -1;

        SegmentScorer(int docBase, int lower, int upper, float boost) {
            this.docBase = docBase;
            this.lower = lower;
            this.upper = upper;
            this.boost = boost;
        }

        @Override
        public int docID() {
            if (position == -1) {
                return -1;
            }
            return position >= upper ? DocIdSetIterator.NO_MORE_DOCS : docs[position] - docBase;
        }

        @Override
        public DocIdSetIterator iterator() {
            return new DocIdSetIterator() {
                @Override
                public int docID() {
                    return SegmentScorer.this.docID();
                }

                @Override
                public int nextDoc() {
                    position = position == -1 ? lower : position + 1;
                    return docID();
                }

                @Override
                public int advance(int target) throws java.io.IOException {
                    return slowAdvance(target);
                }

                @Override
                public long cost() {
                    return upper - lower;
                }
            };
        }

        @Override
        public float getMaxScore(int upTo) {
            return maxScore * boost;
        }

        @Override
        public float score() {
            return scores[position] * boost;
        }
    }

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
    }

    @Override
    public String toString(String field) {
        return "genrec_scores[" + docs.length + " docs]";
    }

    @Override
    public boolean equals(Object other) {
        if (!sameClassAs(other)) {
            return false;
        }
        PrecomputedScoresQuery that = (PrecomputedScoresQuery) other;
        return readerIdentity.equals(that.readerIdentity) && Arrays.equals(docs, that.docs) && Arrays.equals(scores, that.scores);
    }

    @Override
    public int hashCode() {
        return Objects.hash(classHash(), readerIdentity, Arrays.hashCode(docs), Arrays.hashCode(scores));
    }
}
