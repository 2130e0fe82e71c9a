package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.perf.FlopCount;
import org.genrec.runtime.perf.GemmRate;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The encode call's median time per history length, for A/B runs on a VM whose speed drifts by tens of per cent within a
 * minute: each run is short (~20 s a bundle), takes the median of many short rounds with the lengths interleaved
 * (BENCHMARKS.md, "Session 46"); given two bundles, both are loaded in one process and take turns by round (A B, then
 * B A), so the drift falls on both alike (as scripts/score_graph_ab.py does for the graphs alone). JMH's forks run a
 * minute per shape, long enough for the drift to swamp a 10 % change. Also prints each median over the call's FLOP
 * bound: the runtime's FlopCount for that bundle over the GEMM rate its MatMul probe measured at load.
 *
 * <pre>
 * java -cp model-runtime-bench/target/model-runtime-benchmarks.jar org.genrec.runtime.bench.EncodeCallMedians BUNDLE [BUNDLE_B] [ROUNDS]
 * </pre>
 */
public final class EncodeCallMedians {

    private static final int[] HISTORIES = { 10, 50, 100, 200 };
    private static final int CALLS_PER_ROUND = 100;

    private EncodeCallMedians() {}

    public static void main(String[] args) {
        List<Path> bundles = new ArrayList<>();
        int rounds = 30;
        for (String arg : args) {
            if (arg.matches("\\d+")) {
                rounds = Integer.parseInt(arg);
            } else {
                bundles.add(Path.of(arg));
            }
        }
        List<GenrecModel> models = new ArrayList<>();
        try {
            for (Path bundle : bundles) {
                models.add(GenrecModel.load(bundle, ExecutionProvider.CPU));
            }
            run(models, rounds);
        } finally {
            models.forEach(GenrecModel::close);
        }
    }

    private static void run(List<GenrecModel> models, int rounds) {
        List<GenrecRequest[]> requests = new ArrayList<>();
        for (GenrecModel model : models) {
            model.warmUp();
            Random random = new Random(7);
            requests.add(Arrays.stream(HISTORIES).mapToObj(n -> BenchHistories.request(model, n, random)).toArray(GenrecRequest[]::new));
            for (int call = 0; call < 3000; call++) { // the JIT's last tier
                model.encode(requests.getLast()[call % HISTORIES.length]);
            }
        }
        double[][][] medians = new double[models.size()][HISTORIES.length][rounds];
        double[] times = new double[CALLS_PER_ROUND];
        for (int r = 0; r < rounds; r++) {
            for (int turn = 0; turn < models.size(); turn++) {
                int m = r % 2 == 0 ? turn : models.size() - 1 - turn;
                for (int i = 0; i < HISTORIES.length; i++) {
                    for (int c = 0; c < CALLS_PER_ROUND; c++) {
                        long t0 = System.nanoTime();
                        models.get(m).encode(requests.get(m)[i]);
                        times[c] = (System.nanoTime() - t0) / 1e3;
                    }
                    medians[m][i][r] = median(times);
                }
            }
        }
        System.out.printf("encode call, median of %d round medians; over the FLOP bound at GEMM %.1f GFLOP/s%n", rounds, GemmRate.gflops());
        double[][] micros = new double[models.size()][HISTORIES.length];
        for (int m = 0; m < models.size(); m++) {
            StringBuilder line = new StringBuilder(models.get(m).manifest().modelId() + " " + (char) ('A' + m) + ":");
            for (int i = 0; i < HISTORIES.length; i++) {
                micros[m][i] = median(medians[m][i]);
                int history = Math.min(HISTORIES[i], models.get(m).manifest().maxHistory());
                double boundMicros = FlopCount.encode(models.get(m).manifest().architecture(), history) / GemmRate.gflops() / 1e3;
                line.append(String.format("  history %d %.1f us %.2fx", HISTORIES[i], micros[m][i], micros[m][i] / boundMicros));
            }
            System.out.println(line);
        }
        if (models.size() == 2) {
            StringBuilder line = new StringBuilder("B / A:");
            for (int i = 0; i < HISTORIES.length; i++) {
                line.append(String.format("  history %d %.3f", HISTORIES[i], micros[1][i] / micros[0][i]));
            }
            System.out.println(line);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
