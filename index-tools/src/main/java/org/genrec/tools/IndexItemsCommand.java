package org.genrec.tools;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.InvalidRequestException;
import org.genrec.runtime.UnreadableItemException;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.bulk.BulkResponseItem;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code index-items}: creates the items index and bulk-indexes a bundle's items, or a catalogue's, with the model's embeddings. */
final class IndexItemsCommand {

    static final Set<String> OPTIONS = Set.of("bundle", "items", "url", "index", "vector-field", "shards", "replicas", "batch", "recreate");
    static final String USAGE = """
        index-items --bundle DIR [--items FILE] [--url http://127.0.0.1:9200] [--index items] [--vector-field item_vector]
                    [--shards 1] [--replicas 0] [--batch 500] [--recreate]
            Creates the items index (keyword item_id, text title, keyword categories with their words in categories.text,
            genrec_vector field) and indexes every item of the bundle with its retrieval embedding. --items FILE indexes that catalogue
            instead (JSON lines: item_id, title, categories): the items the model was trained on get their trained
            vector, the others one from their text alone (the bundle's item encoder). --recreate drops an existing
            index first. Into an existing index, genrec queries on it are refused (400) from the first replaced
            vector to the last.""";

    private IndexItemsCommand() {}

    static void run(CliArgs args, PrintStream out) throws IOException {
        Path bundleDir = Path.of(args.required("bundle"));
        ModelBundle bundle = BundleLoader.load(bundleDir);
        String index = args.get("index", "items");
        String vectorField = args.get("vector-field", "item_vector");
        int batch = Math.max(1, args.getInt("batch", 500));
        ItemCatalog items = bundle.items();
        // Everything is read and embedded before the index is touched: a bad line or an item without text stops here.
        List<ItemDocument> all = args.get("items", null) == null ? bundleItems(items)
            : catalogueItems(CatalogueFile.read(Path.of(args.required("items"))), bundleDir, items, out);
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
            for (int from = 0; from < all.size(); from += batch) {
                List<ItemDocument> slice = all.subList(from, Math.min(all.size(), from + batch));
                BulkRequest.Builder request = new BulkRequest.Builder();
                for (ItemDocument item : slice) {
                    Map<String, Object> doc = new LinkedHashMap<>();
                    doc.put(ItemsIndex.ITEM_ID, item.itemId());
                    doc.put(ItemsIndex.TITLE, item.title());
                    doc.put(ItemsIndex.CATEGORIES, item.categories());
                    doc.put(vectorField, item.vector());
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
                out.printf("warning: index [%s] has %d documents more than were indexed now; their vectors are another model's "
                    + "(--recreate replaces the whole index)%n", index, documents - all.size());
            }
        }
    }

    /** An item as it is indexed: the catalogue's fields and the model's vector for it. */
    private record ItemDocument(String itemId, String title, List<String> categories, float[] vector) {}

    private static List<ItemDocument> bundleItems(ItemCatalog items) {
        List<ItemDocument> docs = new ArrayList<>(items.size());
        for (ItemCatalog.Item item : items.items()) {
            docs.add(new ItemDocument(item.itemId(), item.title(), item.categories(), items.embedding(item.index())));
        }
        return docs;
    }

    /** The file's items: a trained one with its trained vector, any other with the embedding of its text alone. */
    private static List<ItemDocument> catalogueItems(CatalogueFile catalogue, Path bundleDir, ItemCatalog items, PrintStream out) {
        List<CatalogueFile.Entry> untrained = catalogue.entries().stream().filter(e -> items.indexOf(e.itemId()) < 1).toList();
        float[][] fromText = new float[0][];
        if (!untrained.isEmpty()) {
            try (GenrecModel model = GenrecModel.load(bundleDir, ExecutionProvider.CPU)) {
                fromText = model.embedNewItems(untrained.stream().map(e -> new ItemText(e.title(), e.categories())).toList());
            } catch (UnreadableItemException e) {
                throw new InvalidRequestException("item [" + untrained.get(e.position()).itemId() + "]: " + e.getMessage());
            }
        }
        List<ItemDocument> docs = new ArrayList<>(catalogue.entries().size());
        int next = 0;
        for (CatalogueFile.Entry entry : catalogue.entries()) {
            int trained = items.indexOf(entry.itemId());
            float[] vector = trained > 0 ? items.embedding(trained) : fromText[next++];
            docs.add(new ItemDocument(entry.itemId(), entry.title(), entry.categories(), vector));
        }
        out.printf("%d items: %d the model was trained on, %d embedded from their text alone%n", docs.size(), docs.size() - untrained.size(),
            untrained.size());
        return docs;
    }

    private static void setFieldMeta(ClusterConnection cluster, String index, String vectorField, ModelBundle bundle,
        Map<String, String> current, Map<String, String> ours) throws IOException {
        cluster.json("PUT", "/" + index + "/_mapping", ItemsIndex.vectorFieldUpdate(vectorField, bundle, current, ours));
    }
}
