package org.genrec.tools;

import org.apache.hc.core5.http.HttpHost;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchClient;
import org.opensearch.client.transport.OpenSearchTransport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The cluster over HTTP: the OpenSearch Java client's typed API (index management, bulk writes, scrolls), and raw JSON
 * for our own types (the genrec query, the models API), which the typed API does not know, over the JDK's HTTP client.
 * Not over the Java client's generic API: its transport pools at most 10 connections per node and gives up on a response
 * after 30 s by default, and {@code evaluate --clients} keeps up to 64 searches in flight.
 * The Java client's transport needs httpcore5 5.4.1 or later (the root pom pins it): 5.4 never set TCP_NODELAY, so each
 * request of more than a few KB waited ~40 ms for the node's delayed ACK.
 */
public final class ClusterConnection implements AutoCloseable {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final OpenSearchTransport transport;
    private final OpenSearchClient client;
    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();

    public ClusterConnection(String url) {
        try {
            this.transport = ApacheHttpClient5TransportBuilder.builder(HttpHost.create(url)).setMapper(new JacksonJsonpMapper()).build();
            this.base = new URI(url);
        } catch (URISyntaxException e) {
            throw new CliArgs.UsageException("invalid cluster URL [" + url + "]: " + e.getMessage());
        }
        this.client = new OpenSearchClient(transport);
    }

    OpenSearchClient client() {
        return client;
    }

    /** A raw JSON call; returns the body, or throws with OpenSearch's own error text. */
    String json(String method, String endpoint, String body) throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(endpoint))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(method + " " + endpoint + " interrupted", e);
        } catch (IOException e) { // the JDK's own message is often null (a refused connection) or a bare class name
            throw new IOException("cannot reach the cluster at [" + base + "] (" + method + " " + endpoint + "): "
                + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
        if (response.statusCode() >= 300) {
            throw new IOException(method + " " + endpoint + " failed with HTTP " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    @Override
    public void close() throws IOException {
        http.close();
        transport.close();
    }
}
