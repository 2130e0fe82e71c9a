package org.genrec.runtime;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a model has done since it was loaded: calls, errors, latency and batch-size distributions.
 * Recording is lock-free; snapshots fold the intervals into totals ({@link Distribution}).
 */
public final class ModelStats {

    private static final long MAX_MICROS = 60_000_000L;
    private static final long MAX_CANDIDATES = 1_000_000L;
    private static final long MAX_BATCH = 10_000L;
    /** The bound ratios are recorded in hundredths (150 = 1.5x the bound): HdrHistogram records integers. */
    private static final long MAX_BOUND_HUNDREDTHS = 1_000_000L;

    private final LongAdder encodeCalls = new LongAdder();
    private final LongAdder scoreCalls = new LongAdder();
    private final LongAdder candidatesScored = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final Distribution encodeMicros = new Distribution(MAX_MICROS);
    private final Distribution scoreMicros = new Distribution(MAX_MICROS);
    private final Distribution candidatesPerCall = new Distribution(MAX_CANDIDATES);
    /** Requests per encode-graph call: 1 without batching. */
    private final Distribution requestsPerEncode = new Distribution(MAX_BATCH);
    /** Measured time / FLOP lower bound, in hundredths. */
    private final Distribution encodeBound = new Distribution(MAX_BOUND_HUNDREDTHS);
    private final Distribution scoreBound = new Distribution(MAX_BOUND_HUNDREDTHS);
    private volatile double gemmGflops;

    void recordEncode(long nanos, double boundNanos, int requests) {
        encodeCalls.increment();
        requestsPerEncode.record(requests);
        encodeMicros.record(nanos / 1_000);
        recordBound(encodeBound, nanos, boundNanos);
    }

    void recordScore(long nanos, int candidates, double boundNanos) {
        scoreCalls.increment();
        candidatesScored.add(candidates);
        scoreMicros.record(nanos / 1_000);
        candidatesPerCall.record(candidates);
        recordBound(scoreBound, nanos, boundNanos);
    }

    private static void recordBound(Distribution bound, long nanos, double boundNanos) {
        if (boundNanos > 0) {
            bound.record(Math.round(100 * nanos / boundNanos));
        }
    }

    void recordError() {
        errors.increment();
    }

    void gemmGflops(double rate) {
        this.gemmGflops = rate;
    }

    /** Forgets everything recorded so far (after warm-up). */
    synchronized void reset() {
        encodeCalls.reset();
        scoreCalls.reset();
        candidatesScored.reset();
        errors.reset();
        for (Distribution d : new Distribution[] { encodeMicros, scoreMicros, candidatesPerCall, requestsPerEncode, encodeBound, scoreBound }) {
            d.reset();
        }
    }

    /**
     * Counts since load; {@code encodeCalls} counts encode-graph calls (with batching one call serves
     * {@code requestsPerEncode} requests). Times in microseconds. {@code *BoundRatio}: measured time over the call's FLOP
     * lower bound at this machine's GEMM rate ({@code gemmGflops}); 0 when unknown.
     */
    public record Snapshot(
        long encodeCalls,
        long scoreCalls,
        long candidatesScored,
        long errors,
        Distribution.Summary encodeMicros,
        Distribution.Summary scoreMicros,
        Distribution.Summary candidatesPerCall,
        Distribution.Summary requestsPerEncode,
        Distribution.Summary encodeBoundRatio,
        Distribution.Summary scoreBoundRatio,
        double gemmGflops
    ) {}

    public synchronized Snapshot snapshot() {
        return new Snapshot(
            encodeCalls.sum(),
            scoreCalls.sum(),
            candidatesScored.sum(),
            errors.sum(),
            encodeMicros.summary(),
            scoreMicros.summary(),
            candidatesPerCall.summary(),
            requestsPerEncode.summary(),
            encodeBound.summary().times(0.01),
            scoreBound.summary().times(0.01),
            gemmGflops
        );
    }
}
