package org.genrec.tools.eval;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Map;
import java.util.TreeSet;

/**
 * Which leave-one-out variant {@code evaluate} measures, named as the trainer names it. A model's figures mean something
 * only under the protocol they were measured on: the Beauty protocol drops test users that the MovieLens one counts as
 * misses, so the same served order gives different HR@10 under the two.
 */
public enum EvaluationProtocol {
    /** HSTU's MovieLens protocol (the trainer's {@code movielens} and {@code loo}): every user with 3+ events counts. */
    LOO,
    /** The published Beauty tables' protocol (the trainer's {@code beauty}): cold and already-seen targets dropped. */
    BEAUTY;

    private static final Map<String, EvaluationProtocol> BY_TRAINER_NAME = Map.of("loo", LOO, "movielens", LOO, "beauty", BEAUTY);

    /** The protocol the trainer calls {@code name}, or {@code null} for a name it does not use. */
    public static EvaluationProtocol ofTrainerName(String name) {
        return BY_TRAINER_NAME.get(name);
    }

    /** Whether any node of a models API answer ({@code GET _plugins/_genrec/models/NAME}) lists the model: has it loaded. */
    public static boolean anyNodeLists(JsonNode modelsResponse) {
        for (JsonNode node : modelsResponse.path("nodes")) {
            if (!node.path("models").isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The trainer's protocol name that the models API lists for a model ({@code GET _plugins/_genrec/models/NAME}) on
     * every node that loaded it: {@code null} when no node lists the model or its bundle names no protocol.
     *
     * @throws IllegalStateException when nodes list different protocols (different versions of the model loaded)
     */
    public static String trainedUnder(JsonNode modelsResponse) {
        TreeSet<String> named = new TreeSet<>();
        for (JsonNode node : modelsResponse.path("nodes")) {
            for (JsonNode model : node.path("models")) {
                JsonNode protocol = model.path("training").path("protocol");
                if (protocol.isTextual()) {
                    named.add(protocol.asText());
                }
            }
        }
        if (named.size() > 1) {
            throw new IllegalStateException("the nodes serve versions of the model tested under different protocols " + named);
        }
        return named.isEmpty() ? null : named.first();
    }
}
