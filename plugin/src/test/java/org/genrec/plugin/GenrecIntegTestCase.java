package org.genrec.plugin;

import org.genrec.plugin.model.LookupStats;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.junit.AfterClass;
import org.genrec.plugin.query.UserContext;
import org.genrec.plugin.rescore.GenrecRescorerBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.ModelStats;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.CoOccurrence;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.search.SearchPhaseExecutionException;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.XContentFactory;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginsService;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchIntegTestCase;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;
import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertNoFailures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * An internal cluster of three data nodes whose config dirs hold the fixture model (trained by
 * the trainer before the Java tests) as {@code config/genrec/synthetic}, a corrupt copy as
 * {@code config/genrec/broken}, the same model declared a dot-product one as {@code config/genrec/dot},
 * and a helper to index the model's items into a three-shard index.
 */
@OpenSearchIntegTestCase.ClusterScope(scope = OpenSearchIntegTestCase.Scope.SUITE, numDataNodes = 3, numClientNodes = 0)
public abstract class GenrecIntegTestCase extends OpenSearchIntegTestCase {


    protected static final String MODEL = "synthetic";
    /** The fixture model declared a dot-product model (its vectors need a maximum_inner_product field). */
    protected static final String DOT_MODEL = "dot";
    protected static final String INDEX = "items";
    protected static final int SHARDS = 3;
    protected static final long NOW = 1_800_000_000L;

