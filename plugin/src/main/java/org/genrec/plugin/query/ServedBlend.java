package org.genrec.plugin.query;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.bundle.Manifest;

/**
 * The weights of one query's served order ({@link RankingScores}): how much the retrieval similarity counts beside the
 * ranking head ({@code retrieval_weight}; 0: the head alone), and how much the co-occurrence term does
 * ({@code co_occurrence_weight}; it has none without a retrieval weight). Each the request's, else the bundle's: a
 * ranked {@code genrec} query and the rescorer serve the same order.
 */
public record ServedBlend(float retrievalWeight, float coOccurrenceWeight) {

    /** The co-occurrence weight in effect: none for the head alone, which is a probability. */
    public float coOccurrenceInEffect() {
        return retrievalWeight == 0 ? 0f : coOccurrenceWeight;
    }

    /** The request's weights where it gives them (non-null), the bundle's otherwise. */
    public static ServedBlend of(Float retrievalWeight, Float coOccurrenceWeight, GenrecModel model) {
        return new ServedBlend(retrievalWeight == null ? model.manifest().retrievalWeight() : retrievalWeight,
            coOccurrenceWeight == null ? model.manifest().coOccurrenceWeight() : coOccurrenceWeight);
    }

    /**
     * A request's weight, checked: null (the bundle's) or between 0 and the largest a bundle may carry.
     *
     * @param where how the error names the option, e.g. {@code [genrec] [rank.retrieval_weight]}
     */
    public static Float checkWeight(String where, Float value) {
        if (value != null && !(value >= 0 && value <= Manifest.MAX_RETRIEVAL_WEIGHT)) {
            throw new IllegalArgumentException(where + " must be between 0 and " + Manifest.MAX_RETRIEVAL_WEIGHT + ", got " + value);
        }
        return value;
    }
}
