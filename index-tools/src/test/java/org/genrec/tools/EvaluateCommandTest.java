package org.genrec.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.tools.eval.EvaluationProtocol;
import org.genrec.tools.eval.LeaveLastOut;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The request {@code evaluate} sends per test case: what the trainer's protocol says an application would send. */
class EvaluateCommandTest {

    private static final LeaveLastOut.Case CASE = new LeaveLastOut.Case("u1",
        List.of(new LeaveLastOut.Event("u1", "i1", "click", 100, null, null),
                new LeaveLastOut.Event("u1", "i2", "search", 200, "violin strings", null)),
        new LeaveLastOut.Event("u1", "i3", "click", 300, "violin", 1));

    private static EvaluateCommand.Options options(String... args) {
        return EvaluateCommand.Options.parse(new CliArgs(args, 0, EvaluateCommand.OPTIONS));
    }

    @Test
    void requestCarriesTheWholeHistoryTheTargetsQueryAndItsTime() {
        JsonNode body = EvaluateCommand.request(CASE, options("--model", "m", "--k", "50", "--item-id-field", "sku"), false);
        JsonNode genrec = body.path("query").path("genrec");
        assertEquals("m", genrec.path("model").asText());
        assertEquals("item_vector", genrec.path("vector_field").asText());
        assertEquals("sku", genrec.path("item_id_field").asText());
        assertEquals(2, genrec.path("history").size());
        assertEquals("violin strings", genrec.path("history").get(1).path("query").asText());
        assertFalse(genrec.path("history").get(0).has("query"));
        assertEquals("violin", genrec.path("query").asText(), "the target's query makes it a personalized search");
        assertEquals(300, genrec.path("request_time").asLong(), "ages are measured from the target's time, as in the trainer");
        assertEquals(50, genrec.path("k").asInt());
        assertFalse(genrec.has("num_candidates"));
        assertFalse(genrec.path("rank").asBoolean());
        assertEquals(50, body.path("size").asInt(), "every hit comes back, so the target's rank is known up to k");
        assertEquals("sku", body.path("_source").get(0).asText());
    }

    @Test
    void rankedRequestTakesTheBundlesWeightUnlessOneIsGiven() {
        JsonNode bundles = EvaluateCommand.request(CASE, options("--model", "m"), true).path("query").path("genrec");
        assertTrue(bundles.path("rank").isBoolean() && bundles.path("rank").asBoolean());
        assertEquals(100, bundles.path("k").asInt());

        JsonNode given = EvaluateCommand.request(CASE, options("--model", "m", "--retrieval-weight", "0", "--num-candidates", "400"), true)
            .path("query").path("genrec");
        assertTrue(given.path("rank").path("enabled").asBoolean());
        assertEquals(0.0, given.path("rank").path("retrieval_weight").asDouble());
        assertEquals(400, given.path("num_candidates").asInt());

        JsonNode unranked = EvaluateCommand.request(CASE, options("--model", "m", "--retrieval-weight", "5"), false)
            .path("query").path("genrec");
        assertFalse(unranked.path("rank").asBoolean(), "a weight only applies to ranked requests");

        JsonNode withoutTerm = EvaluateCommand.request(CASE, options("--model", "m", "--co-occurrence-weight", "0"), true)
            .path("query").path("genrec").path("rank");
        assertEquals(0.0, withoutTerm.path("co_occurrence_weight").asDouble());
        assertFalse(withoutTerm.has("retrieval_weight"), "the bundle's retrieval weight unless one is given");
    }

