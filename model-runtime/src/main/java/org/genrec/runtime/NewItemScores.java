package org.genrec.runtime;

/**
 * What the model says of items it was not trained on, for one user, from their text alone: the ranking head's logit
 * of each (the {@code score_rows} graph over the rows the item encoder gives them) and the retrieval similarity of
 * each (the user embedding dot the item's text embedding: what the kNN search scored it by). In the order given.
 */
public record NewItemScores(float[] logits, float[] similarities) {}
