package org.genrec.runtime.batching;

import org.genrec.runtime.CacheLayout;
import org.genrec.runtime.FixtureBundle;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.InputTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Batching is invisible in the results: with the real fixture model, requests of different
 * lengths encoded together (left-padded to a shared, bucketed length, padded rows added) give
 * each caller what it gets alone, cache shapes included, and so the same ranking scores; so do requests with an item
 * added after training in their history (its text a wider input than the others'), and, with a model that reads the
 * request's date, requests made in different weeks (each row's own request_time).
 * Batching runs here on CPU with mode ON; on a GPU (AUTO) the code path is the same.
 */
class BatchedEncodeTest {

    private static final float TOLERANCE = 1e-5f;
    /** The synthetic fixtures' log starts about here; requests are spread over the weeks after it (the time buckets). */
    private static final long LOG_START = 1_700_000_000L;

    static Stream<Path> bundles() {
        return Stream.of(FixtureBundle.path(), FixtureBundle.absoluteTimePath());
    }

    private static List<GenrecRequest> requests(GenrecModel model) {
        var items = model.bundle().items().items();
        List<GenrecRequest> out = new ArrayList<>();
        for (int length : new int[] { 0, 1, 3, 7, 17, 33, 50 }) {
            for (String query : new String[] { null, "blue shoes" }) {
                List<HistoryEvent> history = new ArrayList<>();
                for (int i = 0; i < length; i++) {
                    String action = model.manifest().actions().get(i % model.manifest().actions().size());
                    var item = items.get((i * 7 + length) % items.size());
                    long time = LOG_START + 86_400L * 3 * length + 1_000L * i;
                    history.add(new HistoryEvent(item.itemId(), action, time, i % 3 == 0 ? "red" : null));
                    if (i == 1 && query != null) { // an item added after training, read by its text: rows of both widths
                        history.add(new HistoryEvent("added-later", action, time, null, new ItemText(item.title(), item.categories())));
                    }
                }
                out.add(new GenrecRequest(history, query, LOG_START + 86_400L * 3 * length + 1_000L * length + 60));
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("bundles")
    void concurrentRequestsEncodedTogetherMatchTheirSoloEncoding(Path bundle) throws Exception {
        List<UserEncoding> solo = new ArrayList<>();
        List<float[]> soloScores = new ArrayList<>();
        long[] candidates = { 1, 2, 3, 5, 8, 13 };
        try (GenrecModel alone = GenrecModel.load(bundle, ExecutionProvider.CPU, EncodeBatching.OFF)) {
            assertSame(EncodeBatching.OFF, alone.batching());
            for (GenrecRequest r : requests(alone)) {
                UserEncoding u = alone.encode(r);
                solo.add(u);
                soloScores.add(alone.score(u, candidates));
            }
        }
        EncodeBatching on = new EncodeBatching(EncodeBatching.Mode.ON, 8, 200_000);
        try (GenrecModel batched = GenrecModel.load(bundle, ExecutionProvider.CPU, on)) {
            batched.warmUp();
            assertEquals(0, InputTensors.forThisThread().heldBytes(),
                "the thread that warmed every batch bucket up keeps none of its buffers: only the batcher's thread runs batches");
            assertEquals(on, batched.batching());
            List<GenrecRequest> requests = requests(batched);
            ExecutorService pool = Executors.newFixedThreadPool(requests.size());
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<UserEncoding>> futures = new ArrayList<>();
                for (GenrecRequest r : requests) {
                    futures.add(pool.submit(() -> {
                        start.await();
                        return batched.encode(r);
                    }));
                }
                start.countDown();
                for (int i = 0; i < requests.size(); i++) {
                    UserEncoding got = futures.get(i).get(30, TimeUnit.SECONDS);
                    UserEncoding want = solo.get(i);
                    String what = "request " + i + " (" + requests.get(i).history().size() + " events)";
                    assertArrayEquals(want.cacheShape(), got.cacheShape(), what + " cache shape");
                    assertArrayEquals(want.cacheMask(), got.cacheMask(), what + " cache mask");
                    assertArrayEquals(want.coOccurrenceContext(), got.coOccurrenceContext(), what + " co-occurrence context");
                    assertArrayEquals(want.embedding(), got.embedding(), TOLERANCE, what + " embedding");
                    assertArrayEquals(real(want, want.cacheKeys(), true), real(got, got.cacheKeys(), true), TOLERANCE, what + " keys");
                    assertArrayEquals(real(want, want.cacheValues(), false), real(got, got.cacheValues(), false), TOLERANCE, what + " values");
                    assertArrayEquals(soloScores.get(i), batched.score(got, candidates), TOLERANCE, what + " scores");
                }
            } finally {
                pool.shutdownNow();
            }
            var stats = batched.stats().snapshot();
            assertTrue(stats.requestsPerEncode().max() > 1, "14 simultaneous requests never shared an encode call: " + stats);
            assertTrue(stats.requestsPerEncode().max() <= 8, "a call above max_batch: " + stats);
            assertTrue(stats.encodeCalls() < requests(batched).size(), stats.toString());
        }
    }

    /**
     * The cache at real positions (mask 1) and the own-key slot. A padded slot's key/value is masked
     * out of every score, and its value is not defined: a padded query sees no valid key, so its
     * attention is uniform over however many keys the padded sequence has.
     */
    private static float[] real(UserEncoding u, float[] cache, boolean keys) {
        CacheLayout layout = u.cacheLayout();
        int columns = keys ? layout.keyColumns() : layout.headDim();
        List<Float> out = new ArrayList<>();
        for (int block = 0; block < layout.layers() * layout.heads(); block++) {
            for (int t = 0; t < layout.slots(); t++) {
                if (t == layout.slots() - 1 || u.cacheMask()[t] == 1f) {
                    for (int d = 0; d < columns; d++) {
                        out.add(cache[(block * layout.slots() + t) * columns + d]);
                    }
                }
            }
        }
        float[] values = new float[out.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = out.get(i);
        }
        return values;
    }

    @Test
    void autoBatchesOnlyOnCuda() {
        try (GenrecModel model = GenrecModel.load(FixtureBundle.path(), ExecutionProvider.CPU, EncodeBatching.DEFAULT)) {
            assertSame(EncodeBatching.OFF, model.batching(), "AUTO on a CPU model must not batch (it would only add latency)");
        }
        assertTrue(EncodeBatching.DEFAULT.enabledOn(ExecutionProvider.CUDA));
        assertTrue(new EncodeBatching(EncodeBatching.Mode.ON, 4, 0).enabledOn(ExecutionProvider.CPU));
    }
}
