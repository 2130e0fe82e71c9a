package org.genrec.plugin;

import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.NewItemTextCache;
import org.genrec.plugin.query.RankedHitsCache;
import org.genrec.plugin.query.UserContext;
import org.genrec.runtime.bundle.BundleLoader;
import org.genrec.runtime.bundle.ModelBundle;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.common.compress.CompressedXContent;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.MapperService;
import org.opensearch.index.query.QueryBuilders;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.index.query.Rewriteable;
import org.opensearch.plugins.Plugin;
import org.opensearch.test.AbstractQueryTestCase;
import org.opensearch.test.TestGeoShapeFieldMapperPlugin;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import static org.hamcrest.Matchers.instanceOf;

/**
 * The OpenSearch query test base class over random genrec queries: XContent and transport round
 * trips, unknown fields and objects, equality, and Lucene query construction on a shard with the
 * real fixture model (the shard-side rewrite encodes the history, as the validate API would).
 */
public class GenrecQueryBuilderTests extends AbstractQueryTestCase<GenrecQueryBuilder> {

    private static final String MODEL = "synthetic";

    /** The plugin, reading its models from the copy of the fixture bundle under target/ (the test framework gives no config dir). */
    public static class PluginWithFixtureModels extends GenrecPlugin {
        public PluginWithFixtureModels(Settings settings, Path ignoredConfigPath) {
            super(settings, fixtureConfig());
        }
    }

    private static GenrecServices services;
    private static ModelBundle bundle;

    private static Path fixtureConfig() {
        // .../test-config/genrec/synthetic -> .../test-config
        return Path.of(System.getProperty("genrec.plugin.test.bundle")).getParent().getParent();
    }

    @Override
    protected Collection<Class<? extends Plugin>> getPlugins() {
        return List.of(PluginWithFixtureModels.class, TestGeoShapeFieldMapperPlugin.class);
    }

    @Override
    protected void initializeAdditionalMappings(MapperService mapperService) throws IOException {
        bundle = BundleLoader.load(fixtureConfig().resolve("genrec").resolve(MODEL));
        services = new GenrecServices(new ModelRegistry(fixtureConfig().resolve("genrec"), ExecutionProvider.CPU), new RankedHitsCache(),
            new NewItemTextCache(NewItemTextCache.DEFAULT_TTL, NewItemTextCache.DEFAULT_MAX_ENTRIES));
        mapperService.merge("_doc", new CompressedXContent("{\"properties\": {\"item_id\": {\"type\": \"keyword\"}, \"item_vector\": "
            + "{\"type\": \"genrec_vector\", \"dimension\": " + bundle.items().embeddingDim() + "}}}"), MapperService.MergeReason.MAPPING_UPDATE);
    }

    @Override
    protected GenrecQueryBuilder doCreateTestQueryBuilder() {
        List<HistoryEvent> history = new ArrayList<>();
        int n = randomIntBetween(0, 8);
        long time = randomLongBetween(1_000_000_000L, 1_700_000_000L);
        for (int i = 0; i < n; i++) {
            String item = bundle.items().items().get(randomIntBetween(0, bundle.items().size() - 1)).itemId();
            String action = randomFrom(bundle.manifest().actions());
            history.add(new HistoryEvent(item, action, time + i * 60L, randomBoolean() ? null : randomAlphaOfLengthBetween(1, 10)));
        }
        // Always a request time: the Lucene query must not depend on when it is built.
        UserContext user = new UserContext(MODEL, history, null, randomBoolean() ? null : randomAlphaOfLengthBetween(1, 12), time + 3600);
        int k = randomIntBetween(1, 50);
        GenrecQueryBuilder builder = new GenrecQueryBuilder(services, user, "item_vector", "item_id", k,
            randomBoolean() ? null : QueryBuilders.termQuery(KEYWORD_FIELD_NAME, randomAlphaOfLength(5)), randomBoolean(), randomBoolean());
        if (randomBoolean()) {
            builder.numCandidates(randomIntBetween(k, k + 50));
        }
        if (randomBoolean()) {
            builder.rankWindow(randomIntBetween(1, k));
        }
        return builder;
    }

