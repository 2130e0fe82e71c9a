package org.genrec.runtime.batching;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ShapeBucketsTest {

    @Test
    void roundsUpToAPowerOfTwoCappedAtTheAxisMaximum() {
        assertEquals(1, ShapeBuckets.bucket(1, 200));
        assertEquals(4, ShapeBuckets.bucket(3, 200));
        assertEquals(4, ShapeBuckets.bucket(4, 200));
        assertEquals(128, ShapeBuckets.bucket(65, 200));
        assertEquals(200, ShapeBuckets.bucket(129, 200), "256 is past the cap");
        assertEquals(200, ShapeBuckets.bucket(200, 200));
        assertThrows(IllegalArgumentException.class, () -> ShapeBuckets.bucket(0, 200));
        assertThrows(IllegalArgumentException.class, () -> ShapeBuckets.bucket(201, 200));
    }

    @Test
    void listsEveryBucketOnce() {
        assertEquals(List.of(1, 2, 4, 8, 16, 32, 64, 128, 200), ShapeBuckets.all(200));
        assertEquals(List.of(1, 2, 4, 8, 16, 32), ShapeBuckets.all(32));
        assertEquals(List.of(1), ShapeBuckets.all(1));
    }
}
