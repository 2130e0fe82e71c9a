package org.genrec.runtime;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.atomic.LongAdder;

/**
 * What a model has done since it was loaded: calls, errors, latency and batch-size distributions.
 * Recording is lock-free (HdrHistogram recorders); snapshots fold the intervals into totals.
 */
public final class ModelStats {

    private static final long MAX_MICROS = 60_000_000L;
    private static final long MAX_BATCH = 10_000L;

    private final LongAdder encodeCalls = new LongAdder();
    private final LongAdder scoreCalls = new LongAdder();
    private final LongAdder candidatesScored = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final Recorder encodeMicros = new Recorder(MAX_MICROS, 2);
    private final Recorder scoreMicros = new Recorder(MAX_MICROS, 2);
    private final Recorder candidatesPerCall = new Recorder(1_000_000L, 2);
    private final Histogram encodeTotal = new Histogram(MAX_MICROS, 2);
    private final Histogram scoreTotal = new Histogram(MAX_MICROS, 2);
    private final Histogram candidatesTotal = new Histogram(1_000_000L, 2);
    /** Requests per encode-graph call: 1 without batching. */
    private final Recorder requestsPerEncode = new Recorder(MAX_BATCH, 2);
    private final Histogram requestsPerEncodeTotal = new Histogram(MAX_BATCH, 2);
    /** Measured time / FLOP lower bound, in hundredths (150 = 1.5x the bound). */
    private final Recorder encodeBound = new Recorder(1_000_000L, 2);
    private final Recorder scoreBound = new Recorder(1_000_000L, 2);
    private final Histogram encodeBoundTotal = new Histogram(1_000_000L, 2);
    private final Histogram scoreBoundTotal = new Histogram(1_000_000L, 2);

    void recordEncode(long nanos, double boundNanos, int requests) {
        encodeCalls.increment();
        requestsPerEncode.recordValue(Math.min(MAX_BATCH, Math.max(1, requests)));
        encodeMicros.recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1_000)));
        recordBound(encodeBound, nanos, boundNanos);
    }

    private static void recordBound(Recorder recorder, long nanos, double boundNanos) {
        if (boundNanos > 0) {
            recorder.recordValue(Math.min(1_000_000L, Math.max(1, Math.round(100 * nanos / boundNanos))));
        }
    }

    void recordScore(long nanos, int candidates, double boundNanos) {
        scoreCalls.increment();
        candidatesScored.add(candidates);
        scoreMicros.recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1_000)));
        candidatesPerCall.recordValue(Math.min(1_000_000L, Math.max(1, candidates)));
        recordBound(scoreBound, nanos, boundNanos);
    }

    void recordError() {
        errors.increment();
    }

    /** Forgets everything recorded so far (after warm-up). */
    synchronized void reset() {
        encodeCalls.reset();
        scoreCalls.reset();
        candidatesScored.reset();
        errors.reset();
        encodeMicros.reset();
        scoreMicros.reset();
        candidatesPerCall.reset();
        encodeBound.reset();
        scoreBound.reset();
        encodeBoundTotal.reset();
        scoreBoundTotal.reset();
        encodeTotal.reset();
        scoreTotal.reset();
        candidatesTotal.reset();
        requestsPerEncode.reset();
        requestsPerEncodeTotal.reset();
    }

    public record Snapshot(
        long encodeCalls,
        long scoreCalls,
        long candidatesScored,
        long errors,
        double encodeP50Micros,
        double encodeP99Micros,
        double scoreP50Micros,
        double scoreP99Micros,
        double candidatesP50,
        double candidatesMax,
        double requestsPerEncodeP50,
        double requestsPerEncodeMax,
        double encodeBoundRatioP50,
        double scoreBoundRatioP50,
        double gemmGflops
    ) {}

    private volatile double gemmGflops;

    void gemmGflops(double rate) {
        this.gemmGflops = rate;
    }

    /**
     * Percentiles in microseconds; counts since load; {@code encodeCalls} counts encode-graph calls
     * (with batching one call serves {@code requestsPerEncode*} requests). {@code *BoundRatioP50}: median of measured time
     * over the call's FLOP lower bound at this machine's GEMM rate ({@code gemmGflops}); 0 when unknown.
     */
    public synchronized Snapshot snapshot() {
        encodeTotal.add(encodeMicros.getIntervalHistogram());
        scoreTotal.add(scoreMicros.getIntervalHistogram());
        candidatesTotal.add(candidatesPerCall.getIntervalHistogram());
        requestsPerEncodeTotal.add(requestsPerEncode.getIntervalHistogram());
        encodeBoundTotal.add(encodeBound.getIntervalHistogram());
        scoreBoundTotal.add(scoreBound.getIntervalHistogram());
        return new Snapshot(
            encodeCalls.sum(),
            scoreCalls.sum(),
            candidatesScored.sum(),
            errors.sum(),
            encodeTotal.getValueAtPercentile(50),
            encodeTotal.getValueAtPercentile(99),
            scoreTotal.getValueAtPercentile(50),
            scoreTotal.getValueAtPercentile(99),
            candidatesTotal.getValueAtPercentile(50),
            candidatesTotal.getMaxValue(),
            requestsPerEncodeTotal.getValueAtPercentile(50),
            requestsPerEncodeTotal.getMaxValue(),
            encodeBoundTotal.getValueAtPercentile(50) / 100.0,
            scoreBoundTotal.getValueAtPercentile(50) / 100.0,
            gemmGflops
        );
    }
}
