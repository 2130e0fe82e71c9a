package org.genrec.plugin.query;

import org.opensearch.test.OpenSearchTestCase;

/** The ranking score's arithmetic; the internal-cluster tests check it against the model end to end. */
public class RankingScoresTests extends OpenSearchTestCase {

    public void testWeightZeroIsTheProbability() {
        assertEquals(0.5f, RankingScores.score(0f, 0.3f, 0f, 0), 0f);
        assertEquals(1 / (1 + Math.exp(-2.0)), RankingScores.score(2f, -0.7f, 0f, 0), 1e-7);
    }

    public void testTheBlendOrdersByLogProbabilityPlusWeightedSimilarity() {
        // the trainer's served order (evaluate.ServedWindows): log sigmoid(logit) + w * similarity
        float w = 5f;
        float[][] hits = { { -2f, 0.9f }, { 0f, 0.5f }, { 2f, 0.1f }, { 1f, -0.2f } }; // 2.373, 1.807, 0.373, -1.313
        for (int i = 0; i + 1 < hits.length; i++) {
            assertTrue(i + "", RankingScores.score(hits[i][0], hits[i][1], w, 0) > RankingScores.score(hits[i + 1][0], hits[i + 1][1], w, 0));
        }
        assertEquals(1 + (-Math.log1p(Math.exp(2.0)) + 5 * 0.9), RankingScores.score(-2f, 0.9f, w, 0), 1e-6);
        assertEquals(1 / (1 - (-Math.log1p(Math.exp(-1.0)) - 5 * 0.2)), RankingScores.score(1f, -0.2f, w, 0), 1e-6);
    }

    public void testTheCoOccurrenceTermAddsToTheBlendAndNotToTheProbability() {
        // the trainer's served order with a co-occurrence table: log sigmoid(logit) + w * similarity + v * log(1 + counts)
        double term = 3 * Math.log1p(4);
        assertEquals(1 + (-Math.log1p(Math.exp(2.0)) + 5 * 0.9 + term), RankingScores.score(-2f, 0.9f, 5f, term), 1e-6);
        assertTrue(RankingScores.score(-2f, 0.1f, 5f, term) > RankingScores.score(-2f, 0.9f, 5f, 0));
        assertEquals(RankingScores.score(2f, -0.7f, 0f, 0), RankingScores.score(2f, -0.7f, 0f, term), 0f);
        assertTrue(RankingScores.describe(new ServedBlend(5f, 3f), 0).contains("co_occurrence_weight 3.0"));
        assertTrue(RankingScores.describe(new ServedBlend(5f, 3f), 0).contains("the history's latest second"));
        assertTrue(RankingScores.describe(new ServedBlend(5f, 3f), 5).contains("the history's last 5 events"));
        assertFalse(RankingScores.describe(new ServedBlend(5f, 0f), 0).contains("co_occurrence"));
        assertFalse(RankingScores.describe(new ServedBlend(0f, 3f), 0).contains("co_occurrence")); // the head alone has no such term
    }

    public void testExtremeInputsStayFinitePositiveAndOrdered() {
        float previous = Float.MAX_VALUE;
        for (float similarity : new float[] { 40f, 1f, 0f, -0.5f, -1f }) {
            float score = RankingScores.score(-30f, similarity, 1000f, 0);
            assertTrue(similarity + " -> " + score, Float.isFinite(score) && score > 0 && score < previous);
            previous = score;
        }
        assertTrue(RankingScores.score(-700f, -1f, 1000f, 0) > 0);
    }
}