    @Test
    void withAHistoryIndexTheRequestNamesTheUserInsteadOfSendingTheHistory() {
        JsonNode genrec = EvaluateCommand.request(CASE, options("--model", "m", "--history-index", "histories"), true)
            .path("query").path("genrec");
        assertFalse(genrec.has("history"));
        assertEquals("histories", genrec.path("user").path("index").asText());
        assertEquals("u1", genrec.path("user").path("id").asText());
        assertFalse(genrec.path("user").has("events"), "the model's max_history unless asked");
        assertEquals(1000, EvaluateCommand.request(CASE, options("--model", "m", "--history-index", "h", "--lookup-events", "1000"), true)
            .path("query").path("genrec").path("user").path("events").asInt());
        assertEquals(300, genrec.path("request_time").asLong());
        assertEquals("violin", genrec.path("query").asText());

        JsonNode inline = EvaluateCommand.request(CASE, options("--model", "m", "--history-index", "h", "--lookup-events", "9")
            .withHistoryInRequest(), true).path("query").path("genrec");
        assertFalse(inline.has("user"), "the request that loads a model goes before the history index is filled");
        assertEquals(2, inline.path("history").size());
    }

    @Test
    void aTextFirstStageSearchesTheTargetsQueryWithoutTheHistoryAndTheRescorerReadsTheUser() {
        JsonNode plain = EvaluateCommand.request(CASE, options("--model", "m", "--first-stage", "match", "--k", "50"), false);
        assertEquals(50, plain.path("size").asInt());
        JsonNode text = plain.path("query").path("bool").path("must").path("combined_fields");
        assertEquals("violin", text.path("query").asText());
        assertEquals("[\"title\",\"categories.text\"]", text.path("fields").toString(), "the fields index-items maps as text");
        assertEquals("[\"i1\",\"i2\"]", plain.path("query").path("bool").path("must_not").path("terms").path("item_id").toString(),
            "the history's items are left out, as the genrec query's exclude_history leaves them out");
        assertFalse(plain.has("rescore"), "unranked: the text search alone");

        JsonNode ranked = EvaluateCommand.request(CASE, options("--model", "m", "--first-stage", "match", "--window", "30",
            "--text-fields", "title", "--co-occurrence-weight", "0"), true);
        assertEquals(ranked.path("query").path("bool").path("must_not"), plain.path("query").path("bool").path("must_not"));
        assertEquals("[\"title\"]", ranked.path("query").path("bool").path("must").path("combined_fields").path("fields").toString());
        assertEquals(30, ranked.path("rescore").path("window_size").asInt());
        JsonNode rescorer = ranked.path("rescore").path("genrec");
        assertEquals("m", rescorer.path("model").asText());
        assertEquals(2, rescorer.path("history").size());
        assertEquals("violin strings", rescorer.path("history").get(1).path("query").asText());
        assertEquals("violin", rescorer.path("query").asText());
        assertEquals(300, rescorer.path("request_time").asLong());
        assertEquals(0.0, rescorer.path("co_occurrence_weight").asDouble());
        assertFalse(rescorer.has("retrieval_weight"), "the bundle's unless given");
        assertFalse(rescorer.has("query_weight") || rescorer.has("k") || rescorer.has("vector_field"), "the rescorer's defaults");
    }

    @Test
    void aTextFirstStageNeedsAQueryOnEveryTargetAndItsOptionsNeedIt() {
        LeaveLastOut.Case recommendation = new LeaveLastOut.Case("u2", CASE.history(), new LeaveLastOut.Event("u2", "i9", "click", 400, null, null));
        var noQuery = assertThrows(CliArgs.UsageException.class, () -> EvaluateCommand.requireQueries(List.of(CASE, recommendation)));
        assertTrue(noQuery.getMessage().contains("[u2]") && noQuery.getMessage().contains("[i9]"), noQuery.getMessage());
        EvaluateCommand.requireQueries(List.of(CASE));
        for (String[] bad : List.of(new String[] {"--window", "10"}, new String[] {"--first-stage", "bm25"},
                                    new String[] {"--first-stage", "match", "--window", "0"},
                                    new String[] {"--first-stage", "match", "--text-fields", " , "})) {
            List<String> args = new java.util.ArrayList<>(List.of("--model", "m"));
            args.addAll(List.of(bad));
            var refused = assertThrows(CliArgs.UsageException.class, () -> options(args.toArray(String[]::new)), String.join(" ", bad));
            assertTrue(refused.getMessage().contains("--"), refused.getMessage());
        }
    }

