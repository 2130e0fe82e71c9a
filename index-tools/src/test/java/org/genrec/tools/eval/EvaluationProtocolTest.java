package org.genrec.tools.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trainer's protocol names, and the one a models API answer lists for a model. */
class EvaluationProtocolTest {

    private static JsonNode listing(String json) throws Exception {
        return new ObjectMapper().readTree(json.replace('\'', '"'));
    }

    @Test
    void trainerNamesMapOntoTheTwoProtocols() {
        assertEquals(EvaluationProtocol.LOO, EvaluationProtocol.ofTrainerName("loo"));
        assertEquals(EvaluationProtocol.LOO, EvaluationProtocol.ofTrainerName("movielens"), "HSTU's MovieLens protocol is leave-one-out");
        assertEquals(EvaluationProtocol.BEAUTY, EvaluationProtocol.ofTrainerName("beauty"));
        assertNull(EvaluationProtocol.ofTrainerName("auto"), "the trainer resolves auto before writing the manifest");
    }

    @Test
    void theListedProtocolIsTheOneEveryLoadingNodeNames() throws Exception {
        JsonNode twoNodes = listing("{'nodes': {'a': {'models': {'m': {'training': {'protocol': 'beauty'}}}},"
            + " 'b': {'models': {}}, 'c': {'models': {'m': {'training': {'protocol': 'beauty', 'seed': 1}}}}}}");
        assertEquals("beauty", EvaluationProtocol.trainedUnder(twoNodes), "a node that has not loaded the model lists nothing");
        assertNull(EvaluationProtocol.trainedUnder(listing("{'nodes': {'a': {'models': {}}}}")), "loaded nowhere");
        assertNull(EvaluationProtocol.trainedUnder(listing("{'nodes': {'a': {'models': {'m': {'version': '1'}}}}}")),
            "a bundle from before the manifest named its protocol");
        JsonNode mixed = listing("{'nodes': {'a': {'models': {'m': {'training': {'protocol': 'beauty'}}}},"
            + " 'b': {'models': {'m': {'training': {'protocol': 'loo'}}}}}}");
        var disagree = assertThrows(IllegalStateException.class, () -> EvaluationProtocol.trainedUnder(mixed));
        assertTrue(disagree.getMessage().contains("[beauty, loo]"), disagree.getMessage());
    }
}
