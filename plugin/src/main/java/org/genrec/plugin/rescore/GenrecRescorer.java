package org.genrec.plugin.rescore;

import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.genrec.plugin.query.ItemIds;
import org.genrec.plugin.query.ItemTexts;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.plugin.query.RankingScores;
import org.opensearch.search.rescore.RescoreContext;
import org.opensearch.search.rescore.Rescorer;

import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Set;

/**
 * Reranks a shard's top window with one batched call of the model's ranking head, each hit scored as a ranked
 * {@code genrec} query scores it (RankingScores, the context's blend). Measured on Amazon Scientific's searches over
 * BM25's top 100: that served score lifts NDCG@10 ~30 % over BM25, where the head's probability alone (what this
 * rescorer served before) moved it ~1 % (BENCHMARKS.md, "The rescorer over BM25").
 */
final class GenrecRescorer implements Rescorer {

    static final GenrecRescorer INSTANCE = new GenrecRescorer();

    private GenrecRescorer() {}

    @Override
    public TopDocs rescore(TopDocs topDocs, IndexSearcher searcher, RescoreContext rescoreContext) throws IOException {
        GenrecRescoreContext ctx = (GenrecRescoreContext) rescoreContext;
        if (topDocs == null || topDocs.scoreDocs.length == 0) {
            return topDocs;
        }
        int n = Math.min(ctx.getWindowSize(), topDocs.scoreDocs.length);
        ScoreDoc[] window = Arrays.copyOf(topDocs.scoreDocs, n);
        Arrays.sort(window, Comparator.comparingInt(d -> d.doc)); // doc values are read forward
        float[] served = servedScores(searcher, ctx, Arrays.stream(window).mapToInt(d -> d.doc).toArray());

        Set<Integer> rescored = new HashSet<>();
        ScoreDoc[] out = Arrays.copyOf(topDocs.scoreDocs, topDocs.scoreDocs.length);
        for (int i = 0; i < n; i++) {
            ScoreDoc d = window[i];
            out[i] = new ScoreDoc(d.doc, ctx.queryWeight * d.score + ctx.rescoreQueryWeight * served[i], d.shardIndex);
            rescored.add(d.doc);
        }
        // The window is reordered by the combined score; hits after it keep their place, as in the query rescorer.
        Arrays.sort(out, 0, n, (a, b) -> Float.compare(b.score, a.score));
        ctx.setRescoredDocs(rescored);
        return new TopDocs(topDocs.totalHits, out);
    }

    /**
     * The served score per doc (an item the model was not trained on from its text; 0 for one it cannot rank either way);
     * {@code docs} sorted ascending.
     */
    private static float[] servedScores(IndexSearcher searcher, GenrecRescoreContext ctx, int[] docs) throws IOException {
        long[] indices = ItemIds.modelIndices(searcher.getIndexReader(), ctx.itemIdField, docs, ctx.model.bundle().items());
        ItemText[] texts = ItemTexts.ofUnknown(searcher.getIndexReader(), docs, indices, ctx.model, ctx.textFields);
        float[] scores = RankingScores.scores(ctx.model, ctx.user, indices, texts, ctx.blend);
        for (int i = 0; i < scores.length; i++) {
            scores[i] = Float.isNaN(scores[i]) ? 0f : scores[i];
        }
        return scores;
    }

    @Override
    public Explanation explain(int topLevelDocId, IndexSearcher searcher, RescoreContext rescoreContext, Explanation sourceExplanation)
        throws IOException {
        GenrecRescoreContext ctx = (GenrecRescoreContext) rescoreContext;
        if (!ctx.isRescored(topLevelDocId)) {
            return sourceExplanation;
        }
        float served = servedScores(searcher, ctx, new int[] { topLevelDocId })[0];
        Explanation original = Explanation.match(ctx.queryWeight * sourceExplanation.getValue().floatValue(),
            "query_weight " + ctx.queryWeight + " * original score", sourceExplanation);
        Explanation ranking = Explanation.match(ctx.rescoreQueryWeight * served, "rescore_query_weight " + ctx.rescoreQueryWeight
            + " * genrec served score " + served + " ("
            + RankingScores.describe(ctx.blend, ctx.model.manifest().coOccurrenceSpan()) + ")");
        return Explanation.match(original.getValue().floatValue() + ranking.getValue().floatValue(), "genrec rescore: sum of", original, ranking);
    }
}
