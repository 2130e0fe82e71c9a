import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.util.VersionInfo;
import org.opensearch.client.json.jackson.JacksonJsonpMapper;
import org.opensearch.client.opensearch.OpenSearchClient;
import org.opensearch.client.opensearch._types.FieldValue;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.bulk.BulkOperation;
import org.opensearch.client.transport.OpenSearchTransport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Mean request time of the OpenSearch Java client's typed API (its Apache HttpClient 5 transport) by request body size:
 * searches whose terms list grows from ~120 bytes to ~10 KB, and bulks of 10 and 500 items, into a scratch index
 * {@code probe}. httpcore5 5.4 left TCP_NODELAY off, so the bodies that take more than one segment waited ~40 ms for the
 * node's delayed ACK (BENCHMARKS.md, "The Java client's stall, found"). Run by scripts/probe-java-client.sh:
 *
 *   java -cp genrec-tools.jar scripts/probes/JavaClientLatency.java URL
 */
public class JavaClientLatency {

    private static final int SEARCHES = 50;
    private static final int BULKS = 20;

    public static void main(String[] args) throws Exception {
        System.out.println("httpcore5 " + VersionInfo.loadVersionInfo("org.apache.hc.core5", JavaClientLatency.class.getClassLoader()).getRelease());
        OpenSearchTransport transport = ApacheHttpClient5TransportBuilder.builder(HttpHost.create(args[0])).setMapper(new JacksonJsonpMapper()).build();
        OpenSearchClient client = new OpenSearchClient(transport);
        client.indices().delete(d -> d.index("probe").ignoreUnavailable(true));
        client.indices().create(c -> c.index("probe"));
        for (int ids : new int[] {10, 100, 400, 800}) {
            List<FieldValue> values = new ArrayList<>();
            for (int i = 0; i < ids; i++) {
                values.add(FieldValue.of("item-" + i));
            }
            for (int pass = 0; pass < 2; pass++) { // the first pass warms the connection and the JIT; the second is timed
                long start = System.nanoTime();
                for (int r = 0; r < SEARCHES; r++) {
                    client.search(s -> s.index("probe").query(q -> q.terms(t -> t.field("id").terms(v -> v.value(values)))), Map.class);
                }
                if (pass == 1) {
                    System.out.printf("search with %d ids (~%d bytes): %.1f ms per request%n", ids, ids * 12, (System.nanoTime() - start) / (SEARCHES * 1e6));
                }
            }
        }
        for (int docs : new int[] {10, 500}) {
            long start = System.nanoTime();
            for (int r = 0; r < BULKS; r++) {
                List<BulkOperation> operations = new ArrayList<>();
                for (int i = 0; i < docs; i++) {
                    Map<String, Object> doc = Map.of("id", "item-" + i, "title", "a title of some words " + i);
                    String id = "d" + i;
                    operations.add(BulkOperation.of(b -> b.index(x -> x.index("probe").id(id).document(doc))));
                }
                client.bulk(BulkRequest.of(b -> b.operations(operations)));
            }
            System.out.printf("bulk of %d items: %.1f ms per request%n", docs, (System.nanoTime() - start) / (BULKS * 1e6));
        }
        client.indices().delete(d -> d.index("probe"));
        transport.close();
    }
}
