package org.genrec.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.bundle.BundleFormatException;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.CoOccurrence;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.RetrievalSimilarity;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.GraphPrecision;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A bundle that cannot be served is refused at load time with a message that names the problem. */
class BundleLoaderTest {

    @TempDir
    Path dir;

    @Test
    void loadsTheFixtureBundle() throws IOException {
        try (GenrecModel model = GenrecModel.load(FixtureBundle.copyTo(dir), ExecutionProvider.AUTO)) {
            assertTrue(model.bundle().items().size() > 0);
            assertEquals(model.manifest().embeddingDim(), model.bundle().items().embeddingDim());
            // CI and this machine have no GPU: AUTO must have fallen back to CPU.
            assertEquals(ExecutionProvider.CPU, model.executionProvider());
        }
    }

    @Test
    void corruptGraphIsRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        Files.write(dir.resolve("encode.onnx"), "this is not a protobuf".getBytes());
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> GenrecModel.load(dir, ExecutionProvider.CPU));
        assertTrue(e.getMessage().contains("graph [encode]") && e.getMessage().contains("cannot be loaded"), e.getMessage());
    }

    @Test
    void manifestThatDisagreesWithTheGraphIsRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        Files.copy(dir.resolve("score.onnx"), dir.resolve("encode.onnx"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> GenrecModel.load(dir, ExecutionProvider.CPU));
        assertTrue(e.getMessage().contains("does not match manifest.json"), e.getMessage());
    }

    @Test
    void encodeInputsOtherThanTheContractsAreRefusedAtLoad() throws IOException {
        FixtureBundle.copyTo(dir);
        replaceInManifest("\"history_items\"", "\"history_item_ids\"");
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("graph [encode] must take"), e.getMessage());
    }

    @Test
    void cacheNotOneTensorPerLayerIsRefusedAtLoad() throws IOException {
        FixtureBundle.copyTo(dir);
        replaceInManifest("\"cache_keys_1\"", "\"cache_keys_second\"");
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("graph [encode] must output [embedding, cache_keys_0, cache_keys_1, cache_values_0, "
            + "cache_values_1, cache_mask] for a 2-layer model"), e.getMessage());
    }

    @Test
    void unknownFormatVersionIsRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        replaceInManifest("\"format_version\": 3", "\"format_version\": 99");
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("unsupported bundle format_version [99]"), e.getMessage());
    }

    @Test
    void aBundleOfTheFormerFormatIsToldToBeExportedAgain() throws IOException {
        FixtureBundle.copyTo(dir);  // format 2 graphs made their rotary rows themselves; format 3 graphs take them
        replaceInManifest("\"format_version\": 3", "\"format_version\": 2");
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("unsupported bundle format_version [2]; this runtime reads version 3 (export the model"
            + " again"), e.getMessage());
    }

    @Test
    void rotaryRowsThatDoNotFillTheHeadAreRefusedAtLoad() throws IOException {
        FixtureBundle.copyTo(dir);
        ObjectNode manifest = readManifest();
        ((ObjectNode) manifest.path("rotary")).putArray("position_frequencies").add(1.0f);
        writeManifest(manifest);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("head_dim / 2 = 8 rotary pairs in all"), e.getMessage());
        manifest.remove("rotary");
        writeManifest(manifest);
        e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("rotary must give position_frequencies"), e.getMessage());
    }

    @Test
    void unknownRotarySettingsAreRefusedAtLoad() throws IOException {
        FixtureBundle.copyTo(dir);
        ObjectNode manifest = readManifest();
        ObjectNode rotary = (ObjectNode) manifest.path("rotary");
        for (var bad : List.of(List.of("time_scale", "cubic", "rotary.time_scale must be"), List.of("query_time", "later",
            "rotary.query_time must be"))) {
            ObjectNode changed = manifest.deepCopy();
            ((ObjectNode) changed.path("rotary")).put(bad.get(0), bad.get(1));
            writeManifest(changed);
            BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
            assertTrue(e.getMessage().contains(bad.get(2)), e.getMessage());
        }
        rotary.putArray("time_periods").add(120).add(0).add(5).add(7);
        writeManifest(manifest);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("rotary.time_periods must be positive"), e.getMessage());
    }

    @Test
    void retrievalSimilarityIsReadAndAnUnknownOneRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        assertEquals(RetrievalSimilarity.COSINE, BundleLoader.load(dir).manifest().retrievalSimilarity());
        replaceInManifest("\"similarity\": \"cosine\",", "");  // a bundle written before the field: cosine
        assertEquals(RetrievalSimilarity.COSINE, BundleLoader.load(dir).manifest().retrievalSimilarity());
        replaceInManifest("\"embedding_dim\"", "\"similarity\": \"dot\", \"embedding_dim\"");
        assertEquals("maximum_inner_product", BundleLoader.load(dir).manifest().retrievalSimilarity().fieldSimilarity());
        replaceInManifest("\"similarity\": \"dot\"", "\"similarity\": \"euclidean\"");
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("similarity must be \"cosine\" or \"dot\", got [euclidean]"), e.getMessage());
    }

    @Test
    void theServedBlendWeightIsReadAndAnInvalidOneRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        ObjectNode manifest = readManifest();
        manifest.putObject("ranking").put("retrieval_weight", 7.5).put("window", 100);
        writeManifest(manifest);
        assertEquals(7.5f, BundleLoader.load(dir).manifest().retrievalWeight());

        manifest.remove("ranking"); // a bundle written before the field: the ranking head alone
        writeManifest(manifest);
        assertEquals(0f, BundleLoader.load(dir).manifest().retrievalWeight());

        manifest.putObject("ranking").put("retrieval_weight", -1.0);
        writeManifest(manifest);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("ranking.retrieval_weight must be between 0 and 1000.0, got -1.0"), e.getMessage());
    }

    @Test
    void coOccurrenceCountsAreCheckedAtLoadAndAWeightWithoutThemRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        ModelBundle loaded = BundleLoader.load(dir);
        assertTrue(loaded.coOccurrence().pairs() > 0 && loaded.manifest().coOccurrenceWeight() > 0,
            "the fixture is trained with --co-occurrence: its bundle must serve the term");
        assertEquals(loaded.manifest().items().count() + 1, loaded.coOccurrence().rows());

        Path file = dir.resolve("co_occurrence.bin");
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4)); // a truncated file
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("co_occurrence.bin has " + (bytes.length - 4) + " bytes, expected " + bytes.length), e.getMessage());

        byte[] wrongItem = bytes.clone(); // the first neighbour made an index past the catalogue
        int rows = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        ByteBuffer.wrap(wrongItem).order(ByteOrder.LITTLE_ENDIAN).putInt(8 + 4 * (rows + 1), rows + 5);
        Files.write(file, wrongItem);
        e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("neighbour " + (rows + 5) + " is not an item index"), e.getMessage());

        Files.delete(file);
        e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("co-occurrence file [co_occurrence.bin] is missing"), e.getMessage());

        ObjectNode manifest = readManifest();
        manifest.remove("co_occurrence"); // the weight kept, the counts gone
        writeManifest(manifest);
        e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("ranking.co_occurrence_weight is " + loaded.manifest().coOccurrenceWeight()
            + " but the manifest names no co_occurrence file"), e.getMessage());

        ((ObjectNode) manifest.path("ranking")).remove("co_occurrence_weight"); // a bundle trained without the term
        writeManifest(manifest);
        assertSame(CoOccurrence.NONE, BundleLoader.load(dir).coOccurrence());
    }

    @Test
    void aCoOccurrenceSpanIsReadAndANegativeOneRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        ObjectNode manifest = readManifest();
        ObjectNode spec = (ObjectNode) manifest.path("co_occurrence");
        spec.remove("span"); // a bundle of session 54, before spans: counted by seconds
        writeManifest(manifest);
        assertEquals(0, BundleLoader.load(dir).manifest().coOccurrenceSpan());

        spec.put("span", 4);
        writeManifest(manifest);
        assertEquals(4, BundleLoader.load(dir).manifest().coOccurrenceSpan());

        spec.put("span", -1);
        writeManifest(manifest);
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("co_occurrence.span must be 0 (the latest second) or a number of events, got -1"), e.getMessage());
    }

    @Test
    void float16GraphsAreOptionalButMustBeThereWhenDeclared() throws IOException {
        FixtureBundle.copyTo(dir);
        Files.delete(dir.resolve("score_fp16.onnx"));
        BundleFormatException missing = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(missing.getMessage().contains("score_fp16"), missing.getMessage());

        // A bundle from a trainer before float16 graphs: AUTO serves float32, FP16 says what is missing.
        ObjectNode manifest = readManifest();
        ((ObjectNode) manifest.path("graphs")).remove(List.of("encode_fp16", "score_fp16"));
        writeManifest(manifest);
        try (GenrecModel model = GenrecModel.load(dir, ExecutionProvider.AUTO, EncodeBatching.DEFAULT, GraphPrecision.AUTO)) {
            assertEquals(GraphPrecision.FP32, model.precision());
        }
        BundleFormatException e = assertThrows(BundleFormatException.class,
            () -> GenrecModel.load(dir, ExecutionProvider.CPU, EncodeBatching.DEFAULT, GraphPrecision.FP16));
        assertTrue(e.getMessage().contains("fp16 was required but the bundle has no [encode_fp16] graph"), e.getMessage());
    }

    @Test
    void truncatedEmbeddingsAreRefused() throws IOException {
        FixtureBundle.copyTo(dir);
        Path embeddings = dir.resolve("item_embeddings.f32");
        byte[] bytes = Files.readAllBytes(embeddings);
        Files.write(embeddings, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        BundleFormatException e = assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("item_embeddings.f32"), e.getMessage());
    }

    @Test
    void theEmbeddingsFingerprintChangesWithAnyItemVectorAndNothingElse() throws IOException {
        FixtureBundle.copyTo(dir);
        String original = BundleLoader.load(dir).items().fingerprint();
        assertTrue(original.matches("sha256:[0-9a-f]{32}"), original);
        assertEquals(original, BundleLoader.load(FixtureBundle.path()).items().fingerprint(), "the same bundle, the same fingerprint");
        replaceInManifest("\"model_version\": \"1\"", "\"model_version\": \"2\"");
        assertEquals(original, BundleLoader.load(dir).items().fingerprint(), "a version string does not move the vectors");

        Path embeddings = dir.resolve("item_embeddings.f32");
        byte[] bytes = Files.readAllBytes(embeddings);
        bytes[bytes.length - 1] ^= 1;  // one bit of the last item's last float
        Files.write(embeddings, bytes);
        assertNotEquals(original, BundleLoader.load(dir).items().fingerprint());
    }

    @Test
    void missingFileAndMissingDirectoryAreNamed() throws IOException {
        assertTrue(assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir.resolve("nope")))
            .getMessage().contains("does not exist"));
        FixtureBundle.copyTo(dir);
        Files.delete(dir.resolve("vocab.txt"));
        assertTrue(assertThrows(BundleFormatException.class, () -> BundleLoader.load(dir)).getMessage().contains("vocab.txt"));
    }

    private ObjectNode readManifest() throws IOException {
        return (ObjectNode) new ObjectMapper().readTree(dir.resolve("manifest.json").toFile());
    }

    private void writeManifest(ObjectNode manifest) throws IOException {
        new ObjectMapper().writeValue(dir.resolve("manifest.json").toFile(), manifest);
    }

    private void replaceInManifest(String from, String to) throws IOException {
        Path manifest = dir.resolve("manifest.json");
        String text = Files.readString(manifest);
        String normalized = text.replaceAll("\"format_version\"\\s*:\\s*(\\d+)", "\"format_version\": $1");
        assertTrue(normalized.contains(from), "fixture manifest should contain " + from);
        Files.writeString(manifest, normalized.replace(from, to));
    }
}
