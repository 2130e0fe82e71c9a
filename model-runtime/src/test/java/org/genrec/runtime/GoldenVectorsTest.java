package org.genrec.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.encoding.EncodeInputs;
import org.genrec.runtime.encoding.EncodedRequest;
import org.genrec.runtime.encoding.EventTime;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.RotaryRows;
import org.genrec.runtime.encoding.SlotMasks;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.bundle.CoOccurrence;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.GraphPrecision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.genrec.runtime.JsonArrays.flatFloats;
import static org.genrec.runtime.JsonArrays.flatLongs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Zero skew: the Java encoding and ONNX run reproduce every golden case the trainer wrote, with the
 * float32 graphs at the golden tolerance and with the float16 (GPU) graphs, run here on the CPU,
 * at the float16 tolerance the trainer states.
 */
class GoldenVectorsTest {

    private static GenrecModel model;
    private static GenrecModel fp16Model;
    /** The fixture trained with --absolute-time: its encode graph also takes request_time. */
    private static GenrecModel timedModel;
    private static JsonNode golden;
    /** Largest float16 error seen over all cases: a float16 graph that matched float32 exactly would not be one. */
    private static double fp16MaxError;

    @BeforeAll
    static void load() throws IOException {
        model = GenrecModel.load(FixtureBundle.path(), ExecutionProvider.CPU);
        fp16Model = GenrecModel.load(FixtureBundle.path(), ExecutionProvider.CPU, EncodeBatching.DEFAULT, GraphPrecision.FP16);
        golden = new ObjectMapper().readTree(FixtureBundle.path().resolve(model.manifest().golden()).toFile());
        timedModel = GenrecModel.load(FixtureBundle.absoluteTimePath(), ExecutionProvider.CPU);
    }

    @AfterAll
    static void close() {
        model.close();
        fp16Model.close();
        timedModel.close();
    }

    @Test
    void autoPrecisionKeepsTheCpuOnFloat32() {
        assertEquals(GraphPrecision.FP32, model.precision());
        assertEquals(GraphPrecision.FP16, fp16Model.precision());
    }

