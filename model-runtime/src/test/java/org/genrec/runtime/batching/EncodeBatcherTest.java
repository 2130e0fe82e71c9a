package org.genrec.runtime.batching;

import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.EncodedRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The batcher's queueing alone, with a stand-in batch encoder that records the batches it gets
 * (the real model is in {@link BatchedEncodeTest}): results go back to the right caller, batches
 * never exceed max_batch, a failed batch fails its callers only, close fails what is queued.
 */
class EncodeBatcherTest {

    /** A request whose only content is its id, carried in the ages array. */
    private static EncodedRequest request(long id) {
        return new EncodedRequest(1, 1, new long[] { 1 }, new long[] { 1 }, new long[] { id }, new long[] { 0 }, new long[] { 0 }, 0, 0, new long[0],
            new long[] { 0 }, new int[0]);
    }

    /** An encoding that names its request: embedding [id]. */
    private static UserEncoding answer(EncodedRequest r) {
        return new UserEncoding(new float[] { r.historyAgeSeconds()[0] }, new long[] { 1, 1, 1, 1, 1 }, new float[2 * 3], new float[2],
            new float[1], 0, new int[0]); // one position + the own-key slot; keys one column wide + 2
    }

    @Test
    void concurrentCallersShareBatchesAndEachGetsItsOwnResult() throws Exception {
        List<Integer> sizes = Collections.synchronizedList(new ArrayList<>());
        int callers = 24;
        int maxBatch = 8;
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try (EncodeBatcher batcher = new EncodeBatcher("test", batch -> {
            sizes.add(batch.size());
            return batch.stream().map(EncodeBatcherTest::answer).toList();
        }, maxBatch, 200_000)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Float>> results = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                long id = i;
                results.add(pool.submit(() -> {
                    start.await();
                    return batcher.encode(request(id)).embedding()[0];
                }));
            }
            start.countDown();
            for (int i = 0; i < callers; i++) {
                assertEquals(i, results.get(i).get(10, TimeUnit.SECONDS), "caller " + i + " got another request's result");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(callers, sizes.stream().mapToInt(Integer::intValue).sum());
        assertTrue(sizes.stream().allMatch(s -> s <= maxBatch), "batches above max_batch: " + sizes);
        assertTrue(sizes.stream().anyMatch(s -> s > 1), "24 simultaneous callers with a 200 ms window never shared a batch: " + sizes);
    }

    @Test
    void aLoneRequestRunsAfterTheDelayWithoutWaitingForAFullBatch() {
        try (EncodeBatcher batcher = new EncodeBatcher("test", batch -> batch.stream().map(EncodeBatcherTest::answer).toList(), 32, 1_000)) {
            long start = System.nanoTime();
            assertEquals(7f, batcher.encode(request(7)).embedding()[0]);
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "a lone request waited for a full batch");
        }
    }

    @Test
    void aFailedBatchFailsItsCallersAndTheNextBatchStillRuns() {
        AtomicBoolean failNext = new AtomicBoolean(true);
        IllegalStateException boom = new IllegalStateException("graph failed");
        try (EncodeBatcher batcher = new EncodeBatcher("test", batch -> {
            if (failNext.getAndSet(false)) {
                throw boom;
            }
            return batch.stream().map(EncodeBatcherTest::answer).toList();
        }, 4, 0)) {
            assertSame(boom, assertThrows(IllegalStateException.class, () -> batcher.encode(request(1))));
            assertEquals(2f, batcher.encode(request(2)).embedding()[0]);
        }
    }

    @Test
    void closedBatcherRefusesAndReleasesWaiters() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        EncodeBatcher batcher = new EncodeBatcher("test", batch -> {
            running.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return batch.stream().map(EncodeBatcherTest::answer).toList();
        }, 1, 0);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Float> inFlight = pool.submit(() -> batcher.encode(request(1)).embedding()[0]);
            assertTrue(running.await(10, TimeUnit.SECONDS));
            Future<Float> queued = pool.submit(() -> batcher.encode(request(2)).embedding()[0]);
            Thread.sleep(100); // let it enqueue behind the batch in flight
            Thread closer = new Thread(batcher::close);
            closer.start();
            release.countDown();
            closer.join(10_000);
            assertEquals(1f, inFlight.get(10, TimeUnit.SECONDS), "the batch in flight finishes");
            try {
                queued.get(10, TimeUnit.SECONDS); // it may have made the last batch, or been refused: never left hanging
            } catch (java.util.concurrent.ExecutionException e) {
                assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().toString());
            }
            assertThrows(IllegalStateException.class, () -> batcher.encode(request(3)));
        } finally {
            pool.shutdownNow();
        }
    }
}
