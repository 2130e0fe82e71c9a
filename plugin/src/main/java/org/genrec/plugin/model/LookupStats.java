package org.genrec.plugin.model;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code user} lookups made for one loaded model on this node: how many, how long each took (the events search, from the
 * coordinating node's request to its response) and how many events each read. A lookup is a search of its own inside the
 * request, and its cost grows with the events it reads (BENCHMARKS.md, "what the user lookup costs"), so the models API
 * shows it beside the model's own calls. Recording is lock-free; snapshots fold the intervals into totals.
 */
public final class LookupStats {

    private static final long MAX_MICROS = 60_000_000L;
    private static final long MAX_EVENTS = 1_000_000L;

    private final LongAdder lookups = new LongAdder();
    private final Recorder micros = new Recorder(MAX_MICROS, 2);
    private final Recorder events = new Recorder(MAX_EVENTS, 2);
    private final Histogram microsTotal = new Histogram(MAX_MICROS, 2);
    private final Histogram eventsTotal = new Histogram(MAX_EVENTS, 2);

    /** Lookups since the model was loaded; percentiles of their time (µs) and of the events each read (0 when none). */
    public record Snapshot(long lookups, double p50Micros, double p99Micros, double eventsP50, double eventsMax) {}

    public void record(long nanos, int eventsRead) {
        lookups.increment();
        micros.recordValue(Math.min(MAX_MICROS, Math.max(1, nanos / 1_000)));
        events.recordValue(Math.min(MAX_EVENTS, Math.max(0, eventsRead)));
    }

    public synchronized Snapshot snapshot() {
        microsTotal.add(micros.getIntervalHistogram());
        eventsTotal.add(events.getIntervalHistogram());
        return new Snapshot(lookups.sum(), microsTotal.getValueAtPercentile(50), microsTotal.getValueAtPercentile(99),
            eventsTotal.getValueAtPercentile(50), eventsTotal.getMaxValue());
    }
}
