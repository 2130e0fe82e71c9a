package org.genrec.tools.bench;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The p99 interval on samples whose order statistics are known: the values 1..n milliseconds. */
class QuantileIntervalTest {

    private static Histogram millis(int n) {
        Histogram h = new Histogram(60_000_000_000L, 3);
        for (int v = 1; v <= n; v++) {
            h.recordValue(v * 1_000_000L);
        }
        return h;
    }

    @ParameterizedTest(name = "n = {0}: ranks {1}..{2}")
    @CsvSource({
        // n q = 693, 1.96 sqrt(6.93) = 5.16: a short cell's p99 lies between its 14th- and 2nd-slowest requests
        "700, 687, 699, 0.5",
        // n q = 9,900, 1.96 sqrt(99) = 19.5: more requests, a narrower interval in ranks (values within 0.1 % precision)
        "10000, 9880, 9920, 10",
        // n q = 49.5 +- 1.38: the upper rank is past the last value, so the interval ends at the maximum
        "50, 48, 50, 0.5"})
    void theIntervalRunsBetweenTheOrderStatisticsAroundNq(int n, double lowRank, double highRank, double precision) {
        QuantileInterval interval = QuantileInterval.of(millis(n), 0.99);
        assertEquals(lowRank, interval.lowMillis(), precision);
        assertEquals(highRank, interval.highMillis(), precision);
    }

    @Test
    void noRequestsNoInterval() {
        assertEquals(new QuantileInterval(0, 0), QuantileInterval.of(millis(0), 0.99));
    }
}