    @Override
    protected void doAssertLuceneQuery(GenrecQueryBuilder builder, Query query, QueryShardContext context) {
        long seen = builder.user().history().stream().map(e -> e.itemId()).distinct().count();
        boolean excludes = builder.excludeHistory() && seen > 0;
        if (builder.rank() || builder.numCandidates() != builder.k() || excludes) {
            assertEquals("org.genrec.plugin.query.RankedKnnQuery", query.getClass().getName());
            assertTrue(query.toString(), query.toString().contains("k=" + builder.k()));
            if (excludes) {
                // the kNN search is widened by the distinct history items, which are then excluded
                assertTrue(query.toString(), query.toString().contains("][" + (builder.numCandidates() + seen) + "]"));
                assertTrue(query.toString(), query.toString().contains("-item_id:"));
            }
        } else {
            assertThat(query, instanceOf(KnnFloatVectorQuery.class));
            assertEquals(builder.k(), ((KnnFloatVectorQuery) query).getK());
            assertEquals("item_vector", ((KnnFloatVectorQuery) query).getField());
        }
    }

    /** Each rewrite draws a new request id for the ranked-hits cache, so equal builders give different (uncacheable) Lucene queries. */
    @Override
    protected boolean builderGeneratesCacheableQueries() {
        return false;
    }

    public void testARetrievalOnlyQueryCarriesNoHistoryCacheToTheShards() throws IOException {
        List<HistoryEvent> history = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String item = bundle.items().items().get(i).itemId();
            history.add(new HistoryEvent(item, bundle.manifest().actions().get(0), 1_600_000_000L + i, null));
        }
        GenrecQueryBuilder ranked = rewritten(history, true);
        GenrecQueryBuilder retrievalOnly = rewritten(history, false);

        assertTrue(ranked.user().encoding().hasCache());
        assertTrue("kept on the coordinating node, for genrec_rank", retrievalOnly.user().encoding().hasCache());
        GenrecQueryBuilder shipped = overTheWire(retrievalOnly);
        assertFalse("not shipped to the shards", shipped.user().encoding().hasCache());
        assertArrayEquals(ranked.user().encoding().embedding(), shipped.user().encoding().embedding(), 0f);
        long cacheBytes = 4L * (ranked.user().encoding().cacheKeys().length + ranked.user().encoding().cacheValues().length);
        assertTrue(serializedSize(ranked) - serializedSize(retrievalOnly) >= cacheBytes);
        // and the shard still builds its kNN query from the embedding alone
        assertNotNull(shipped.toQuery(createShardContext()));
    }

    private static GenrecQueryBuilder rewritten(List<HistoryEvent> history, boolean rank) throws IOException {
        UserContext user = new UserContext(MODEL, history, null, null, 1_600_003_600L);
        GenrecQueryBuilder builder = new GenrecQueryBuilder(services, user, "item_vector", "item_id", 10, null, false, rank);
        return (GenrecQueryBuilder) Rewriteable.rewrite(builder, createShardContext());
    }

    private static GenrecQueryBuilder overTheWire(GenrecQueryBuilder builder) throws IOException {
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            builder.writeTo(out);
            return new GenrecQueryBuilder(out.bytes().streamInput(), services);
        }
    }

    private static long serializedSize(GenrecQueryBuilder builder) throws IOException {
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            builder.writeTo(out);
            return out.size();
        }
    }

    @Override
    public void testMustRewrite() {
        GenrecQueryBuilder builder = createTestQueryBuilder();
        IllegalStateException e = expectThrows(IllegalStateException.class, () -> builder.toQuery(createShardContext()));
        assertTrue(e.getMessage(), e.getMessage().contains("must be rewritten first"));
    }
}