    @Test
    void rankLinesNameTheUserTheTargetAndItsRankOrNullWhenMissed() throws Exception {
        JsonNode hit = new ObjectMapper().readTree(EvaluateCommand.rankLine(CASE, true, 7));
        assertEquals("u1", hit.path("user").asText());
        assertEquals("i3", hit.path("item").asText());
        assertTrue(hit.path("ranked").asBoolean());
        assertEquals(7, hit.path("rank").asInt());
        JsonNode miss = new ObjectMapper().readTree(EvaluateCommand.rankLine(CASE, false, -1));
        assertTrue(miss.path("rank").isNull(), "a target beyond the k hits has no rank, not rank -1");
        assertFalse(miss.path("ranked").asBoolean());
    }

    @Test
    void anOutputInAMissingFolderIsRefusedBeforeAnyRequest(@TempDir Path dir) {
        CliArgs args = new CliArgs(new String[] {"--model", "m", "--ranks-out", dir.resolve("no/such/ranks.jsonl").toString()},
            0, EvaluateCommand.OPTIONS);
        var missing = assertThrows(CliArgs.UsageException.class, () -> EvaluateCommand.outputFile(args, "ranks-out"));
        assertTrue(missing.getMessage().contains("--ranks-out") && missing.getMessage().contains("does not exist"), missing.getMessage());
        CliArgs fine = new CliArgs(new String[] {"--model", "m", "--out", dir.resolve("results.json").toString()}, 0, EvaluateCommand.OPTIONS);
        assertEquals(dir.resolve("results.json").toAbsolutePath(), EvaluateCommand.outputFile(fine, "out"));
        assertNull(EvaluateCommand.outputFile(fine, "ranks-out"));
    }

    @Test
    void optionsRejectTooFewHitsAndANonNumericWeight() {
        var fewHits = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--k", "5"));
        assertTrue(fewHits.getMessage().contains("--k"), fewHits.getMessage());
        var badWeight = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--retrieval-weight", "high"));
        assertTrue(badWeight.getMessage().contains("--retrieval-weight"), badWeight.getMessage());
        var badTerm = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--co-occurrence-weight", "x"));
        assertTrue(badTerm.getMessage().contains("--co-occurrence-weight"), badTerm.getMessage());
        var lookupWithoutIndex = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--lookup-events", "500"));
        assertTrue(lookupWithoutIndex.getMessage().contains("--history-index"), lookupWithoutIndex.getMessage());
        var badProtocol = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--protocol", "hstu"));
        assertTrue(badProtocol.getMessage().contains("--protocol") && badProtocol.getMessage().contains("beauty"), badProtocol.getMessage());
        assertEquals(EvaluationProtocol.BEAUTY, options("--model", "m", "--protocol", "beauty").protocol());
        assertEquals(EvaluationProtocol.LOO, options("--model", "m", "--protocol", "movielens").protocol());
        assertNull(options("--model", "m").protocol(), "unless asked, the protocol the model was tested under");
        var noClients = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--clients", "0"));
        assertTrue(noClients.getMessage().contains("--clients"), noClients.getMessage());
        assertEquals(1, options("--model", "m").clients(), "one request at a time unless asked");
        var noModel = assertThrows(CliArgs.UsageException.class, () -> options("--k", "20"));
        assertTrue(noModel.getMessage().contains("--model"), noModel.getMessage());
    }

    @Test
    void eachSearchGoesOutWithTheSearchTypeAskedForAndOpenSearchsDefaultOtherwise() {
        assertEquals("/items/_search?search_type=query_then_fetch", options("--model", "m").searchPath());
        assertEquals("/books/_search?search_type=dfs_query_then_fetch",
            options("--model", "m", "--index", "books", "--search-type", "dfs_query_then_fetch").searchPath());
        var badType = assertThrows(CliArgs.UsageException.class, () -> options("--model", "m", "--search-type", "dfs"));
        assertTrue(badType.getMessage().contains("--search-type") && badType.getMessage().contains("dfs_query_then_fetch"),
            badType.getMessage());
    }
}
