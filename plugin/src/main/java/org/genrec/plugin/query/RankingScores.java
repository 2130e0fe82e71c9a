package org.genrec.plugin.query;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;

import java.util.Arrays;

/**
 * How the ranking head's logits become hit scores. One rule for ranking on the shards, the
 * rescorer and ranking on the coordinating node ({@code genrec_rank}), so that the three order the
 * same window the same way.
 */
public final class RankingScores {

    private RankingScores() {}

    /**
     * The ranking probability of each model item index, in one score call for the indices the model
     * knows; an index of 0 (no item id, or one the model does not know) gets 0.
     */
    public static float[] probabilities(GenrecModel model, UserEncoding user, long[] indices) {
        float[] logits = model.score(user, Arrays.stream(indices).filter(i -> i > 0).toArray());
        float[] out = new float[indices.length];
        for (int i = 0, next = 0; i < indices.length; i++) {
            if (indices[i] > 0) {
                out[i] = probability(logits[next++]);
            }
        }
        return out;
    }

    /** Lucene scores must be non-negative: the probability, not the logit. */
    public static float probability(float logit) {
        return (float) (1.0 / (1.0 + Math.exp(-logit)));
    }

    /** A hit after the ranked window: below every ranked hit, in retrieval order (as a rescorer's window leaves them). */
    public static float afterWindow(float lowestRanked, float retrievalScore) {
        return lowestRanked * Math.min(1f, retrievalScore) * 0.5f;
    }
}
