package org.genrec.tools.bench;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The load driver against a local HTTP server that records which body arrived when. */
class LoadRunTest {

    private HttpServer server;
    private final List<String> received = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void startServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/items/_search", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.add(body);
            byte[] reply = (body.equals("bad") ? "{\"error\":\"no\"}" : "{}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(body.equals("bad") ? 400 : 200, reply.length);
            exchange.getResponseBody().write(reply);
            exchange.close();
        });
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    private LoadRun load() {
        return new LoadRun("http://127.0.0.1:" + server.getAddress().getPort(), "items");
    }

    @Test
    void variantsAlternateInSlicesAndEachKeepsItsOwnCounts() throws Exception {
        List<LoadRun.Result> results = load().run(List.of(new LoadRun.Variant("a", List.of("a")), new LoadRun.Variant("b", List.of("b"))),
            1, Duration.ofMillis(100), Duration.ofMillis(800), 4, new PrintStream(new ByteArrayOutputStream()));

        // Warm-up a, b; then slices a b | b a | a b | b a: seven runs of one body once neighbours merge.
        List<String> runs = new ArrayList<>();
        for (String body : received) {
            if (runs.isEmpty() || !runs.get(runs.size() - 1).equals(body)) {
                runs.add(body);
            }
        }
        assertEquals(List.of("a", "b", "a", "b", "a", "b", "a"), runs);
        long countA = received.stream().filter("a"::equals).count();
        assertTrue(results.get(0).requests() > 0 && results.get(1).requests() > 0, results.toString());
        assertTrue(results.get(0).requests() < countA, "warm-up requests are not counted: " + results.get(0) + " of " + countA);
        assertEquals(0, results.get(0).errors() + results.get(1).errors());
        assertTrue(results.get(0).qps() > 0 && results.get(0).p50Millis() > 0 && results.get(0).p99Millis() >= results.get(0).p50Millis());
        LoadRun.Result a = results.get(0);
        assertTrue(a.p99Interval().lowMillis() <= a.p99Millis() && a.p99Millis() <= a.p99Interval().highMillis()
            && a.p99Interval().highMillis() <= a.maxMillis(), "the p99 interval brackets p99, within the sample: " + a);
    }

    @Test
    void errorsAreCountedPerVariantWithTheFirstReason() throws Exception {
        List<LoadRun.Result> results = load().run(List.of(new LoadRun.Variant("good", List.of("ok")),
            new LoadRun.Variant("bad", List.of("bad"))), 2, Duration.ZERO, Duration.ofMillis(200), 2,
            new PrintStream(new ByteArrayOutputStream()));

        assertEquals(0, results.get(0).errors());
        assertNull(results.get(0).firstError());
        assertEquals(results.get(1).requests(), results.get(1).errors());
        assertEquals("HTTP 400: {\"error\":\"no\"}", results.get(1).firstError());
    }

    @Test
    void zeroSlicesIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> load().run(List.of(new LoadRun.Variant("a", List.of("a"))), 1, Duration.ZERO,
            Duration.ofMillis(100), 0, new PrintStream(new ByteArrayOutputStream())));
    }
}
