package org.genrec.plugin;

import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.ExceptionsHelper;
import org.opensearch.action.search.PutSearchPipelineRequest;
import org.opensearch.action.search.SearchRequest;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.common.bytes.BytesArray;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.search.SearchHit;

import java.util.HashSet;
import java.util.List;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;

/**
 * Ranking on the coordinating node: the {@code genrec_rank} search response processor over a
 * {@code genrec} query whose shards only retrieve, on the three-node, three-shard cluster.
 */
public class CoordinatorRankingIT extends GenrecIntegTestCase {

    private static final String PIPELINE = "genrec-coordinator";

    public void testTheMergedWindowIsRankedWithOneEncodeAndOneScoreCallPerRequest() {
        ModelBundle bundle = indexItems();
        putPipeline("{\"response_processors\": [{\"genrec_rank\": {}}]}");
        List<HistoryEvent> history = history(bundle, 3, 14, 15, 92);
        GenrecQueryBuilder retrievalOnly = query(history, null, false);
        List<String> retrieved = ids(search(retrievalOnly, 20, null));

        ModelCalls before = totalCalls();
        SearchResponse response = search(query(history, null, false), 20, PIPELINE);
        ModelCalls after = totalCalls();
        assertEquals("the history is encoded once per search request", 1, after.encodeCalls() - before.encodeCalls());
        assertEquals("one ranking call per request, not one per shard", 1, after.scoreCalls() - before.scoreCalls());

        SearchHit[] hits = response.getHits().getHits();
        assertEquals("the same merged top 20, reordered", new HashSet<>(retrieved), new HashSet<>(ids(response)));
        assertRankedScoresBestFirst(history, hits, bundleRetrievalWeight());
        assertEquals(hits[0].getScore(), response.getHits().getMaxScore(), 0f);
    }

    public void testHitsAfterTheWindowFollowItInRetrievalOrder() {
        ModelBundle bundle = indexItems();
        putPipeline("{\"response_processors\": [{\"genrec_rank\": {}}]}");
        List<HistoryEvent> history = history(bundle, 7, 8, 21);
        List<String> retrieved = ids(search(query(history, null, false), 20, null));

        SearchResponse response = search(query(history, null, false).rankWindow(5).retrievalWeight(3f), 20, PIPELINE);
        SearchHit[] hits = response.getHits().getHits();
        assertEquals(20, hits.length);
        assertEquals("the window holds the best 5 retrieved", new HashSet<>(retrieved.subList(0, 5)),
            new HashSet<>(ids(response).subList(0, 5)));
        assertRankedScoresBestFirst(history, java.util.Arrays.copyOf(hits, 5), 3f); // the query's weight, not the bundle's
        assertEquals("after the window: retrieval order", retrieved.subList(5, 20), ids(response).subList(5, 20));
        for (int i = 5; i < 20; i++) {
            assertTrue("below every ranked hit", hits[i].getScore() < hits[4].getScore());
        }
    }

    public void testMisuseIsABadRequestThatNamesTheFix() {
        ModelBundle bundle = indexItems();
        putPipeline("{\"response_processors\": [{\"genrec_rank\": {}}]}");
        List<HistoryEvent> history = history(bundle, 3, 14);
        assertBadRequest(() -> search(query(history, null, true), 20, PIPELINE), "set [rank.enabled] to false");
        assertBadRequest(() -> search(query(history, null, false), 10, PIPELINE), "[size] to at least 20");
        assertBadRequest(() -> search(QueryBuilders.matchAllQuery(), 20, PIPELINE), "the request's top-level query is [match_all]");
        Exception e = expectThrows(Exception.class, () -> putPipeline("{\"response_processors\": [{\"genrec_rank\": {\"window\": 5}}]}"));
        assertTrue(e.toString(), e.toString().contains("takes no options"));
    }

    private void assertBadRequest(org.apache.lucene.tests.util.LuceneTestCase.ThrowingRunnable search, String reason) {
        Exception e = expectThrows(Exception.class, search);
        assertEquals(e.toString(), RestStatus.BAD_REQUEST, ExceptionsHelper.status(e));
        assertTrue(e.toString(), e.toString().contains(reason));
    }

    private SearchResponse search(QueryBuilder query, int size, String pipeline) {
        SearchRequest request = client().prepareSearch(INDEX).setQuery(query).setSize(size).request();
        return client().search(pipeline == null ? request : request.pipeline(pipeline)).actionGet();
    }

    private void putPipeline(String body) {
        assertAcked(client().admin().cluster().putSearchPipeline(
            new PutSearchPipelineRequest(PIPELINE, new BytesArray(body), XContentType.JSON)).actionGet());
    }
}
