package org.genrec.tools.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * N closed-loop clients sending prepared bodies to {@code INDEX/_search}: several variants of one
 * request (genrec, genrec without ranking, plain kNN) measured in alternating time slices.
 *
 * <p>Why slices: on a small shared machine the latency of a node drifts by a millisecond or more
 * over tens of seconds (JIT, merges, page cache, neighbours), so measuring one variant for the whole
 * duration and then the next one attributes that drift to the variant that ran first (measured:
 * two sequential 10-second runs of the same request differed by up to 3.5 ms at p50; ranking
 * seemed to cost 3.7 ms measured sequentially, 1.3–2.2 ms alternated).
 * Each slice runs one variant alone at the full concurrency, so each variant's latency and QPS are
 * still its own, and the order flips every round (A B, B A, ...) so neither always goes first.
 */
final class LoadRun {

    record Variant(String label, List<String> bodies) {}

    /** p99Interval: the 95 % confidence interval of p99 from this many requests ({@link QuantileInterval}). */
    record Result(double qps, double p50Millis, double p90Millis, double p99Millis, QuantileInterval p99Interval, double maxMillis,
        long requests, long errors, String firstError) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_NANOS = Duration.ofSeconds(60).toNanos();

    // HTTP/1.1 keep-alive, as OpenSearch clients use; the default HTTP/2 upgrade attempt costs a round trip per request.
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final String url;
    private final URI searchUri;

    LoadRun(String url, String index) {
        this.url = url;
        this.searchUri = URI.create(url + "/" + index + "/_search");
    }

    /** Creates (or replaces) a search pipeline on the cluster, for variants that name it. */
    void putSearchPipeline(String name, String definition) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/_search/pipeline/" + name)).header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(definition)).build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("could not create search pipeline " + name + ": HTTP " + response.statusCode() + ": " + response.body());
        }
    }

    /**
     * Sends both bodies once and fails unless they return the same hits in the same order with the same scores: a variant that
     * should answer as another (the history looked up instead of sent) must not be timed while it answers something else.
     */
    void checkSameHits(String expectedBody, String actualBody) throws IOException, InterruptedException {
        JsonNode expected = hits(expectedBody);
        JsonNode actual = hits(actualBody);
        if (!expected.equals(actual)) {
            throw new IOException("two requests that should return the same hits differ:\n  " + expectedBody + "\n  -> " + expected
                + "\n  " + actualBody + "\n  -> " + actual);
        }
    }

    /** [[id, score], ...] of one search. */
    private JsonNode hits(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(searchUri).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("HTTP " + response.statusCode() + " for " + body + ": " + response.body());
        }
        ArrayNode hits = JSON.createArrayNode();
        for (JsonNode hit : JSON.readTree(response.body()).path("hits").path("hits")) {
            hits.addArray().add(hit.path("_id").asText()).add(hit.path("_score").asDouble());
        }
        return hits;
    }

    /** What one variant accumulates over its slices. */
    private static final class Tally {
        final Recorder recorder = new Recorder(MAX_NANOS, 3);
        final AtomicLong requests = new AtomicLong();
        final AtomicLong errors = new AtomicLong();
        final AtomicInteger nextBody = new AtomicInteger();
        final AtomicReference<String> firstError = new AtomicReference<>();
        long nanos;

        Result result() {
            Histogram h = recorder.getIntervalHistogram();
            return new Result(requests.get() / (nanos / 1e9), h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(90) / 1e6,
                h.getValueAtPercentile(99) / 1e6, QuantileInterval.of(h, 0.99), h.getMaxValue() / 1e6, requests.get(), errors.get(),
                firstError.get());
        }
    }

    /**
     * Warms each variant up for {@code warmup}, then gives each {@code measure} in total, split into
     * {@code slices} alternating slices. Results in the order of {@code variants}.
     */
    List<Result> run(List<Variant> variants, int clients, Duration warmup, Duration measure, int slices, PrintStream progress)
        throws InterruptedException {
        if (slices < 1) {
            throw new IllegalArgumentException("slices must be at least 1, got " + slices);
        }
        for (Variant v : variants) {
            drive(v, clients, warmup, new Tally(), null);
        }
        List<Tally> tallies = variants.stream().map(v -> new Tally()).toList();
        Duration slice = measure.dividedBy(slices);
        for (int s = 0; s < slices; s++) {
            for (int i = 0; i < variants.size(); i++) {
                int v = s % 2 == 0 ? i : variants.size() - 1 - i;
                Variant variant = variants.get(v);
                Tally tally = tallies.get(v);
                drive(variant, clients, slice, tally, () -> progress.printf("\r  %-34s c=%-3d %6d requests %5d errors", variant.label(),
                    clients, tally.requests.get(), tally.errors.get()));
            }
        }
        for (int v = 0; v < variants.size(); v++) {
            progress.printf("\r  %-34s c=%-3d %6d requests %5d errors%n", variants.get(v).label(), clients, tallies.get(v).requests.get(),
                tallies.get(v).errors.get());
        }
        return tallies.stream().map(Tally::result).toList();
    }

    private void drive(Variant variant, int clients, Duration duration, Tally tally, Runnable onTick) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        List<String> bodies = variant.bodies();
        long start = System.nanoTime();
        for (int c = 0; c < clients; c++) {
            Thread t = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    String body = bodies.get(Math.floorMod(tally.nextBody.getAndIncrement(), bodies.size()));
                    HttpRequest request = HttpRequest.newBuilder(searchUri).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                        tally.recorder.recordValue(Math.min(MAX_NANOS, System.nanoTime() - t0));
                        tally.requests.incrementAndGet();
                        if (response.statusCode() != 200) {
                            tally.errors.incrementAndGet();
                            tally.firstError.compareAndSet(null, "HTTP " + response.statusCode() + ": " + response.body());
                        }
                    } catch (Exception e) {
                        tally.errors.incrementAndGet();
                        tally.requests.incrementAndGet();
                    }
                }
            });
            threads.add(t);
        }
        long end = start + duration.toNanos();
        while (System.nanoTime() < end) {
            Thread.sleep(Math.min(1000, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            if (onTick != null) {
                onTick.run();
            }
        }
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        // Until the last client's request returned: the requests counted ran inside this time.
        tally.nanos += System.nanoTime() - start;
    }
}
