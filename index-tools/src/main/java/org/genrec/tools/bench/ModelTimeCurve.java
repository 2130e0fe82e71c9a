package org.genrec.tools.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.perf.FlopCount;
import org.genrec.runtime.perf.GemmRate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The model alone, in this process: median time of one score call per number of candidates,
 * against the cost model's FLOP count, to show the growth is linear in K (no K^2 term, no
 * per-candidate call).
 */
final class ModelTimeCurve {

    private static final int WARM_UP_CALLS = 200;
    private static final long WARM_UP_NANOS = 500_000_000L;

    record Point(int candidates, double medianMillis, double megaFlops, double timeOverFlopBound) {}

    private ModelTimeCurve() {}

    static List<Point> measure(GenrecModel model, int history, int[] candidateCounts, int repeats) {
        var items = model.bundle().items();
        Random random = new Random(1);
        List<HistoryEvent> events = new ArrayList<>();
        for (int i = 0; i < history; i++) {
            events.add(new HistoryEvent(items.items().get(random.nextInt(items.size())).itemId(), model.manifest().actions().get(0), 1000L + i,
                null));
        }
        UserEncoding user = model.encode(new GenrecRequest(events, null, 1000L + history));
        List<Point> points = new ArrayList<>();
        for (int k : candidateCounts) {
            long[] candidates = new long[k];
            for (int i = 0; i < k; i++) {
                candidates[i] = 1 + random.nextInt(items.size());
            }
            warmUp(model, user, candidates);
            double[] times = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                model.score(user, candidates);
                times[r] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(times);
            // The cache holds at most max_history events: count what the graph really computes.
            double flops = FlopCount.score(model.manifest().architecture(), Math.min(history, model.manifest().maxHistory()), k);
            points.add(new Point(k, times[repeats / 2], flops / 1e6, times[repeats / 2] * 1e6 / (flops / GemmRate.gflops())));
        }
        return points;
    }

    /**
     * Warm this shape and the Java side of a call until the JIT has compiled it: with 5 calls per
     * shape, K = 100 measured 0.46 ms where a warm node's calls take 0.34 ms (BENCHMARKS.md).
     */
    private static void warmUp(GenrecModel model, UserEncoding user, long[] candidates) {
        long until = System.nanoTime() + WARM_UP_NANOS;
        for (int calls = 0; calls < WARM_UP_CALLS || System.nanoTime() < until; calls++) {
            model.score(user, candidates);
        }
    }

}