    @Test
    void aRetrievalOnlyEncodingKeepsTheEmbeddingAndRefusesToRank() {
        String item = model.bundle().items().items().get(0).itemId();
        UserEncoding full = model.encode(new GenrecRequest(List.of(new HistoryEvent(item, model.manifest().actions().get(0),
            1_600_000_000L, null)), null, 1_600_000_060L));
        UserEncoding retrievalOnly = full.withoutCache();

        assertTrue(full.hasCache());
        assertFalse(retrievalOnly.hasCache());
        assertArrayEquals(full.embedding(), retrievalOnly.embedding());
        assertEquals(0, retrievalOnly.cacheKeys().length + retrievalOnly.cacheValues().length + retrievalOnly.cacheMask().length);
        assertEquals(1, model.score(full, List.of(item)).length);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.score(retrievalOnly, List.of(item)));
        assertTrue(e.getMessage().contains("no history cache"), e.getMessage());
    }

    @TestFactory
    Stream<DynamicTest> goldenCases() {
        double tolerance = golden.path("tolerance").asDouble(1e-4);
        double fp16Tolerance = golden.path("fp16_tolerance").asDouble();
        assertTrue(fp16Tolerance > 0, "golden.json states the float16 tolerance");
        List<DynamicTest> tests = new ArrayList<>();
        assertTrue(golden.path("cases").size() >= 4, "the trainer writes at least four golden cases");
        for (JsonNode c : golden.path("cases")) {
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> check(model, c, tolerance)));
        }
        for (JsonNode c : golden.path("cases")) {
            tests.add(DynamicTest.dynamicTest("fp16 " + c.path("name").asText(), () -> check(fp16Model, c, fp16Tolerance)));
        }
        tests.add(DynamicTest.dynamicTest("fp16 graphs differ from fp32",
            () -> assertTrue(fp16MaxError > 1e-6, "float16 outputs equal float32 ones: the float16 graphs did not run")));
        return tests.stream();
    }

    /**
     * The same cases from a model that reads the request's date and counts co-occurrence a few events apart: Java feeds
     * request_time as the trainer did, and its co-occurrence term reads the request's last events, not its latest second.
     */
    @TestFactory
    Stream<DynamicTest> goldenCasesOfAModelThatReadsTheRequestTime() throws IOException {
        assertTrue(timedModel.encoder().readsRequestTime(), "the absolute-time fixture's encode graph takes request_time");
        assertFalse(model.encoder().readsRequestTime(), "the fixture's does not");
        assertTrue(timedModel.manifest().coOccurrenceSpan() > 0, "the absolute-time fixture counts co-occurrence events apart");
        assertEquals(0, model.manifest().coOccurrenceSpan(), "the fixture's counts it by seconds");
        JsonNode timedGolden = new ObjectMapper().readTree(
            FixtureBundle.absoluteTimePath().resolve(timedModel.manifest().golden()).toFile());
        double tolerance = timedGolden.path("tolerance").asDouble(1e-4);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : timedGolden.path("cases")) {
            assertTrue(c.path("inputs").has(EncodeInputs.REQUEST_TIME), "golden case " + c.path("name") + " gives request_time");
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> check(timedModel, c, tolerance)));
        }
        return tests.stream();
    }

    private static void check(GenrecModel model, JsonNode c, double tolerance) {
        GenrecRequest request = request(c.path("request"));
        EncodedRequest encoded = model.encoder().encode(request);
        JsonNode inputs = c.path("inputs");
        // Encoding first: an exact mismatch here is skew in the encoder, not in the numbers.
        assertArrayEquals(flatLongs(inputs.path("history_items")), encoded.historyItems(), "history_items");
        assertArrayEquals(flatLongs(inputs.path("history_actions")), encoded.historyActions(), "history_actions");
        assertArrayEquals(flatLongs(inputs.path("history_age_seconds")), encoded.historyAgeSeconds(), "history_age_seconds");
        assertArrayEquals(flatLongs(inputs.path("history_query_tokens")), encoded.historyQueryTokens(), "history_query_tokens");
        assertArrayEquals(flatLongs(inputs.path("query_tokens")), encoded.requestQueryTokens(), "query_tokens");
        // Bundles that read new history items (--item-id-dropout): the text of history items added after training, the graph's
        // sixth input
        JsonNode itemTokens = inputs.path(EncodeInputs.HISTORY_ITEM_TOKENS);
        assertEquals(itemTokens.isMissingNode() ? 0 : itemTokens.path(0).path(0).size(), encoded.itemTokens(),
            "history_item_tokens width");
        assertArrayEquals(flatLongs(itemTokens), encoded.historyItemTokens(), EncodeInputs.HISTORY_ITEM_TOKENS);
        // Bundles that read absolute time (--absolute-time): the request's time, the graph's last input
        JsonNode requestTime = inputs.path(EncodeInputs.REQUEST_TIME);
        assertEquals(!requestTime.isMissingNode(), model.encoder().readsRequestTime(), "the encoder feeds request_time iff the graph takes it");
        if (!requestTime.isMissingNode()) {
            assertArrayEquals(flatLongs(requestTime), encoded.requestTime(), EncodeInputs.REQUEST_TIME);
        }

        // The rotary rows, made here as the trainer's rotary_rows.py makes them: float32 steps, so to its rounding
        RotaryRows.Rows rows = model.rotaryRows().of(1, encoded.length(), encoded.historyActions(), encoded.historyAgeSeconds());
        assertClose(model, flatFloats(inputs.path("rotary_cos")), rows.cos(), 1e-6, "rotary_cos");
        assertClose(model, flatFloats(inputs.path("rotary_sin")), rows.sin(), 1e-6, "rotary_sin");
        assertEquals(inputs.path("rotary_cos").size(), rows.rowCount(), "rotary rows");
        assertArrayEquals(flatLongs(inputs.path("rotary_ids")), rows.ids(), "rotary_ids");
        assertArrayEquals(inputs.has(EncodeInputs.KEY_ROTARY_IDS) ? flatLongs(inputs.path(EncodeInputs.KEY_ROTARY_IDS)) : null,
            rows.keyIds(), EncodeInputs.KEY_ROTARY_IDS);
        // The slot masks, exactly
        SlotMasks masks = SlotMasks.of(1, encoded.length(), encoded.historyActions());
        assertArrayEquals(flatFloats(inputs.path("key_padding")), masks.keyPadding(), "key_padding");
        assertArrayEquals(flatFloats(inputs.path("slot_keep")), masks.keep(), "slot_keep");
        assertArrayEquals(flatFloats(inputs.path("slot_columns")), masks.columns(), "slot_columns");

        JsonNode expected = c.path("expected");
        UserEncoding user = model.encode(request);
        assertEquals(expected.path("dropped_history_items").asInt(), user.droppedHistoryItems(), "dropped_history_items");
        assertClose(model, flatFloats(expected.path("embedding")), user.embedding(), tolerance, "embedding");

        List<String> candidates = new ArrayList<>();
        c.path("request").path("candidates").forEach(n -> candidates.add(n.asText()));
        assertArrayEquals(flatLongs(inputs.path("candidates")), model.encoder().encodeCandidates(candidates), "candidates");
        assertClose(model, flatFloats(expected.path("scores")), model.score(user, candidates), tolerance, "scores");

        // Bundles with co-occurrence counts (--co-occurrence): what the term reads of the history (its latest second, or
        // its last co_occurrence.span events) as the trainer read it, and the term of each candidate (before its weight)
        JsonNode contextNode = expected.path("co_occurrence_context");
        assertEquals(!contextNode.isMissingNode(), model.bundle().coOccurrence().pairs() > 0, "golden names a context iff the bundle has counts");
        if (!contextNode.isMissingNode()) {
            int[] context = new int[contextNode.size()];
            for (int i = 0; i < context.length; i++) {
                context[i] = contextNode.get(i).asInt();
            }
            assertArrayEquals(context, encoded.coOccurrenceContext(), "co_occurrence_context");
            assertArrayEquals(context, user.coOccurrenceContext(), "co_occurrence_context of the encoding");
            CoOccurrence.Prior prior = model.bundle().coOccurrence().priorFor(user.coOccurrenceContext());
            long[] indices = model.encoder().encodeCandidates(candidates);
            float[] priors = new float[indices.length];
            for (int i = 0; i < indices.length; i++) {
                priors[i] = (float) prior.of(indices[i]);
            }
            assertClose(model, flatFloats(expected.path("co_occurrence_prior")), priors, 1e-6, "co_occurrence_prior");
        }
    }

    static GenrecRequest request(JsonNode r) {
        List<HistoryEvent> history = new ArrayList<>();
        for (JsonNode e : r.path("history")) {
            history.add(new HistoryEvent(
                e.path("item").asText(),
                e.path("action").asText(),
                EventTime.toUnixSeconds(e.path("time").isNumber() ? e.path("time").numberValue() : e.path("time").asText()),
                e.hasNonNull("query") ? e.path("query").asText() : null,
                e.has("item_text") ? NewItemsTest.itemText(e.path("item_text")) : null
            ));
        }
        String query = r.hasNonNull("query") ? r.path("query").asText() : null;
        return new GenrecRequest(history, query, r.path("request_time").asLong());
    }

    private static void assertClose(GenrecModel model, float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double maxError = 0;
        for (int i = 0; i < expected.length; i++) {
            maxError = Math.max(maxError, Math.abs(expected[i] - actual[i]));
        }
        if (model.precision() == GraphPrecision.FP16) {
            fp16MaxError = Math.max(fp16MaxError, maxError);
        }
        assertTrue(maxError <= tolerance, what + ": max abs error " + maxError + " > " + tolerance);
    }
}
