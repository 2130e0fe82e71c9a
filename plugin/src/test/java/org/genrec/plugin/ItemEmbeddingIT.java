package org.genrec.plugin;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.bundle.VectorFieldMeta;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.ItemTextFields;
import org.genrec.plugin.query.UserContext;
import org.opensearch.action.bulk.BulkItemResponse;
import org.opensearch.action.bulk.BulkResponse;
import org.opensearch.action.support.WriteRequest;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.search.SearchHit;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;

/**
 * The genrec_item_embedding ingest processor: items written by an application get the model's vector, trained or, for an
 * item added after training, from its text alone, in the space the genrec query searches.
 */
public class ItemEmbeddingIT extends GenrecIntegTestCase {

    private static final String PIPELINE = "genrec-items";

    private void putPipeline() {
        assertAcked(client().admin().cluster().preparePutPipeline(PIPELINE,
            new BytesArray("{\"processors\": [{\"genrec_item_embedding\": {\"model\": \"" + MODEL + "\"}}]}"), MediaTypeRegistry.JSON).get());
    }

    private BulkResponse indexThroughPipeline(String index, Map<String, Map<String, Object>> docs) {
        var bulk = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE);
        docs.forEach((id, doc) -> bulk.add(client().prepareIndex(index).setId(id).setSource(doc).setPipeline(PIPELINE)));
        return bulk.get();
    }

    @SuppressWarnings("unchecked")
    private float[] storedVector(String index, String id) {
        List<Number> values = (List<Number>) client().prepareGet(index, id).get().getSourceAsMap().get("item_vector");
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i).floatValue();
        }
        return out;
    }

    public void testTrainedItemsGetTheirVectorAndNewOnesTheirTextsAndTheQueryFindsThem() throws Exception {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        String index = "items-growing";
        createItemsIndex(index, bundle, Map.of());
        putPipeline();
        var trained = bundle.items().items().get(41);
        var twin = bundle.items().items().get(7);
        BulkResponse response = indexThroughPipeline(index, Map.of(
            trained.itemId(), Map.of("item_id", trained.itemId(), "title", "a title the model ignores for a trained item"),
            "new-1", Map.of("item_id", "new-1", "title", twin.title(), "categories", twin.categories()),
            "new-2", Map.of("item_id", "new-2", "title", "Qwertyzz deluxe", "categories", "a single category string")));
        assertFalse(response.buildFailureMessage(), response.hasFailures());

        assertArrayEquals("a trained item gets the vector index-items writes", bundle.items().embedding(trained.index()),
            storedVector(index, trained.itemId()), 0f);
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            float[] fromText = reference.embedNewItems(List.of(new ItemText(twin.title(), twin.categories())))[0];
            assertArrayEquals("a new item gets its text's embedding", fromText, storedVector(index, "new-1"), 1e-6f);
            assertArrayEquals(reference.embedNewItems(List.of(new ItemText("Qwertyzz deluxe", List.of("a single category string"))))[0],
                storedVector(index, "new-2"), 1e-6f);

            // The genrec query searches it in the same space: it comes back at the rank its similarity gives it, with that score.
            float[] user = reference.encode(new GenrecRequest(history, null, NOW)).embedding();
            double similarity = dot(user, fromText);
            int above = 0;
            for (var item : bundle.items().items()) {
                above += dot(user, bundle.items().embedding(item.index())) > similarity ? 1 : 0;
            }
            GenrecQueryBuilder unranked = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector",
                null, above + 1, null, true, false);
            SearchHit found = null;
            for (SearchHit hit : client().prepareSearch(index).setQuery(unranked).setSize(3 * (above + 1)).get().getHits().getHits()) {
                found = hit.getId().equals("new-1") ? hit : found;
            }
            assertNotNull("within the top k of its shard by similarity, so retrieved", found);
            assertEquals("Lucene's dot_product score of its text embedding", (1 + similarity) / 2, found.getScore(), 1e-5);
        }
    }

    public void testAnItemWithoutTextIsRefusedWithAReasonAndTheOthersAreIndexed() {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        String index = "items-with-a-textless-one";
        createItemsIndex(index, bundle, Map.of());
        putPipeline();
        BulkResponse response = indexThroughPipeline(index, Map.of(
            "textless", Map.of("item_id", "textless", "title", "!!"),
            "fine", Map.of("item_id", "fine", "title", "Qwertyzz")));
        BulkItemResponse failed = Arrays.stream(response.getItems()).filter(BulkItemResponse::isFailed).findFirst().orElseThrow();
        assertEquals("textless", failed.getId());
        assertEquals(RestStatus.BAD_REQUEST, failed.status());
        assertTrue(failed.getFailureMessage(), failed.getFailureMessage().contains("no title or category text the model can read"));
        assertEquals(1, Arrays.stream(response.getItems()).filter(BulkItemResponse::isFailed).count());
        assertTrue(client().prepareGet(index, "fine").get().isExists());
    }

    public void testAnIndexHoldingAnotherModelsVectorsRefusesThisModelsVector() {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        String index = "items-of-an-older-model";
        assertAcked(prepareCreate(index).setSettings(Settings.builder().put("index.number_of_shards", SHARDS).put("index.number_of_replicas", 0))
            .setMapping("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"item_vector\": {\"type\": \"genrec_vector\", "
                + "\"dimension\": " + bundle.items().embeddingDim() + ", \"meta\": " + json(Map.of(VectorFieldMeta.EMBEDDINGS,
                "sha256:0123456789abcdef0123456789abcdef", VectorFieldMeta.MODEL, "older@7")) + "}}}"));
        putPipeline();
        BulkResponse response = indexThroughPipeline(index, Map.of("new-1", Map.of("item_id", "new-1", "title", "Qwertyzz")));
        BulkItemResponse item = response.getItems()[0];
        assertTrue(item.isFailed());
        assertEquals(RestStatus.BAD_REQUEST, item.status());
        assertTrue(item.getFailureMessage(), item.getFailureMessage().contains("field [item_vector] of index [" + index
            + "] holds the item embeddings of model [older@7]"));
        assertFalse(client().prepareGet(index, "new-1").get().isExists());
    }

    /** An index that keeps item text under other names: the processor and the query are told them, and rank the item by it. */
    public void testTextUnderOtherFieldNamesIsEmbeddedAndRankedWhenNamed() throws Exception {
        ModelBundle bundle = BundleLoader.load(bundlePath());
        String index = "items-named-otherwise";
        createItemsIndex(index, bundle, Map.of());
        assertAcked(client().admin().cluster().preparePutPipeline("genrec-items-named", new BytesArray("{\"processors\": "
            + "[{\"genrec_item_embedding\": {\"model\": \"" + MODEL + "\", \"title_field\": \"name\", \"categories_field\": \"genres\"}}]}"),
            MediaTypeRegistry.JSON).get());
        var twin = bundle.items().items().get(7);
        var response = client().prepareBulk().setRefreshPolicy(WriteRequest.RefreshPolicy.IMMEDIATE).add(client().prepareIndex(index)
            .setId("new-1").setSource(Map.of("item_id", "new-1", "name", twin.title(), "genres", twin.categories()))
            .setPipeline("genrec-items-named")).get();
        assertFalse(response.buildFailureMessage(), response.hasFailures());
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        float expected;
        try (GenrecModel reference = GenrecModel.load(bundlePath(), ExecutionProvider.CPU)) {
            ItemText text = new ItemText(twin.title(), twin.categories());
            assertArrayEquals(reference.embedNewItems(List.of(text))[0], storedVector(index, "new-1"), 1e-6f);
            var scores = reference.scoreNewItems(reference.encode(new GenrecRequest(history, null, NOW)), List.of(text));
            double blend = Math.log(1 / (1 + Math.exp(-scores.logits()[0]))) + bundleRetrievalWeight() * scores.similarities()[0];
            expected = (float) (blend < 0 ? 1 / (1 - blend) : 1 + blend);
        }
        GenrecQueryBuilder named = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector", null,
            200, null, true, true).rankWindow(200).itemTextFields(new ItemTextFields("name", "genres"));
        SearchHit[] hits = client().prepareSearch(index).setQuery(named).setSize(600).get().getHits().getHits();
        SearchHit ranked = Arrays.stream(hits).filter(h -> h.getId().equals("new-1")).findFirst().orElseThrow();
        assertEquals("ranked by the text the query named", expected, ranked.getScore(), 2e-5f * Math.max(1, expected));

        GenrecQueryBuilder unnamed = new GenrecQueryBuilder(services(), new UserContext(MODEL, history, null, null, NOW), "item_vector",
            null, 200, null, true, true).rankWindow(200);
        SearchHit[] defaults = client().prepareSearch(index).setQuery(unnamed).setSize(600).get().getHits().getHits();
        assertEquals("without them it finds no text: placed after every ranked hit", "new-1", defaults[defaults.length - 1].getId());
    }

    private static double dot(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += (double) a[i] * b[i];
        }
        return sum;
    }
}
