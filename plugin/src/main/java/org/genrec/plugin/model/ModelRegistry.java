package org.genrec.plugin.model;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.onnx.ExecutionProvider;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The models this node serves, one per bundle directory under {@code config/genrec/}. A model is
 * loaded on first use by name on each node that needs it (the coordinating node to encode, data
 * nodes to rank) and kept until the node stops. A failed load is not cached, so fixing the bundle
 * and retrying works without a restart.
 */
public final class ModelRegistry implements Closeable {

    private static final Logger LOG = LogManager.getLogger(ModelRegistry.class);
    private static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private final Path modelsDirectory;
    private final ExecutionProvider provider;
    private final Map<String, GenrecModel> loaded = new ConcurrentHashMap<>();

    public ModelRegistry(Path modelsDirectory, ExecutionProvider provider) {
        this.modelsDirectory = modelsDirectory;
        this.provider = provider;
    }

    /** The model called {@code name}; an {@link IllegalArgumentException} (HTTP 400) naming the reason if it cannot be served. */
    public GenrecModel get(String name) {
        GenrecModel model = loaded.get(name);
        if (model != null) {
            return model;
        }
        return loaded.computeIfAbsent(name, this::load);
    }

    private GenrecModel load(String name) {
        Path directory = bundleDirectory(name);
        try {
            long start = System.nanoTime();
            GenrecModel model = GenrecModel.load(directory, provider);
            LOG.info("loaded genrec model [{}] version [{}] from [{}] on {} in {} ms", name, model.manifest().modelVersion(), directory,
                model.executionProvider(), (System.nanoTime() - start) / 1_000_000);
            return model;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("genrec model [" + name + "] cannot be loaded: " + e.getMessage(), e);
        }
    }

    /** config/genrec/NAME, refusing names that could leave that directory (.., separators, symlinks out). */
    Path bundleDirectory(String name) {
        if (name == null || !MODEL_NAME.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("invalid genrec model name [" + name + "]: use letters, digits, '_', '-' and '.'");
        }
        Path directory = modelsDirectory.resolve(name);
        if (!Files.isDirectory(directory)) {
            throw new IllegalArgumentException("genrec model [" + name + "] not found: no bundle directory [" + directory + "]");
        }
        try {
            if (!directory.toRealPath().startsWith(modelsDirectory.toRealPath())) {
                throw new IllegalArgumentException("genrec model [" + name + "] resolves outside " + modelsDirectory);
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("genrec model [" + name + "] cannot be read: " + e.getMessage(), e);
        }
        return directory;
    }

    /** The models loaded on this node, by name. */
    public Map<String, GenrecModel> loaded() {
        return Map.copyOf(loaded);
    }

    @Override
    public void close() {
        loaded.values().forEach(GenrecModel::close);
        loaded.clear();
    }
}
