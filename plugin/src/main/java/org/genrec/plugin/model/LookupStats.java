package org.genrec.plugin.model;

import org.genrec.runtime.Distribution;

import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code user} lookups made for one loaded model on this node: how many, how many failed, how long each took (the
 * events search, from the coordinating node's request to its response) and how many events each read. A lookup is a
 * search of its own inside the request, and its cost grows with the events it reads (BENCHMARKS.md, "what the user
 * lookup costs"), so the models API shows it beside the model's own calls.
 */
public final class LookupStats {

    private static final long MAX_MICROS = 60_000_000L;
    private static final long MAX_EVENTS = 1_000_000L;

    private final LongAdder lookups = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final Distribution micros = new Distribution(MAX_MICROS);
    private final Distribution events = new Distribution(MAX_EVENTS);

    /**
     * Lookups since the model was loaded, and of those the ones that failed (the events search failed, or its events
     * could not be read: the request got that error); time (µs) and events read of the others.
     */
    public record Snapshot(long lookups, long failed, Distribution.Summary micros, Distribution.Summary events) {}

    public void record(long nanos, int eventsRead) {
        lookups.increment();
        micros.record(nanos / 1_000);
        events.record(eventsRead);
    }

    public void recordFailure() {
        lookups.increment();
        failed.increment();
    }

    public Snapshot snapshot() {
        return new Snapshot(lookups.sum(), failed.sum(), micros.summary(), events.summary());
    }
}
