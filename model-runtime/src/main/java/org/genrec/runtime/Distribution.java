package org.genrec.runtime;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * One measured quantity (a call's time, candidates per call, ...) recorded from many threads and summarized on demand.
 * Recording is lock-free: an HdrHistogram {@link Recorder} takes the values, and each summary folds what it holds
 * into a running total, so a summary covers everything since creation (or {@link #reset()}) at two significant digits.
 */
public final class Distribution {

    /** The median, the 99th percentile and the largest value; all 0 before anything is recorded. */
    public record Summary(double p50, double p99, double max) {

        /** The same summary in other units (e.g. hundredths recorded, ratios shown). */
        public Summary times(double factor) {
            return new Summary(p50 * factor, p99 * factor, max * factor);
        }
    }

    private final long highest;
    private final Recorder recent;
    private final Histogram total;

    /** Values above {@code highest} are recorded as {@code highest}, values below 0 as 0. */
    public Distribution(long highest) {
        this.highest = highest;
        this.recent = new Recorder(highest, 2);
        this.total = new Histogram(highest, 2);
    }

    public void record(long value) {
        recent.recordValue(Math.min(highest, Math.max(0, value)));
    }

    public synchronized Summary summary() {
        total.add(recent.getIntervalHistogram());
        return new Summary(total.getValueAtPercentile(50), total.getValueAtPercentile(99), total.getMaxValue());
    }

    /** Forgets everything recorded so far. */
    public synchronized void reset() {
        recent.reset();
        total.reset();
    }
}
