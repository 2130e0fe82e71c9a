package org.genrec.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.Manifest;
import org.genrec.runtime.batching.BatchLayout;
import org.genrec.runtime.batching.EncodeBatcher;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.batching.ShapeBuckets;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.EncodeInputs;
import org.genrec.runtime.encoding.RotaryRows;
import org.genrec.runtime.encoding.SlotMasks;
import org.genrec.runtime.encoding.EncodedRequest;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.encoding.RequestEncoder;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.GraphPrecision;
import org.genrec.runtime.onnx.InputTensors;
import org.genrec.runtime.onnx.OnnxGraph;
import org.genrec.runtime.perf.FlopCount;
import org.genrec.runtime.perf.GemmRate;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded bundle, ready to serve: {@link #encode} a request once (embedding + history cache),
 * then {@link #score} any number of candidates against that cache.
 *
 * <p>Reference-counted: every call holds a reference, and {@link #close} only releases the
 * owner's, so the ONNX sessions are closed after the last call in flight finishes (closing a
 * session during a run crashes the process).
 */
public final class GenrecModel implements AutoCloseable {

    private final ModelBundle bundle;
    private final RequestEncoder encoder;
    private final RotaryRows rotary;
    /** Whether the encode graph takes history_age_seconds (time buckets, absolute time), read once from the manifest. */
    private final boolean graphReadsAges;
    private final OnnxGraph encodeGraph;
    private final OnnxGraph scoreGraph;
    /** Both null when the bundle has no item_encoder graph (an id-only model, or a bundle written before it existed). */
    private final NewItemEmbedder newItems;
    private final OnnxGraph scoreRowsGraph;
    private final AtomicInteger references = new AtomicInteger(1);
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ModelStats stats = new ModelStats();
    private volatile double gemmGflops;
    private final EncodeBatching batching;
    /** Null when this model encodes each request in its own call (batching off, or AUTO on CPU). */
    private final EncodeBatcher batcher;

    private GenrecModel(ModelBundle bundle, OnnxGraph encodeGraph, OnnxGraph scoreGraph, OnnxGraph itemEncoderGraph,
        OnnxGraph scoreRowsGraph, EncodeBatching batching) {
        this.bundle = bundle;
        this.encoder = new RequestEncoder(bundle.manifest(), bundle.items(), bundle.tokenizer());
        this.rotary = new RotaryRows(bundle.manifest().rotary(), bundle.manifest().maxHistory());
        this.graphReadsAges = bundle.manifest().readsHistoryAges();
        this.encodeGraph = encodeGraph;
        this.scoreGraph = scoreGraph;
        this.newItems = itemEncoderGraph == null ? null : new NewItemEmbedder(itemEncoderGraph, bundle);
        this.scoreRowsGraph = scoreRowsGraph;
        boolean batched = batching.enabledOn(encodeGraph.provider());
        this.batching = batched ? batching : EncodeBatching.OFF;
        this.batcher = batched
            ? new EncodeBatcher(bundle.manifest().modelId(), batch -> encodeBatch(batch, true), batching.maxBatch(), batching.maxDelayMicros())
            : null;
    }

    public static GenrecModel load(Path bundleDirectory, ExecutionProvider provider) {
        return load(bundleDirectory, provider, EncodeBatching.DEFAULT);
    }

    public static GenrecModel load(Path bundleDirectory, ExecutionProvider provider, EncodeBatching batching) {
        return load(bundleDirectory, provider, batching, GraphPrecision.AUTO);
    }

    public static GenrecModel load(Path bundleDirectory, ExecutionProvider provider, EncodeBatching batching, GraphPrecision precision) {
        ModelBundle bundle = BundleLoader.load(bundleDirectory);
        List<OnnxGraph> opened = new ArrayList<>(3);
        try {
            OnnxGraph encode = open(opened, bundle, "encode", provider, precision);
            OnnxGraph score = open(opened, bundle, "score", provider, precision);
            // float32 always: few new items per call, where float16 would only cost precision
            boolean newItems = bundle.manifest().hasGraph(Manifest.ITEM_ENCODER);
            OnnxGraph itemEncoder = newItems ? open(opened, bundle, Manifest.ITEM_ENCODER, provider, GraphPrecision.FP32) : null;
            OnnxGraph scoreRows = newItems ? open(opened, bundle, Manifest.SCORE_ROWS, provider, GraphPrecision.FP32) : null;
            return new GenrecModel(bundle, encode, score, itemEncoder, scoreRows, batching);
        } catch (RuntimeException e) {
            opened.forEach(OnnxGraph::close);
            throw e;
        }
    }

    private static OnnxGraph open(List<OnnxGraph> opened, ModelBundle bundle, String name, ExecutionProvider provider,
        GraphPrecision precision) {
        OnnxGraph graph = OnnxGraph.open(bundle, name, provider, precision);
        opened.add(graph);
        return graph;
    }

    /**
     * Runs both graphs once at the smallest and largest shapes the manifest allows (with batching:
     * at every shape bucket), so that the first real requests do not pay for ONNX Runtime's
     * first-run allocations, and measures the machine's GEMM rate for the time/FLOP-bound stats.
     * Not counted in stats.
     */
    public void warmUp() {
        gemmGflops = GemmRate.gflops();
        stats.gemmGflops(gemmGflops);
        var items = bundle.items().items();
        String action = manifest().actions().get(0);
        List<HistoryEvent> longest = new ArrayList<>();
        for (int i = 0; i < manifest().maxHistory(); i++) {
            longest.add(new HistoryEvent(items.get(i % items.size()).itemId(), action, i, "warm up"));
        }
        long[] candidates = new long[Math.min(manifest().maxCandidates(), items.size())];
        for (int i = 0; i < candidates.length; i++) {
            candidates[i] = i + 1;
        }
        for (List<HistoryEvent> history : List.of(List.<HistoryEvent>of(), longest)) {
            UserEncoding user = encode(new GenrecRequest(history, "warm up", longest.size()));
            score(user, new long[] { 1 });
            score(user, candidates);
            if (newItems != null) { // embeds too
                scoreNewItems(user, List.of(new ItemText("warm up", List.of())));
            }
        }
        if (encoder.readsNewHistoryItems()) { // a history with an item added after training: the wider item-token input
            List<HistoryEvent> withNewItem = new ArrayList<>(longest);
            withNewItem.set(longest.size() - 1, new HistoryEvent("warm up", action, longest.size(), null,
                new ItemText("warm up", List.of())));
            encode(new GenrecRequest(withNewItem, null, longest.size()));
        }
        if (batcher != null) { // every (batch, length) bucket a batched call can have, so no request meets a new shape
            for (int length : ShapeBuckets.all(Math.max(1, manifest().maxHistory()))) {
                EncodedRequest request = encoder.encode(new GenrecRequest(longest.subList(0, Math.min(length, longest.size())), null,
                    longest.size()));
                for (int rows : ShapeBuckets.all(batching.maxBatch())) {
                    encodeBatch(java.util.Collections.nCopies(rows, request), true);
                }
            }
        }
        // This thread's buffers grew to the largest shapes above (with batching: max_batch full histories and their
        // caches, ~13 MB at 32 x 200 events and 4 layers). From now on only the batcher's thread runs batches, so
        // whatever thread loaded the model does not keep them.
        InputTensors.releaseThisThread();
        stats.reset();
    }

    public ModelBundle bundle() {
        return bundle;
    }

    public Manifest manifest() {
        return bundle.manifest();
    }

    /** The rotary rows this model's encode graph takes (package-private: the golden tests hold them to the trainer's). */
    RotaryRows rotaryRows() {
        return rotary;
    }

    public RequestEncoder encoder() {
        return encoder;
    }

    public ExecutionProvider executionProvider() {
        return encodeGraph.provider();
    }

    /** FP32 or FP16: the graph variant that runs (GraphPrecision.AUTO picks it per provider). */
    public GraphPrecision precision() {
        return encodeGraph.precision();
    }

    public ModelStats stats() {
        return stats;
    }

    /** The batching in effect: {@link EncodeBatching#OFF} unless enabled for this model's execution provider. */
    public EncodeBatching batching() {
        return batching;
    }

    /** The FLOP lower bound of a call in nanoseconds at the measured GEMM rate; 0 until warmUp() measured it. */
    private double boundNanos(double flops) {
        return gemmGflops > 0 ? flops / gemmGflops : 0;
    }

    /**
     * Encodes this request: one encode-graph call of its own, or, with batching on, a share of
     * one call together with concurrent requests (identical results: see {@link #encodeBatch}).
     */
    public UserEncoding encode(GenrecRequest request) {
        EncodedRequest in = encoder.encode(request);
        acquire();
        try {
            return batcher != null ? batcher.encode(in) : encodeBatch(List.of(in), false).get(0);
        } finally {
            release();
        }
    }

    /**
     * One encode-graph call for several requests. Each history is left-padded to the batch's
     * length (padded events are masked and do not move positions, so a request's outputs are
     * its solo outputs up to float rounding); its cache is cut back to its own length, so the
     * score graph sees exactly the solo shapes. {@code bucketed}: batch size and length rounded
     * up to {@link ShapeBuckets} (padded rows are empty histories, dropped from the result).
     */
    List<UserEncoding> encodeBatch(List<EncodedRequest> batch, boolean bucketed) {
        int count = batch.size();
        int length = batch.stream().mapToInt(EncodedRequest::length).max().orElseThrow();
        int rows = bucketed ? ShapeBuckets.bucket(count, batching.maxBatch()) : count;
        if (bucketed) {
            length = ShapeBuckets.bucket(length, Math.max(1, manifest().maxHistory()));
        }
        // A solo request at its own length is already the graph's input: no copy on the unbatched path.
        EncodedRequest in = rows == 1 && batch.get(0).length() == length ? batch.get(0) : BatchLayout.join(batch, rows, length);
        int q = in.queryTokens();
        long start = System.nanoTime();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        InputTensors buffers = InputTensors.forThisThread();
        Map<String, OnnxTensor> inputs = new HashMap<>(), outputs = new HashMap<>();
        try {
            inputs.put("history_items", buffers.longs(env, "history_items", in.historyItems(), rows, length));
            inputs.put("history_actions", buffers.longs(env, "history_actions", in.historyActions(), rows, length));
            if (graphReadsAges) {
                inputs.put(EncodeInputs.HISTORY_AGE_SECONDS,
                    buffers.longs(env, EncodeInputs.HISTORY_AGE_SECONDS, in.historyAgeSeconds(), rows, length));
            }
            inputs.put("history_query_tokens", buffers.longs(env, "history_query_tokens", in.historyQueryTokens(), rows, length, q));
            inputs.put("query_tokens", buffers.longs(env, "query_tokens", in.requestQueryTokens(), rows, q));
            if (in.itemTokens() > 0) {
                inputs.put(EncodeInputs.HISTORY_ITEM_TOKENS,
                    buffers.longs(env, EncodeInputs.HISTORY_ITEM_TOKENS, in.historyItemTokens(), rows, length, in.itemTokens()));
            }
            if (encoder.readsRequestTime()) {
                inputs.put(EncodeInputs.REQUEST_TIME, buffers.longs(env, EncodeInputs.REQUEST_TIME, in.requestTime(), rows));
            }
            putRotaryRows(inputs, env, buffers, rotary.of(rows, length, in.historyActions(), in.historyAgeSeconds()), rows, length);
            putSlotMasks(inputs, env, buffers, SlotMasks.of(rows, length, in.historyActions()), rows, length + 2);
            // The outputs are pinned to this thread's buffers: read where the graph wrote them, copied once per request (split)
            for (Map.Entry<String, long[]> output : encodeOutputShapes(rows, length).entrySet()) {
                outputs.put(output.getKey(), buffers.floatOutput(env, output.getKey(), output.getValue()));
            }
            try (OrtSession.Result ignored = encodeGraph.run(inputs, outputs)) {
                int layers = manifest().architecture().layers();
                List<FloatBuffer> keys = new ArrayList<>(layers), values = new ArrayList<>(layers);
                for (int l = 0; l < layers; l++) {
                    keys.add(buffers.output(CacheLayout.keysName(l)));
                    values.add(buffers.output(CacheLayout.valuesName(l)));
                }
                List<UserEncoding> encodings = BatchLayout.split(batch, length,
                    floats(buffers.output("embedding")),
                    outputs.get(CacheLayout.keysName(0)).getInfo().getShape(),
                    keys,
                    values,
                    floats(buffers.output("cache_mask")));
                stats.recordEncode(System.nanoTime() - start, boundNanos(rows * FlopCount.encode(manifest().architecture(), length)), count);
                return encodings;
            }
        } catch (OrtException e) {
            stats.recordError();
            throw new IllegalStateException("encode graph failed for model [" + manifest().modelId() + "]: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            outputs.values().forEach(OnnxTensor::close);
        }
    }

    private static void putRotaryRows(Map<String, OnnxTensor> inputs, OrtEnvironment env, InputTensors buffers, RotaryRows.Rows rotary,
        int rows, int length) throws OrtException {
        List<String> names = EncodeInputs.ROTARY;
        inputs.put(names.get(0), buffers.floats(env, names.get(0), rotary.cos(), rotary.rowCount(), rotary.pairs()));
        inputs.put(names.get(1), buffers.floats(env, names.get(1), rotary.sin(), rotary.rowCount(), rotary.pairs()));
        inputs.put(names.get(2), buffers.longs(env, names.get(2), rotary.ids(), rows, length + 2));
        if (rotary.keyIds() != null) {
            inputs.put(EncodeInputs.KEY_ROTARY_IDS, buffers.longs(env, EncodeInputs.KEY_ROTARY_IDS, rotary.keyIds(), rows, length + 2));
        }
    }

    private static void putSlotMasks(Map<String, OnnxTensor> inputs, OrtEnvironment env, InputTensors buffers, SlotMasks masks,
        int rows, int slots) throws OrtException {
        List<String> names = EncodeInputs.SLOTS;
        inputs.put(names.get(0), buffers.floats(env, names.get(0), masks.keyPadding(), rows, 1, 1, slots));
        inputs.put(names.get(1), buffers.floats(env, names.get(1), masks.keep(), rows, 1, slots, 1));
        inputs.put(names.get(2), buffers.floats(env, names.get(2), masks.columns(), rows, 1, slots, 2));
    }

    /** The encode graph's outputs for {@code rows} histories of {@code length} events (docs/bundle-format.md), in graph order. */
    private Map<String, long[]> encodeOutputShapes(int rows, int length) {
        Manifest.Architecture arch = manifest().architecture();
        int slots = length + 2;                                        // history, context, each candidate's own slot
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("embedding", new long[] { rows, manifest().embeddingDim() });
        for (int l = 0; l < arch.layers(); l++) {
            shapes.put(CacheLayout.keysName(l), new long[] { rows, arch.heads(), slots, arch.headDim() + CacheLayout.EXTRA_KEY_COLUMNS });
        }
        for (int l = 0; l < arch.layers(); l++) {
            shapes.put(CacheLayout.valuesName(l), new long[] { rows, arch.heads(), slots, arch.headDim() });
        }
        shapes.put("cache_mask", new long[] { rows, length + 1 });
        return shapes;
    }

    /**
     * Ranking logits of {@code candidates} (model item indices) for the encoded user. Candidates
     * never see each other (M-FALCON), so large sets are scored in chunks of the manifest's
     * {@code max_candidates} with identical results.
     */
    public float[] score(UserEncoding user, long[] candidates) {
        return rankOnCache(user, candidates.length, scoreGraph, "candidates",
            (env, buffers, from, k) -> buffers.longSlice(env, "candidates", candidates, from, k, 1, k));
    }

    /** Makes the candidate input of one chunk, {@code [from, from + k)}, over the calling thread's buffers. */
    private interface ChunkInput {
        OnnxTensor make(OrtEnvironment env, InputTensors buffers, int from, int k) throws OrtException;
    }

    /**
     * Logits of {@code count} candidates from one ranking graph over the user's cache, in chunks of the manifest's
     * {@code max_candidates} (candidates never see each other, so chunks change nothing); one stats entry per call.
     */
    private float[] rankOnCache(UserEncoding user, int count, OnnxGraph graph, String input, ChunkInput chunkInput) {
        float[] scores = new float[count];
        if (count == 0) {
            return scores;
        }
        requireCache(user);
        acquire();
        long start = System.nanoTime();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        InputTensors buffers = InputTensors.forThisThread();
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            putCache(inputs, env, buffers, user);
            int chunk = manifest().maxCandidates();
            for (int from = 0; from < count; from += chunk) {
                int k = Math.min(chunk, count - from);
                try (OnnxTensor candidateTensor = chunkInput.make(env, buffers, from, k)) {
                    Map<String, OnnxTensor> call = new HashMap<>(inputs);
                    call.put(input, candidateTensor);
                    try (OrtSession.Result result = graph.run(call)) {
                        System.arraycopy(floats(tensor(result, "scores")), 0, scores, from, k);
                    }
                }
            }
            int history = (int) user.cacheShape()[3] - 1;
            stats.recordScore(System.nanoTime() - start, count, boundNanos(FlopCount.score(manifest().architecture(), history, count)));
            return scores;
        } catch (OrtException e) {
            stats.recordError();
            throw new IllegalStateException(graph.name() + " graph failed for model [" + manifest().modelId() + "]: " + e.getMessage(), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
            release();
        }
    }

    private static void requireCache(UserEncoding user) {
        if (!user.hasCache()) {
            throw new IllegalArgumentException("this user encoding carries no history cache (a retrieval-only request); it cannot rank");
        }
    }

    /** Whether this model can embed items it was not trained on ({@link #embedNewItems}). */
    public boolean embedsNewItems() {
        return newItems != null;
    }

    /**
     * Retrieval embeddings, in the space of the trained items' ({@code item_embeddings.f32}), of items the model was not
     * trained on, from their text alone: how an item added to the catalogue after training becomes retrievable. An item
     * whose text has no token is an {@link UnreadableItemException} (which says which), a model without an item encoder an
     * {@link InvalidRequestException}.
     */
    public float[][] embedNewItems(List<ItemText> items) {
        return newItemVectors(items).embeddings();
    }

    /**
     * Ranks items the model was not trained on for the encoded user, from their text alone: their ranking logits (the
     * {@code score_rows} graph: each sees the history and itself, as trained candidates do) and retrieval similarities.
     * Errors as {@link #embedNewItems}.
     */
    public NewItemScores scoreNewItems(UserEncoding user, List<ItemText> items) {
        requireNewItems();
        if (items.isEmpty()) {
            return new NewItemScores(new float[0], new float[0]);
        }
        requireCache(user);
        NewItemEmbedder.Vectors vectors = newItemVectors(items);
        float[] similarities = new float[items.size()];
        for (int i = 0; i < similarities.length; i++) {
            similarities[i] = ItemCatalog.dot(vectors.embeddings()[i], 0, user.embedding());
        }
        int dModel = manifest().architecture().dModel();
        float[] logits = rankOnCache(user, items.size(), scoreRowsGraph, "candidate_rows", (env, buffers, from, k) -> {
            float[] rows = new float[k * dModel];
            for (int i = 0; i < k; i++) {
                System.arraycopy(vectors.candidateRows()[from + i], 0, rows, i * dModel, dModel);
            }
            return buffers.floats(env, "candidate_rows", rows, 1, k, dModel);
        });
        return new NewItemScores(logits, similarities);
    }

    private NewItemEmbedder.Vectors newItemVectors(List<ItemText> items) {
        requireNewItems();
        acquire();
        try {
            return newItems.embed(items);
        } catch (OrtException e) {
            stats.recordError();
            throw new IllegalStateException(Manifest.ITEM_ENCODER + " graph failed for model [" + manifest().modelId() + "]: "
                + e.getMessage(), e);
        } finally {
            release();
        }
    }

    private void requireNewItems() {
        if (newItems == null) {
            throw new InvalidRequestException("model [" + manifest().modelId() + "] cannot embed or rank items it was not trained on:"
                + " its bundle has no [" + Manifest.ITEM_ENCODER + "] graph (a model without item text, or exported before this release)");
        }
    }

    /** The user's cache as the score graphs' inputs: each layer a tensor of its own, so the graph splits nothing. */
    private static void putCache(Map<String, OnnxTensor> inputs, OrtEnvironment env, InputTensors buffers, UserEncoding user)
        throws OrtException {
        CacheLayout layout = user.cacheLayout();
        for (int l = 0; l < layout.layers(); l++) {
            String keys = CacheLayout.keysName(l), values = CacheLayout.valuesName(l);
            int keyFloats = layout.keysPerLayer(), valueFloats = layout.valuesPerLayer();
            inputs.put(keys, buffers.floatSlice(env, keys, user.cacheKeys(), l * keyFloats, keyFloats, layout.keyShape()));
            inputs.put(values, buffers.floatSlice(env, values, user.cacheValues(), l * valueFloats, valueFloats, layout.valueShape()));
        }
    }

    /** Convenience for callers holding external ids; unknown ids are an {@link InvalidRequestException}. */
    public float[] score(UserEncoding user, List<String> candidateItemIds) {
        return score(user, encoder.encodeCandidates(candidateItemIds));
    }

    private void acquire() {
        while (true) {
            int current = references.get();
            if (current <= 0) {
                throw new IllegalStateException("model [" + manifest().modelId() + "] has been unloaded");
            }
            if (references.compareAndSet(current, current + 1)) {
                return;
            }
        }
    }

    private void release() {
        if (references.decrementAndGet() == 0) {
            if (batcher != null) {
                batcher.close(); // nobody waits in it: every waiter holds a reference
            }
            encodeGraph.close();
            scoreGraph.close();
            if (newItems != null) {
                newItems.close();
                scoreRowsGraph.close();
            }
        }
    }

    /** Releases the owner's reference; sessions close when the last call in flight ends. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            release();
        }
    }

    private static OnnxTensor tensor(OrtSession.Result result, String name) {
        OnnxValue value = result.get(name).orElseThrow(() -> new IllegalStateException("graph output [" + name + "] missing"));
        return (OnnxTensor) value;
    }

    private static float[] floats(OnnxTensor tensor) {
        return floats(tensor.getFloatBuffer());
    }

    private static float[] floats(FloatBuffer buffer) {
        float[] out = new float[buffer.remaining()];
        buffer.get(out);
        return out;
    }
}