    private static Path configDir;

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        return List.of(GenrecPlugin.class);
    }

    /** Every node reads its models from a config dir holding the fixture bundle as config/genrec/synthetic. */
    @Override
    protected Path nodeConfigPath(int nodeOrdinal) {
        synchronized (GenrecIntegTestCase.class) {
            if (configDir == null) {
                try {
                    configDir = createTempDir();
                    Path target = Files.createDirectories(configDir.resolve("genrec").resolve(MODEL));
                    Path broken = Files.createDirectories(configDir.resolve("genrec").resolve("broken"));
                    Path dot = Files.createDirectories(configDir.resolve("genrec").resolve(DOT_MODEL));
                    try (Stream<Path> files = Files.list(bundlePath())) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            for (Path copy : List.of(target, broken, dot)) {
                                Files.copy(f, copy.resolve(f.getFileName().toString()));
                            }
                        }
                    }
                    Files.writeString(broken.resolve("score.onnx"), "not a graph");
                    Path manifest = dot.resolve("manifest.json");
                    Files.writeString(manifest, Files.readString(manifest).replace("\"similarity\": \"cosine\"", "\"similarity\": \"dot\""));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return configDir;
        }
    }

    /** createTempDir() belongs to one suite and is deleted after it: the next suite makes its own. */
    @AfterClass
    public static void forgetConfigDir() {
        configDir = null;
    }

    protected static Path bundlePath() {
        return Path.of(System.getProperty("genrec.plugin.test.bundle"));
    }

    protected ModelBundle indexItems() {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        if (!indexExists(INDEX)) {
            createItemsIndex(INDEX, bundle, Map.of());
        }
        return bundle;
    }

    /** An items index as index-items makes it (its field's meta naming the bundle), every item of the bundle, and {@code extra} docs by id. */
    protected void createItemsIndex(String index, ModelBundle bundle, Map<String, Map<String, Object>> extra) {
        assertAcked(prepareCreate(index).setSettings(Settings.builder().put("index.number_of_shards", SHARDS).put("index.number_of_replicas", 0))
            .setMapping("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"title\": {\"type\": \"text\"}, \"categories\": {\"type\": \"keyword\"},"
                + " \"item_vector\": {\"type\": \"genrec_vector\", \"dimension\": " + bundle.items().embeddingDim() + ", \"meta\": "
                + json(VectorFieldMeta.of(bundle)) + "}}}"));
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (ItemCatalog.Item item : bundle.items().items()) {
            Map<String, Object> doc = new HashMap<>();
            doc.put("item_id", item.itemId());
            doc.put("title", item.title());
            doc.put("categories", item.categories());
            doc.put("item_vector", bundle.items().embedding(item.index()));
            bulk.add(client().prepareIndex(index).setId(item.itemId()).setSource(doc));
        }
        extra.forEach((id, doc) -> bulk.add(client().prepareIndex(index).setId(id).setSource(doc)));
        assertNoFailures(bulk.get());
        ensureGreen(index);
    }

    /** A flat string map as a JSON object. */
    protected static String json(Map<String, String> map) {
        try {
            return XContentFactory.jsonBuilder().map(map).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    protected static List<HistoryEvent> history(ModelBundle bundle, int... indices) {
        List<HistoryEvent> events = new ArrayList<>();
        for (int i = 0; i < indices.length; i++) {
            String id = bundle.items().items().get(indices[i] - 1).itemId();
            events.add(new HistoryEvent(id, bundle.manifest().actions().get(0), NOW - 3600L * (indices.length - i), null));
        }
        return events;
    }

    protected GenrecServices services() {
        return internalCluster().getInstance(PluginsService.class).filterPlugins(GenrecPlugin.class).get(0).services();
    }

    protected GenrecQueryBuilder query(List<HistoryEvent> history, String text, boolean rank) {
        return new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, text, NOW), "item_vector", null, 20, null, true, rank);
    }

    /** Model calls over all nodes and loaded models. */
    protected record ModelCalls(long encodeCalls, long scoreCalls) {}

    protected ModelCalls totalCalls() {
        List<ModelStats.Snapshot> all = everyLoaded().stream().map(loaded -> loaded.model().stats().snapshot()).toList();
        return new ModelCalls(all.stream().mapToLong(ModelStats.Snapshot::encodeCalls).sum(),
            all.stream().mapToLong(ModelStats.Snapshot::scoreCalls).sum());
    }

    /** {@code user} lookups over all nodes and loaded models: made, and of those failed. */
    protected record Lookups(long made, long failed) {}

    protected Lookups totalLookups() {
        List<LookupStats.Snapshot> all = everyLoaded().stream().map(loaded -> loaded.lookups().snapshot()).toList();
        return new Lookups(all.stream().mapToLong(LookupStats.Snapshot::lookups).sum(),
            all.stream().mapToLong(LookupStats.Snapshot::failed).sum());
    }

    private List<ModelRegistry.Loaded> everyLoaded() {
        List<ModelRegistry.Loaded> loaded = new ArrayList<>();
        for (PluginsService plugins : internalCluster().getInstances(PluginsService.class)) {
            loaded.addAll(plugins.filterPlugins(GenrecPlugin.class).get(0).services().models().loaded());
        }
        return loaded;
    }

    protected GenrecQueryBuilder query(String model, List<HistoryEvent> history) {
        return new GenrecQueryBuilder(services(), new UserContext(model, history, null, null, NOW), "item_vector", null, 20, null, true, true);
    }

    /**
     * The ranked hits carry, best first, the score the bundle's model gives each: with w = 0 the
     * probability of its logit, else x = log sigmoid(logit) + w * similarity as 1 / (1 - x) below 0
     * and 1 + x above, the similarity being the user embedding dot the item's (computed here,
     * independently of the plugin's RankingScores), plus, with w > 0, the bundle's co-occurrence weight times
     * log(1 + the item's counts with the history's latest second).
     */
    protected static void assertRankedScoresBestFirst(List<HistoryEvent> history, SearchHit[] hits, float retrievalWeight) {
        assertRankedScoresBestFirst(history, hits, retrievalWeight, BundleLoader.load(bundlePath()).manifest().coOccurrenceWeight());
    }

    /** The same with the query's co-occurrence weight. */
    protected static void assertRankedScoresBestFirst(List<HistoryEvent> history, SearchHit[] hits, float retrievalWeight,
        float coOccurrenceWeight) {
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            UserEncoding user = reference.encode(new GenrecRequest(history, null, NOW));
            ItemCatalog items = reference.bundle().items();
            long latest = history.stream().mapToLong(HistoryEvent::timeSeconds).max().orElse(0);
            int[] latestSecond = history.stream().filter(e -> e.timeSeconds() == latest).mapToInt(e -> items.indexOf(e.itemId()))
                .filter(i -> i > 0).distinct().toArray();
            CoOccurrence.Prior prior = reference.bundle().coOccurrence().priorFor(latestSecond);
            float previous = Float.MAX_VALUE;
            for (SearchHit hit : hits) {
                String itemId = (String) hit.getSourceAsMap().get("item_id");
                double probability = 1.0 / (1.0 + Math.exp(-reference.score(user, List.of(itemId))[0]));
                float[] item = items.embedding(items.indexOf(itemId));
                double similarity = 0;
                for (int d = 0; d < item.length; d++) {
                    similarity += (double) item[d] * user.embedding()[d];
                }
                double blend = Math.log(probability) + retrievalWeight * similarity
                    + coOccurrenceWeight * prior.of(items.indexOf(itemId));
                double expected = retrievalWeight == 0 ? probability : blend < 0 ? 1 / (1 - blend) : 1 + blend;
                assertEquals(itemId, expected, hit.getScore(), 2e-5 * Math.max(1, expected)); // relative above 1: w scales it
                assertTrue("sorted by ranking score", hit.getScore() <= previous);
                previous = hit.getScore();
            }
        }
    }

    /** The fixture bundle's own blend weight (the trainer chose it on validation). */
    protected static float bundleRetrievalWeight() {
        return BundleLoader.load(bundlePath()).manifest().retrievalWeight();
    }

    protected static List<String> ids(SearchResponse response) {
        List<String> ids = new ArrayList<>();
        for (SearchHit hit : response.getHits().getHits()) {
            ids.add(hit.getId());
        }
        return ids;
    }
}
