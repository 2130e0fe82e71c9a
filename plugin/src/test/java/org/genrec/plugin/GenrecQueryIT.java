package org.genrec.plugin;

import org.genrec.plugin.action.ModelsAction;
import org.genrec.plugin.action.ModelsNodeResponse;
import org.genrec.plugin.action.ModelsOperation;
import org.genrec.plugin.action.ModelsRequest;
import org.genrec.plugin.action.ModelsResponse;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.KnnQueryBuilder;
import org.genrec.plugin.query.NewItemTextCache;
import org.genrec.plugin.query.UserContext;
import org.genrec.plugin.rescore.GenrecRescorerBuilder;
import org.opensearch.ExceptionsHelper;
import org.opensearch.index.query.QueryBuilders;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.NewItemScores;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.bundle.CoOccurrence;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.action.bulk.BulkRequestBuilder;
import org.opensearch.action.search.SearchPhaseExecutionException;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.PutSearchPipelineRequest;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.PluginsService;
import org.opensearch.search.SearchHit;
import org.opensearch.test.OpenSearchIntegTestCase;
import org.opensearch.transport.client.Client;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;
import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertNoFailures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The genrec query and rescorer on an internal cluster of three data nodes and a three-shard
 * index, with the small real model the trainer produced.
 */
public class GenrecQueryIT extends GenrecIntegTestCase {

    public void testRankedHitsCarryTheModelsScoreWithOneEncodeAndOneScoreCallPerShard() throws Exception {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        ModelCalls before = totalCalls();

        SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(10).get();

        ModelCalls after = totalCalls();
        assertEquals("the history is encoded once per search request", 1, after.encodeCalls() - before.encodeCalls());
        assertEquals("one batched ranking call per shard", SHARDS, after.scoreCalls() - before.scoreCalls());

        SearchHit[] hits = response.getHits().getHits();
        assertEquals(10, hits.length);
        for (SearchHit hit : hits) {
            Object itemId = hit.getSourceAsMap().get("item_id");
            assertFalse("history items are excluded", history.stream().anyMatch(e -> e.itemId().equals(itemId)));
        }
        assertRankedScoresBestFirst(history, hits, bundleRetrievalWeight());
    }

    /**
     * A page rated at once: the history's latest second holds two items. The shards rank with the bundle's co-occurrence
     * term for that second, which the coordinating node's encoding carries to them, and explain names it.
     */
    public void testTheLatestSecondsCoOccurrenceTermReachesEveryShard() {
        ModelBundle bundle = indexItems();
        int page = 1; // an item with same-second partners in the fixture's training log
        while (bundle.coOccurrence().neighboursOf(page).length == 0) {
            page++;
        }
        List<HistoryEvent> history = new ArrayList<>(history(bundle, 3, 14));
        for (int item : new int[] { 15, page }) {
            history.add(new HistoryEvent(bundle.items().items().get(item - 1).itemId(), bundle.manifest().actions().get(0), NOW - 60, null));
        }
        SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(20).setExplain(true).get();
        SearchHit[] hits = response.getHits().getHits();
        assertRankedScoresBestFirst(history, hits, bundleRetrievalWeight());
        CoOccurrence.Prior prior = bundle.coOccurrence().priorFor(new int[] { 15, page });
        assertTrue("some hit has same-second counts with the page, or the test shows nothing",
            Arrays.stream(hits).anyMatch(h -> prior.of(bundle.items().indexOf((String) h.getSourceAsMap().get("item_id"))) > 0));
        String explanation = hits[0].getExplanation().getDescription();
        assertTrue(explanation, explanation.contains("co_occurrence_weight " + bundle.manifest().coOccurrenceWeight()));

        // the query's weight overrides the bundle's; 0 serves the blend without the term
        for (float weight : new float[] { 0f, 50f }) {
            response = client().prepareSearch(INDEX).setQuery(query(history, null, true).coOccurrenceWeight(weight)).setSize(20).setExplain(true).get();
            assertRankedScoresBestFirst(history, response.getHits().getHits(), bundleRetrievalWeight(), weight);
            explanation = response.getHits().getHits()[0].getExplanation().getDescription();
            assertEquals(explanation, weight > 0, explanation.contains("co_occurrence_weight"));
        }
    }

