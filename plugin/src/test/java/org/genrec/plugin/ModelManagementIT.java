package org.genrec.plugin;

import org.genrec.plugin.action.ModelsAction;
import org.genrec.plugin.action.ModelsNodeResponse;
import org.genrec.plugin.action.ModelsOperation;
import org.genrec.plugin.action.ModelsRequest;
import org.genrec.plugin.action.ModelsResponse;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.action.search.SearchPhaseExecutionException;
import org.opensearch.common.settings.Settings;

import java.util.List;

import static org.opensearch.test.hamcrest.OpenSearchAssertions.assertAcked;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** Load, reload, unload, aliases, version pins and stats, on every node of a three-node cluster. */
public class ModelManagementIT extends GenrecIntegTestCase {

    private ModelsResponse models(ModelsOperation operation, String model, String alias) {
        return client().execute(ModelsAction.of(operation), new ModelsRequest(operation, model, alias)).actionGet();
    }

    public void testTheReadActionListsButRefusesToChangeWhatIsServed() {
        assertTrue("a role with cluster_monitor may read", ModelsAction.READ.name().startsWith("cluster:monitor/"));
        assertTrue(ModelsAction.MANAGE.name().startsWith("cluster:admin/"));
        indexItems();
        for (ModelsOperation change : new ModelsOperation[] { ModelsOperation.LOAD, ModelsOperation.UNLOAD, ModelsOperation.ALIAS }) {
            IllegalArgumentException refused = expectThrows(IllegalArgumentException.class,
                () -> client().execute(ModelsAction.READ, new ModelsRequest(change, DOT_MODEL, "sneaky")).actionGet());
            assertTrue(refused.getMessage(), refused.getMessage().contains("send it as [" + ModelsAction.MANAGE.name() + "]"));
        }
        ModelsResponse listed = client().execute(ModelsAction.READ, new ModelsRequest(ModelsOperation.LIST, null, null)).actionGet();
        assertTrue("nothing was loaded or aliased through the read action", listed.getNodes().stream()
            .allMatch(n -> n.models().stream().noneMatch(m -> m.name().equals(DOT_MODEL)) && !n.aliases().containsKey("sneaky")));
        expectThrows(IllegalArgumentException.class,
            () -> client().execute(ModelsAction.MANAGE, new ModelsRequest(ModelsOperation.LIST, null, null)).actionGet());
    }

    public void testLoadReachesEveryNodeAndStatsCountRequests() {
        ModelBundle bundle = indexItems();
        ModelsResponse loaded = models(ModelsOperation.LOAD, MODEL, null);
        assertFalse(loaded.failedSomewhere());
        assertEquals(internalCluster().size(), loaded.getNodes().size());
        for (ModelsNodeResponse node : loaded.getNodes()) {
            assertEquals(MODEL, node.models().get(0).name());
            assertEquals(bundle.manifest().modelVersion(), node.models().get(0).version());
            assertEquals("cpu", node.models().get(0).executionProvider());
            assertEquals("fp32", node.models().get(0).precision());
            assertTrue(node.models().get(0).memoryBytes() > 0);
        }
        client().prepareSearch(INDEX).setQuery(query(MODEL, history(bundle, 1, 2))).get();
        long encodes = models(ModelsOperation.LIST, null, null).getNodes().stream()
            .flatMap(n -> n.models().stream()).mapToLong(m -> m.stats().encodeCalls()).sum();
        assertEquals("one encode for one search request, on the coordinating node", 1, encodes);
    }

