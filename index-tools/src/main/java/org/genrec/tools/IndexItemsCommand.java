package org.genrec.tools;

import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.bulk.BulkResponseItem;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code index-items}: creates the items index and bulk-indexes a bundle's items with their embeddings. */
final class IndexItemsCommand {

    static final Set<String> OPTIONS = Set.of("bundle", "url", "index", "vector-field", "shards", "replicas", "batch", "recreate");
    static final String USAGE = """
        index-items --bundle DIR [--url http://127.0.0.1:9200] [--index items] [--vector-field item_vector]
                    [--shards 1] [--replicas 0] [--batch 500] [--recreate]
            Creates the items index (keyword item_id, text title, keyword categories, genrec_vector field)
            and indexes every item of the bundle with its retrieval embedding. --recreate drops an existing index first.
            Into an existing index, genrec queries on it are refused (400) from the first replaced vector to the last.""";

    private IndexItemsCommand() {}

    static void run(CliArgs args, PrintStream out) throws IOException {
        ModelBundle bundle = BundleLoader.load(Path.of(args.required("bundle")));
        String index = args.get("index", "items");
        String vectorField = args.get("vector-field", "item_vector");
        int batch = Math.max(1, args.getInt("batch", 500));
        ItemCatalog items = bundle.items();
        try (ClusterConnection cluster = new ClusterConnection(args.get("url", "http://127.0.0.1:9200"))) {
            boolean exists = cluster.client().indices().exists(e -> e.index(index)).value();
            if (exists && args.flag("recreate")) {
                cluster.client().indices().delete(d -> d.index(index));
                exists = false;
            }
            // The field's meta as it is, read once: a mapping update replaces the whole meta, so both updates below keep the
            // entries a user put there besides ours.
            Map<String, String> fieldMeta = exists
                ? ItemsIndex.vectorFieldMeta(cluster.json("GET", "/" + index + "/_mapping", null), vectorField) : Map.of();
            if (!exists) {
                cluster.json("PUT", "/" + index, ItemsIndex.definition(vectorField, bundle, args.getInt("shards", 1), args.getInt("replicas", 0)));
                out.printf("created index [%s] with %s dimension %d, similarity %s%n", index, vectorField, items.embeddingDim(),
                    bundle.manifest().retrievalSimilarity().fieldSimilarity());
            } else if (!items.fingerprint().equals(fieldMeta.get(VectorFieldMeta.EMBEDDINGS))) {
                // From the first replaced vector to the last the field holds two models' vectors: the genrec query refuses
                // every model on it until the end (a 400 that says why), rather than answer from the mix.
                setFieldMeta(cluster, index, vectorField, bundle, fieldMeta, VectorFieldMeta.beingReplacedBy(bundle));
                out.printf("index [%s] exists: its vectors are replaced, and genrec queries on it refused until the end%n", index);
            }
            List<ItemCatalog.Item> all = items.items();
            for (int from = 0; from < all.size(); from += batch) {
                List<ItemCatalog.Item> slice = all.subList(from, Math.min(all.size(), from + batch));
                BulkRequest.Builder request = new BulkRequest.Builder();
                for (ItemCatalog.Item item : slice) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put(ItemsIndex.ITEM_ID, item.itemId());
                    doc.put(ItemsIndex.TITLE, item.title());
                    doc.put(ItemsIndex.CATEGORIES, item.categories());
                    doc.put(vectorField, items.embedding(item.index()));
                    request.operations(op -> op.index(i -> i.index(index).id(item.itemId()).document(doc)));
                }
                BulkResponse response = cluster.client().bulk(request.build());
                if (response.errors()) {
                    BulkResponseItem failed = response.items().stream().filter(i -> i.error() != null).findFirst().orElseThrow();
                    throw new IOException("bulk indexing into [" + index + "] failed for item [" + failed.id() + "]: "
                        + failed.error().reason());
                }
                out.printf("indexed %d/%d items%n", from + slice.size(), all.size());
            }
            cluster.client().indices().refresh(r -> r.index(index));
            if (exists) {
                // Only now, with every item's vector replaced and searchable: from here the genrec query accepts this model
                // on the field and refuses the one whose vectors it held before (VectorFieldMeta).
                setFieldMeta(cluster, index, vectorField, bundle, fieldMeta, VectorFieldMeta.of(bundle));
            }
            out.printf("index [%s] holds the %d items of model [%s] version [%s] (embeddings %s)%n", index, all.size(),
                bundle.manifest().modelId(), bundle.manifest().modelVersion(), items.fingerprint());
            long documents = cluster.client().count(c -> c.index(index)).count();
            if (documents > all.size()) {
                out.printf("warning: index [%s] has %d documents more than this bundle's items; their vectors are another model's "
                    + "(--recreate replaces the whole index)%n", index, documents - all.size());
            }
        }
    }

    private static void setFieldMeta(ClusterConnection cluster, String index, String vectorField, ModelBundle bundle,
        Map<String, String> current, Map<String, String> ours) throws IOException {
        cluster.json("PUT", "/" + index + "/_mapping", ItemsIndex.vectorFieldUpdate(vectorField, bundle, current, ours));
    }
}
