package org.genrec.plugin.action;

import org.genrec.plugin.model.LookupStats;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.runtime.Distribution;
import org.genrec.runtime.ModelStats;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.bundle.Manifest;
import org.genrec.runtime.bundle.ModelBundle;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.common.io.stream.Writeable;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** One loaded model on one node, with what it has done since it was loaded. */
public record ModelInfo(
    String name,
    String modelId,
    String version,
    String executionProvider,
    String precision,
    long loadedAtMillis,
    int items,
    int embeddingDim,
    String itemEmbeddings,
    float retrievalWeight,
    float coOccurrenceWeight,
    int coOccurrenceSpan,
    boolean newItems,
    boolean newHistoryItems,
    boolean readsRequestTime,
    long memoryBytes,
    Map<String, Object> training,
    EncodeBatching batching,
    ModelStats.Snapshot stats,
    LookupStats.Snapshot lookups
) implements Writeable, ToXContentFragment {

    static ModelInfo of(ModelRegistry.Loaded loaded) {
        ModelBundle bundle = loaded.model().bundle();
        // Item embeddings are held on the heap, the graphs natively (about their file size).
        long memory = (long) bundle.items().size() * bundle.items().embeddingDim() * Float.BYTES;
        List<String> graphs = new ArrayList<>(List.of(loaded.model().precision().graphName("encode"),
            loaded.model().precision().graphName("score")));
        if (loaded.model().embedsNewItems()) {
            graphs.addAll(List.of(Manifest.ITEM_ENCODER, Manifest.SCORE_ROWS));
        }
        memory += 4L * (bundle.coOccurrence().rows() + 1) + 8L * bundle.coOccurrence().pairs(); // offsets, partners, counts
        for (String graph : graphs) {
            try {
                memory += Files.size(bundle.graphFile(graph));
            } catch (IOException e) {
                // a missing file cannot happen for a loaded model; leave the estimate lower
            }
        }
        return new ModelInfo(
            loaded.name(),
            bundle.manifest().modelId(),
            loaded.version(),
            loaded.model().executionProvider().name().toLowerCase(java.util.Locale.ROOT),
            loaded.model().precision().name().toLowerCase(java.util.Locale.ROOT),
            loaded.loadedAtMillis(),
            bundle.items().size(),
            bundle.items().embeddingDim(),
            bundle.items().fingerprint(),
            bundle.manifest().retrievalWeight(),
            bundle.manifest().coOccurrenceWeight(),
            bundle.manifest().coOccurrenceSpan(),
            loaded.model().embedsNewItems(),
            loaded.model().encoder().readsNewHistoryItems(),
            loaded.model().encoder().readsRequestTime(),
            memory,
            trainingSummary(bundle.manifest().training()),
            loaded.model().batching(),
            loaded.model().stats().snapshot(),
            loaded.lookups().snapshot()
        );
    }

    /** The trainer's metrics worth a glance: the retrieval order's and each served window's (blend<k>_) headline figures. */
    private static final Pattern HEADLINE_METRIC = Pattern.compile("(blend\\d+_)?(hr@10|ndcg@10|hr@50|ndcg@50|mrr|auc)");
    private static final List<String> PROVENANCE = List.of("data", "data_fingerprint", "seed", "protocol", "protocol_text");

    /**
     * The manifest's {@code training} section cut to what identifies the run and its headline test figures: the whole
     * section also holds every ablation-level metric (cold items, the head alone, ...), too much for a stats listing.
     */
    static Map<String, Object> trainingSummary(Map<String, Object> training) {
        Map<String, Object> summary = new LinkedHashMap<>();
        if (training == null) {
            return summary;
        }
        for (String key : PROVENANCE) {
            if (training.containsKey(key)) {
                summary.put(key, training.get(key));
            }
        }
        if (training.get("metrics") instanceof Map<?, ?> metrics) {
            Map<String, Object> headline = new LinkedHashMap<>();
            metrics.forEach((name, value) -> {
                if (HEADLINE_METRIC.matcher(String.valueOf(name)).matches()) {
                    headline.put(String.valueOf(name), value);
                }
            });
            summary.put("metrics", headline);
        }
        return summary;
    }

    static ModelInfo read(StreamInput in) throws IOException {
        return new ModelInfo(in.readString(), in.readString(), in.readString(), in.readString(), in.readString(), in.readVLong(), in.readVInt(), in.readVInt(),
            in.readString(), in.readFloat(), in.readFloat(), in.readVInt(), in.readBoolean(), in.readBoolean(), in.readBoolean(), in.readVLong(), in.readMap(), new EncodeBatching(in.readEnum(EncodeBatching.Mode.class), in.readVInt(), in.readVLong()),
            new ModelStats.Snapshot(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong(), readSummary(in), readSummary(in),
                readSummary(in), readSummary(in), readSummary(in), readSummary(in), in.readDouble()),
            new LookupStats.Snapshot(in.readVLong(), in.readVLong(), readSummary(in), readSummary(in)));
    }

    private static Distribution.Summary readSummary(StreamInput in) throws IOException {
        return new Distribution.Summary(in.readDouble(), in.readDouble(), in.readDouble());
    }

    private static void writeSummary(StreamOutput out, Distribution.Summary summary) throws IOException {
        out.writeDouble(summary.p50());
        out.writeDouble(summary.p99());
        out.writeDouble(summary.max());
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        out.writeString(name);
        out.writeString(modelId);
        out.writeString(version);
        out.writeString(executionProvider);
        out.writeString(precision);
        out.writeVLong(loadedAtMillis);
        out.writeVInt(items);
        out.writeVInt(embeddingDim);
        out.writeString(itemEmbeddings);
        out.writeFloat(retrievalWeight);
        out.writeFloat(coOccurrenceWeight);
        out.writeVInt(coOccurrenceSpan);
        out.writeBoolean(newItems);
        out.writeBoolean(newHistoryItems);
        out.writeBoolean(readsRequestTime);
        out.writeVLong(memoryBytes);
        out.writeMap(training);
        out.writeEnum(batching.mode());
        out.writeVInt(batching.maxBatch());
        out.writeVLong(batching.maxDelayMicros());
        out.writeVLong(stats.encodeCalls());
        out.writeVLong(stats.scoreCalls());
        out.writeVLong(stats.candidatesScored());
        out.writeVLong(stats.errors());
        for (Distribution.Summary summary : new Distribution.Summary[] { stats.encodeMicros(), stats.scoreMicros(), stats.candidatesPerCall(),
            stats.requestsPerEncode(), stats.encodeBoundRatio(), stats.scoreBoundRatio() }) {
            writeSummary(out, summary);
        }
        out.writeDouble(stats.gemmGflops());
        out.writeVLong(lookups.lookups());
        out.writeVLong(lookups.failed());
        writeSummary(out, lookups.micros());
        writeSummary(out, lookups.events());
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(name);
        builder.field("model_id", modelId).field("version", version).field("execution_provider", executionProvider)
            .field("precision", precision);
        builder.field("loaded_at_millis", loadedAtMillis).field("items", items).field("embedding_dim", embeddingDim);
        // What a genrec_vector field's mapping meta must name (genrec_embeddings) for this model to query it.
        builder.field("item_embeddings", itemEmbeddings);
        builder.field("memory_bytes", memoryBytes);
        // The ranking's default blend (RankingScores): what "rank": true serves unless the query sets its own.
        builder.field("retrieval_weight", retrievalWeight);
        // ... its co-occurrence term's weight (0: the bundle has none; RankingScores), and what the term reads of a
        // history: its latest second (span 0) or its last `span` events.
        builder.field("co_occurrence_weight", coOccurrenceWeight);
        builder.field("co_occurrence_span", coOccurrenceSpan);
        // Whether items the model was not trained on can be embedded and ranked from their text (the bundle's item encoder).
        builder.field("new_items", newItems);
        // Whether a history event of such an item is read by the item's text (looked up in the searched index), not left out.
        builder.field("new_history_items", newHistoryItems);
        // Whether the model reads the date of the request (request_time, else the node's clock), not only the events' ages:
        // the same history can then be answered differently on another day (trained with --absolute-time).
        builder.field("reads_request_time", readsRequestTime);
        // Where the bundle came from and what the trainer measured on its test split, under which protocol: which model
        // this is, and how good, without the bundle at hand (absent for a bundle whose manifest says nothing).
        if (!training.isEmpty()) {
            builder.field("training", training);
        }
        // What is in effect on this node (AUTO resolves to on for CUDA, off for CPU).
        builder.startObject("encode_batching").field("enabled", batching.mode() != EncodeBatching.Mode.OFF);
        if (batching.mode() != EncodeBatching.Mode.OFF) {
            builder.field("max_batch", batching.maxBatch()).field("max_delay_micros", batching.maxDelayMicros());
        }
        builder.endObject();
        builder.startObject("stats");
        builder.field("encode_calls", stats.encodeCalls()).field("score_calls", stats.scoreCalls());
        builder.field("candidates_scored", stats.candidatesScored()).field("errors", stats.errors());
        percentiles(builder, "encode_micros", stats.encodeMicros());
        percentiles(builder, "score_micros", stats.scoreMicros());
        medianAndMax(builder, "candidates_per_call", stats.candidatesPerCall());
        medianAndMax(builder, "requests_per_encode_call", stats.requestsPerEncode());
        // Measured time over the FLOP lower bound at this node's GEMM rate (1.0 = at the bound).
        builder.startObject("time_over_flop_bound_p50").field("encode", stats.encodeBoundRatio().p50())
            .field("score", stats.scoreBoundRatio().p50()).field("gemm_gflops", stats.gemmGflops()).endObject();
        // The "user" lookups' events searches, made on this node as the coordinating node of a request.
        builder.startObject("user_lookups").field("count", lookups.lookups()).field("failed", lookups.failed());
        percentiles(builder, "micros", lookups.micros());
        medianAndMax(builder, "events_per_lookup", lookups.events());
        builder.endObject();
        builder.endObject();
        return builder.endObject();
    }

    private static void percentiles(XContentBuilder builder, String name, Distribution.Summary summary) throws IOException {
        builder.startObject(name).field("p50", summary.p50()).field("p99", summary.p99()).endObject();
    }

    private static void medianAndMax(XContentBuilder builder, String name, Distribution.Summary summary) throws IOException {
        builder.startObject(name).field("p50", summary.p50()).field("max", summary.max()).endObject();
    }
}
