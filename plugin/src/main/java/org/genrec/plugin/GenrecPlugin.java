package org.genrec.plugin;

import org.genrec.plugin.mapper.GenrecVectorFieldMapper;
import org.genrec.plugin.model.ModelRegistry;
import org.genrec.plugin.query.GenrecQueryBuilder;
import org.genrec.plugin.query.GenrecQueryParser;
import org.genrec.plugin.query.RankedHitsCache;
import org.genrec.plugin.rescore.GenrecRescorerBuilder;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.SearchPlugin;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * genrec: the {@code genrec} query and rescorer and the {@code genrec_vector} field. Models are bundle
 * directories under {@code config/genrec/}, loaded on first use.
 */
public class GenrecPlugin extends Plugin implements SearchPlugin, MapperPlugin {

    /** auto (CUDA when present, else CPU), cpu or cuda. */
    public static final Setting<String> EXECUTION_PROVIDER = Setting.simpleString(
        "genrec.execution_provider",
        "auto",
        value -> ExecutionProvider.valueOf(value.toUpperCase(Locale.ROOT)),
        Setting.Property.NodeScope
    );

    private final GenrecServices services;

    public GenrecPlugin(Settings settings, Path configPath) {
        ExecutionProvider provider = ExecutionProvider.valueOf(EXECUTION_PROVIDER.get(settings).toUpperCase(Locale.ROOT));
        this.services = new GenrecServices(new ModelRegistry(configPath.resolve("genrec"), provider), new RankedHitsCache());
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
        ));
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
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(GenrecVectorFieldMapper.CONTENT_TYPE, GenrecVectorFieldMapper.PARSER);
    }

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(EXECUTION_PROVIDER);
    }

    @Override
    public void close() {
        services.models().close();
    }
}
