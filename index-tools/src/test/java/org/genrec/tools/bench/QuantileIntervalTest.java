package org.genrec.tools.bench;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

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

    @Test
    void aShortCellsP99RestsOnItsLastFewRequests() {
        // n = 700: n q = 693, 1.96 sqrt(6.93) = 5.16, so ranks 687..699 (the 14th to the 2nd slowest)
        QuantileInterval interval = QuantileInterval.of(millis(700), 0.99);
        assertEquals(687, interval.lowMillis(), 0.5);
        assertEquals(699, interval.highMillis(), 0.5);
    }

    @Test
    void moreRequestsNarrowTheIntervalInRanks() {
        // n = 10,000: n q = 9,900, 1.96 sqrt(99) = 19.5, so ranks 9,880..9,920 (the values are within 0.1 % precision)
        QuantileInterval interval = QuantileInterval.of(millis(10_000), 0.99);
        assertEquals(9_880, interval.lowMillis(), 10);
        assertEquals(9_920, interval.highMillis(), 10);
    }

    @Test
    void tooFewRequestsReachTheMaximum() {
        // n = 50: n q = 49.5 +- 1.38: the upper rank is past the last value, so the interval ends at the maximum
        QuantileInterval interval = QuantileInterval.of(millis(50), 0.99);
        assertEquals(48, interval.lowMillis(), 0.5);
        assertEquals(50, interval.highMillis(), 0.5);
    }

    @Test
    void noRequestsNoInterval() {
        assertEquals(new QuantileInterval(0, 0), QuantileInterval.of(millis(0), 0.99));
    }
}