    public void testCorruptModelFailsToLoadWithTheReasonAndOthersKeepServing() {
        ModelBundle bundle = indexItems();
        ModelsResponse response = models(ModelsOperation.LOAD, "broken", null);
        assertTrue(response.failedSomewhere());
        for (ModelsNodeResponse node : response.getNodes()) {
            assertTrue(node.error(), node.error().contains("genrec model [broken] cannot be loaded") && node.error().contains("score"));
        }
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class,
            () -> client().prepareSearch(INDEX).setQuery(query("broken", history(bundle, 1))).get());
        assertTrue(e.getMessage(), e.getMessage().contains("cannot be loaded"));
        assertEquals(10, client().prepareSearch(INDEX).setQuery(query(MODEL, history(bundle, 1))).setSize(10).get().getHits().getHits().length);
    }

    public void testAliasesAndVersionPins() {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 5, 6, 7);
        String version = bundle.manifest().modelVersion();
        assertFalse(models(ModelsOperation.ALIAS, MODEL + "@" + version, "recs").failedSomewhere());
        List<String> direct = ids(client().prepareSearch(INDEX).setQuery(query(MODEL, history)).get());
        assertEquals(direct, ids(client().prepareSearch(INDEX).setQuery(query("recs", history)).get()));
        assertEquals(direct, ids(client().prepareSearch(INDEX).setQuery(query(MODEL + "@" + version, history)).get()));

        IllegalArgumentException wrongVersion = expectThrows(IllegalArgumentException.class,
            () -> client().prepareSearch(INDEX).setQuery(query(MODEL + "@no-such-version", history)).get());
        assertTrue(wrongVersion.getMessage(), wrongVersion.getMessage().contains("is at version [" + version + "], not [no-such-version]"));

        assertFalse(models(ModelsOperation.LOAD, DOT_MODEL, null).failedSomewhere());
        try {  // the cluster outlives this test: other tests expect only the main model loaded
            assertTrue("unfiltered, the list holds the other model too", models(ModelsOperation.LIST, null, null).getNodes().stream()
                .allMatch(n -> n.models().stream().anyMatch(m -> m.name().equals(DOT_MODEL))));
            for (String asked : new String[] { MODEL, "recs" }) {
                for (ModelsNodeResponse node : models(ModelsOperation.LIST, asked, null).getNodes()) {
                    assertTrue("GET models/" + asked + " lists that model alone",
                        node.models().stream().allMatch(m -> m.name().equals(MODEL)));
                }
            }
            assertTrue(models(ModelsOperation.LIST, MODEL, null).getNodes().stream().anyMatch(n -> !n.models().isEmpty()));
            assertTrue(models(ModelsOperation.LIST, "no-such-model", null).getNodes().stream().allMatch(n -> n.models().isEmpty()));
        } finally {
            assertFalse(models(ModelsOperation.UNLOAD, DOT_MODEL, null).failedSomewhere());
        }

        assertFalse(models(ModelsOperation.REMOVE_ALIAS, null, "recs").failedSomewhere());
        expectThrows(IllegalArgumentException.class, () -> client().prepareSearch(INDEX).setQuery(query("recs", history)).get());
        assertTrue(models(ModelsOperation.REMOVE_ALIAS, null, "recs").failedSomewhere());
        assertTrue(models(ModelsOperation.ALIAS, "no-such-model", "recs").failedSomewhere());
    }

    public void testAliasInThePersistentClusterSettingsSurvivesAFullRestart() throws Exception {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 5, 6, 7);
        List<String> direct = ids(client().prepareSearch(INDEX).setQuery(query(MODEL, history)).get());
        assertAcked(client().admin().cluster().prepareUpdateSettings()
            .setPersistentSettings(Settings.builder().put("genrec.aliases.durable.model", MODEL)));
        assertEquals(direct, ids(client().prepareSearch(INDEX).setQuery(query("durable", history)).get()));

        internalCluster().fullRestart();
        ensureGreen(INDEX);
        assertEquals("the alias came back with the cluster state", direct,
            ids(client().prepareSearch(INDEX).setQuery(query("durable", history)).get()));

        assertAcked(client().admin().cluster().prepareUpdateSettings().setPersistentSettings(Settings.builder().putNull("genrec.aliases.durable.model")));
        IllegalArgumentException gone = expectThrows(IllegalArgumentException.class,
            () -> client().prepareSearch(INDEX).setQuery(query("durable", history)).get());
        assertTrue(gone.getMessage(), gone.getMessage().contains("genrec model [durable] not found"));
    }

    public void testReloadWhileQueriesRunLosesNoRequest() throws Exception {
        ModelBundle bundle = indexItems();
        List<HistoryEvent> history = history(bundle, 3, 14, 15);
        List<String> expected = ids(client().prepareSearch(INDEX).setQuery(query(MODEL, history)).get());
        AtomicInteger done = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread searches = new Thread(() -> {
            try {
                for (int i = 0; i < 40; i++) {
                    assertEquals(expected, ids(client().prepareSearch(INDEX).setQuery(query(MODEL, history)).get()));
                    done.incrementAndGet();
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        searches.start();
        for (int i = 0; i < 3; i++) {
            assertFalse(models(ModelsOperation.LOAD, MODEL, null).failedSomewhere());
        }
        searches.join();
        assertNull("searches during reloads: " + failure.get(), failure.get());
        assertEquals(40, done.get());
    }

    public void testUnloadedModelIsNotListedAndLoadsAgainOnUse() {
        ModelBundle bundle = indexItems();
        assertFalse(models(ModelsOperation.LOAD, MODEL, null).failedSomewhere());
        ModelsResponse unloaded = models(ModelsOperation.UNLOAD, MODEL, null);
        assertFalse(unloaded.failedSomewhere());
        unloaded.getNodes().forEach(n -> assertTrue(n.models().isEmpty()));
        assertTrue(models(ModelsOperation.UNLOAD, MODEL, null).failedSomewhere());
        assertEquals(10, client().prepareSearch(INDEX).setQuery(query(MODEL, history(bundle, 1))).setSize(10).get().getHits().getHits().length);
    }
}
