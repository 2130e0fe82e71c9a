package org.genrec.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import org.genrec.runtime.bundle.BundleFormatException;
import org.genrec.runtime.bundle.Manifest;
import org.genrec.runtime.bundle.ModelBundle;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX graph of a bundle behind one shared session. Concurrent {@link #run} calls are safe
 * (ONNX Runtime allows it); closing is the owner's job once no call is in flight.
 */
public final class OnnxGraph implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(OnnxGraph.class.getName());

    private final String name;
    private final OrtSession session;
    private final ExecutionProvider provider;
    private final GraphPrecision precision;

    private OnnxGraph(String name, OrtSession session, ExecutionProvider provider, GraphPrecision precision) {
        this.name = name;
        this.session = session;
        this.provider = provider;
        this.precision = precision;
    }

    /**
     * Opens graph {@code name} ("encode", "score") of the bundle in the variant {@code precision}
     * picks for the provider it lands on, and checks that its inputs and outputs are exactly those
     * the manifest names, so that a bundle whose graph and manifest disagree fails at load time,
     * not on the first query.
     */
    public static OnnxGraph open(ModelBundle bundle, String name, ExecutionProvider wanted, GraphPrecision precision) {
        boolean hasFp16 = bundle.manifest().hasGraph(GraphPrecision.FP16.graphName(name));
        if (precision == GraphPrecision.FP16 && !hasFp16) {
            throw new BundleFormatException("graph precision fp16 was required but the bundle has no ["
                + GraphPrecision.FP16.graphName(name) + "] graph (written by a trainer before float16 graphs existed)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        ExecutionProvider used = ExecutionProvider.CPU;
        String graph = precision.on(ExecutionProvider.CPU, hasFp16).graphName(name);
        if (wanted != ExecutionProvider.CPU && OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            String cudaGraph = precision.on(ExecutionProvider.CUDA, hasFp16).graphName(name);
            try {
                session = env.createSession(bundle.graphFile(cudaGraph).toString(), options(true));
                used = ExecutionProvider.CUDA;
                graph = cudaGraph;
            } catch (OrtException e) {
                if (wanted == ExecutionProvider.CUDA) {
                    throw new BundleFormatException("CUDA was required for graph [" + name + "] but failed: " + e.getMessage(), e);
                }
                LOG.log(System.Logger.Level.WARNING, "CUDA execution provider failed for graph [" + name + "], using CPU: " + e.getMessage());
            }
        } else if (wanted == ExecutionProvider.CUDA) {
            throw new BundleFormatException("CUDA was required for graph [" + name + "] but this ONNX Runtime build has no CUDA provider");
        }
        Path file = bundle.graphFile(graph);
        try {
            if (session == null) {
                session = env.createSession(file.toString(), options(false));
            }
            Manifest.GraphSpec spec = bundle.manifest().graph(graph);
            checkSignature(graph, session, spec.inputs(), spec.outputs());
            return new OnnxGraph(name, session, used, graph.equals(name) ? GraphPrecision.FP32 : GraphPrecision.FP16);
        } catch (OrtException e) {
            throw new BundleFormatException("graph [" + graph + "] in " + file.getFileName() + " cannot be loaded: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(session);
            throw e;
        }
    }

    private static OrtSession.SessionOptions options(boolean cuda) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        // Inside a search node many requests run at once: one thread per call, and no spinning,
        // which on 2 vCPUs measured 2-3x slower than a single thread (DESIGN.md).
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.addConfigEntry("session.intra_op.allow_spinning", "0");
        options.addConfigEntry("session.inter_op.allow_spinning", "0");
        if (cuda) {
            options.addCUDA(0);
        }
        return options;
    }

    private static void checkSignature(String name, OrtSession session, List<String> inputs, List<String> outputs) throws OrtException {
        Set<String> actualIn = session.getInputNames();
        Set<String> actualOut = session.getOutputNames();
        if (!actualIn.equals(new HashSet<>(inputs)) || !actualOut.containsAll(outputs)) {
            throw new BundleFormatException(
                "graph [" + name + "] does not match manifest.json: graph inputs " + actualIn + " outputs " + actualOut
                    + ", manifest inputs " + inputs + " outputs " + outputs
            );
        }
    }

    /** Runs the graph; the caller closes the result (and with it every output tensor). */
    public OrtSession.Result run(Map<String, OnnxTensor> inputs) throws OrtException {
        return session.run(inputs);
    }

    /** Runs the graph writing into {@code outputs} (pinned: the caller made them and closes them; the result does not). */
    public OrtSession.Result run(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs) throws OrtException {
        return session.run(inputs, outputs);
    }

    public String name() {
        return name;
    }

    public ExecutionProvider provider() {
        return provider;
    }

    /** FP32 or FP16: the variant that runs. */
    public GraphPrecision precision() {
        return precision;
    }

    @Override
    public void close() {
        closeQuietly(session);
    }

    private static void closeQuietly(OrtSession session) {
        if (session != null) {
            try {
                session.close();
            } catch (OrtException e) {
                LOG.log(System.Logger.Level.WARNING, "closing ONNX session failed: " + e.getMessage());
            }
        }
    }
}
