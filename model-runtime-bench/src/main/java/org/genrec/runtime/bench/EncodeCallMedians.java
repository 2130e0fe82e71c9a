package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.onnx.ExecutionProvider;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * The encode call's median time per history length, for A/B runs of two builds on a VM whose speed drifts by tens of per
 * cent within a minute: each run is short (~20 s), takes the median of many short rounds with the lengths interleaved,
 * and two builds' runs alternate (BENCHMARKS.md, "Session 46"). JMH's forks run a minute per shape, long enough for the
 * drift to swamp a 10 % change.
 *
 * <pre>
 * java -cp model-runtime-bench/target/model-runtime-benchmarks.jar org.genrec.runtime.bench.EncodeCallMedians BUNDLE [ROUNDS]
 * </pre>
 */
public final class EncodeCallMedians {

    private static final int[] HISTORIES = { 10, 50, 100, 200 };
    private static final int CALLS_PER_ROUND = 100;

    private EncodeCallMedians() {}

    public static void main(String[] args) {
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        try (GenrecModel model = GenrecModel.load(Path.of(args[0]), ExecutionProvider.CPU)) {
            model.warmUp();
            Random random = new Random(7);
            GenrecRequest[] requests = Arrays.stream(HISTORIES).mapToObj(n -> BenchHistories.request(model, n, random))
                .toArray(GenrecRequest[]::new);
            for (int call = 0; call < 3000; call++) { // the JIT's last tier
                model.encode(requests[call % requests.length]);
            }
            double[][] medians = new double[HISTORIES.length][rounds];
            double[] times = new double[CALLS_PER_ROUND];
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < HISTORIES.length; i++) {
                    for (int c = 0; c < CALLS_PER_ROUND; c++) {
                        long t0 = System.nanoTime();
                        model.encode(requests[i]);
                        times[c] = (System.nanoTime() - t0) / 1e3;
                    }
                    medians[i][r] = median(times);
                }
            }
            StringBuilder line = new StringBuilder("encode call, median of " + rounds + " round medians (us):");
            for (int i = 0; i < HISTORIES.length; i++) {
                line.append(String.format("  history %d %.1f", HISTORIES[i], median(medians[i])));
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
