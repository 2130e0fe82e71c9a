package org.genrec.plugin.ingest;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * This node's ingestion order as numbers: each call returns more than every earlier one, and at least the current time in
 * microseconds, so that numbers from later ingestion stay above earlier ones across node restarts and, up to the nodes' clock
 * skew, across nodes. Microseconds leave room for a thousand events per millisecond before the counter runs ahead of the
 * clock, which is harmless: it only has to increase.
 */
public final class IngestionSequence {

    private final LongSupplier clockMicros;
    private final AtomicLong last = new AtomicLong();

    IngestionSequence(LongSupplier clockMicros) {
        this.clockMicros = clockMicros;
    }

    /** The sequence of this node, on its wall clock. */
    public static IngestionSequence onWallClock() {
        return new IngestionSequence(() -> Math.multiplyExact(System.currentTimeMillis(), 1000L));
    }

    public long next() {
        long now = clockMicros.getAsLong();
        return last.accumulateAndGet(now, (previous, clock) -> Math.max(previous + 1, clock));
    }
}
