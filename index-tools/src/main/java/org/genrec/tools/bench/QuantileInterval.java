package org.genrec.tools.bench;

import org.HdrHistogram.Histogram;

/**
 * How far a measured percentile can be trusted: a distribution-free 95 % confidence interval for a
 * quantile of the latency distribution, from the n recorded values alone. The number of values
 * below the true q-quantile is binomial(n, q), so the order statistics whose ranks lie
 * 1.96 * sqrt(n q (1 - q)) either side of n q bracket it (normal approximation).
 *
 * <p>Why: a p99 is decided by a handful of requests. At one client a 5-second cell holds ~700
 * requests, so its p99 is the 7th slowest and its interval runs from about the 14th slowest to the
 * 2nd slowest; two runs of the same cell measured 29.07 and 16.25 ms (BENCHMARKS.md, session 16).
 * Printing the interval beside the figure says which differences a run can resolve.
 *
 * @param lowMillis  the value at the lower rank
 * @param highMillis the value at the upper rank (the maximum when that rank is past the last value:
 *                   the sample is too small to bound the quantile from above)
 */
public record QuantileInterval(double lowMillis, double highMillis) {

    private static final double Z_95 = 1.959964;

    /** The 95 % interval for {@code quantile} (0..1) of the nanosecond values in {@code histogram}. */
    static QuantileInterval of(Histogram histogram, double quantile) {
        long n = histogram.getTotalCount();
        if (n == 0) {
            return new QuantileInterval(0, 0);
        }
        double centre = n * quantile;
        double spread = Z_95 * Math.sqrt(n * quantile * (1 - quantile));
        long low = Math.max(1, (long) Math.floor(centre - spread));
        long high = Math.min(n, (long) Math.ceil(centre + spread));
        return new QuantileInterval(valueAtRank(histogram, low, n) / 1e6, valueAtRank(histogram, high, n) / 1e6);
    }

    /** The rank-th smallest recorded value (1-based), within the histogram's precision. */
    private static long valueAtRank(Histogram histogram, long rank, long n) {
        // HdrHistogram returns the smallest value with at least ceil(percentile / 100 * n) values at or below it;
        // aim half a rank low so that floating point never rounds up to the next rank.
        return histogram.getValueAtPercentile(100.0 * (rank - 0.5) / n);
    }
}
