package org.genrec.plugin.query;

/**
 * How the ranking head's logits become hit scores. One rule for ranking on the shards, the
 * rescorer and ranking on the coordinating node ({@code genrec_rank}), so that the three order the
 * same window the same way.
 */
public final class RankingScores {

    private RankingScores() {}

    /** Lucene scores must be non-negative: the probability, not the logit. */
    public static float probability(float logit) {
        return (float) (1.0 / (1.0 + Math.exp(-logit)));
    }

    /** A hit after the ranked window: below every ranked hit, in retrieval order (as a rescorer's window leaves them). */
    public static float afterWindow(float lowestRanked, float retrievalScore) {
        return lowestRanked * Math.min(1f, retrievalScore) * 0.5f;
    }
}
