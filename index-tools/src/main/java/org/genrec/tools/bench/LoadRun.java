package org.genrec.tools.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** N closed-loop clients sending prepared bodies to {@code INDEX/_search} for a fixed time, after a warm-up. */
final class LoadRun {

    record Result(double qps, double p50Millis, double p90Millis, double p99Millis, double maxMillis, long requests, long errors,
        String firstError) {}

    private static final long MAX_NANOS = Duration.ofSeconds(60).toNanos();

    // HTTP/1.1 keep-alive, as OpenSearch clients use; the default HTTP/2 upgrade attempt costs a round trip per request.
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private final URI searchUri;

    LoadRun(String url, String index) {
        this.searchUri = URI.create(url + "/" + index + "/_search");
    }

    Result run(String label, List<String> bodies, int clients, Duration warmup, Duration measure, PrintStream progress) throws InterruptedException {
        drive(bodies, clients, warmup, new Recorder(MAX_NANOS, 3), new AtomicLong(), new AtomicLong(), new String[1], null);
        Recorder recorder = new Recorder(MAX_NANOS, 3);
        AtomicLong requests = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        String[] firstError = new String[1];
        long start = System.nanoTime();
        drive(bodies, clients, measure, recorder, requests, errors, firstError, () -> progress.printf("\r  %-34s c=%-3d %6d requests %5d errors",
            label, clients, requests.get(), errors.get()));
        double seconds = (System.nanoTime() - start) / 1e9;
        progress.println();
        Histogram h = recorder.getIntervalHistogram();
        return new Result(requests.get() / seconds, h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(90) / 1e6,
            h.getValueAtPercentile(99) / 1e6, h.getMaxValue() / 1e6, requests.get(), errors.get(), firstError[0]);
    }

    private void drive(List<String> bodies, int clients, Duration duration, Recorder recorder, AtomicLong requests, AtomicLong errors,
        String[] firstError, Runnable onTick) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            int offset = c;
            Thread t = Thread.ofPlatform().start(() -> {
                for (int i = offset; !stop.get(); i += clients) {
                    HttpRequest request = HttpRequest.newBuilder(searchUri).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i % bodies.size()))).build();
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                        recorder.recordValue(Math.min(MAX_NANOS, System.nanoTime() - t0));
                        requests.incrementAndGet();
                        if (response.statusCode() != 200) {
                            errors.incrementAndGet();
                            synchronized (firstError) {
                                if (firstError[0] == null) {
                                    firstError[0] = "HTTP " + response.statusCode() + ": " + response.body();
                                }
                            }
                        }
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        requests.incrementAndGet();
                    }
                }
            });
            threads.add(t);
        }
        long end = System.nanoTime() + duration.toNanos();
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
    }
}
