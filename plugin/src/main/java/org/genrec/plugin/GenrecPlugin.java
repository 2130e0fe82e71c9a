package org.genrec.plugin;

import org.genrec.plugin.ingest.EventSeqProcessor;
import org.genrec.plugin.ingest.ItemEmbeddingProcessor;
import org.genrec.plugin.ingest.IngestionSequence;
import org.genrec.plugin.mapper.GenrecVectorFieldMapper;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.pipeline.CoordinatorRankingProcessor;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.GenrecQueryParser;
import org.genrec.plugin.query.KnnQueryBuilder;
import org.genrec.plugin.query.NewItemTextCache;
import org.genrec.plugin.query.RankedHitsCache;
import org.genrec.plugin.rescore.GenrecRescorerBuilder;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.GraphPrecision;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.IngestPlugin;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPipelinePlugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.search.pipeline.Processor;
import org.opensearch.search.pipeline.SearchResponseProcessor;

import org.genrec.plugin.action.ModelsAction;
import org.genrec.plugin.action.TransportModelsAction;
import org.genrec.plugin.rest.RestModelsAction;
import org.opensearch.action.ActionRequest;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.node.DiscoveryNodes;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.ClusterSettings;
import org.opensearch.common.settings.IndexScopedSettings;
import org.opensearch.common.settings.SettingsFilter;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.core.action.ActionResponse;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.rest.RestController;
import org.opensearch.rest.RestHandler;
import org.opensearch.script.ScriptService;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

import java.nio.file.Path;
import java.util.Collection;
import java.util.function.Supplier;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * genrec: the {@code genrec} query and rescorer, the {@code genrec_rank} search pipeline processor, the
 * {@code genrec_event_seq} and {@code genrec_item_embedding} ingest processors and the {@code genrec_vector} field. Models are bundle
 * directories under {@code config/genrec/}, loaded on first use.
 */
public class GenrecPlugin extends Plugin implements SearchPlugin, MapperPlugin, ActionPlugin, SearchPipelinePlugin, IngestPlugin {

    /** auto (CUDA when present, else CPU), cpu or cuda. */
    public static final Setting<String> EXECUTION_PROVIDER = Setting.simpleString(
        "genrec.execution_provider",
        "auto",
        value -> ExecutionProvider.valueOf(value.toUpperCase(Locale.ROOT)),
        Setting.Property.NodeScope
    );

    /**
     * {@code genrec.aliases.ALIAS.model: NAME or NAME@VERSION}, a dynamic persistent cluster setting: aliases
     * survive restarts and reach nodes that join later. The alias REST API writes it.
     */
    public static final Setting.AffixSetting<String> MODEL_ALIASES = Setting.affixKeySetting(
        "genrec.aliases.",
        "model",
        key -> Setting.simpleString(key, Setting.Property.Dynamic, Setting.Property.NodeScope)
    );

    /** Cross-request batching of history encoding: auto (on with CUDA, off on CPU), on or off. */
    public static final Setting<String> BATCHING_MODE = Setting.simpleString(
        "genrec.batching.mode",
        EncodeBatching.DEFAULT.mode().name().toLowerCase(Locale.ROOT),
        EncodeBatching.Mode::parse,
        Setting.Property.NodeScope
    );

    /** Most requests encoded in one graph call. */
    public static final Setting<Integer> BATCHING_MAX_BATCH = Setting.intSetting(
        "genrec.batching.max_batch",
        EncodeBatching.DEFAULT.maxBatch(),
        1,
        EncodeBatching.MAX_BATCH_LIMIT,
        Setting.Property.NodeScope
    );

    /** How long the first request of a batch waits for others. */
    public static final Setting<TimeValue> BATCHING_MAX_DELAY = Setting.timeSetting(
        "genrec.batching.max_delay",
        TimeValue.timeValueNanos(EncodeBatching.DEFAULT.maxDelayMicros() * 1_000),
        TimeValue.ZERO,
        TimeValue.timeValueSeconds(1),
        Setting.Property.NodeScope
    );

    /** Graph variant: auto (the bundle's float16 graphs on CUDA, float32 on CPU), fp32 or fp16. */
    public static final Setting<String> PRECISION = Setting.simpleString(
        "genrec.precision",
        "auto",
        GraphPrecision::parse,
        Setting.Property.NodeScope
    );

    /**
     * How long this node keeps the text of an item added after training that it read for a history (NewItemTextCache): an
     * item's text updated in the index is read at most this much later. Dynamic; 0 turns the cache off.
     */
    public static final Setting<TimeValue> NEW_ITEM_TEXT_CACHE_TTL = Setting.timeSetting(
        "genrec.new_item_text_cache.ttl",
        NewItemTextCache.DEFAULT_TTL,
        TimeValue.ZERO,
        Setting.Property.Dynamic,
        Setting.Property.NodeScope
    );

    /** Most items whose text the cache above holds. */
    public static final Setting<Integer> NEW_ITEM_TEXT_CACHE_SIZE = Setting.intSetting(
        "genrec.new_item_text_cache.size",
        NewItemTextCache.DEFAULT_MAX_ENTRIES,
        0,
        Setting.Property.NodeScope
    );

