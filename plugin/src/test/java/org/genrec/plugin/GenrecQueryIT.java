package org.genrec.plugin;

import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.ModelStats;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.search.SearchPhaseExecutionException;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginsService;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchIntegTestCase;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;

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
 * The genrec query on an internal cluster of three data nodes and a three-shard index, with the
 * small real model the trainer produced (target/fixture-bundle).
 */
@OpenSearchIntegTestCase.ClusterScope(scope = OpenSearchIntegTestCase.Scope.SUITE, numDataNodes = 3, numClientNodes = 0)
public class GenrecQueryIT extends OpenSearchIntegTestCase {

    private static final String MODEL = "synthetic";
    private static final String INDEX = "items";
    private static final int SHARDS = 3;
    private static final long NOW = 1_800_000_000L;

    private static Path configDir;

    @Override
    protected Collection<Class<? extends Plugin>> nodePlugins() {
        return List.of(GenrecPlugin.class);
    }

    /** Every node reads its models from a config dir holding the fixture bundle as config/genrec/synthetic. */
    @Override
    protected Path nodeConfigPath(int nodeOrdinal) {
        synchronized (GenrecQueryIT.class) {
            if (configDir == null) {
                try {
                    configDir = createTempDir();
                    Path target = Files.createDirectories(configDir.resolve("genrec").resolve(MODEL));
                    try (Stream<Path> files = Files.list(bundlePath())) {
                        for (Path f : (Iterable<Path>) files::iterator) {
                            Files.copy(f, target.resolve(f.getFileName().toString()));
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return configDir;
        }
    }

    private static Path bundlePath() {
        return Path.of(System.getProperty("genrec.plugin.test.bundle"));
    }

    private ModelBundle indexItems() {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        if (indexExists(INDEX)) {
            return bundle;
        }
        assertAcked(prepareCreate(INDEX).setSettings(Settings.builder().put("index.number_of_shards", SHARDS).put("index.number_of_replicas", 0))
            .setMapping("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"title\": {\"type\": \"text\"},"
                + " \"item_vector\": {\"type\": \"genrec_vector\", \"dimension\": " + bundle.items().embeddingDim() + "}}}"));
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (ItemCatalog.Item item : bundle.items().items()) {
            Map<String, Object> doc = new HashMap<>();
            doc.put("item_id", item.itemId());
            doc.put("title", item.title());
            doc.put("item_vector", bundle.items().embedding(item.index()));
            bulk.add(client().prepareIndex(INDEX).setId(item.itemId()).setSource(doc));
        }
        assertFalse(bulk.get().buildFailureMessage(), bulk.get().hasFailures());
        ensureGreen(INDEX);
        return bundle;
    }

    private static List<HistoryEvent> history(ModelBundle bundle, int... indices) {
        List<HistoryEvent> events = new ArrayList<>();
        for (int i = 0; i < indices.length; i++) {
            String id = bundle.items().items().get(indices[i] - 1).itemId();
            events.add(new HistoryEvent(id, bundle.manifest().actions().get(0), NOW - 3600L * (indices.length - i), null));
        }
        return events;
    }

    private GenrecQueryBuilder query(List<HistoryEvent> history, String text, boolean rank) {
        GenrecPlugin plugin = internalCluster().getInstance(PluginsService.class).filterPlugins(GenrecPlugin.class).get(0);
        return new GenrecQueryBuilder(plugin.services(), MODEL, "item_vector", null, history, text, 20, NOW, true, rank);
    }

    private ModelStats.Snapshot totalStats() {
        long encodes = 0;
        long scores = 0;
        for (PluginsService plugins : internalCluster().getInstances(PluginsService.class)) {
            GenrecModel model = plugins.filterPlugins(GenrecPlugin.class).get(0).services().models().loaded().get(MODEL);
            if (model != null) {
                ModelStats.Snapshot s = model.stats().snapshot();
                encodes += s.encodeCalls();
                scores += s.scoreCalls();
            }
        }
        return new ModelStats.Snapshot(encodes, scores, 0, 0, 0, 0, 0, 0, 0, 0);
    }

    public void testRankedHitsCarryTheModelsProbabilityWithOneEncodeAndOneScoreCallPerShard() throws Exception {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        ModelStats.Snapshot before = totalStats();

        SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(10).get();

        ModelStats.Snapshot after = totalStats();
        assertEquals("the history is encoded once per search request", 1, after.encodeCalls() - before.encodeCalls());
        assertEquals("one batched ranking call per shard", SHARDS, after.scoreCalls() - before.scoreCalls());

        SearchHit[] hits = response.getHits().getHits();
        assertEquals(10, hits.length);
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            UserEncoding user = reference.encode(new GenrecRequest(history, null, NOW));
            float previous = Float.MAX_VALUE;
            for (SearchHit hit : hits) {
                String itemId = (String) hit.getSourceAsMap().get("item_id");
                assertFalse("history items are excluded", history.stream().anyMatch(e -> e.itemId().equals(itemId)));
                float logit = reference.score(user, List.of(itemId))[0];
                assertEquals(itemId, 1.0 / (1.0 + Math.exp(-logit)), hit.getScore(), 1e-5);
                assertTrue("sorted by ranking score", hit.getScore() <= previous);
                previous = hit.getScore();
            }
        }
    }

    public void testPersonalizedSearchDiffersFromRecommendation() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        String word = bundle.items().items().get(200).title().split(" ")[0];
        List<String> recommended = ids(client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(10).get());
        List<String> searched = ids(client().prepareSearch(INDEX).setQuery(query(history, word, true)).setSize(10).get());
        assertEquals(10, searched.size());
        assertNotEquals("the query changes the ranking", recommended, searched);
    }

    public void testRankOffKeepsTheKnnSimilarity() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 7, 8);
        SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, false)).setSize(5).get();
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            float[] user = reference.encode(new GenrecRequest(history, null, NOW)).embedding();
            for (SearchHit hit : response.getHits().getHits()) {
                float[] item = bundle.items().embedding(bundle.items().indexOf((String) hit.getSourceAsMap().get("item_id")));
                double dot = 0;
                for (int i = 0; i < item.length; i++) {
                    dot += user[i] * item[i];
                }
                assertEquals("Lucene's dot_product score", (1 + dot) / 2, hit.getScore(), 1e-5);
            }
        }
    }

    public void testExplainShowsRankingAndRetrievalScores() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = new ArrayList<>(history(bundle, 3, 14));
        history.add(new HistoryEvent("not-a-known-item", bundle.manifest().actions().get(0), NOW - 10, null));
        SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, true)).setExplain(true).setSize(1).get();
        String explanation = response.getHits().getHits()[0].getExplanation().toString();
        assertTrue(explanation, explanation.contains("genrec ranking score"));
        assertTrue(explanation, explanation.contains("retrieval similarity"));
        assertTrue(explanation, explanation.contains("history items unknown to the model and ignored: 1"));
    }

    public void testVectorFieldOfTheWrongTypeIsABadRequest() {
        ModelBundle bundle = indexItems();
        GenrecPlugin plugin = internalCluster().getInstance(PluginsService.class).filterPlugins(GenrecPlugin.class).get(0);
        GenrecQueryBuilder onTitle = new GenrecQueryBuilder(plugin.services(), MODEL, "title", null, history(bundle, 1), null, 10, NOW, true,
            true);
        SearchPhaseExecutionException e = expectThrows(SearchPhaseExecutionException.class,
            () -> client().prepareSearch(INDEX).setQuery(onTitle).get());
        assertEquals(RestStatus.BAD_REQUEST, e.status());
        assertTrue(e.toString(), e.toString().contains("must be a [genrec_vector] field"));
    }

    public void testUnknownModelIsABadRequest() {
        indexItems();
        GenrecPlugin plugin = internalCluster().getInstance(PluginsService.class).filterPlugins(GenrecPlugin.class).get(0);
        GenrecQueryBuilder unknown = new GenrecQueryBuilder(plugin.services(), "nope", "item_vector", null, List.of(), null, 10, NOW, true, true);
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> client().prepareSearch(INDEX).setQuery(unknown).get());
        assertTrue(e.getMessage(), e.getMessage().contains("genrec model [nope] not found"));
    }

    private static List<String> ids(SearchResponse response) {
        List<String> ids = new ArrayList<>();
        for (SearchHit hit : response.getHits().getHits()) {
            ids.add(hit.getId());
        }
        return ids;
    }
}
