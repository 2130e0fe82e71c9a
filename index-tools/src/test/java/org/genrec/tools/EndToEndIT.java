package org.genrec.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.genrec.tools.eval.LeaveLastOut;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole path on a real OpenSearch 3.6 node: the integ-test distribution from Maven, our
 * plugin installed with bin/opensearch-plugin, the trainer's bundle in config/genrec, items
 * indexed by genrec-tools, genrec queries over HTTP. The expected hits are the trainer's own
 * ranking for the same request (golden.json, ranked_top10).
 */
class EndToEndIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String MODEL = "synthetic";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static LocalNode node;
    private static JsonNode golden;
    /** The logs, bundles and reports the tests write; deleted after the class. */
    @TempDir
    static Path scratch;

    @BeforeAll
    static void startNodeAndIndexItems() throws Exception {
        Path bundle = Path.of(LocalNode.property("genrec.test.bundle"));
        golden = JSON.readTree(bundle.resolve("golden.json").toFile());
        // Under /tmp, not target/: the node may run as another user, who must reach its directory.
        node = new LocalNode(Path.of(LocalNode.property("genrec.node.script")), Files.createTempDirectory(Path.of("/tmp"), "genrec-e2e-"));
        node.install(Path.of(LocalNode.property("genrec.distribution.zip")), Path.of(LocalNode.property("genrec.plugin.zip")));
        node.addModel(MODEL, bundle);
        node.start();
        indexItems(bundle, "items");
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void recommendationReturnsTheTrainersTopTen() throws Exception {
        JsonNode c = goldenCase(r -> !r.hasNonNull("query") && r.path("history").size() > 0);
        assertHitsAreTheTrainersTopTen(c);
    }

    @Test
    void personalizedSearchReturnsTheTrainersTopTen() throws Exception {
        JsonNode c = goldenCase(r -> r.hasNonNull("query") && r.path("history").size() > 0);
        assertHitsAreTheTrainersTopTen(c);
    }

    @Test
    void malformedHistoryIsA400WithTheReason() throws Exception {
        HttpResponse<String> response = search("""
            {"query": {"genrec": {"model": "synthetic", "vector_field": "item_vector", "history": [{"item": "i1"}]}}}""");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("needs [item], [action] and [time]"), response.body());
    }

    @Test
    void malformedTimestampIsA400WithTheReason() throws Exception {
        HttpResponse<String> response = search("""
            {"query": {"genrec": {"model": "synthetic", "vector_field": "item_vector",
              "history": [{"item": "i1", "action": "click", "time": "last tuesday"}]}}}""");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("ISO-8601"), response.body());
    }

    @Test
    void unknownModelIsA400AndTheNodeKeepsServing() throws Exception {
        HttpResponse<String> response = search("""
            {"query": {"genrec": {"model": "no-such-model", "vector_field": "item_vector", "history": []}}}""");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("genrec model [no-such-model] not found"), response.body());
        recommendationReturnsTheTrainersTopTen();
    }

    @Test
    void vectorFieldOfAnotherDimensionIsA400() throws Exception {
        HttpResponse<String> created = send("PUT", "/wrong-dimension", """
            {"mappings": {"properties": {"item_id": {"type": "keyword"}, "v": {"type": "genrec_vector", "dimension": 3}}}}""");
        assertEquals(200, created.statusCode(), created.body());
        HttpResponse<String> response = send("POST", "/wrong-dimension/_search", """
            {"query": {"genrec": {"model": "synthetic", "vector_field": "v", "history": []}}}""");
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("has dimension 3 but model [synthetic@"), response.body());
    }

    /**
     * A model retrained and loaded before its items are indexed would put its user vectors against the old model's item
     * vectors: wrong hits, without a sign. index-items records in the field's mapping whose vectors it holds, and the query is
     * a 400 until index-items has written the new model's items; from then on the old model is the one refused.
     */
    @Test
    void aModelWhoseItemVectorsAreNotIndexedIsA400UntilIndexItemsHasWrittenThemAll() throws Exception {
        Path bundle = Path.of(LocalNode.property("genrec.test.bundle"));
        Path retrained = Files.createTempDirectory(scratch, "retrained-");
        try (var files = Files.list(bundle)) {
            for (Path f : files.toList()) {
                Files.copy(f, retrained.resolve(f.getFileName()));
            }
        }
        // The retrained model's item vectors: the first two items' swapped (still unit length, as the field requires).
        // Its model_id@version stays the same, as a retrained model's does unless someone changes it.
        Path embeddings = retrained.resolve("item_embeddings.f32");
        byte[] bytes = Files.readAllBytes(embeddings);
        int row = golden.path("cases").get(0).path("expected").path("embedding").size() * Float.BYTES;
        byte[] first = java.util.Arrays.copyOfRange(bytes, 0, row);
        System.arraycopy(bytes, row, bytes, 0, row);
        System.arraycopy(first, 0, bytes, row, row);
        Files.write(embeddings, bytes);
        node.addModel("retrained", retrained);

        String index = "items-of-two-models";
        indexItems(bundle, index);
        JsonNode c = goldenCase(r -> r.path("history").size() > 0);
        HttpResponse<String> refused = genrecSearch(index, genrecQuery(c, "retrained"));
        assertEquals(400, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("holds the item embeddings of model [" + MODEL + "@"), refused.body());
        assertTrue(refused.body().contains("index this model's items first"), refused.body());
        assertEquals(200, genrecSearch(index, genrecQuery(c, MODEL)).statusCode());

        // A user's own meta entry on the field, which index-items must keep when it records the new model.
        ObjectNode field = (ObjectNode) JSON.readTree(send("GET", "/" + index + "/_mapping", null).body())
            .path(index).path("mappings").path("properties").path("item_vector");
        field.set("meta", JSON.createObjectNode().put("owner", "search-team"));
        HttpResponse<String> ownMeta = send("PUT", "/" + index + "/_mapping",
            JSON.createObjectNode().set("properties", JSON.createObjectNode().set("item_vector", field)).toString());
        assertEquals(200, ownMeta.statusCode(), ownMeta.body());

        // An in-place run that stops half way (here: an ingest pipeline that fails the second item) leaves two models'
        // vectors in the field: every model is refused until a run finishes, not answered from the mix.
        String secondItem = JSON.readTree(Files.readAllLines(bundle.resolve("items.jsonl")).get(1)).path("item_id").asText();
        assertEquals(200, send("PUT", "/_ingest/pipeline/fail-second-item", "{\"processors\": [{\"fail\": {\"if\": \"ctx.item_id == '"
            + secondItem + "'\", \"message\": \"stopped here\"}}]}").statusCode());
        assertEquals(200, send("PUT", "/" + index + "/_settings", "{\"index.default_pipeline\": \"fail-second-item\"}").statusCode());
        ByteArrayOutputStream stopped = new ByteArrayOutputStream();
        assertNotEquals(0, GenrecTools.run(new String[] { "index-items", "--bundle", retrained.toString(), "--url", node.url(),
            "--index", index, "--batch", "1" }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(stopped)));
        assertTrue(stopped.toString().contains("stopped here"), stopped.toString());
        for (String model : new String[] { MODEL, "retrained" }) {
            HttpResponse<String> mixed = genrecSearch(index, genrecQuery(c, model));
            assertEquals(400, mixed.statusCode(), mixed.body());
            assertTrue(mixed.body().contains("is having its item vectors replaced by those of model [" + MODEL + "@"), mixed.body());
        }
        assertEquals(200, send("PUT", "/" + index + "/_settings", "{\"index.default_pipeline\": \"_none\"}").statusCode());

        indexItems(retrained, index);  // into the existing index: the vectors replaced, then the mapping's record
        assertEquals(200, genrecSearch(index, genrecQuery(c, "retrained")).statusCode());
        HttpResponse<String> nowTheOld = genrecSearch(index, genrecQuery(c, MODEL));
        assertEquals(400, nowTheOld.statusCode(), nowTheOld.body());
        assertTrue(nowTheOld.body().contains("not those of model [" + MODEL + "@"), nowTheOld.body());

        // What the user compares by hand: the models API's item_embeddings and the mapping's record.
        JsonNode mapping = JSON.readTree(send("GET", "/" + index + "/_mapping", null).body());
        JsonNode models = JSON.readTree(send("GET", "/_plugins/_genrec/models", null).body()).path("nodes").elements().next().path("models");
        assertEquals(models.path("retrained").path("item_embeddings").asText("none"),
            mapping.path(index).path("mappings").path("properties").path("item_vector").path("meta").path("genrec_embeddings").asText());
        assertNotEquals(models.path(MODEL).path("item_embeddings").asText(), models.path("retrained").path("item_embeddings").asText());
        assertEquals("search-team", mapping.path(index).path("mappings").path("properties").path("item_vector").path("meta")
            .path("owner").asText(), mapping.toString());
    }

    private static void indexItems(Path bundle, String index) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "index-items", "--bundle", bundle.toString(), "--url", node.url(), "--index", index },
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
    }

    /**
     * A catalogue grows after training. index-items --items indexes it whole (trained items with their trained vectors, new
     * ones from their text), the genrec_item_embedding pipeline does the same for items the application writes, both give a
     * new item the vector the trainer computed for that text (golden.json new_items), and the genrec query retrieves them.
     */
    @Test
    void aCatalogueGrownAfterTrainingIsIndexedWithItsNewItemsEmbeddedFromTheirText() throws Exception {
        Path bundle = Path.of(LocalNode.property("genrec.test.bundle"));
        List<String> lines = new ArrayList<>(Files.readAllLines(bundle.resolve("items.jsonl")).subList(0, 50));
        JsonNode catalogueText = newItemCase("catalogue_text_new_id"), unknownWords = newItemCase("unknown_words_and_case");
        lines.add(newItemLine("new-a", catalogueText));
        lines.add(newItemLine("new-b", unknownWords));
        Path grown = Files.write(scratch.resolve("grown.jsonl"), lines);
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "index-items", "--bundle", bundle.toString(), "--items", grown.toString(), "--url",
            node.url(), "--index", "items-grown" }, new PrintStream(out), new PrintStream(err)), err.toString());
        assertTrue(out.toString().contains("52 items: 50 the model was trained on, 2 embedded from their text alone"), out.toString());
        assertVectorIs(catalogueText.path("embedding"), "items-grown", "new-a");
        assertVectorIs(unknownWords.path("embedding"), "items-grown", "new-b");

        HttpResponse<String> pipeline = send("PUT", "/_ingest/pipeline/genrec-items",
            "{\"processors\": [{\"genrec_item_embedding\": {\"model\": \"" + MODEL + "\"}}]}");
        assertEquals(200, pipeline.statusCode(), pipeline.body());
        JsonNode titleOnly = newItemCase("title_only");
        HttpResponse<String> written = send("PUT", "/items-grown/_doc/new-c?pipeline=genrec-items&refresh=true",
            JSON.createObjectNode().put("item_id", "new-c").put("title", titleOnly.path("item").path("title").asText()).toString());
        assertEquals(201, written.statusCode(), written.body());
        assertVectorIs(titleOnly.path("embedding"), "items-grown", "new-c");
        HttpResponse<String> textless = send("PUT", "/items-grown/_doc/new-d?pipeline=genrec-items", "{\"item_id\": \"new-d\"}");
        assertEquals(400, textless.statusCode(), textless.body());
        assertTrue(textless.body().contains("no title or category text the model can read"), textless.body());

        JsonNode request = goldenCase(r -> r.path("history").size() > 0).path("request");
        ObjectNode genrec = JSON.createObjectNode().put("model", MODEL).put("vector_field", "item_vector").put("k", 53)
            .put("request_time", request.path("request_time").asLong());
        genrec.set("history", request.path("history"));
        ObjectNode body = JSON.createObjectNode().put("size", 53);
        body.set("query", JSON.createObjectNode().set("genrec", genrec));
        HttpResponse<String> response = send("POST", "/items-grown/_search", body.toString());
        assertEquals(200, response.statusCode(), response.body());
        List<String> ids = new ArrayList<>();
        JSON.readTree(response.body()).path("hits").path("hits").forEach(h -> ids.add(h.path("_id").asText()));
        assertTrue(ids.containsAll(List.of("new-a", "new-b", "new-c")), ids.toString());

        Path unreadable = Files.write(scratch.resolve("unreadable.jsonl"), List.of(lines.get(0), "{\"item_id\": \"x-9\", \"title\": \"--\"}"));
        ByteArrayOutputStream refused = new ByteArrayOutputStream();
        assertEquals(1, GenrecTools.run(new String[] { "index-items", "--bundle", bundle.toString(), "--items", unreadable.toString(), "--url",
            node.url(), "--index", "items-unreadable" }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(refused)));
        assertTrue(refused.toString().contains("item [x-9]: the item has no title or category text"), refused.toString());
        assertEquals(404, send("GET", "/items-unreadable", null).statusCode(), "nothing is indexed when an item cannot be");
    }

    /**
     * A user's history holds items added after training, written to the items index through the genrec_item_embedding
     * pipeline. The request names them by id only; the coordinating node reads their text from the searched index and the
     * model reads them by it: the hits are the trainer's top ten for that history (golden case new_items_in_history, whose
     * item without text is not written and so is left out, as the trainer leaves it out).
     */
    @Test
    void itemsAddedAfterTrainingInAHistoryAreReadByTheirTextFromTheSearchedIndex() throws Exception {
        indexItems(Path.of(LocalNode.property("genrec.test.bundle")), "items-and-history-ones");
        HttpResponse<String> pipeline = send("PUT", "/_ingest/pipeline/genrec-history-items",
            "{\"processors\": [{\"genrec_item_embedding\": {\"model\": \"" + MODEL + "\"}}]}");
        assertEquals(200, pipeline.statusCode(), pipeline.body());
        JsonNode c = goldenCaseNamed("new_items_in_history");
        ArrayNode history = JSON.createArrayNode();
        for (JsonNode e : c.path("request").path("history")) {
            JsonNode text = e.path("item_text");
            // An item without text is not written (the pipeline refuses it): not found, it is left out.
            if (!text.isMissingNode() && !(text.path("title").asText().isBlank() && text.path("categories").isEmpty())) {
                ObjectNode doc = JSON.createObjectNode().put("item_id", e.path("item").asText()).put("title", text.path("title").asText());
                doc.set("categories", text.path("categories"));
                HttpResponse<String> written = send("PUT", "/items-and-history-ones/_doc/" + e.path("item").asText()
                    + "?pipeline=genrec-history-items&refresh=true", doc.toString());
                assertEquals(201, written.statusCode(), written.body());
            }
            history.add(((ObjectNode) e.deepCopy()).without("item_text")); // the request names items by id only
        }
        ObjectNode genrec = genrecQuery(c, MODEL);
        genrec.set("history", history);
        HttpResponse<String> response = genrecSearch("items-and-history-ones", genrec);
        assertEquals(200, response.statusCode(), response.body());
        Set<String> hits = new HashSet<>();
        JSON.readTree(response.body()).path("hits").path("hits").forEach(h -> hits.add(h.path("_source").path("item_id").asText()));
        Set<String> expected = new HashSet<>();
        c.path("expected").path("ranked_top10").forEach(n -> expected.add(n.asText()));
        assertEquals(expected, hits, "OpenSearch vs the trainer");

        // The node keeps the texts it read: the same request again makes no search and gets the same hits.
        JsonNode before = newItemTexts();
        assertTrue(before.path("searches").asLong() >= 1 && before.path("cached").asLong() >= 1, before.toString());
        HttpResponse<String> again = genrecSearch("items-and-history-ones", genrec);
        assertEquals(JSON.readTree(response.body()).path("hits"), JSON.readTree(again.body()).path("hits"));
        JsonNode after = newItemTexts();
        assertEquals(before.path("searches").asLong(), after.path("searches").asLong(), after.toString());
        assertTrue(after.path("cache_hits").asLong() > before.path("cache_hits").asLong(), after.toString());
    }

    /** The one node's cache of new items' text, as the models API shows it. */
    private static JsonNode newItemTexts() throws Exception {
        HttpResponse<String> stats = send("GET", "/_plugins/_genrec/models", null);
        assertEquals(200, stats.statusCode(), stats.body());
        return JSON.readTree(stats.body()).path("nodes").elements().next().path("new_item_texts");
    }

    private static JsonNode newItemCase(String name) {
        for (JsonNode c : golden.path("new_items").path("items")) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("golden.json has no new item [" + name + "]");
    }

    private static String newItemLine(String id, JsonNode c) {
        ObjectNode line = JSON.createObjectNode().put("item_id", id).put("title", c.path("item").path("title").asText());
        line.set("categories", c.path("item").path("categories"));
        return line.toString();
    }

    private static void assertVectorIs(JsonNode expected, String index, String id) throws Exception {
        HttpResponse<String> doc = send("GET", "/" + index + "/_doc/" + id, null);
        assertEquals(200, doc.statusCode(), doc.body());
        JsonNode vector = JSON.readTree(doc.body()).path("_source").path("item_vector");
        assertEquals(expected.size(), vector.size(), doc.body());
        for (int d = 0; d < expected.size(); d++) {
            assertEquals(expected.get(d).asDouble(), vector.get(d).asDouble(), golden.path("tolerance").asDouble(), id + "[" + d + "]");
        }
    }

    @Test
    void modelManagementAndStatsOverRest() throws Exception {
        HttpResponse<String> loaded = send("POST", "/_plugins/_genrec/models/" + MODEL + "/_load", "");
        assertEquals(200, loaded.statusCode(), loaded.body());
        assertTrue(loaded.body().contains("\"" + MODEL + "\"") && loaded.body().contains("\"execution_provider\":\"cpu\"")
            && loaded.body().contains("\"precision\":\"fp32\""), loaded.body());

        HttpResponse<String> alias = send("PUT", "/_plugins/_genrec/aliases/recs", "{\"model\": \"" + MODEL + "\"}");
        assertEquals(200, alias.statusCode(), alias.body());
        JsonNode c = goldenCase(r -> !r.hasNonNull("query") && r.path("history").size() > 0);
        assertTopTen(c, genrecQuery(c, "recs"));
        HttpResponse<String> settings = send("GET", "/_cluster/settings?flat_settings=true", "");
        assertTrue(settings.body().contains("\"genrec.aliases.recs.model\":\"" + MODEL + "\""), "alias is durable: " + settings.body());

        HttpResponse<String> stats = send("GET", "/_plugins/_genrec/stats", "");
        assertEquals(200, stats.statusCode(), stats.body());
        JsonNode node = JSON.readTree(stats.body()).path("nodes").elements().next();
        JsonNode model = node.path("models").path(MODEL);
        assertTrue(model.path("stats").path("encode_calls").asLong() >= 1, stats.body());
        JsonNode manifest = JSON.readTree(Path.of(LocalNode.property("genrec.test.bundle")).resolve("manifest.json").toFile());
        JsonNode ranking = manifest.path("ranking");
        assertEquals(ranking.path("retrieval_weight").asDouble(), model.path("retrieval_weight").asDouble(), 1e-6,
            "the served blend's default: " + stats.body());
        assertTrue(ranking.path("co_occurrence_weight").asDouble() > 0, "the fixture is trained with --co-occurrence: " + ranking);
        assertEquals(ranking.path("co_occurrence_weight").asDouble(), model.path("co_occurrence_weight").asDouble(), 1e-6,
            "and its co-occurrence term's: " + stats.body());
        assertTrue(model.path("co_occurrence_span").isInt() && model.path("co_occurrence_span").asInt() == 0,
            "which the fixture counts by seconds: " + stats.body());
        assertTrue(model.path("new_items").asBoolean(false), "the fixture model embeds and ranks new items: " + stats.body());
        assertTrue(model.path("new_history_items").asBoolean(false), "and reads them in a history: " + stats.body());
        assertTrue(model.path("reads_request_time").isBoolean() && !model.path("reads_request_time").asBoolean(),
            "the fixture model reads the events' ages, not the request's date: " + stats.body());
        JsonNode training = manifest.path("training");
        assertEquals(training.path("protocol").asText(), model.path("training").path("protocol").asText(),
            "the model names the protocol of its figures: " + stats.body());
        assertEquals(training.path("data_fingerprint").asText(), model.path("training").path("data_fingerprint").asText(), stats.body());
        assertEquals(training.path("metrics").path("ndcg@10").asDouble(), model.path("training").path("metrics").path("ndcg@10").asDouble(), 1e-9,
            "and its test NDCG@10: " + stats.body());
        assertTrue(model.path("stats").path("encode_micros").path("p99").asDouble() > 0, stats.body());
        assertEquals(MODEL, node.path("aliases").path("recs").asText(), stats.body());
        HttpResponse<String> one = send("GET", "/_plugins/_genrec/models/recs", null);
        assertEquals(200, one.statusCode(), one.body());
        List<String> listed = new ArrayList<>();
        JSON.readTree(one.body()).path("nodes").elements().next().path("models").fieldNames().forEachRemaining(listed::add);
        assertEquals(List.of(MODEL), listed, "GET models/ALIAS lists the model it names alone: " + one.body());

        HttpResponse<String> missing = send("POST", "/_plugins/_genrec/models/no-such-model/_load", "");
        assertEquals(400, missing.statusCode(), missing.body());
        assertTrue(missing.body().contains("genrec model [no-such-model] not found"), missing.body());
        assertEquals(200, send("DELETE", "/_plugins/_genrec/aliases/recs", "").statusCode());
        assertEquals(400, send("DELETE", "/_plugins/_genrec/aliases/recs", "").statusCode());
    }

    @Test
    void rescorerReranksAMatchQuery() throws Exception {
        JsonNode c = goldenCase(r -> !r.hasNonNull("query") && r.path("history").size() > 0);
        Path items = Path.of(LocalNode.property("genrec.test.bundle"), "items.jsonl");
        String word = JSON.readTree(Files.readAllLines(items).get(0)).path("title").asText().split(" ")[0];
        ObjectNode genrec = JSON.createObjectNode();
        genrec.put("model", MODEL);
        genrec.set("history", c.path("request").path("history"));
        genrec.put("request_time", c.path("request").path("request_time").asLong());
        genrec.put("query_weight", 0);
        ObjectNode body = JSON.createObjectNode();
        body.put("size", 5);
        body.set("query", JSON.createObjectNode().set("match", JSON.createObjectNode().put("title", word)));
        ObjectNode rescore = JSON.createObjectNode();
        rescore.put("window_size", 50);
        rescore.set("genrec", genrec);
        body.set("rescore", rescore);
        // the served score (the bundle's blend, positive and unbounded), then with retrieval_weight 0 the head's probability
        for (boolean headAlone : new boolean[] { false, true }) {
            if (headAlone) {
                genrec.put("retrieval_weight", 0);
            }
            HttpResponse<String> response = search(body.toString());
            assertEquals(200, response.statusCode(), response.body());
            JsonNode hits = JSON.readTree(response.body()).path("hits").path("hits");
            assertTrue(hits.size() > 0, response.body());
            double previous = Double.MAX_VALUE;
            for (JsonNode hit : hits) {
                assertTrue(hit.path("_source").path("title").asText().contains(word));
                double score = hit.path("_score").asDouble();
                assertTrue(score > 0 && score <= previous && (!headAlone || score < 1), "served scores in order: " + response.body());
                previous = score;
            }
        }
        genrec.put("retrieval_weight", -1);
        HttpResponse<String> refused = search(body.toString());
        assertEquals(400, refused.statusCode(), refused.body());
        assertTrue(refused.body().contains("[retrieval_weight] must be between 0 and 1000.0"), refused.body());
    }

    @Test
    void historyIngestedWithIndexEventsIsLookedUpByUser() throws Exception {
        JsonNode c = goldenCase(r -> !r.hasNonNull("query") && r.path("history").size() > 0);
        Path log = Files.createTempFile(scratch, "events-", ".jsonl");
        List<String> lines = historyAsLog(c, "u-e2e");
        lines.add("{\"user_id\": \"someone-else\", \"item_id\": \"i1\", \"action\": \"click\", \"timestamp\": \"2023-11-14T22:13:20Z\"}");
        // Logged after the request's time: a request made at that time must not see it (were it read, the trainer's
        // best item would be excluded as already seen).
        lines.add(JSON.createObjectNode().put("user_id", "u-e2e").put("item_id", c.path("expected").path("ranked_top10").get(0).asText())
            .put("action", c.path("request").path("history").get(0).path("action").asText())
            .put("timestamp", c.path("request").path("request_time").asLong() + 3600).toString());
        Files.write(log, lines);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "index-events", "--events", log.toString(), "--url", node.url(), "--recreate" },
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());

        ObjectNode genrec = genrecQuery(c, MODEL);
        genrec.remove("history");
        genrec.set("user", JSON.createObjectNode().put("index", "events").put("id", "u-e2e"));
        assertTopTen(c, genrec);
        assertEquals(hitsWithScores(genrecQuery(c, MODEL)), hitsWithScores(genrec), "the history as of the request's time");
        HttpResponse<String> stats = send("GET", "/_plugins/_genrec/stats", null);
        JsonNode lookups = JSON.readTree(stats.body()).path("nodes").elements().next().path("models").path(MODEL).path("stats")
            .path("user_lookups");
        assertTrue(lookups.path("count").asLong() >= 2, "the two requests above looked the user up: " + stats.body());
        assertEquals(0, lookups.path("failed").asLong(-1), stats.body());
        assertTrue(lookups.path("micros").path("p99").asDouble() > 0, stats.body());
        assertTrue(lookups.path("events_per_lookup").path("max").asDouble() >= c.path("request").path("history").size(), stats.body());

        Path exported = Files.createTempFile(scratch, "exported-", ".jsonl");
        assertEquals(0, GenrecTools.run(new String[] { "export-events", "--out", exported.toString(), "--url", node.url() },
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
        assertEquals(lines.size(), Files.readAllLines(exported).size());
    }

    @Test
    void eventsWithOneTimestampAreLookedUpInTheOrderOfTheirLog() throws Exception {
        // Four of the case's events share one second, among them the first two. The trainer orders them by their place in the
        // log; the user lookup must hand the model the same order, or the tied events swap positions and the scores move.
        JsonNode c = goldenCase(r -> r.path("history").size() > 1
            && r.path("history").get(0).path("time").asLong() == r.path("history").get(1).path("time").asLong());
        List<String> lines = historyAsLog(c, "u-ties");
        // The first events come from a log through index-events, which numbers them itself; the rest as an application
        // writes them, one by one without a seq, which the index's default pipeline (genrec_event_seq) numbers after them.
        int imported = 2;
        Path log = Files.createTempFile(scratch, "events-ties-", ".jsonl");
        Files.write(log, lines.subList(0, imported));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "index-events", "--events", log.toString(), "--url", node.url(), "--index",
            "events-ties", "--shards", "2", "--recreate" }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
        for (String event : lines.subList(imported, lines.size())) {
            HttpResponse<String> written = send("POST", "/events-ties/_doc", event);
            assertEquals(201, written.statusCode(), written.body());
        }
        assertEquals(200, send("POST", "/events-ties/_refresh", null).statusCode());

        // Requested after the case's last event (one is later than the case's own request time, which the lookup
        // would leave out), so both requests hold every event.
        long afterAll = 0;
        for (JsonNode e : c.path("request").path("history")) {
            afterAll = Math.max(afterAll, e.path("time").asLong() + 60);
        }
        ObjectNode inline = genrecQuery(c, MODEL).put("request_time", afterAll);
        ObjectNode byUser = genrecQuery(c, MODEL).put("request_time", afterAll);
        byUser.remove("history");
        byUser.set("user", JSON.createObjectNode().put("index", "events-ties").put("id", "u-ties"));
        assertEquals(hitsWithScores(inline), hitsWithScores(byUser),
            "the looked-up history is the log's, tied events in log order: the same encoding, the same scores");

        Path exported = Files.createTempFile(scratch, "exported-ties-", ".jsonl");
        assertEquals(0, GenrecTools.run(new String[] { "export-events", "--out", exported.toString(), "--url", node.url(), "--index",
            "events-ties" }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
        List<JsonNode> logEvents = new ArrayList<>();
        for (String line : lines) {
            logEvents.add(JSON.readTree(line));
        }
        logEvents.sort(Comparator.comparingLong(e -> e.path("timestamp").asLong())); // stable: ties keep log order
        List<String> logOrder = logEvents.stream().map(e -> e.path("item_id").asText()).toList();
        List<String> exportOrder = new ArrayList<>();
        for (String line : Files.readAllLines(exported)) {
            JsonNode event = JSON.readTree(line);
            assertFalse(event.has("seq"), "the exported log is the trainer's schema; its line order carries the ties: " + line);
            exportOrder.add(event.path("item_id").asText());
        }
        assertEquals(logOrder, exportOrder, "exported for retraining in time order, ties in the order of the log");
    }

    @Test
    void syntheticCatalogueIsIndexedInOneSegmentAndServesGenrecQueries() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int count = 5_000;
        assertEquals(0, GenrecTools.run(new String[] { "index-synthetic", "--bundle", LocalNode.property("genrec.test.bundle"),
            "--count", String.valueOf(count), "--url", node.url(), "--index", "items-synthetic", "--batch", "1000" },
            new PrintStream(out), new PrintStream(err)), err.toString());
        assertTrue(out.toString().contains("force merge done"), out.toString());
        JsonNode docs = JSON.readTree(send("GET", "/items-synthetic/_count", null).body());
        assertEquals(count, docs.path("count").asInt(), docs.toString());
        // One segment: every benchmark run searches the same HNSW graph.
        String segments = send("GET", "/_cat/segments/items-synthetic?h=segment", null).body().strip();
        assertEquals(1, segments.lines().count(), segments);

        JsonNode c = goldenCase(r -> !r.hasNonNull("query") && r.path("history").size() > 0);
        ObjectNode body = JSON.createObjectNode().put("size", 10);
        body.set("query", JSON.createObjectNode().set("genrec", genrecQuery(c, MODEL)));
        HttpResponse<String> response = send("POST", "/items-synthetic/_search", body.toString());
        assertEquals(200, response.statusCode(), response.body());
        assertEquals(10, JSON.readTree(response.body()).path("hits").path("hits").size(), response.body());
    }

    @Test
    void evaluateRanksEachUsersLastItemWhereTheTrainerRanksIt() throws Exception {
        // One user per golden case with a history: its events, then a last event at the request's time whose item is
        // the trainer's r-th of ranked_top10 (a different r per user). Served with k = top_k, the target must come back
        // at about that rank: leave-one-out split, request, exclusions and served order all as the trainer's.
        List<String> lines = new ArrayList<>();
        List<Integer> ranks = new ArrayList<>();
        for (JsonNode c : casesToEvaluate()) {
            JsonNode request = c.path("request");
            long requestTime = request.path("request_time").asLong();
            String user = "eval-" + c.path("name").asText();
            lines.addAll(historyAsLog(c, user));
            int rank = (3 * ranks.size() + 1) % 10;
            ObjectNode target = JSON.createObjectNode().put("user_id", user).put("item_id", c.path("expected").path("ranked_top10").get(rank).asText())
                .put("action", request.path("history").get(0).path("action").asText()).put("timestamp", requestTime);
            if (request.hasNonNull("query")) {
                target.put("query", request.path("query").asText());
            }
            lines.add(target.toString());
            ranks.add(rank);
        }
        assertTrue(ranks.size() >= 4, "golden cases with a history: " + ranks);
        Path events = Files.createTempFile(scratch, "genrec-eval-", ".jsonl");
        Files.write(events, lines);
        Path out = Files.createTempFile(scratch, "genrec-eval-", ".json");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int topK = golden.path("cases").get(0).path("expected").path("top_k").asInt();
        assertEquals(0, GenrecTools.run(new String[] { "evaluate", "--events", events.toString(), "--model", MODEL, "--url", node.url(),
            "--index", "items", "--k", String.valueOf(topK), "--rank", "true,false", "--out", out.toString() },
            new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());

        JsonNode results = JSON.readTree(out.toFile());
        assertEquals(ranks.size(), results.path("users").asInt());
        JsonNode ranked = results.path("rank").path("true");
        double ndcg = ranks.stream().mapToDouble(r -> 1 / (Math.log(r + 2.0) / Math.log(2))).average().orElseThrow();
        double mrr = ranks.stream().mapToDouble(r -> 1.0 / (r + 1)).average().orElseThrow();
        assertEquals(1.0, ranked.path("hr@10").asDouble(), 0.0, results.toString());
        // about: a near tie may order two neighbours differently in Java and Python; one swap moves these by < 0.02
        assertEquals(ndcg, ranked.path("ndcg@10").asDouble(), 0.02, results.toString());
        assertEquals(mrr, ranked.path("mrr@" + topK).asDouble(), 0.05, results.toString());
        assertTrue(results.path("rank").path("false").has("hr@10"), results.toString());

        // The same users through the "user" lookup: histories indexed, each query names its user and reads all of its
        // events (one history is longer than the model's max_history). Same order (ties included), same exclusions,
        // so the same metrics to the last digit.
        JsonNode inline = evaluate(events, topK);
        JsonNode lookedUp = evaluate(events, topK, "--history-index", "eval-histories", "--lookup-events", "1000");
        assertTrue(lookedUp.path("history").asText().contains("eval-histories"), lookedUp.toString());
        assertEquals(inline.path("rank"), lookedUp.path("rank"));
        // Three requests in flight: the answers come back in any order, the figures are summed in the users' order.
        assertEquals(inline.path("rank"), evaluate(events, topK, "--clients", "3").path("rank"));

        // Without --protocol, the model's own: read from the models API, after loading the model where no node has it (with
        // an inline history: this run's history index does not exist until the protocol has chosen the users).
        HttpResponse<String> unloaded = send("POST", "/_plugins/_genrec/models/" + MODEL + "/_unload", "");
        assertEquals(200, unloaded.statusCode(), unloaded.body());
        String trainedUnder = JSON.readTree(Path.of(LocalNode.property("genrec.test.bundle")).resolve("manifest.json").toFile())
            .path("training").path("protocol").asText();
        assertEquals("model [" + MODEL + "]'s training protocol [" + trainedUnder + "]", results.path("protocol_source").asText());
        JsonNode afterUnload = evaluate(events, topK, "--history-index", "eval-histories-after-unload", "--lookup-events", "1000");
        assertEquals(results.path("protocol_source"), afterUnload.path("protocol_source"), afterUnload.toString());
        assertEquals(inline.path("rank"), afterUnload.path("rank"));
        assertEquals("--protocol", evaluate(events, topK, "--protocol", "loo").path("protocol_source").asText());
    }

    @Test
    void evaluateMeasuresTheRescorerOverATextSearchOfTheTargetsTitle() throws Exception {
        // --first-stage match: a combined_fields search over the items' title and categories.text for the target's query,
        // the history's items in must_not, and (ranked) the genrec rescorer over the best hits. Each target is searched by
        // its own title, so the text search must find it, and the rescorer must keep it among the k hits it reorders.
        Path bundle = Path.of(LocalNode.property("genrec.test.bundle"));
        Map<String, String> titles = new HashMap<>();
        for (String line : Files.readAllLines(bundle.resolve("items.jsonl"))) {
            JsonNode item = JSON.readTree(line);
            titles.put(item.path("item_id").asText(), item.path("title").asText());
        }
        List<String> lines = new ArrayList<>();
        int users = 0;
        for (JsonNode c : casesToEvaluate()) {
            String user = "text-" + c.path("name").asText();
            Set<String> seen = new HashSet<>();
            c.path("request").path("history").forEach(e -> seen.add(e.path("item").asText()));
            String target = titles.keySet().stream().filter(id -> !seen.contains(id)).sorted().skip(users++).findFirst().orElseThrow();
            lines.addAll(historyAsLog(c, user));
            lines.add(JSON.createObjectNode().put("user_id", user).put("item_id", target)
                .put("action", c.path("request").path("history").get(0).path("action").asText())
                .put("timestamp", c.path("request").path("request_time").asLong()).put("query", titles.get(target)).toString());
        }
        Path events = Files.createTempFile(scratch, "genrec-text-", ".jsonl");
        Files.write(events, lines);
        List<LeaveLastOut.Case> cases = LeaveLastOut.cases(EvaluateCommand.readEvents(events)); // as evaluate reads the log
        assertTrue(cases.size() >= 4, "golden cases with a history: " + cases.size());
        Path ranksFile = Files.createTempFile(scratch, "genrec-text-ranks-", ".jsonl");
        JsonNode results = evaluate(events, 50, "--rank", "true,false", "--first-stage", "match", "--window", "50", "--ranks-out",
            ranksFile.toString());
        assertEquals(cases.size(), results.path("users").asInt(), results.toString());
        assertTrue(results.path("hits").asText().contains("combined_fields"), results.toString());
        assertEquals(1, results.path("shards").asInt(), "the items index's shards, on which the window counts: " + results);
        assertEquals(1.0, results.path("rank").path("false").path("hr@50").asDouble(), 0.0, "its own title finds each target: " + results);
        assertEquals(1.0, results.path("rank").path("true").path("hr@50").asDouble(), 0.0, "the rescorer reorders, drops nothing: " + results);
        Map<String, Integer> textRanks = new HashMap<>(), rescoredRanks = new HashMap<>();
        for (String line : Files.readAllLines(ranksFile)) {
            JsonNode r = JSON.readTree(line);
            (r.path("ranked").asBoolean() ? rescoredRanks : textRanks).put(r.path("user").asText(), r.path("rank").asInt());
        }
        assertNotEquals(textRanks, rescoredRanks, "the model moved some target away from its text-search rank");

        // The same text search over a two-shard copy of the items: each target found on whichever shard holds it, and the
        // results file says the shards (on two, a rescorer's window covers up to twice its hits).
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "index-items", "--bundle", bundle.toString(), "--url", node.url(), "--index",
            "items-two-shards", "--shards", "2" }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)), err.toString());
        JsonNode twoShards = evaluate(events, 50, "--index", "items-two-shards", "--rank", "false", "--first-stage", "match");
        assertEquals(2, twoShards.path("shards").asInt(), twoShards.toString());
        assertEquals(1.0, twoShards.path("rank").path("false").path("hr@50").asDouble(), 0.0, "found on either shard: " + twoShards);
        // Under dfs_query_then_fetch (BM25 with both shards' term statistics) the text search and the rescorer answer too, and
        // the genrec query, whose kNN reads no term statistics, returns exactly what it returns under the default search type.
        JsonNode dfs = evaluate(events, 50, "--index", "items-two-shards", "--rank", "true,false", "--first-stage", "match", "--window",
            "50", "--search-type", "dfs_query_then_fetch");
        assertEquals("dfs_query_then_fetch", dfs.path("search_type").asText(), dfs.toString());
        assertEquals(1.0, dfs.path("rank").path("false").path("hr@50").asDouble(), 0.0, "found under dfs: " + dfs);
        assertEquals(1.0, dfs.path("rank").path("true").path("hr@50").asDouble(), 0.0, "rescored under dfs: " + dfs);
        JsonNode knn = evaluate(events, 50, "--index", "items-two-shards", "--rank", "true,false");
        JsonNode knnUnderDfs = evaluate(events, 50, "--index", "items-two-shards", "--rank", "true,false", "--search-type",
            "dfs_query_then_fetch");
        assertEquals(knn.path("rank"), knnUnderDfs.path("rank"), "the genrec query under dfs: " + knnUnderDfs + " vs " + knn);

        // The request itself on this node, for a user whose history the text search alone would return: no history item
        // among the hits, and each hit rescored (the genrec score added to BM25's, so above the text search's own score).
        EvaluateCommand.Options options = EvaluateCommand.Options.parse(new CliArgs(new String[] {"--model", MODEL, "--first-stage", "match",
            "--window", "50", "--k", "50"}, 0, EvaluateCommand.OPTIONS));
        LeaveLastOut.Case c = cases.stream().filter(EndToEndIT::textSearchReturnsHistory).findFirst().orElseThrow(
            () -> new AssertionError("no user's title search matches its history: the must_not check below could not fail"));
        JsonNode plain = JSON.readTree(search(EvaluateCommand.request(c, options, false).toString()).body());
        JsonNode rescored = JSON.readTree(search(EvaluateCommand.request(c, options, true).toString()).body());
        Map<String, Double> plainScores = new HashMap<>();
        plain.path("hits").path("hits").forEach(h -> plainScores.put(h.path("_source").path("item_id").asText(), h.path("_score").asDouble()));
        assertFalse(plainScores.isEmpty(), plain.toString());
        for (JsonNode hit : rescored.path("hits").path("hits")) {
            String item = hit.path("_source").path("item_id").asText();
            assertFalse(c.history().stream().anyMatch(e -> e.itemId().equals(item)), "history item [" + item + "] came back");
            assertTrue(hit.path("_score").asDouble() > plainScores.get(item), item + ": " + hit + " vs " + plainScores.get(item));
        }
    }

    /** Whether the case's text search without its must_not would return one of the case's history items. */
    private static boolean textSearchReturnsHistory(LeaveLastOut.Case c) {
        EvaluateCommand.Options options = EvaluateCommand.Options.parse(new CliArgs(new String[] {"--model", MODEL, "--first-stage", "match",
            "--k", "50"}, 0, EvaluateCommand.OPTIONS));
        ObjectNode body = EvaluateCommand.request(c, options, false);
        ((ObjectNode) body.path("query").path("bool")).remove("must_not");
        try {
            JsonNode hits = JSON.readTree(search(body.toString()).body()).path("hits").path("hits");
            for (JsonNode hit : hits) {
                String item = hit.path("_source").path("item_id").asText();
                if (c.history().stream().anyMatch(e -> e.itemId().equals(item))) {
                    return true;
                }
            }
            return false;
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The golden cases evaluate can replay as a log: a history of 2 or more events, none after the request's time, and no
     * item added after training (it would have to be indexed first).
     */
    private static List<JsonNode> casesToEvaluate() {
        List<JsonNode> cases = new ArrayList<>();
        for (JsonNode c : golden.path("cases")) {
            JsonNode request = c.path("request");
            long requestTime = request.path("request_time").asLong();
            boolean ordered = true, onlyTrainedItems = true;
            for (JsonNode e : request.path("history")) {
                ordered &= e.path("time").asLong() <= requestTime;
                onlyTrainedItems &= !e.has("item_text");
            }
            if (request.path("history").size() >= 2 && ordered && onlyTrainedItems) {
                cases.add(c);
            }
        }
        return cases;
    }

    /** Runs {@code evaluate} on {@code events} (ranked only) and returns its results file. */
    private static JsonNode evaluate(Path events, int k, String... extra) throws Exception {
        Path out = Files.createTempFile(scratch, "genrec-eval-", ".json");
        List<String> args = new ArrayList<>(List.of("evaluate", "--events", events.toString(), "--model", MODEL, "--url", node.url(),
            "--index", "items", "--k", String.valueOf(k), "--rank", "true", "--out", out.toString()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)),
            err.toString());
        return JSON.readTree(out.toFile());
    }

    @Test
    void benchMeasuresEveryRankingPlacementCandidateCountAndHistorySourceBesideKnnWithoutErrors() throws Exception {
        Path out = Files.createTempDirectory(scratch, "genrec-bench-");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, GenrecTools.run(new String[] { "bench", "--bundle", LocalNode.property("genrec.test.bundle"), "--model", MODEL,
            "--url", node.url(), "--index", "items", "--mix", "recommend", "--history", "10", "--k", "10", "--window", "10",
            "--rank", "true,false,coordinator,coordinator-named", "--history-from", "request,index",
            "--num-candidates", "k,40", "--concurrency", "1", "--warmup", "0", "--duration", "1", "--slices", "2",
            "--requests", "5", "--candidates", "10", "--out", out.toString() }, new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)),
            err.toString());

        JsonNode cells = JSON.readTree(out.resolve("results.json").toFile()).path("cells");
        // Bench checked before timing that each looked-up history returned the hits of the same history sent in the request.
        List<String> expectedRanks = new ArrayList<>(), expectedCandidates = new ArrayList<>(), expectedSources = new ArrayList<>();
        for (String rank : List.of("true", "false", "coordinator", "coordinator-named")) {
            for (String candidates : List.of("10", "40")) { // k = 10, the query's default, then a wider HNSW search
                for (String source : List.of("request", "index")) {
                    expectedRanks.add(rank);
                    expectedCandidates.add(candidates);
                    expectedSources.add(source);
                }
            }
        }
        assertEquals(expectedRanks, cells.findValuesAsText("rank"), cells.toString());
        assertEquals(expectedCandidates, cells.findValuesAsText("num_candidates"), cells.toString());
        assertEquals(expectedSources, cells.findValuesAsText("history_from"), cells.toString());
        for (JsonNode cell : cells) {
            for (String variant : List.of("genrec", "baseline")) {
                JsonNode result = cell.path(variant);
                assertTrue(result.path("requests").asLong() > 0, cell.toString());
                assertEquals(0, result.path("errors").asLong(), cell.toString());
            }
        }
        assertEquals(cells.get(0).path("baseline"), cells.get(15).path("baseline"), "one kNN baseline shared by all");
        assertTrue(Files.size(out.resolve("latency.png")) > 0);
    }

    private static void assertHitsAreTheTrainersTopTen(JsonNode c) throws Exception {
        assertTopTen(c, genrecQuery(c, MODEL));
    }

    /** The genrec query of a golden case's request, with k = the case's top_k. */
    private static ObjectNode genrecQuery(JsonNode c, String model) {
        JsonNode request = c.path("request");
        ObjectNode genrec = JSON.createObjectNode();
        genrec.put("model", model);
        genrec.put("vector_field", "item_vector");
        genrec.set("history", request.path("history"));
        if (request.hasNonNull("query")) {
            genrec.put("query", request.path("query").asText());
        }
        genrec.put("k", c.path("expected").path("top_k").asInt());
        genrec.put("request_time", request.path("request_time").asLong());
        return genrec;
    }

    /** The top 10 hits of the query are the ten items the trainer ranks highest for the case. */
    private static void assertTopTen(JsonNode c, ObjectNode genrec) throws Exception {
        List<String> hits = new ArrayList<>();
        topTen(genrec).forEach(h -> hits.add(h.path("_source").path("item_id").asText()));
        List<String> expected = new ArrayList<>();
        c.path("expected").path("ranked_top10").forEach(n -> expected.add(n.asText()));
        assertEquals(10, expected.size());
        assertEquals(new HashSet<>(expected), new HashSet<>(hits), "case [" + c.path("name").asText() + "]: OpenSearch " + hits
            + " vs trainer " + expected);
    }

    /** A golden case's history as log lines of {@code user} (the event schema index-events reads), in the case's order. */
    private static List<String> historyAsLog(JsonNode c, String user) {
        List<String> lines = new ArrayList<>();
        for (JsonNode e : c.path("request").path("history")) {
            ObjectNode event = JSON.createObjectNode().put("user_id", user).put("item_id", e.path("item").asText())
                .put("action", e.path("action").asText()).put("timestamp", e.path("time").asLong());
            if (e.hasNonNull("query")) {
                event.put("query", e.path("query").asText());
            }
            lines.add(event.toString());
        }
        return lines;
    }

    /** "item_id score" of each of the query's top 10 hits, in order. */
    private static List<String> hitsWithScores(ObjectNode genrec) throws Exception {
        List<String> hits = new ArrayList<>();
        topTen(genrec).forEach(h -> hits.add(h.path("_source").path("item_id").asText() + " " + h.path("_score").asText()));
        return hits;
    }

    /** The hits of the genrec query with size 10, after checking it answered 200. */
    private static JsonNode topTen(ObjectNode genrec) throws Exception {
        HttpResponse<String> response = genrecSearch("items", genrec);
        assertEquals(200, response.statusCode(), response.body());
        return JSON.readTree(response.body()).path("hits").path("hits");
    }

    private static HttpResponse<String> genrecSearch(String index, ObjectNode genrec) throws Exception {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", 10);
        body.set("query", JSON.createObjectNode().set("genrec", genrec));
        return send("POST", "/" + index + "/_search", body.toString());
    }

    private static JsonNode goldenCaseNamed(String name) {
        for (JsonNode c : golden.path("cases")) {
            if (c.path("name").asText().equals(name)) {
                return c;
            }
        }
        throw new AssertionError("golden.json has no case [" + name + "]");
    }

    private static JsonNode goldenCase(Predicate<JsonNode> request) {
        for (JsonNode c : golden.path("cases")) {
            if (request.test(c.path("request"))) {
                return c;
            }
        }
        throw new AssertionError("golden.json has no such case");
    }

    private static HttpResponse<String> search(String body) throws IOException, InterruptedException {
        return send("POST", "/items/_search", body);
    }

    private static HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + path))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json")
            .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
