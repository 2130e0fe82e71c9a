package org.genrec.tools.bench;

import org.genrec.runtime.bundle.CoOccurrence;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * What the served order's co-occurrence term costs one ranked request, in this process: its context items' partners
 * summed once ({@link CoOccurrence#priorFor}), then one lookup per hit of the window. No model call: the point is to show
 * it is small beside the encode and score calls (microseconds against milliseconds).
 */
final class CoOccurrenceCost {

    static final int REQUESTS = 1000;
    private static final int WARM_UP_ROUNDS = 20;
    static final int TIMED_ROUNDS = 10;

    /** @param contextItems items the term reads of the request (its latest second, or its last events); @param medianMicros per request, over the timed rounds */
    record Point(int contextItems, int window, double medianMicros) {}

    private CoOccurrenceCost() {}

    static List<Point> measure(CoOccurrence co, int items, int[] contextSizes, int window) {
        Random random = new Random(1);
        List<Point> out = new ArrayList<>();
        for (int size : contextSizes) {
            int[][] contexts = new int[REQUESTS][];
            long[][] hits = new long[REQUESTS][window];
            for (int r = 0; r < REQUESTS; r++) {
                contexts[r] = random.ints(size, 1, items + 1).distinct().sorted().toArray();
                for (int h = 0; h < window; h++) {
                    hits[r][h] = 1 + random.nextInt(items);
                }
            }
            double[] roundMicros = new double[TIMED_ROUNDS];
            double sink = 0;
            for (int round = 0; round < WARM_UP_ROUNDS + TIMED_ROUNDS; round++) {
                long start = System.nanoTime();
                for (int r = 0; r < REQUESTS; r++) {
                    CoOccurrence.Prior prior = co.priorFor(contexts[r]);
                    for (long hit : hits[r]) {
                        sink += prior.of(hit);
                    }
                }
                if (round >= WARM_UP_ROUNDS) {
                    roundMicros[round - WARM_UP_ROUNDS] = (System.nanoTime() - start) / 1e3 / REQUESTS;
                }
            }
            if (sink < 0) { // never: keeps the loop from being optimised away
                throw new IllegalStateException();
            }
            Arrays.sort(roundMicros);
            out.add(new Point(size, window, roundMicros[TIMED_ROUNDS / 2]));
        }
        return out;
    }
}
