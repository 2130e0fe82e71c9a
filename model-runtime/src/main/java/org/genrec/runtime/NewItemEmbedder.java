package org.genrec.runtime;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.encoding.TextTokenizer;
import org.genrec.runtime.onnx.InputTensors;
import org.genrec.runtime.onnx.OnnxGraph;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;

/**
 * The retrieval embedding of an item the model was not trained on, from its text alone (the bundle's
 * {@code item_encoder} graph): how an item added to the catalogue after training gets a vector in the
 * items index, in the same space as the trained items' ({@code item_embeddings.f32}), and the input row that
 * the {@code score_rows} graph ranks it by. It has no learned
 * id row, so it is only as good as its title and categories; a model trained with {@code --item-id-dropout}
 * learned to use them alone. Not thread-confined: the graph's session is shared, the input buffers are per thread.
 */
final class NewItemEmbedder implements AutoCloseable {

    /** Items per graph call: bounds each thread's reused input buffer, whatever a caller hands in. */
    static final int MAX_BATCH = 256;

    private final OnnxGraph graph;
    private final TextTokenizer tokenizer;
    private final int maxItemTokens;
    private final int dim;
    private final int dModel;

    NewItemEmbedder(OnnxGraph graph, ModelBundle bundle) {
        this.graph = graph;
        this.tokenizer = bundle.tokenizer();
        this.maxItemTokens = bundle.manifest().items().maxItemTokens();
        this.dim = bundle.manifest().embeddingDim();
        this.dModel = bundle.manifest().architecture().dModel();
    }

    /** The token ids the graph reads for the item at {@code position}, or a 400 when its text has no token (nothing to embed). */
    private long[] tokens(ItemText item, int position) {
        long[] tokens = item.tokens(tokenizer, maxItemTokens); // right-padded: padding first means no token at all
        if (tokens[0] == tokenizer.padId()) {
            throw new UnreadableItemException(position, "the item has no title or category text the model can read (title ["
                + item.title() + "], categories " + item.categories() + "): an item the model was not trained on is embedded from "
                + "its text alone");
        }
        return tokens;
    }

    /** Per item, in order: its retrieval embedding ([E]) and its input row as a ranking candidate ([D], for score_rows). */
    record Vectors(float[][] embeddings, float[][] candidateRows) {}

    Vectors embed(List<ItemText> items) throws OrtException {
        float[][] embeddings = new float[items.size()][];
        float[][] candidateRows = new float[items.size()][];
        for (int from = 0; from < items.size(); from += MAX_BATCH) {
            int rows = Math.min(MAX_BATCH, items.size() - from);
            long[] tokens = new long[rows * maxItemTokens];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(tokens(items.get(from + r), from + r), 0, tokens, r * maxItemTokens, maxItemTokens);
            }
            try (OnnxTensor input = InputTensors.forThisThread().longs(OrtEnvironment.getEnvironment(), "item_tokens", tokens, rows,
                maxItemTokens); OrtSession.Result result = graph.run(Map.of("item_tokens", input))) {
                copyRows(result, "embedding", embeddings, from, rows, dim);
                copyRows(result, "candidate_row", candidateRows, from, rows, dModel);
            }
        }
        return new Vectors(embeddings, candidateRows);
    }

    private static void copyRows(OrtSession.Result result, String output, float[][] into, int from, int rows, int width) {
        OnnxTensor tensor = (OnnxTensor) result.get(output).orElseThrow(() -> new IllegalStateException("graph output [" + output
            + "] missing"));
        FloatBuffer values = tensor.getFloatBuffer();
        for (int r = 0; r < rows; r++) {
            into[from + r] = new float[width];
            values.get(into[from + r]);
        }
    }

    @Override
    public void close() {
        graph.close();
    }
}