    public void testTheQuerysRetrievalWeightOverridesTheBundlesAndZeroServesTheProbability() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        for (float weight : new float[] { 0f, 3f, 40f }) {
            SearchResponse response = client().prepareSearch(INDEX).setQuery(query(history, null, true).retrievalWeight(weight))
                .setSize(20).setExplain(true).get();
            assertRankedScoresBestFirst(history, response.getHits().getHits(), weight);
            String explanation = response.getHits().getHits()[0].getExplanation().getDescription();
            assertTrue(explanation, explanation.contains(weight == 0 ? "sigmoid of the ranking head's logit" : "retrieval_weight " + weight));
        }
    }

    public void testHistoryNearestToTheUserIsExcludedAndKHitsStillComeBack() {
        ModelBundle bundle = indexItems();
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            // A history holding items nearest to its own user: the worst case for excluding it after kNN.
            // Adding items moves the user, so grow the history until some of it stays in the user's top 20.
            List<HistoryEvent> history = new ArrayList<>(history(bundle, 3, 14));
            List<String> all = nearestItems(bundle, reference.encode(new GenrecRequest(history, null, NOW)).embedding(), bundle.items().size());
            for (int round = 0; round < 10 && !nearestHoldHistory(all, history); round++) {
                for (String nearest : all.subList(0, 6)) {
                    history.add(new HistoryEvent(nearest, bundle.manifest().actions().get(0), NOW - 60, null));
                }
                all = nearestItems(bundle, reference.encode(new GenrecRequest(history, null, NOW)).embedding(), bundle.items().size());
            }
            assertTrue("precondition: history items are among the 20 nearest", nearestHoldHistory(all, history));
            List<String> seen = history.stream().map(HistoryEvent::itemId).toList();
            List<String> expected = all.stream().filter(id -> !seen.contains(id)).limit(20).toList();

            GenrecQueryBuilder unranked = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector",
                null, 20, null, true, false);
            assertEquals("the 20 nearest items outside the history, nearest first", expected,
                ids(client().prepareSearch(INDEX).setQuery(unranked).setSize(20).get()));
        }
    }

    private static boolean nearestHoldHistory(List<String> nearestFirst, List<HistoryEvent> history) {
        return nearestFirst.subList(0, 20).stream().anyMatch(id -> history.stream().anyMatch(e -> e.itemId().equals(id)));
    }

    /** Brute force: the {@code n} item ids whose embeddings have the largest dot product with {@code user}. */
    private static List<String> nearestItems(ModelBundle bundle, float[] user, int n) {
        List<ItemCatalog.Item> items = new ArrayList<>(bundle.items().items());
        Map<String, Double> similarity = new HashMap<>();
        for (ItemCatalog.Item item : items) {
            float[] e = bundle.items().embedding(item.index());
            double dot = 0;
            for (int d = 0; d < e.length; d++) {
                dot += (double) e[d] * user[d];
            }
            similarity.put(item.itemId(), dot);
        }
        items.sort((a, b) -> Double.compare(similarity.get(b.itemId()), similarity.get(a.itemId())));
        return items.subList(0, n).stream().map(ItemCatalog.Item::itemId).toList();
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

    public void testGenrecKnnWithTheModelsEmbeddingEqualsGenrecWithoutRanking() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 7, 8);
        GenrecQueryBuilder unranked = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector", null,
            20, null, false, false);
        SearchResponse viaModel = client().prepareSearch(INDEX).setQuery(unranked).setSize(10).get();
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            float[] embedding = reference.encode(new GenrecRequest(history, null, NOW)).embedding();
            SearchResponse plain = client().prepareSearch(INDEX).setQuery(new KnnQueryBuilder("item_vector", embedding, 20, null)).setSize(10).get();
            assertEquals(ids(viaModel), ids(plain));
            for (int i = 0; i < 10; i++) {
                assertEquals(viaModel.getHits().getHits()[i].getScore(), plain.getHits().getHits()[i].getScore(), 1e-6);
            }
        }
        SearchPhaseExecutionException e = expectThrows(SearchPhaseExecutionException.class,
            () -> client().prepareSearch(INDEX).setQuery(new KnnQueryBuilder("item_vector", new float[] { 1, 0 }, 20, null)).get());
        assertTrue(e.toString(), e.toString().contains("has dimension " + bundle.items().embeddingDim() + " but the query's [vector]"));
    }

    public void testRankWindowRanksTheBestRetrievedAndNumCandidatesWidensTheSearch() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15);
        GenrecQueryBuilder windowed = query(history, null, true).rankWindow(5);
        SearchResponse response = client().prepareSearch(INDEX).setQuery(windowed).setSize(20).setExplain(true).get();
        SearchHit[] hits = response.getHits().getHits();
        assertEquals(20, hits.length);
        long ranked = Arrays.stream(hits).filter(h -> h.getExplanation().getDescription().startsWith("genrec ranking score")).count();
        assertEquals("5 ranked per shard, first", 5L * SHARDS, ranked);
        for (int i = 0; i < ranked; i++) {
            assertTrue(hits[i].getExplanation().getDescription().startsWith("genrec ranking score"));
        }

        GenrecQueryBuilder wide = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector", null, 5,
            null, true, false).numCandidates(50);
        SearchResponse wideHits = client().prepareSearch(INDEX).setQuery(wide).setSize(100).get();
        assertEquals("k hits per shard are kept of num_candidates", 5L * SHARDS, wideHits.getHits().getHits().length);
        float previous = Float.MAX_VALUE;
        for (SearchHit hit : wideHits.getHits().getHits()) {
            assertTrue("kNN similarity order", hit.getScore() <= previous);
            previous = hit.getScore();
        }
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
        assertTrue(explanation,
            explanation.contains("history events ignored (items the model was not trained on and could not read by their text): 1"));
    }

    public void testVectorFieldOfTheWrongTypeIsABadRequest() {
        ModelBundle bundle = indexItems();
        GenrecQueryBuilder onTitle = new GenrecQueryBuilder(services(), new UserContext(MODEL, history(bundle, 1), null, null, NOW), "title",
            null, 10, null, true, true);
        SearchPhaseExecutionException e = expectThrows(SearchPhaseExecutionException.class,
            () -> client().prepareSearch(INDEX).setQuery(onTitle).get());
        assertEquals(RestStatus.BAD_REQUEST, e.status());
        assertTrue(e.toString(), e.toString().contains("must be a [genrec_vector] field"));
    }

    public void testADotProductModelNeedsAMaximumInnerProductField() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15);
        SearchPhaseExecutionException e = expectThrows(SearchPhaseExecutionException.class,
            () -> client().prepareSearch(INDEX).setQuery(query(DOT_MODEL, history)).get());
        assertEquals(RestStatus.BAD_REQUEST, e.status());
        assertTrue(e.toString(), e.toString().contains("map the field with \"similarity\": \"maximum_inner_product\""));

        String mip = "items-mip";
        assertAcked(prepareCreate(mip).setSettings(Settings.builder().put("index.number_of_shards", SHARDS).put("index.number_of_replicas", 0))
            .setMapping("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"item_vector\": {\"type\": \"genrec_vector\", "
                + "\"dimension\": " + bundle.items().embeddingDim() + ", \"similarity\": \"maximum_inner_product\"}}}"));
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (ItemCatalog.Item item : bundle.items().items()) {
            float[] longer = bundle.items().embedding(item.index());
            for (int d = 0; d < longer.length; d++) {
                longer[d] *= 3;  // not unit length: a dot_product field would refuse it
            }
            bulk.add(client().prepareIndex(mip).setId(item.itemId()).setSource(Map.of("item_id", item.itemId(), "item_vector", longer)));
        }
        assertNoFailures(bulk.get());
        ensureGreen(mip);
        GenrecQueryBuilder unranked = new GenrecQueryBuilder(services(), new UserContext(DOT_MODEL, history, null, null, NOW), "item_vector",
            null, 10, null, true, false);
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            List<String> seen = history.stream().map(HistoryEvent::itemId).toList();
            List<String> expected = nearestItems(bundle, reference.encode(new GenrecRequest(history, null, NOW)).embedding(), 20).stream()
                .filter(id -> !seen.contains(id)).limit(10).toList();
            assertEquals("ranked by the dot product, history excluded", expected, ids(client().prepareSearch(mip).setQuery(unranked).setSize(10).get()));
        }
    }

    /**
     * An item added to the index after the model was trained (its id is not in the bundle) is still served, but the model
     * cannot score it: ranked, and rescored, it comes after every item the model knows, and nothing fails. Its vector here is
     * the user's nearest item's, so that retrieval puts it at the top of the window.
     */
    /**
     * Items the model was not trained on (added to the catalogue later): one with text is ranked by its text alone, on the
     * shards, on the coordinating node and by the rescorer, with the score the model gives it; one without text cannot be
     * ranked and is placed as the hits after the window are.
     */
    public void testAnItemAddedAfterTrainingIsRankedByItsTextAndOneWithoutTextAfterTheRankedHits() throws Exception {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        ItemCatalog.Item nearest;
        float[] textVector;
        NewItemScores expected;
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            List<String> seen = history.stream().map(HistoryEvent::itemId).toList();
            UserEncoding user = reference.encode(new GenrecRequest(history, null, NOW));
            String id = nearestItems(bundle, user.embedding(), 20).stream().filter(i -> !seen.contains(i)).findFirst().orElseThrow();
            nearest = bundle.items().items().stream().filter(i -> i.itemId().equals(id)).findFirst().orElseThrow();
            ItemText text = new ItemText(nearest.title(), nearest.categories());
            textVector = reference.embedNewItems(List.of(text))[0];
            expected = reference.scoreNewItems(user, List.of(text));
        }
        String index = "items-and-new-ones";
        createItemsIndex(index, bundle, Map.of(
            "new-item", Map.of("item_id", "new-item", "title", nearest.title(), "categories", nearest.categories(), "item_vector", textVector),
            "textless-item", Map.of("item_id", "textless-item", "item_vector", bundle.items().embedding(nearest.index()))));
        float w = bundleRetrievalWeight();
        double blend = Math.log(1 / (1 + Math.exp(-expected.logits()[0]))) + w * expected.similarities()[0];
        float expectedScore = (float) (blend < 0 ? 1 / (1 - blend) : 1 + blend);

        // Every doc retrieved (k >= a shard's docs) and in the window: the new item carries its text's score, the textless one is last.
        GenrecQueryBuilder ranked = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector",
            null, 200, null, true, true).rankWindow(200);
        SearchHit[] hits = client().prepareSearch(index).setQuery(ranked).setSize(600).get().getHits().getHits();
        Map<String, Float> scores = Arrays.stream(hits).collect(java.util.stream.Collectors.toMap(SearchHit::getId, SearchHit::getScore));
        assertEquals("ranked by its text alone", expectedScore, scores.get("new-item"), 2e-5f * Math.max(1, expectedScore));
        assertEquals("unrankable, it comes last", "textless-item", hits[hits.length - 1].getId());
        assertTrue(hits[hits.length - 2].getScore() > hits[hits.length - 1].getScore());
        // In a ranked window smaller than the hits, the textless item is placed as the hits after the window are, below the
        // ranked ones and by its retrieval score: above the after-window hits that retrieval put below it, not under all of them.
        SearchHit[] windowed = client().prepareSearch(index).setQuery(ranked.rankWindow(5)).setSize(600).get().getHits().getHits();
        List<String> windowedIds = Arrays.stream(windowed).map(SearchHit::getId).toList();
        int at = windowedIds.indexOf("textless-item");
        assertTrue(windowedIds.toString(), at >= 0 && at < windowed.length - 1 && windowed[at].getScore() > 0);

        // Ranked once on the coordinating node (the merged top k by retrieval; the new item is in it): the same score from
        // the hit's _source.
        GenrecQueryBuilder retrieveOnly = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW),
            "item_vector", null, 200, null, true, false).rankWindow(200);
        List<String> retrieved = ids(client().prepareSearch(index).setQuery(retrieveOnly).setSize(600).get());
        assertTrue("the text vector of the user's nearest item is retrieved early", retrieved.indexOf("new-item") < 200);
        assertAcked(client().admin().cluster().putSearchPipeline(new PutSearchPipelineRequest("genrec-rank-new", new BytesArray(
            "{\"response_processors\": [{\"genrec_rank\": {}}]}"), MediaTypeRegistry.JSON)).actionGet());
        SearchRequest request = client().prepareSearch(index).setQuery(retrieveOnly).setSize(600).request().pipeline("genrec-rank-new");
        SearchHit[] coordinator = client().search(request).actionGet().getHits().getHits();
        SearchHit newOnCoordinator = Arrays.stream(coordinator).filter(h -> h.getId().equals("new-item")).findFirst().orElseThrow();
        assertEquals(expectedScore, newOnCoordinator.getScore(), 2e-5f * Math.max(1, expectedScore));
        int textless = Arrays.stream(coordinator).map(SearchHit::getId).toList().indexOf("textless-item");
        assertTrue("retrieved among the first (its vector is the nearest item's), ranked below every rankable hit of the window",
            textless >= 200 - 1 && coordinator[textless].getScore() < newOnCoordinator.getScore());

        // The rescorer (query_weight 0) gives it the same served score; with retrieval_weight 0, its ranking probability.
        GenrecRescorerBuilder rescorer = new GenrecRescorerBuilder(services(), new UserContext(MODEL, history, null, null, NOW), null, 0f, 1f);
        SearchHit[] rescored = client().prepareSearch(index).setQuery(QueryBuilders.matchQuery("title", nearest.title()))
            .addRescorer(rescorer, 50).setSize(50).get().getHits().getHits();
        SearchHit newRescored = Arrays.stream(rescored).filter(h -> h.getId().equals("new-item")).findFirst().orElseThrow();
        assertEquals(expectedScore, newRescored.getScore(), 2e-5f * Math.max(1, expectedScore));
        SearchHit[] byHead = client().prepareSearch(index).setQuery(QueryBuilders.matchQuery("title", nearest.title()))
            .addRescorer(rescorer.retrievalWeight(0f), 50).setSize(50).get().getHits().getHits();
        SearchHit newByHead = Arrays.stream(byHead).filter(h -> h.getId().equals("new-item")).findFirst().orElseThrow();
        assertEquals(1 / (1 + Math.exp(-expected.logits()[0])), newByHead.getScore(), 1e-5);
    }

    /**
     * A history event of an item added after training: the coordinating node reads the item's text from the searched index
     * and the model reads the event by it, where before the event was left out. Searched where the item is not, the event is
     * left out as before, unless the request gives the item's text itself; either way the item itself is excluded from the hits.
     */
    public void testAnItemAddedAfterTrainingInTheHistoryIsReadByItsTextFromTheSearchedItems() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = new ArrayList<>(history(bundle, 3, 14, 15, 92));
        ItemCatalog.Item like = bundle.items().items().get(40);
        ItemText text = new ItemText(like.title(), like.categories());
        history.add(new HistoryEvent("new-in-history", bundle.manifest().actions().get(0), NOW - 30, null));
        float[] read;
        float[] leftOut;
        List<HistoryEvent> withText = withLastItemText(history, text);
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            read = reference.encode(new GenrecRequest(withText, null, NOW)).embedding();
            leftOut = reference.encode(new GenrecRequest(history, null, NOW)).embedding();
            assertEquals("precondition: the model reads the event by its text", 0, reference.encode(new GenrecRequest(withText, null, NOW))
                .droppedHistoryItems());
            assertFalse(Arrays.equals(read, leftOut));
            float[] vector = reference.embedNewItems(List.of(text))[0];
            // More documents of the item, without text (as events or stubs might be): the lookup reads the one with text.
            Map<String, Map<String, Object>> docs = new HashMap<>(Map.of("new-in-history", Map.of("item_id", "new-in-history", "title",
                like.title(), "categories", like.categories(), "item_vector", vector)));
            for (int i = 0; i < 5; i++) {
                docs.put("new-in-history-stub-" + i, Map.of("item_id", "new-in-history", "item_vector", vector));
            }
            createItemsIndex("items-with-one-in-history", bundle, docs);
        }
        GenrecQueryBuilder byId = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector",
            null, 600, null, true, false);
        GenrecQueryBuilder withItsText = new GenrecQueryBuilder(services(), new UserContext(MODEL, withText, null, null, NOW),
            "item_vector", null, 600, null, true, false);
        record Case(String index, GenrecQueryBuilder query, float[] user) {}
        for (Case c : List.of(new Case("items-with-one-in-history", byId, read), new Case(INDEX, byId, leftOut), new Case(INDEX, withItsText, read))) {
            assertRetrievedFor(c.user(), client(), c.index(), c.query(), history);
        }
    }

    /**
     * The unranked genrec query's top 30 are plain kNN's with {@code user}, the history's items (and the stubs of a new item)
     * left out, with kNN's scores: the query encoded the history as {@code user}.
     */
    private static void assertRetrievedFor(float[] user, Client client, String index, GenrecQueryBuilder query, List<HistoryEvent> history) {
        SearchResponse viaModel = client.prepareSearch(index).setQuery(query).setSize(30).get();
        SearchResponse plain = client.prepareSearch(index).setQuery(new KnnQueryBuilder("item_vector", user, 600, null)).setSize(40).get();
        List<String> seen = history.stream().map(HistoryEvent::itemId).toList();
        List<String> expected = ids(plain).stream().filter(id -> !seen.contains(id) && !id.startsWith("new-in-history-stub")).limit(30)
            .toList();
        assertEquals(index, expected, ids(viaModel));
        for (String id : seen) {
            assertFalse("the history's item " + id + " is excluded", ids(viaModel).contains(id));
        }
        for (int i = 0; i < 30; i++) {
            assertEquals(plain.getHits().getAt(ids(plain).indexOf(ids(viaModel).get(i))).getScore(), viaModel.getHits().getHits()[i].getScore(),
                1e-5);
        }
    }

    /**
     * A coordinating node searches for a new history item's text once and answers the next request naming it from its cache,
     * with the same hits. With the cache turned off (a dynamic setting) every request searches, so a text updated in the
     * index is read at once.
     */
    public void testANewHistoryItemsTextIsSearchedOncePerNodeUntilTheCacheIsTurnedOff() {
        ModelBundle bundle = indexItems();
        String index = "items-with-a-cached-one";
        List<HistoryEvent> history = new ArrayList<>(history(bundle, 3, 14, 15, 92));
        history.add(new HistoryEvent("cached-in-history", bundle.manifest().actions().get(0), NOW - 30, null));
        ItemCatalog.Item first = bundle.items().items().get(40);
        ItemCatalog.Item updated = bundle.items().items().get(7);
        ItemText firstText = new ItemText(first.title(), first.categories());
        ItemText updatedText = new ItemText(updated.title(), updated.categories());
        float[] readFirst;
        float[] readUpdated;
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            readFirst = reference.encode(new GenrecRequest(withLastItemText(history, firstText), null, NOW)).embedding();
            readUpdated = reference.encode(new GenrecRequest(withLastItemText(history, updatedText), null, NOW)).embedding();
            assertFalse("precondition: the two texts read differently", Arrays.equals(readFirst, readUpdated));
        }
        createItemsIndex(index, bundle, Map.of("cached-in-history", itemDoc("cached-in-history", firstText)));
        GenrecQueryBuilder query = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector", null,
            600, null, true, false);
        Client coordinating = internalCluster().client(internalCluster().getNodeNames()[0]);

        NewItemTextCache.Stats start = newItemTextStats();
        assertRetrievedFor(readFirst, coordinating, index, query, history);
        NewItemTextCache.Stats searched = newItemTextStats();
        assertEquals("one search for the one new item", List.of(1L, 1L, 0L), delta(start, searched));
        assertRetrievedFor(readFirst, coordinating, index, query, history);
        assertEquals("answered from the cache", List.of(0L, 0L, 1L), delta(searched, newItemTextStats()));

        assertAcked(client().admin().cluster().prepareUpdateSettings().setTransientSettings(
            Settings.builder().put(GenrecPlugin.NEW_ITEM_TEXT_CACHE_TTL.getKey(), "0s")));
        try {
            client().prepareIndex(index).setId("cached-in-history").setSource(itemDoc("cached-in-history", updatedText))
                .setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE).get();
            NewItemTextCache.Stats off = newItemTextStats();
            assertRetrievedFor(readUpdated, coordinating, index, query, history);
            assertRetrievedFor(readUpdated, coordinating, index, query, history);
            assertEquals("no cache: a search per request", List.of(2L, 2L, 0L), delta(off, newItemTextStats()));
        } finally {
            assertAcked(client().admin().cluster().prepareUpdateSettings().setTransientSettings(
                Settings.builder().putNull(GenrecPlugin.NEW_ITEM_TEXT_CACHE_TTL.getKey())));
        }
    }

    private static List<HistoryEvent> withLastItemText(List<HistoryEvent> history, ItemText text) {
        List<HistoryEvent> out = new ArrayList<>(history.subList(0, history.size() - 1));
        out.add(history.get(history.size() - 1).withItemText(text));
        return out;
    }

    private static Map<String, Object> itemDoc(String id, ItemText text) {
        return Map.of("item_id", id, "title", text.title(), "categories", text.categories());
    }

    /** The new items' text caches of all nodes, summed, as the models API reports them. */
    private NewItemTextCache.Stats newItemTextStats() {
        ModelsResponse listed = client().execute(ModelsAction.READ, new ModelsRequest(ModelsOperation.LIST, null, null)).actionGet();
        return listed.getNodes().stream().map(ModelsNodeResponse::newItemTexts).reduce(new NewItemTextCache.Stats(0, 0, 0, 0),
            (a, b) -> new NewItemTextCache.Stats(a.entries() + b.entries(), a.hits() + b.hits(), a.searchedIds() + b.searchedIds(),
                a.searches() + b.searches()));
    }

    /** Searches, ids searched and cache hits from {@code before} to {@code after}. */
    private static List<Long> delta(NewItemTextCache.Stats before, NewItemTextCache.Stats after) {
        return List.of(after.searches() - before.searches(), after.searchedIds() - before.searchedIds(), after.hits() - before.hits());
    }

    /**
     * A model retrained and loaded before its items were indexed would compare its user vectors with another model's item
     * vectors; the field's mapping meta says whose they are, and the query refuses the mismatch until the meta names this model.
     */
    public void testAFieldHoldingAnotherModelsEmbeddingsIsABadRequest() {
        ModelBundle bundle = indexItems();
        String other = "items-of-another-model";
        assertAcked(prepareCreate(other).setSettings(Settings.builder().put("index.number_of_shards", SHARDS).put("index.number_of_replicas", 0))
            .setMapping("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"item_vector\": {\"type\": \"genrec_vector\", "
                + "\"dimension\": " + bundle.items().embeddingDim() + ", \"meta\": " + json(Map.of(VectorFieldMeta.EMBEDDINGS,
                "sha256:0123456789abcdef0123456789abcdef", VectorFieldMeta.MODEL, "older@7")) + "}}}"));
        BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        for (ItemCatalog.Item item : bundle.items().items()) {
            bulk.add(client().prepareIndex(other).setId(item.itemId())
                .setSource(Map.of("item_id", item.itemId(), "item_vector", bundle.items().embedding(item.index()))));
        }
        assertNoFailures(bulk.get());
        ensureGreen(other);
        List<HistoryEvent> history = history(bundle, 3, 14, 15);

        SearchPhaseExecutionException e = expectThrows(SearchPhaseExecutionException.class,
            () -> client().prepareSearch(other).setQuery(query(history, null, true)).get());
        assertEquals(RestStatus.BAD_REQUEST, e.status());
        assertTrue(e.toString(), e.toString().contains("holds the item embeddings of model [older@7]")
            && e.toString().contains(bundle.items().fingerprint()));

        assertAcked(client().admin().indices().preparePutMapping(other).setSource("{\"properties\": {\"item_vector\": {\"type\": "
            + "\"genrec_vector\", \"dimension\": " + bundle.items().embeddingDim() + ", \"meta\": " + json(VectorFieldMeta.of(bundle))
            + "}}}", MediaTypeRegistry.JSON));
        assertEquals("once the meta names this model's embeddings, its hits are the items index's",
            ids(client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(10).get()),
            ids(client().prepareSearch(other).setQuery(query(history, null, true)).setSize(10).get()));
    }

    public void testUnknownModelIsABadRequest() {
        indexItems();
        GenrecQueryBuilder unknown = new GenrecQueryBuilder(services(), new UserContext("nope", List.of(), null, null, NOW), "item_vector",
            null, 10, null, true, true);
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> client().prepareSearch(INDEX).setQuery(unknown).get());
        assertTrue(e.getMessage(), e.getMessage().contains("genrec model [nope] not found"));
    }

    public void testFilterAppliesInsideTheKnnSearch() {
        ModelBundle bundle = indexItems();
        String category = bundle.items().items().get(0).categories().get(0);
        List<HistoryEvent> history = history(bundle, 1, 2, 3);
        GenrecQueryBuilder filtered = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW),
            "item_vector", null, 100, QueryBuilders.termQuery("categories", category), true, true);
        SearchResponse response = client().prepareSearch(INDEX).setQuery(filtered).setSize(500).get();
        long expected = bundle.items().items().stream()
            .filter(i -> i.categories().contains(category))
            .filter(i -> history.stream().noneMatch(e -> e.itemId().equals(i.itemId())))
            .count();
        // Every matching item fits in k = 100 per shard when the filter runs inside the kNN search;
        // filtering the top 100 of ~167 docs per shard afterwards would lose some.
        assertEquals(expected, response.getHits().getHits().length);
        for (SearchHit hit : response.getHits().getHits()) {
            assertEquals(category, ((List<?>) hit.getSourceAsMap().get("categories")).get(0));
        }
    }

    public void testHistoryIsLookedUpByUserFromTheEventsIndex() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        if (!indexExists("events")) {
            assertAcked(prepareCreate("events").setMapping("{\"properties\": {\"user_id\": {\"type\": \"keyword\"},"
                + " \"item_id\": {\"type\": \"keyword\"}, \"action\": {\"type\": \"keyword\"}, \"timestamp\": {\"type\": \"long\"}}}"));
            BulkRequestBuilder bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
            for (HistoryEvent e : history) {
                bulk.add(client().prepareIndex("events").setSource(Map.of("user_id", "u1", "item_id", e.itemId(), "action", e.action(),
                    "timestamp", e.timeSeconds())));
            }
            bulk.add(client().prepareIndex("events").setSource(Map.of("user_id", "someone-else", "item_id", history.get(0).itemId(),
                "action", history.get(0).action(), "timestamp", NOW - 1)));
            assertNoFailures(bulk.get());
        }
        GenrecQueryBuilder byUser = new GenrecQueryBuilder(services(), new UserContext(MODEL, List.of(),
            new UserContext.UserRef("events", "u1"), null, NOW), "item_vector", null, 20, null, true, true);
        Lookups before = totalLookups();
        List<String> lookedUp = ids(client().prepareSearch(INDEX).setQuery(byUser).setSize(10).get());
        List<String> inline = ids(client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(10).get());
        assertEquals("the user's events from the index are the same history as given inline", inline, lookedUp);
        assertEquals("one lookup for the request that named the user, none for the inline one", new Lookups(before.made() + 1,
            before.failed()), totalLookups());

        GenrecQueryBuilder noEventsIndex = new GenrecQueryBuilder(services(), new UserContext(MODEL, List.of(),
            new UserContext.UserRef("no-such-events", "u1"), null, NOW), "item_vector", null, 20, null, true, true);
        Exception failure = expectThrows(Exception.class, () -> client().prepareSearch(INDEX).setQuery(noEventsIndex).get());
        assertTrue(ExceptionsHelper.detailedMessage(failure), ExceptionsHelper.detailedMessage(failure).contains("no-such-events"));
        assertEquals("a lookup that failed is counted as made and as failed", new Lookups(before.made() + 2, before.failed() + 1),
            totalLookups());
    }

    /**
     * An application writing events one at a time through the genrec_event_seq processor (the events index's default pipeline),
     * through any node, gets them looked up in the order it sent them, though they share one timestamp and three shards.
     */
    public void testEventsNumberedByTheSeqPipelineAreLookedUpInTheOrderTheyWereSent() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> sent = new ArrayList<>();
        for (HistoryEvent e : history(bundle, 7, 31, 5, 64, 12, 48)) {
            sent.add(new HistoryEvent(e.itemId(), e.action(), NOW - 60, null));
        }
        assertAcked(client().admin().cluster().preparePutPipeline("genrec-events",
            new BytesArray("{\"processors\": [{\"genrec_event_seq\": {}}]}"), MediaTypeRegistry.JSON).get());
        assertAcked(prepareCreate("events-piped").setSettings(Settings.builder().put("index.number_of_shards", 3)
            .put("index.default_pipeline", "genrec-events")).setMapping("{\"properties\": {\"user_id\": {\"type\": \"keyword\"},"
            + " \"item_id\": {\"type\": \"keyword\"}, \"action\": {\"type\": \"keyword\"}, \"timestamp\": {\"type\": \"long\"},"
            + " \"seq\": {\"type\": \"long\"}}}"));
        for (HistoryEvent e : sent) {
            assertEquals(RestStatus.CREATED, client().prepareIndex("events-piped").setSource(Map.of("user_id", "u1", "item_id", e.itemId(),
                "action", e.action(), "timestamp", e.timeSeconds())).get().status());
        }
        refresh("events-piped");

        GenrecQueryBuilder byUser = new GenrecQueryBuilder(services(), new UserContext(MODEL, List.of(),
            new UserContext.UserRef("events-piped", "u1"), null, NOW), "item_vector", null, 20, null, true, true);
        List<String> lookedUp = idsAndScores(client().prepareSearch(INDEX).setQuery(byUser).setSize(10).get());
        List<String> inline = idsAndScores(client().prepareSearch(INDEX).setQuery(query(sent, null, true)).setSize(10).get());
        assertEquals("the looked-up history is the one sent, in its order", inline, lookedUp);
        // The order matters to the model here, so the lookup could not pass by luck with ties in another order.
        List<HistoryEvent> reversed = new ArrayList<>(sent);
        java.util.Collections.reverse(reversed);
        assertNotEquals(inline, idsAndScores(client().prepareSearch(INDEX).setQuery(query(reversed, null, true)).setSize(10).get()));
    }

    private static List<String> idsAndScores(SearchResponse response) {
        List<String> hits = new ArrayList<>();
        for (SearchHit hit : response.getHits().getHits()) {
            hits.add(hit.getId() + " " + hit.getScore());
        }
        return hits;
    }

    public void testRescorerReranksTheWindowOfAMatchQueryWithOneCallPerShard() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        String word = bundle.items().items().get(0).title().split(" ")[0];
        ModelCalls before = totalCalls();
        GenrecRescorerBuilder rescorer = new GenrecRescorerBuilder(services(), new UserContext(MODEL, history, null, null, NOW), null, 0f, 1f);
        SearchResponse response = client().prepareSearch(INDEX).setQuery(QueryBuilders.matchQuery("title", word))
            .addRescorer(rescorer, 50).setSize(10).get();
        ModelCalls after = totalCalls();
        assertEquals(1, after.encodeCalls() - before.encodeCalls());
        assertTrue(after.scoreCalls() - before.scoreCalls() <= SHARDS);
        SearchHit[] hits = response.getHits().getHits();
        for (SearchHit hit : hits) {
            assertTrue(hit.getSourceAsMap().get("title").toString().contains(word));
        }
        // query_weight 0: each hit's score is its served score, what a ranked genrec query gives it (the bundle's blend)
        assertTrue("the fixture serves a blend, not the head alone", bundleRetrievalWeight() > 0);
        assertRankedScoresBestFirst(history, hits, bundleRetrievalWeight());
        // the request's weights instead: retrieval_weight 0 is the ranking head's probability; another co-occurrence weight
        SearchHit[] byHead = client().prepareSearch(INDEX).setQuery(QueryBuilders.matchQuery("title", word))
            .addRescorer(rescorer.retrievalWeight(0f), 50).setSize(10).get().getHits().getHits();
        assertRankedScoresBestFirst(history, byHead, 0f);
        SearchHit[] withoutCounts = client().prepareSearch(INDEX).setQuery(QueryBuilders.matchQuery("title", word))
            .addRescorer(rescorer.retrievalWeight(2f).coOccurrenceWeight(0f), 50).setSize(10).get().getHits().getHits();
        assertRankedScoresBestFirst(history, withoutCounts, 2f, 0f);
    }

    public void testComposesInsideBoolWithMustNot() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14);
        List<String> plain = ids(client().prepareSearch(INDEX).setQuery(query(history, null, true)).setSize(5).get());
        SearchResponse response = client().prepareSearch(INDEX)
            .setQuery(QueryBuilders.boolQuery().must(query(history, null, true)).mustNot(QueryBuilders.idsQuery().addIds(plain.get(0))))
            .setSize(5).get();
        List<String> composed = ids(response);
        assertFalse(composed.contains(plain.get(0)));
        assertEquals(plain.subList(1, 5), composed.subList(0, 4));
    }

}
