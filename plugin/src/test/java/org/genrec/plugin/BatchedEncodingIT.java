package org.genrec.plugin;

import org.genrec.plugin.model.ModelRegistry;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.action.search.SearchResponse;
import org.opensearch.common.action.ActionFuture;
import org.opensearch.common.settings.Settings;
import org.opensearch.plugins.PluginsService;
import org.opensearch.search.SearchHit;
import org.opensearch.transport.client.Client;

import java.util.ArrayList;
import java.util.List;

/**
 * Nodes with {@code genrec.batching.mode: on} (what AUTO does on a GPU node, run here on CPU):
 * concurrent genrec queries share encode calls, and each gets the hits and scores it gets when it
 * runs alone.
 */
public class BatchedEncodingIT extends GenrecIntegTestCase {

    @Override
    protected Settings nodeSettings(int nodeOrdinal) {
        return Settings.builder()
            .put(super.nodeSettings(nodeOrdinal))
            .put("genrec.batching.mode", "on")
            .put("genrec.batching.max_batch", 8)
            .put("genrec.batching.max_delay", "200ms")
            // The encode runs on the search pool and waits there for its batch. With the pool the test
            // framework sizes from its randomized settings, some seeds (F755C0842E826E2A every time)
            // never let two requests wait at once, so no call was shared; 16 threads let all 12 wait.
            .put("thread_pool.search.size", 16)
            .build();
    }

    public void testConcurrentQueriesShareEncodeCallsAndGetTheirSoloResults() throws Exception {
        ModelBundle bundle = indexItems();
        String coordinator = internalCluster().getNodeNames()[0];
        // That node's own client, so that most searches are coordinated (and their histories encoded) on one node.
        Client client = internalCluster().getInstance(Client.class, coordinator);
        List<List<HistoryEvent>> histories = new ArrayList<>();
        for (int user = 0; user < 12; user++) {
            int[] items = new int[1 + user * 3];
            for (int i = 0; i < items.length; i++) {
                items[i] = 1 + (user * 37 + i * 11) % bundle.items().size();
            }
            histories.add(history(bundle, items));
        }
        // One at a time: every encode call holds one request.
        List<SearchResponse> alone = new ArrayList<>();
        for (List<HistoryEvent> h : histories) {
            alone.add(client.prepareSearch(INDEX).setQuery(query(h, null, true)).setSize(10).get());
        }
        assertEquals(1.0, largestEncodeBatch(), 0.0);

        List<ActionFuture<SearchResponse>> together = new ArrayList<>();
        for (List<HistoryEvent> h : histories) {
            together.add(client.prepareSearch(INDEX).setQuery(query(h, null, true)).setSize(10).execute());
        }
        for (int u = 0; u < histories.size(); u++) {
            SearchHit[] want = alone.get(u).getHits().getHits();
            SearchHit[] got = together.get(u).get().getHits().getHits();
            assertEquals("user " + u + " hit count", want.length, got.length);
            for (int i = 0; i < want.length; i++) {
                assertEquals("user " + u + " hit " + i, want[i].getId(), got[i].getId());
                assertEquals("user " + u + " score " + i, want[i].getScore(), got[i].getScore(), 1e-4f);
            }
        }
        double largest = largestEncodeBatch();
        assertTrue("12 concurrent queries never shared an encode call", largest > 1);
        assertTrue("an encode call above max_batch: " + largest, largest <= 8);
    }

    /**
     * The largest number of requests one encode call served, over every node that encoded. Summed
     * over nodes because the test framework does not always coordinate on the node it was asked for
     * (measured: a share of the searches was encoded elsewhere), which spreads the batches.
     */
    private double largestEncodeBatch() {
        double largest = 0;
        for (PluginsService plugins : internalCluster().getInstances(PluginsService.class)) {
            for (ModelRegistry.Loaded loaded : plugins.filterPlugins(GenrecPlugin.class).get(0).services().models().loaded()) {
                assertEquals("on", loaded.model().batching().mode().name().toLowerCase(java.util.Locale.ROOT));
                largest = Math.max(largest, loaded.model().stats().snapshot().requestsPerEncode().max());
            }
        }
        return largest;
    }
}
