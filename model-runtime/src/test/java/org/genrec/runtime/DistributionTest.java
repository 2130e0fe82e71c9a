package org.genrec.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DistributionTest {

    @Test
    void summariesCoverEverythingRecordedSinceCreationNotOnlySinceTheLastSummary() {
        Distribution d = new Distribution(1_000);
        assertEquals(new Distribution.Summary(0, 0, 0), d.summary(), "nothing recorded yet");
        for (int v = 1; v <= 99; v++) {
            d.record(v);
        }
        assertEquals(new Distribution.Summary(50, 99, 99), d.summary());
        d.record(100);
        // Had the second summary read only the new value, every figure would be 100.
        assertEquals(new Distribution.Summary(50, 99, 100), d.summary());
    }

    @Test
    void valuesOutsideTheRangeAreClampedAndResetForgetsEverything() {
        Distribution d = new Distribution(200);  // below 256, where two significant digits hold every integer exactly
        d.record(-5);
        d.record(5_000_000);
        assertEquals(new Distribution.Summary(0, 200, 200), d.summary());
        d.reset();
        assertEquals(new Distribution.Summary(0, 0, 0), d.summary());
    }

    @Test
    void aSummaryConvertsUnits() {
        assertEquals(new Distribution.Summary(1.5, 2, 3), new Distribution.Summary(150, 200, 300).times(0.01));
    }
}