    private static final TimeValue RETIRE_AFTER = TimeValue.timeValueSeconds(60);

    private final GenrecServices services;

    public GenrecPlugin(Settings settings, Path configPath) {
        ExecutionProvider provider = ExecutionProvider.valueOf(EXECUTION_PROVIDER.get(settings).toUpperCase(Locale.ROOT));
        this.services = new GenrecServices(new ModelRegistry(configPath.resolve("genrec"), provider, batching(settings),
            GraphPrecision.parse(PRECISION.get(settings))), new RankedHitsCache(),
            new NewItemTextCache(NEW_ITEM_TEXT_CACHE_TTL.get(settings), NEW_ITEM_TEXT_CACHE_SIZE.get(settings)));
    }

    static EncodeBatching batching(Settings settings) {
        return new EncodeBatching(
            EncodeBatching.Mode.parse(BATCHING_MODE.get(settings)),
            BATCHING_MAX_BATCH.get(settings),
            BATCHING_MAX_DELAY.get(settings).micros()
        );
    }

    /** This node's models and caches (for stats and tests). */
    public GenrecServices services() {
        return services;
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<GenrecQueryBuilder>(
            GenrecQueryBuilder.NAME,
            in -> new GenrecQueryBuilder(in, services),
            parser -> GenrecQueryParser.parse(parser, services)
        ), new QuerySpec<KnnQueryBuilder>(KnnQueryBuilder.NAME, KnnQueryBuilder::new, KnnQueryBuilder::fromXContent));
    }

    @Override
    public List<RescorerSpec<?>> getRescorers() {
        return List.of(new RescorerSpec<GenrecRescorerBuilder>(
            GenrecRescorerBuilder.NAME,
            in -> new GenrecRescorerBuilder(in, services),
            parser -> GenrecRescorerBuilder.fromXContent(parser, services)
        ));
    }

    @Override
    public Map<String, Processor.Factory<SearchResponseProcessor>> getResponseProcessors(Parameters parameters) {
        return Map.of(CoordinatorRankingProcessor.TYPE,
            new CoordinatorRankingProcessor.Factory(services, parameters.client.threadPool().executor(ThreadPool.Names.SEARCH)));
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(GenrecVectorFieldMapper.CONTENT_TYPE, GenrecVectorFieldMapper.PARSER);
    }

    @Override
    public Collection<Object> createComponents(
        Client client,
        ClusterService clusterService,
        ThreadPool threadPool,
        ResourceWatcherService resourceWatcherService,
        ScriptService scriptService,
        NamedXContentRegistry xContentRegistry,
        Environment environment,
        NodeEnvironment nodeEnvironment,
        NamedWriteableRegistry namedWriteableRegistry,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<RepositoriesService> repositoriesServiceSupplier
    ) {
        // A reloaded model's old version stays usable this long, for requests already pinned to it.
        services.models().retireWith(task -> threadPool.schedule(task, RETIRE_AFTER, ThreadPool.Names.GENERIC));
        services.models().applyAliasSettings(MODEL_ALIASES.getAsMap(clusterService.getSettings()));
        clusterService.getClusterSettings()
            .addAffixMapUpdateConsumer(MODEL_ALIASES, services.models()::applyAliasSettings, (alias, target) -> ModelRegistry.checkAlias(alias));
        clusterService.getClusterSettings().addSettingsUpdateConsumer(NEW_ITEM_TEXT_CACHE_TTL, services.newItemTexts()::ttl);
        return List.of(services); // injected into TransportModelsAction
    }

    @Override
    public List<ActionHandler<? extends ActionRequest, ? extends ActionResponse>> getActions() {
        return List.of(
            new ActionHandler<>(ModelsAction.READ, TransportModelsAction.Read.class),
            new ActionHandler<>(ModelsAction.MANAGE, TransportModelsAction.Manage.class)
        );
    }

    @Override
    public List<RestHandler> getRestHandlers(
        Settings settings,
        RestController restController,
        ClusterSettings clusterSettings,
        IndexScopedSettings indexScopedSettings,
        SettingsFilter settingsFilter,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<DiscoveryNodes> nodesInCluster
    ) {
        return List.of(new RestModelsAction());
    }

    @Override
    public Map<String, org.opensearch.ingest.Processor.Factory> getProcessors(org.opensearch.ingest.Processor.Parameters parameters) {
        return Map.of(
            EventSeqProcessor.TYPE, new EventSeqProcessor.Factory(IngestionSequence.onWallClock()),
            ItemEmbeddingProcessor.TYPE, new ItemEmbeddingProcessor.Factory(services.models(), parameters.ingestService::getClusterService)
        );
    }

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(EXECUTION_PROVIDER, PRECISION, MODEL_ALIASES, BATCHING_MODE, BATCHING_MAX_BATCH, BATCHING_MAX_DELAY,
            NEW_ITEM_TEXT_CACHE_TTL, NEW_ITEM_TEXT_CACHE_SIZE);
    }

    @Override
    public void close() {
        services.models().close();
    }
}
