package org.genrec.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.bundle.BundleFormatException;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Items added after training: the Java runtime tokenizes an item's text and embeds it with the bundle's
 * item_encoder graph exactly as the trainer did for the golden new items (zero skew, as for requests).
 */
class NewItemsTest {

    private static GenrecModel model;
    private static JsonNode golden;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws IOException {
        model = GenrecModel.load(FixtureBundle.path(), ExecutionProvider.CPU);
        golden = new ObjectMapper().readTree(FixtureBundle.path().resolve(model.manifest().golden()).toFile());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @TestFactory
    Stream<DynamicTest> goldenNewItems() {
        assertTrue(model.embedsNewItems(), "the fixture model has item text, so its bundle has an item encoder");
        assertTrue(golden.path("new_items").path("items").size() >= 5, "the trainer writes the new-item golden cases");
        double tolerance = golden.path("tolerance").asDouble();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : golden.path("new_items").path("items")) {
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> {
                ItemText item = itemText(c.path("item"));
                // Tokens first: a mismatch here is skew in the item text rule, not in the numbers.
                assertArrayEquals(longs(c.path("item_tokens").get(0)),
                    item.tokens(model.bundle().tokenizer(), model.manifest().items().maxItemTokens()), "item_tokens");
                assertClose(floats(c.path("embedding")), model.embedNewItems(List.of(item))[0], tolerance, "embedding");
            }));
        }
        // Ranked for each golden request: the item encoder's rows through score_rows, against the request's cache.
        List<ItemText> items = goldenItems();
        for (JsonNode c : golden.path("cases")) {
            tests.add(DynamicTest.dynamicTest("scores for " + c.path("name").asText(), () -> {
                UserEncoding user = model.encode(GoldenVectorsTest.request(c.path("request")));
                NewItemScores scores = model.scoreNewItems(user, items);
                assertClose(floats(golden.path("new_items").path("scores").path(c.path("name").asText())), scores.logits(), tolerance,
                    "logits");
                float[][] embeddings = model.embedNewItems(items);
                for (int i = 0; i < items.size(); i++) {
                    double dot = 0;
                    for (int d = 0; d < embeddings[i].length; d++) {
                        dot += (double) embeddings[i][d] * user.embedding()[d];
                    }
                    assertEquals(dot, scores.similarities()[i], 1e-6, "similarity " + i);
                }
            }));
        }
        return tests.stream();
    }

    @Test
    void eachNewItemScoresTheSameAloneOrWithOthers() { // M-FALCON: no candidate sees another
        UserEncoding user = model.encode(GoldenVectorsTest.request(golden.path("cases").get(0).path("request")));
        List<ItemText> items = goldenItems();
        float[] together = model.scoreNewItems(user, items).logits();
        for (int i = 0; i < items.size(); i++) {
            assertEquals(together[i], model.scoreNewItems(user, List.of(items.get(i))).logits()[0], 1e-5, "item " + i);
        }
    }

    @Test
    void rankingNewItemsNeedsTheHistoryCache() {
        UserEncoding retrievalOnly = model.encode(GoldenVectorsTest.request(golden.path("cases").get(0).path("request"))).withoutCache();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.scoreNewItems(retrievalOnly, goldenItems()));
        assertTrue(e.getMessage().contains("no history cache"), e.getMessage());
    }

    private static List<ItemText> goldenItems() {
        List<ItemText> items = new ArrayList<>();
        golden.path("new_items").path("items").forEach(c -> items.add(itemText(c.path("item"))));
        return items;
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int d = 0; d < expected.length; d++) {
            assertEquals(expected[d], actual[d], tolerance, what + "[" + d + "]");
        }
    }

    @Test
    void aBatchOfItemsEmbedsAsEachAlone() {
        List<ItemText> items = goldenItems();
        List<ItemText> many = new ArrayList<>();
        while (many.size() <= NewItemEmbedder.MAX_BATCH) { // more than one graph call
            many.addAll(items);
        }
        float[][] batched = model.embedNewItems(many);
        for (int i = 0; i < many.size(); i++) {
            assertArrayEquals(model.embedNewItems(List.of(many.get(i)))[0], batched[i], 1e-6f, "item " + i);
        }
    }

    @Test
    void aNewItemWithTheTextOfATrainedOneIsNotGivenItsLearnedVector() {
        var trained = model.bundle().items().items().get(0);
        float[] fromText = model.embedNewItems(List.of(new ItemText(trained.title(), trained.categories())))[0];
        float[] learned = model.bundle().items().embedding(trained.index());
        double difference = 0;
        for (int d = 0; d < learned.length; d++) {
            difference = Math.max(difference, Math.abs(learned[d] - fromText[d]));
        }
        assertTrue(difference > 1e-2, "the trained vector adds the item's learned id row; text alone cannot know it");
    }

    @Test
    void anItemWithoutReadableTextIsRefused() {
        for (ItemText empty : List.of(new ItemText("", List.of()), new ItemText(null, null), new ItemText(" -- !", List.of("  ")))) {
            InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> model.embedNewItems(List.of(empty)));
            assertTrue(e.getMessage().contains("no title or category text"), e.getMessage());
        }
    }

    @Test
    void aBundleWithoutItemEncoderLoadsAndSaysWhyItCannotEmbedNewItems() throws IOException {
        FixtureBundle.copyTo(dir);
        Path manifest = dir.resolve("manifest.json");
        var tree = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(manifest.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree.path("graphs")).remove(List.of("item_encoder", "score_rows"));
        new ObjectMapper().writeValue(manifest.toFile(), tree);
        Files.delete(dir.resolve("item_encoder.onnx"));
        Files.delete(dir.resolve("score_rows.onnx"));
        try (GenrecModel old = GenrecModel.load(dir, ExecutionProvider.CPU)) {
            assertFalse(old.embedsNewItems());
            InvalidRequestException e = assertThrows(InvalidRequestException.class,
                () -> old.embedNewItems(List.of(new ItemText("a title", List.of()))));
            assertTrue(e.getMessage().contains("has no [item_encoder] graph"), e.getMessage());
            UserEncoding user = old.encode(GoldenVectorsTest.request(golden.path("cases").get(0).path("request")));
            assertThrows(InvalidRequestException.class, () -> old.scoreNewItems(user, List.of(new ItemText("a title", List.of()))));
        }
    }

    @Test
    void aDeclaredItemEncoderOrScoreRowsGraphThatIsMissingIsRefusedAtLoad() throws IOException {
        for (String graph : List.of("item_encoder", "score_rows")) {
            FixtureBundle.copyTo(dir);
            Files.delete(dir.resolve(graph + ".onnx"));
            BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
            assertTrue(e.getMessage().contains(graph + " graph file [" + graph + ".onnx] is missing"), e.getMessage());
        }
    }

    @Test
    void anItemEncoderWithoutScoreRowsIsRefusedAtLoad() throws IOException {
        FixtureBundle.copyTo(dir);
        Path manifest = dir.resolve("manifest.json");
        var tree = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(manifest.toFile());
        ((com.fasterxml.jackson.databind.node.ObjectNode) tree.path("graphs")).remove("score_rows");
        new ObjectMapper().writeValue(manifest.toFile(), tree);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("must have a [score_rows] graph"), e.getMessage());
    }

    static ItemText itemText(JsonNode item) {
        List<String> categories = new ArrayList<>();
        item.path("categories").forEach(c -> categories.add(c.asText()));
        return new ItemText(item.path("title").asText(), categories);
    }

    private static long[] longs(JsonNode node) {
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = node.get(i).asLong();
        }
        return out;
    }

    private static float[] floats(JsonNode node) {
        float[] out = new float[node.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) node.get(i).asDouble();
        }
        return out;
    }
}
