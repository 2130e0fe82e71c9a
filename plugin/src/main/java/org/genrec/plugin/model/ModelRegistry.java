package org.genrec.plugin.model;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.onnx.GraphPrecision;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The models this node serves. A model is a bundle directory under {@code config/genrec/NAME}; it
 * is loaded on first use or by the load API, on each node that needs it.
 *
 * <p>A request names a model as {@code NAME}, {@code NAME@VERSION} (the manifest's model_version,
 * for A/B tests and to pin a request to one version) or an alias. The coordinating node pins every
 * request to {@code NAME@VERSION} ({@link #resolve}); a reload swaps in the new version atomically
 * and keeps the old one loaded for a grace period, so requests in flight finish on the version they
 * started with. A failed load leaves the serving version untouched and is not cached.
 */
public final class ModelRegistry implements Closeable {

    private static final Logger LOG = LogManager.getLogger(ModelRegistry.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    /** A loaded model under its bundle name. */
    /** A model as loaded on this node, with the {@code user} lookups made for it since. */
    public record Loaded(String name, GenrecModel model, long loadedAtMillis, LookupStats lookups) {
        public String version() {
            return model.manifest().modelVersion();
        }

        public String pinned() {
            return name + "@" + version();
        }
    }

    private final Path modelsDirectory;
    private final ExecutionProvider provider;
    private final EncodeBatching batching;
    private final GraphPrecision precision;
    private final Map<String, Loaded> current = new ConcurrentHashMap<>();
    /** NAME@VERSION of every model still usable, including versions retiring after a reload. */
    private final Map<String, Loaded> byVersion = new ConcurrentHashMap<>();
    private final Map<String, String> aliases = new ConcurrentHashMap<>();
    /** Runs a retirement later (the plugin wires the thread pool); immediately by default. */
    private volatile Consumer<Runnable> retireLater = Runnable::run;

    public ModelRegistry(Path modelsDirectory, ExecutionProvider provider) {
        this(modelsDirectory, provider, EncodeBatching.DEFAULT);
    }

    public ModelRegistry(Path modelsDirectory, ExecutionProvider provider, EncodeBatching batching) {
        this(modelsDirectory, provider, batching, GraphPrecision.AUTO);
    }

    public ModelRegistry(Path modelsDirectory, ExecutionProvider provider, EncodeBatching batching, GraphPrecision precision) {
        this.modelsDirectory = modelsDirectory;
        this.provider = provider;
        this.batching = batching;
        this.precision = precision;
    }

    public void retireWith(Consumer<Runnable> scheduler) {
        this.retireLater = scheduler;
    }

    /** The model a request names (alias, NAME or NAME@VERSION); a 400 with the reason if it cannot be served. */
    public GenrecModel get(String ref) {
        return resolve(ref).model();
    }

    public Loaded resolve(String ref) {
        Target target = target(ref);
        if (target.version() == null) {
            return currentOrLoad(target.name());
        }
        Loaded pinned = byVersion.get(target.name() + "@" + target.version());
        if (pinned != null) {
            return pinned;
        }
        Loaded latest = currentOrLoad(target.name());
        if (!latest.version().equals(target.version())) {
            throw new IllegalArgumentException("genrec model [" + latest.name() + "] is at version [" + latest.version() + "], not ["
                + target.version() + "]");
        }
        return latest;
    }

    /** The model name a reference (alias, NAME or NAME@VERSION) points at; loads nothing. */
    public String nameOf(String ref) {
        return target(ref).name();
    }

    /** What a reference points at through the aliases: a name, and a version when pinned (else null). */
    private record Target(String name, String version) {}

    private Target target(String ref) {
        String target = aliases.getOrDefault(ref, ref);
        int at = target.indexOf('@');
        return at < 0 ? new Target(target, null) : new Target(target.substring(0, at), target.substring(at + 1));
    }

    private Loaded currentOrLoad(String name) {
        Loaded loaded = current.get(name);
        if (loaded != null) {
            return loaded;
        }
        synchronized (this) {
            loaded = current.get(name);
            return loaded != null ? loaded : load(name);
        }
    }

    /** Loads (or reloads) config/genrec/NAME, warms it up, and makes it the serving version. */
    public synchronized Loaded load(String name) {
        Path directory = bundleDirectory(name);
        GenrecModel model;
        try {
            long start = System.nanoTime();
            model = GenrecModel.load(directory, provider, batching, precision);
            try {
                model.warmUp();
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            LOG.info("loaded genrec model [{}] version [{}] from [{}] on {} {} (encode batching {}) in {} ms", name,
                model.manifest().modelVersion(), directory, model.executionProvider(), model.precision(), model.batching(),
                (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("genrec model [" + name + "] cannot be loaded: " + e.getMessage(), e);
        }
        Loaded fresh = new Loaded(name, model, System.currentTimeMillis(), new LookupStats());
        Loaded previous = current.put(name, fresh);
        Loaded replacedSameVersion = byVersion.put(fresh.pinned(), fresh);
        if (previous != null) {
            retire(previous, replacedSameVersion == previous);
        }
        return fresh;
    }

    /** Stops serving NAME (and drops the aliases pointing at it); calls in flight finish first. */
    public synchronized void unload(String name) {
        Loaded loaded = current.remove(name);
        if (loaded == null) {
            throw new IllegalArgumentException("genrec model [" + name + "] is not loaded");
        }
        aliases.values().removeIf(target -> target.equals(name) || target.startsWith(name + "@"));
        retire(loaded, false);
    }

    private void retire(Loaded old, boolean alreadyReplaced) {
        retireLater.accept(() -> {
            if (!alreadyReplaced) {
                byVersion.remove(old.pinned(), old);
            }
            old.model().close(); // reference-counted: closes after the last call in flight
        });
    }

    /** Points ALIAS at TARGET (NAME or NAME@VERSION), loading the target if needed. */
    public synchronized void alias(String alias, String target) {
        checkName(alias, "alias");
        if (aliases.containsKey(target)) {
            throw new IllegalArgumentException("alias [" + alias + "] must point at a model, not at alias [" + target + "]");
        }
        resolve(target);
        aliases.put(alias, target);
    }

    /**
     * Applies alias settings ({@code genrec.aliases.ALIAS.model}): at start-up all of them, on a cluster
     * settings update only the changed ones, where an empty target means the setting was removed.
     */
    public synchronized void applyAliasSettings(Map<String, String> changed) {
        changed.forEach((alias, target) -> {
            checkAlias(alias);
            if (target == null || target.isEmpty()) {
                aliases.remove(alias);
            } else {
                aliases.put(alias, target);
            }
        });
    }

    public static void checkAlias(String alias) {
        checkName(alias, "alias");
    }

    public synchronized void removeAlias(String alias) {
        if (aliases.remove(alias) == null) {
            throw new IllegalArgumentException("genrec alias [" + alias + "] does not exist");
        }
    }

    public Map<String, String> aliases() {
        return new TreeMap<>(aliases);
    }

    /** The serving models, by name. */
    public List<Loaded> loaded() {
        List<Loaded> out = new ArrayList<>(current.values());
        out.sort((a, b) -> a.name().compareTo(b.name()));
        return out;
    }

    /** config/genrec/NAME, refusing names that could leave that directory (.., separators, symlinks out). */
    Path bundleDirectory(String name) {
        checkName(name, "model name");
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

    private static void checkName(String name, String what) {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new IllegalArgumentException("invalid genrec " + what + " [" + name + "]: use letters, digits, '_', '-' and '.'");
        }
    }

    @Override
    public synchronized void close() {
        current.values().forEach(l -> l.model().close());
        current.clear();
        byVersion.clear();
    }
}
