package org.genrec.tools.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.perf.FlopCount;
import org.genrec.runtime.perf.GemmProbe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The model alone, in this process: median time of one score call per number of candidates, and of one encode call per
 * history length, against the cost model's FLOP count. The score curve shows the growth is linear in K (no K^2 term, no
 * per-candidate call); both give each call's time over its FLOP bound. The FLOP bound of each round of calls uses the GEMM
 * rate measured right before it: on a shared VM the machine's speed drifts by more than the differences measured here,
 * and a rate measured once lets a slow spell on either side move the ratio by 20 % or more.
 */
final class ModelTimeCurve {

    private static final int WARM_UP_CALLS = 200;
    private static final long WARM_UP_NANOS = 3_000_000_000L;

    private static final int PROBE_RUNS = 3;

    /**
     * @param size              the shape: candidates of a score call, history events of an encode call
     * @param medianMillis      over all calls of all rounds
     * @param timeOverFlopBound the median over rounds of (the round's median call / its FLOP bound)
     * @param gemmGflops        the median of the rounds' GEMM rates
     */
    record Point(int size, double medianMillis, double megaFlops, double timeOverFlopBound, double gemmGflops) {}

    private ModelTimeCurve() {}

    /** Score calls over one encoded history of {@code history} events, per number of candidates. */
    static List<Point> score(GenrecModel model, int history, int[] candidateCounts, int rounds, int callsPerRound) {
        Random random = new Random(1);
        UserEncoding user = model.encode(request(model, history, random));
        List<Point> points = new ArrayList<>();
        try (GemmProbe probe = new GemmProbe()) {
            for (int k : candidateCounts) {
                long[] candidates = new long[k];
                for (int i = 0; i < k; i++) {
                    candidates[i] = 1 + random.nextInt(model.bundle().items().size());
                }
                // The cache holds at most max_history events: count what the graph really computes.
                double flops = FlopCount.score(model.manifest().architecture(), Math.min(history, model.manifest().maxHistory()), k);
                points.add(measure(k, flops, () -> model.score(user, candidates), probe, rounds, callsPerRound));
            }
        }
        return points;
    }

    /** Encode calls of one request (no query), per history length. */
    static List<Point> encode(GenrecModel model, int[] historyLengths, int rounds, int callsPerRound) {
        Random random = new Random(1);
        List<Point> points = new ArrayList<>();
        try (GemmProbe probe = new GemmProbe()) {
            for (int history : historyLengths) {
                GenrecRequest request = request(model, history, random);
                double flops = FlopCount.encode(model.manifest().architecture(), Math.min(history, model.manifest().maxHistory()));
                points.add(measure(history, flops, () -> model.encode(request), probe, rounds, callsPerRound));
            }
        }
        return points;
    }

    /** {@code history} events of random trained items, a minute apart, and the request a minute after the last. */
    private static GenrecRequest request(GenrecModel model, int history, Random random) {
        var items = model.bundle().items();
        List<HistoryEvent> events = new ArrayList<>();
        for (int i = 0; i < history; i++) {
            events.add(new HistoryEvent(items.items().get(random.nextInt(items.size())).itemId(), model.manifest().actions().get(0),
                1000L + 60L * i, null));
        }
        return new GenrecRequest(events, null, 1000L + 60L * history);
    }

    private static Point measure(int size, double flops, Runnable call, GemmProbe probe, int rounds, int callsPerRound) {
        warmUp(call);
        double[] all = new double[rounds * callsPerRound];
        double[] ratios = new double[rounds];
        double[] rates = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            rates[r] = probe.gflops(PROBE_RUNS);
            call.run(); // unmeasured: the probe's 3 MB of operands evicted the call's from the caches
            double[] times = new double[callsPerRound];
            for (int c = 0; c < callsPerRound; c++) {
                long t0 = System.nanoTime();
                call.run();
                times[c] = (System.nanoTime() - t0) / 1e6;
            }
            System.arraycopy(times, 0, all, r * callsPerRound, callsPerRound);
            ratios[r] = median(times) * 1e6 / (flops / rates[r]);
        }
        return new Point(size, median(all), flops / 1e6, median(ratios), median(rates));
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * Warm this shape and the Java side of a call until the JIT has compiled it: with 5 calls per
     * shape, K = 100 measured 0.46 ms where a warm node's calls take 0.34 ms (BENCHMARKS.md). Half a
     * second (~1,700 calls at K = 100) was still too short: the first K measured ran ~15 % slower than
     * the same K measured again seconds later, as a busy node's calls run once the JIT's last tier
     * has compiled them (thousands of calls); 3 seconds closes that gap (BENCHMARKS.md, "A longer
     * warm-up for the model-only curve").
     */
    private static void warmUp(Runnable call) {
        long until = System.nanoTime() + WARM_UP_NANOS;
        for (int calls = 0; calls < WARM_UP_CALLS || System.nanoTime() < until; calls++) {
            call.run();
        }
    }

}
