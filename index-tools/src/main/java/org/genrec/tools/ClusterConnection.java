package org.genrec.tools;

import org.apache.hc.core5.http.HttpHost;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchClient;
import org.opensearch.client.opensearch.generic.Body;
import org.opensearch.client.opensearch.generic.OpenSearchGenericClient;
import org.opensearch.client.opensearch.generic.Requests;
import org.opensearch.client.opensearch.generic.Response;
import org.opensearch.client.transport.OpenSearchTransport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;

import java.io.IOException;
import java.net.URISyntaxException;

/** One HTTP connection to the cluster through the OpenSearch Java client: typed API plus raw JSON for our own types. */
public final class ClusterConnection implements AutoCloseable {

    private final OpenSearchTransport transport;
    private final OpenSearchClient client;
    private final OpenSearchGenericClient generic;

    public ClusterConnection(String url) {
        try {
            this.transport = ApacheHttpClient5TransportBuilder.builder(HttpHost.create(url)).setMapper(new JacksonJsonpMapper()).build();
        } catch (URISyntaxException e) {
            throw new CliArgs.UsageException("invalid cluster URL [" + url + "]: " + e.getMessage());
        }
        this.client = new OpenSearchClient(transport);
        // The generic client's default returns errors as responses, so that we can print OpenSearch's reason.
        this.generic = client.generic();
    }

    OpenSearchClient client() {
        return client;
    }

    /** A raw JSON call; returns the body, or throws with OpenSearch's own error text. */
    String json(String method, String endpoint, String body) throws IOException {
        Requests.JsonBodyBuilder request = Requests.builder().method(method).endpoint(endpoint);
        if (body != null) {
            request.json(body);
        }
        try (Response response = generic.execute(request.build())) {
            String text = response.getBody().map(Body::bodyAsString).orElse("");
            if (response.getStatus() >= 300) {
                throw new IOException(method + " " + endpoint + " failed with HTTP " + response.getStatus() + ": " + text);
            }
            return text;
        }
    }

    @Override
    public void close() throws IOException {
        transport.close();
    }
}
