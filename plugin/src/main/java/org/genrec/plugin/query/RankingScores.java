package org.genrec.plugin.query;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.NewItemScores;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.CoOccurrence;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.encoding.ItemText;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How the ranking head's logits become hit scores. One rule for ranking on the shards, the
 * rescorer and ranking on the coordinating node ({@code genrec_rank}), so that the three order the
 * same window the same way.
 *
 * <p>Hits are ordered by {@code log sigmoid(logit) + w * similarity}, the trainer's served order
 * (evaluate.ServedWindows): the log-probability of a positive label (e.g. a rating of 4 or more)
 * plus the retrieval's preference for the item, with the retrieval weight {@code w} the trainer
 * chose on validation (the bundle's {@code ranking.retrieval_weight}) or the query's. The ranking
 * head alone predicts the label, not the next item, and alone it can order the next item worse
 * than retrieval does. The similarity is the model's own (user embedding dot the bundle's item
 * embedding: the cosine for a cosine model), whatever the index's field similarity turned it into.
 * A bundle trained with a co-occurrence table adds {@code v * log(1 + counts)} to that sum ({@link CoOccurrence}: how
 * often other users logged the hit together with the request's context items: its latest second, or its last
 * {@code co_occurrence.span} events), v the bundle's
 * {@code ranking.co_occurrence_weight} or the query's; the ranking head alone (w = 0) has no such term, as in the trainer.
 *
 * <p>The score: with w = 0 the probability itself ({@code min_score} can cut on it); with w > 0
 * that sum mapped to a positive score the way Lucene maps an inner product
 * ({@code VectorUtil.scaleMaxInnerProductScore}: {@code 1 / (1 - x)} below 0, {@code 1 + x} above),
 * which keeps the order at float precision where an exponential would underflow.
 */
public final class RankingScores {

    private RankingScores() {}

    /**
     * The score of each hit of a window: one score call for the model item indices it knows, and one for the items it was
     * not trained on (index 0) whose text is given, ranked from that text alone ({@link GenrecModel#scoreNewItems}: an item
     * added to the catalogue after training). NaN for the hits it can rank neither way (no text, text without a token, or
     * a model without an item encoder): callers place those as hits after the window ({@link #afterWindow}).
     */
    public static float[] scores(GenrecModel model, UserEncoding user, long[] indices, ItemText[] texts, ServedBlend blend) {
        float retrievalWeight = blend.retrievalWeight();
        float[] out = new float[indices.length];
        Arrays.fill(out, Float.NaN);
        float[] logits = model.score(user, Arrays.stream(indices).filter(i -> i > 0).toArray());
        ItemCatalog items = model.bundle().items();
        float coOccurrenceWeight = blend.coOccurrenceInEffect();
        CoOccurrence.Prior prior = coOccurrenceWeight == 0 ? null : model.bundle().coOccurrence().priorFor(user.coOccurrenceContext());
        for (int i = 0, next = 0; i < indices.length; i++) {
            if (indices[i] > 0) {
                float similarity = retrievalWeight == 0 ? 0 : items.similarity((int) indices[i], user.embedding());
                double coOccurrence = prior == null ? 0 : coOccurrenceWeight * prior.of(indices[i]);
                out[i] = score(logits[next++], similarity, retrievalWeight, coOccurrence);
            }
        }
        List<Integer> newItems = new ArrayList<>();
        List<ItemText> newTexts = new ArrayList<>();
        boolean fromText = model.embedsNewItems();
        for (int i = 0; i < indices.length && fromText; i++) {
            if (indices[i] == 0 && texts[i] != null && texts[i].hasTokens(model.bundle().tokenizer())) {
                newItems.add(i);
                newTexts.add(texts[i]);
            }
        }
        if (!newItems.isEmpty()) {
            NewItemScores ranked = model.scoreNewItems(user, newTexts);
            for (int j = 0; j < newItems.size(); j++) {
                out[newItems.get(j)] = score(ranked.logits()[j], ranked.similarities()[j], retrievalWeight, 0); // no counts: not trained on
            }
        }
        return out;
    }

    /**
     * Lucene scores must be non-negative: the probability, or the blend mapped to a positive score, never the logit.
     * coOccurrence: the co-occurrence term, already weighted (0 without one; unused by the head alone).
     */
    public static float score(float logit, float similarity, float retrievalWeight, double coOccurrence) {
        if (retrievalWeight == 0) {
            return (float) (1.0 / (1.0 + Math.exp(-logit)));
        }
        double logProbability = -Math.log1p(Math.exp(-logit)); // log sigmoid; exact enough for |logit| < 700
        double blend = logProbability + retrievalWeight * (double) similarity + coOccurrence;
        return (float) (blend < 0 ? 1 / (1 - blend) : 1 + blend);
    }

    /** What {@link #score} computes, for explain; coOccurrenceSpan: the bundle's co_occurrence.span (0: by seconds). */
    public static String describe(ServedBlend blend, int coOccurrenceSpan) {
        float retrievalWeight = blend.retrievalWeight(), coOccurrenceWeight = blend.coOccurrenceInEffect();
        String counts = coOccurrenceSpan == 0 ? "same-second co-occurrence counts with the history's latest second"
            : "co-occurrence counts (items at most " + coOccurrenceSpan + " events apart) with the history's last " + coOccurrenceSpan + " events";
        return retrievalWeight == 0 ? "sigmoid of the ranking head's logit"
            : "x = log sigmoid(ranking head's logit) + retrieval_weight " + retrievalWeight + " * retrieval similarity"
                + (coOccurrenceWeight == 0 ? "" : " + co_occurrence_weight " + coOccurrenceWeight + " * log(1 + " + counts + ")")
                + ", as a positive score: 1 / (1 - x) below 0, 1 + x above";
    }

    /**
     * A hit after the ranked window, or in it but one the model cannot rank (not trained on it, and no readable text to rank
     * it by): below every ranked hit, in retrieval order (as a rescorer's window leaves them).
     */
    public static float afterWindow(float lowestRanked, float retrievalScore) {
        return lowestRanked * Math.min(1f, retrievalScore) * 0.5f;
    }
}
