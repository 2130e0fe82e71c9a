package org.genrec.plugin.query;

/**
 * The weights of one query's served order ({@link RankingScores}): how much the retrieval similarity counts beside the
 * ranking head ({@code rank.retrieval_weight}; 0: the head alone), and how much the co-occurrence term does
 * ({@code rank.co_occurrence_weight}; it has none without a retrieval weight). Each the query's, else the bundle's.
 */
public record ServedBlend(float retrievalWeight, float coOccurrenceWeight) {

    /** The ranking head alone, scored by its probability: what the rescorer serves. */
    public static final ServedBlend HEAD_ALONE = new ServedBlend(0f, 0f);

    /** The co-occurrence weight in effect: none for the head alone, which is a probability. */
    public float coOccurrenceInEffect() {
        return retrievalWeight == 0 ? 0f : coOccurrenceWeight;
    }
}
