package org.genrec.runtime.bundle;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.CacheLayout;
import org.genrec.runtime.encoding.EncodeInputs;
import org.genrec.runtime.encoding.TextTokenizer;
import org.genrec.runtime.onnx.GraphPrecision;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a bundle directory (docs/bundle-format.md) and rejects anything that could make the
 * runtime answer wrongly later: unknown format version, missing files, item table and embedding
 * matrix that disagree. Graph signatures are checked when the ONNX sessions are created.
 */
public final class BundleLoader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private BundleLoader() {}

    public static ModelBundle load(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new BundleFormatException("model bundle directory [" + directory + "] does not exist");
        }
        Manifest manifest = readManifest(directory.resolve("manifest.json"));
        ItemCatalog items = readItems(directory, manifest);
        TextTokenizer tokenizer = readTokenizer(directory, manifest);
        for (String graph : List.of("encode", "score")) {
            requireFile(directory.resolve(manifest.graph(graph).file()), graph + " graph");
            String fp16 = GraphPrecision.FP16.graphName(graph);
            if (manifest.hasGraph(fp16)) { // optional; when declared it must be there and interchangeable
                requireFile(directory.resolve(manifest.graph(fp16).file()), fp16 + " graph");
                Manifest.GraphSpec full = manifest.graph(graph), half = manifest.graph(fp16);
                require(full.inputs().equals(half.inputs()) && full.outputs().equals(half.outputs()),
                    "graph [" + fp16 + "] must have the inputs and outputs of [" + graph + "]");
            }
        }
        if (manifest.hasGraph(Manifest.ITEM_ENCODER)) { // optional: bundles of id-only models, or written before it, lack it
            for (String graph : List.of(Manifest.ITEM_ENCODER, Manifest.SCORE_ROWS)) {
                requireFile(directory.resolve(manifest.graph(graph).file()), graph + " graph");
            }
        }
        CoOccurrence coOccurrence = manifest.coOccurrence() == null ? CoOccurrence.NONE
            : CoOccurrence.read(requireFile(directory.resolve(manifest.coOccurrence().file()), "co-occurrence"), manifest.items().count());
        return new ModelBundle(directory, manifest, items, tokenizer, coOccurrence);
    }

    static Manifest readManifest(Path file) {
        requireFile(file, "manifest");
        JsonNode tree;
        try {
            tree = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new BundleFormatException("manifest.json is not valid JSON: " + e.getMessage(), e);
        }
        // Check the version before binding, so that a future format gets this message and not a binding error.
        int version = tree.path("format_version").asInt(-1);
        if (version != Manifest.SUPPORTED_FORMAT_VERSION) {
            throw new BundleFormatException(
                "unsupported bundle format_version [" + tree.path("format_version") + "]; this runtime reads version "
                    + Manifest.SUPPORTED_FORMAT_VERSION + " (export the model again with the trainer of this release)"
            );
        }
        Manifest manifest;
        try {
            manifest = JSON.treeToValue(tree, Manifest.class);
        } catch (IOException e) {
            throw new BundleFormatException("manifest.json does not match the bundle format: " + e.getMessage(), e);
        }
        validate(manifest);
        return manifest;
    }

    private static void validate(Manifest m) {
        require(m.modelId() != null && !m.modelId().isBlank(), "model_id is missing");
        require(m.architecture() != null, "architecture is missing");
        require(m.embeddingDim() > 0, "embedding_dim must be positive");
        require(m.maxHistory() > 0, "max_history must be positive");
        require(m.maxQueryTokens() > 0, "max_query_tokens must be positive");
        require(m.maxCandidates() > 0, "max_candidates must be positive");
        require(m.actions() != null && !m.actions().isEmpty(), "actions are missing");
        require(m.tokenizer() != null && "lowercase_alnum".equals(m.tokenizer().type()),
            "tokenizer.type must be lowercase_alnum");
        require(m.items() != null && m.items().count() > 0, "items.count must be positive");
        m.retrievalSimilarity(); // an unknown value fails here, at load, not at the first query
        require(Float.isFinite(m.retrievalWeight()) && m.retrievalWeight() >= 0 && m.retrievalWeight() <= Manifest.MAX_RETRIEVAL_WEIGHT,
            "ranking.retrieval_weight must be between 0 and " + Manifest.MAX_RETRIEVAL_WEIGHT + ", got " + m.retrievalWeight());
        require(Float.isFinite(m.coOccurrenceWeight()) && m.coOccurrenceWeight() >= 0
                && m.coOccurrenceWeight() <= Manifest.MAX_RETRIEVAL_WEIGHT,
            "ranking.co_occurrence_weight must be between 0 and " + Manifest.MAX_RETRIEVAL_WEIGHT + ", got " + m.coOccurrenceWeight());
        require(m.coOccurrenceWeight() == 0 || m.coOccurrence() != null,
            "ranking.co_occurrence_weight is " + m.coOccurrenceWeight() + " but the manifest names no co_occurrence file");
        require(m.coOccurrenceSpan() >= 0,
            "co_occurrence.span must be 0 (the latest second) or a number of events, got " + m.coOccurrenceSpan());
        int layers = m.architecture().layers();
        require(layers > 0, "architecture.layers must be positive");
        // The cache travels one tensor per layer (CacheLayout); a manifest naming others would fail at the first request.
        require(m.graph("encode").outputs().equals(CacheLayout.encodeOutputs(layers)),
            "graph [encode] must output " + CacheLayout.encodeOutputs(layers) + " for a " + layers + "-layer model, manifest says "
                + m.graph("encode").outputs());
        boolean newHistoryItems = m.readsNewHistoryItems();
        validateRotary(m.rotary(), m.architecture().headDim());
        boolean queryAtNext = m.rotary().queryAtNextEvent();
        require(m.graph("encode").inputs().equals(EncodeInputs.of(m.readsHistoryAges(), newHistoryItems, m.readsRequestTime(), queryAtNext)),
            "graph [encode] must take " + EncodeInputs.BASE + " (with [" + EncodeInputs.HISTORY_AGE_SECONDS + "] third in models"
                + " that read ages beyond the rotary rows), then [" + EncodeInputs.HISTORY_ITEM_TOKENS + "] (models trained to read items"
                + " by their text), then [" + EncodeInputs.REQUEST_TIME + "] (models that read absolute time), then " + EncodeInputs.ROTARY
                + (queryAtNext ? " and [" + EncodeInputs.KEY_ROTARY_IDS + "] (rotary.query_time next)" : "") + ", then "
                + EncodeInputs.SLOTS + ", manifest says "
                + m.graph("encode").inputs());
        require(!newHistoryItems || m.items().maxItemTokens() > 0,
            "items.max_item_tokens must be positive when graph [encode] takes [" + EncodeInputs.HISTORY_ITEM_TOKENS + "]");
        require(m.graph("score").inputs().equals(CacheLayout.scoreInputs(layers)),
            "graph [score] must take " + CacheLayout.scoreInputs(layers) + " for a " + layers + "-layer model, manifest says "
                + m.graph("score").inputs());
        if (m.hasGraph(Manifest.ITEM_ENCODER)) {
            Manifest.GraphSpec items = m.graph(Manifest.ITEM_ENCODER);
            require(items.inputs().equals(List.of("item_tokens")) && items.outputs().equals(List.of("embedding", "candidate_row")),
                "graph [" + Manifest.ITEM_ENCODER + "] must take [item_tokens] and output [embedding, candidate_row], manifest says "
                    + items.inputs() + " -> " + items.outputs());
            require(m.hasGraph(Manifest.SCORE_ROWS), "a bundle with an [" + Manifest.ITEM_ENCODER + "] graph must have a ["
                + Manifest.SCORE_ROWS + "] graph to rank the items it embeds");
            require(m.graph(Manifest.SCORE_ROWS).inputs().equals(CacheLayout.scoreRowsInputs(layers))
                    && m.graph(Manifest.SCORE_ROWS).outputs().equals(List.of("scores")),
                "graph [" + Manifest.SCORE_ROWS + "] must take " + CacheLayout.scoreRowsInputs(layers) + " and output [scores], manifest"
                    + " says " + m.graph(Manifest.SCORE_ROWS).inputs() + " -> " + m.graph(Manifest.SCORE_ROWS).outputs());
            require(m.items().maxItemTokens() > 0, "items.max_item_tokens must be positive when the bundle has an ["
                + Manifest.ITEM_ENCODER + "] graph");
        }
    }

    /** The rotary rows' settings: a request must not be the first to find them wrong (a period of 0 would divide by zero). */
    private static void validateRotary(Manifest.RotarySpec rotary, int headDim) {
        require(rotary != null && rotary.positionFrequencies() != null && rotary.timeFrequencies() != null
                && rotary.timePeriods() != null && rotary.pairs() * 2 == headDim,
            "rotary must give position_frequencies, time_frequencies and time_periods, head_dim / 2 = " + headDim / 2
                + " rotary pairs in all");
        require(List.of("log", "linear").contains(rotary.timeScale()), "rotary.time_scale must be \"log\" or \"linear\", got ["
            + rotary.timeScale() + "]");
        require(List.of("own", "next").contains(rotary.queryTime()), "rotary.query_time must be \"own\" or \"next\", got ["
            + rotary.queryTime() + "]");
        require(Arrays.stream(rotary.timePeriods()).allMatch(period -> period > 0), "rotary.time_periods must be positive seconds");
    }

    private static ItemCatalog readItems(Path dir, Manifest manifest) {
        Path table = requireFile(dir.resolve(manifest.items().table()), "item table");
        List<ItemCatalog.Item> items = new ArrayList<>();
        Map<String, Integer> indexById = new HashMap<>();
        try (BufferedReader reader = Files.newBufferedReader(table, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node = JSON.readTree(line);
                String id = node.path("item_id").asText(null);
                int index = node.path("index").asInt(-1);
                if (id == null || index != items.size() + 1) {
                    throw new BundleFormatException(table.getFileName() + " line " + lineNo
                        + ": expected item_id and index " + (items.size() + 1) + " (indices are 1-based and in order)");
                }
                if (indexById.putIfAbsent(id, index) != null) {
                    throw new BundleFormatException(table.getFileName() + " line " + lineNo + ": duplicate item_id [" + id + "]");
                }
                List<String> categories = new ArrayList<>();
                node.path("categories").forEach(c -> categories.add(c.asText()));
                items.add(new ItemCatalog.Item(id, index, node.path("title").asText(""), categories));
            }
        } catch (IOException e) {
            throw new BundleFormatException("cannot read item table " + table + ": " + e.getMessage(), e);
        }
        int count = manifest.items().count();
        require(items.size() == count, "items.count is " + count + " but the item table has " + items.size() + " items");

        Path embeddingsFile = requireFile(dir.resolve(manifest.items().embeddings()), "item embeddings");
        int dim = manifest.embeddingDim();
        float[] embeddings = new float[count * dim];
        try {
            byte[] bytes = Files.readAllBytes(embeddingsFile);
            require(bytes.length == (long) count * dim * Float.BYTES, embeddingsFile.getFileName() + " has " + bytes.length
                + " bytes, expected " + count + " x " + dim + " float32 = " + ((long) count * dim * Float.BYTES));
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(embeddings);
        } catch (IOException e) {
            throw new BundleFormatException("cannot read item embeddings " + embeddingsFile + ": " + e.getMessage(), e);
        }
        return new ItemCatalog(items, indexById, embeddings, dim);
    }

    private static TextTokenizer readTokenizer(Path dir, Manifest manifest) {
        Path vocab = requireFile(dir.resolve(manifest.tokenizer().vocab()), "vocabulary");
        try {
            List<String> tokens = Files.readAllLines(vocab, StandardCharsets.UTF_8);
            return new TextTokenizer(tokens, manifest.tokenizer().padId(), manifest.tokenizer().unkId(), manifest.maxQueryTokens());
        } catch (IOException e) {
            throw new BundleFormatException("cannot read vocabulary " + vocab + ": " + e.getMessage(), e);
        }
    }

    private static Path requireFile(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new BundleFormatException("bundle " + what + " file [" + file.getFileName() + "] is missing in " + file.getParent());
        }
        return file;
    }

    /** Refuses the bundle with {@code message} unless {@code condition} (also for the files other readers check). */
    static void require(boolean condition, String message) {
        if (!condition) {
            throw new BundleFormatException("invalid bundle: " + message);
        }
    }
}
