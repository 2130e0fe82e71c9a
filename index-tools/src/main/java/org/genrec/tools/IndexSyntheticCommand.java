package org.genrec.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.ModelBundle;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * {@code index-synthetic}: a catalogue of any size for benchmarks. The bundle's own items come
 * first (so the model can rank them); the rest are copies of them with their vectors jittered and
 * renormalized, so the HNSW graph sees a realistic, clustered vector distribution at 100K or 1M items.
 */
final class IndexSyntheticCommand {

    static final Set<String> OPTIONS = Set.of("bundle", "url", "index", "vector-field", "count", "shards", "batch", "seed");
    static final String USAGE = """
        index-synthetic --bundle DIR --count N [--url http://127.0.0.1:9200] [--index items-N] [--vector-field item_vector]
                        [--shards 1] [--batch 2000] [--seed 1]
            Creates an items index of N documents for benchmarks: the bundle's items, then jittered copies of them
            (ids ITEM~COPY, unknown to the model, so they are retrieved but not ranked).""";

    private static final ObjectMapper JSON = new ObjectMapper();

    private IndexSyntheticCommand() {}

    static void run(CliArgs args, PrintStream out) throws IOException {
        ModelBundle bundle = BundleLoader.load(Path.of(args.required("bundle")));
        int count = args.getInt("count", 100_000);
        String index = args.get("index", "items-" + count);
        String vectorField = args.get("vector-field", "item_vector");
        int batch = Math.max(1, args.getInt("batch", 2000));
        ItemCatalog items = bundle.items();
        Random random = new Random(args.getInt("seed", 1));
        try (ClusterConnection cluster = new ClusterConnection(args.get("url", "http://127.0.0.1:9200"))) {
            if (cluster.client().indices().exists(e -> e.index(index)).value()) {
                cluster.client().indices().delete(d -> d.index(index));
            }
            // The copies' vectors are the bundle's, jittered: the field's meta names the bundle, whose model queries it.
            cluster.json("PUT", "/" + index, ItemsIndex.definition(vectorField, bundle, args.getInt("shards", 1), 0));
            long start = System.nanoTime();
            for (int from = 0; from < count; from += batch) {
                BulkRequest.Builder request = new BulkRequest.Builder();
                for (int i = from; i < Math.min(count, from + batch); i++) {
                    ItemCatalog.Item source = items.items().get(i % items.size());
                    int copy = i / items.size();
                    float[] vector = items.embedding(source.index());
                    if (copy > 0) {
                        jitter(vector, random);
                    }
                    Map<String, Object> doc = new LinkedHashMap<>();
                    String id = copy == 0 ? source.itemId() : source.itemId() + "~" + copy;
                    doc.put(ItemsIndex.ITEM_ID, id);
                    doc.put(ItemsIndex.TITLE, source.title());
                    doc.put(ItemsIndex.CATEGORIES, source.categories());
                    doc.put(vectorField, vector);
                    request.operations(op -> op.index(x -> x.index(index).id(id).document(doc)));
                }
                BulkResponse response = cluster.client().bulk(request.build());
                if (response.errors()) {
                    throw new IOException("bulk indexing into [" + index + "] failed: "
                        + response.items().stream().filter(x -> x.error() != null).findFirst().orElseThrow().error().reason());
                }
                if ((from / batch) % 10 == 0) {
                    out.printf("indexed %d/%d (%.0f docs/s)%n", Math.min(count, from + batch), count,
                        Math.min(count, from + batch) / ((System.nanoTime() - start) / 1e9));
                }
            }
            cluster.client().indices().refresh(r -> r.index(index));
            forceMergeToOneSegment(cluster, index, out);
            out.printf("index [%s] holds %d items (%d of them known to model [%s])%n", index, count, Math.min(count, items.size()),
                bundle.manifest().modelId());
        }
    }

    /**
     * One segment, so that every benchmark run searches the same HNSW graph. At 1M items the merge
     * takes many minutes, longer than any HTTP timeout: it runs as a task and is polled.
     */
    private static void forceMergeToOneSegment(ClusterConnection cluster, String index, PrintStream out) throws IOException {
        long start = System.nanoTime();
        JsonNode started = JSON.readTree(cluster.json("POST", "/" + index + "/_forcemerge?max_num_segments=1&wait_for_completion=false", null));
        String task = started.path("task").asText();
        if (task.isEmpty()) {
            throw new IOException("force merge of [" + index + "] did not start a task: " + started);
        }
        out.printf("force-merging [%s] to one segment (task %s)%n", index, task);
        while (true) {
            JsonNode status = JSON.readTree(cluster.json("GET", "/_tasks/" + task, null));
            if (status.path("completed").asBoolean(false)) {
                if (status.has("error")) {
                    throw new IOException("force merge of [" + index + "] failed: " + status.get("error"));
                }
                out.printf("force merge done in %.0f s%n", (System.nanoTime() - start) / 1e9);
                return;
            }
            long seconds = (System.nanoTime() - start) / 1_000_000_000L;
            if (seconds >= 60 && seconds % 60 < 5) {
                out.printf("  still merging after %d s%n", seconds);
            }
            try {
                Thread.sleep(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the force merge of [" + index + "]", e);
            }
        }
    }

    /**
     * Adds Gaussian noise of 0.3 of the vector's length, then rescales it to its old length (unit
     * vectors stay unit vectors, as dot_product needs; a dot-product model's lengths are kept).
     */
    private static void jitter(float[] vector, Random random) {
        double before = 0;
        for (float v : vector) {
            before += v * v;
        }
        double length = Math.sqrt(before);
        double after = 0;
        for (int i = 0; i < vector.length; i++) {
            vector[i] += (float) (random.nextGaussian() * 0.3 * length / Math.sqrt(vector.length));
            after += vector[i] * vector[i];
        }
        float scale = (float) (length / Math.sqrt(after));
        for (int i = 0; i < vector.length; i++) {
            vector[i] *= scale;
        }
    }
}
