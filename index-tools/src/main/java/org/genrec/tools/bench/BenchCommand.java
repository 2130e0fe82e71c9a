package org.genrec.tools.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.tools.CliArgs;
import org.genrec.tools.ClusterConnection;
import org.genrec.tools.EventsIndex;
import org.genrec.tools.EventsWriter;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code bench}: genrec against plain kNN on a live cluster, in the same run, plus the model's time
 * per number of candidates measured in this process. Writes results.json and two PNG charts.
 */
public final class BenchCommand {

    public static final Set<String> OPTIONS = Set.of("bundle", "url", "index", "model", "vector-field", "mix", "history", "k", "window",
        "rank", "history-from", "history-index", "concurrency", "duration", "warmup", "slices", "requests", "out", "candidates", "model-only",
        "num-candidates");
    public static final String USAGE = """
        bench --bundle DIR --model NAME [--url http://127.0.0.1:9200] [--index items] [--vector-field item_vector]
              [--mix recommend,search,rescore] [--history 10,50,200] [--k 100] [--window 100] [--rank true|false|coordinator|coordinator-named,...]
              [--history-from request|index,...] [--history-index genrec-bench-events] [--num-candidates k|N,...] [--concurrency 1,2,4,8]
              [--duration 10] [--warmup 3] [--slices 10] [--requests 200] [--candidates 100,200,500,1000,2048] [--out bench-out]
              [--model-only]
            Drives the cluster with N closed-loop clients per cell for the genrec request and, in the same run, the same
            request as plain genrec_knn with the same vector: each is warmed up (--warmup seconds), then measured for
            --duration seconds in total per variant, in --slices alternating slices (A B, B A, ...) so that drift of the node
            over the run is shared and not charged to whichever ran first. Prints and writes QPS and p50/p90/p99/max
            latency (HdrHistogram) per cell with the 95 % confidence interval of each p99 [low-high] (from the request
            count alone: a short cell's p99 rests on a few requests), the genrec/kNN ratios, and the model's time per score call for each
            candidate count and per encode call for each --history length, each against its FLOP bound, and for a bundle with
            co-occurrence counts what that term costs a request (--model-only: just that, no cluster needed).
            --rank false: the genrec query retrieves only (no ranking head); coordinator: the shards retrieve and the
            genrec_rank search pipeline processor ranks the merged window once (size = window; the pipeline ad hoc in the
            body); coordinator-named: the same through a named pipeline (genrec-bench-rank, created by bench);
            --rank true,false,coordinator: each, alternated with kNN in the same run (what ranking adds to retrieval, and
            where it costs least).
            --history-from index: the genrec request names a user instead of sending the history, and the plugin looks up
            that user's events (all of them: "events" = the history length) in --history-index, which bench recreates with
            every drawn history; request,index: both, alternated in the same run (what the lookup costs). Before timing,
            bench checks that the lookup returns the same hits as the same history in the request.
            --num-candidates k,400,1000: the genrec query's num_candidates (k: the query's default, k itself), each a variant
            of the same cell alternated with the others and the kNN baseline, which keeps k (what a wider HNSW search costs a
            request; the rescorer has no kNN and ignores it).
            Outputs: OUT/results.json, OUT/latency.png, OUT/model-time.png.""";

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    // the model-alone curve: 150 calls per K, in rounds each timed against the GEMM rate just before it
    private static final int MODEL_TIME_ROUNDS = 15;
    private static final int MODEL_TIME_CALLS_PER_ROUND = 10;

    private BenchCommand() {}

    public static void run(CliArgs args, PrintStream out) throws IOException, InterruptedException {
        Path outDir = Files.createDirectories(Path.of(args.get("out", "bench-out")));
        String url = args.get("url", "http://127.0.0.1:9200");
        String index = args.get("index", "items");
        String modelName = args.required("model");
        String vectorField = args.get("vector-field", "item_vector");
        List<BenchRequests.Mix> mixes = Arrays.stream(args.get("mix", "recommend,search,rescore").split(","))
            .map(m -> BenchRequests.Mix.valueOf(m.trim().toUpperCase(java.util.Locale.ROOT))).toList();
        int[] histories = ints(args.get("history", "10,50,200"));
        int[] ks = ints(args.get("k", "100"));
        int window = Integer.parseInt(args.get("window", "100"));
        List<BenchRequests.Ranking> ranks = choices("rank", args.get("rank", "true"), BenchRequests.Ranking.values(), r -> r.cliValue);
        List<BenchRequests.HistorySource> sources = choices("history-from", args.get("history-from", "request"),
            BenchRequests.HistorySource.values(), h -> h.cliValue);
        String historyIndex = args.get("history-index", "genrec-bench-events");
        List<Integer> candidateCounts = numCandidates(args.get("num-candidates", "k"), ks);
        int[] concurrency = ints(args.get("concurrency", "1,2,4,8"));
        Duration duration = Duration.ofSeconds(Long.parseLong(args.get("duration", "10")));
        Duration warmup = Duration.ofSeconds(Long.parseLong(args.get("warmup", "3")));
        int slices = args.getInt("slices", 10);
        if (slices < 1 || duration.dividedBy(slices).toMillis() < 100) {
            throw new CliArgs.UsageException("--slices must be at least 1 and leave each slice 100 ms or more of --duration");
        }
        int requestCount = Integer.parseInt(args.get("requests", "200"));

        boolean modelOnly = args.flag("model-only");
        if (!modelOnly) {
            // --duration is per variant: a cell with --rank true,coordinator measures three variants (two genrec, one kNN).
            long seconds = plannedLoadSeconds(mixes, histories.length * ks.length, ranks.size(), sources.size(), candidateCounts.size(),
                concurrency.length, warmup, duration);
            out.printf("load plan: about %d min %02d s of load (warm-up %d s + %d s measured per variant, per cell and concurrency)%n",
                seconds / 60, seconds % 60, warmup.toSeconds(), duration.toSeconds());
        }
        List<Map<String, Object>> cells = new ArrayList<>();
        LineChart latency = new LineChart("p50 latency vs concurrency (" + index + ")", "concurrent clients", "ms");
        LoadRun load = new LoadRun(url, index);
        if (!modelOnly && ranks.contains(BenchRequests.Ranking.COORDINATOR_NAMED)) {
            load.putSearchPipeline(BenchRequests.NAMED_PIPELINE, BenchRequests.rankingPipeline().toString());
        }
        try (GenrecModel model = GenrecModel.load(Path.of(args.required("bundle")), ExecutionProvider.CPU)) {
            out.printf("bench: %s, model %s (%d items, d=%d), %s%n", url, modelName, model.bundle().items().size(),
                model.manifest().architecture().dModel(), Runtime.version());
            BenchRequests.Setup setup = new BenchRequests.Setup(model, modelName, vectorField, historyIndex, requestCount, 42);
            if (!modelOnly && sources.contains(BenchRequests.HistorySource.INDEX)) {
                out.printf("indexed %d events of %d users into [%s]%n", indexHistories(url, setup, histories), histories.length * requestCount,
                    historyIndex);
            }
            for (BenchRequests.Mix mix : modelOnly ? List.<BenchRequests.Mix>of() : mixes) {
                for (int history : histories) {
                    for (int k : ks) {
                        String cell = mix.name().toLowerCase(java.util.Locale.ROOT) + " h=" + history + " k=" + k;
                        // The rescorer always ranks: one genrec variant. Same seed: every variant sends the same histories.
                        List<BenchRequests.Ranking> cellRanks = mix == BenchRequests.Mix.RESCORE ? List.of(BenchRequests.Ranking.SHARDS) : ranks;
                        List<Integer> cellCandidates = mix == BenchRequests.Mix.RESCORE ? QUERY_DEFAULT : candidateCounts;
                        List<LoadRun.Variant> variants = new ArrayList<>();
                        List<GenrecVariant> genrecVariants = new ArrayList<>();
                        List<BenchRequests.Pair> pairs = List.of();
                        for (BenchRequests.Ranking rank : cellRanks) {
                            for (Integer numCandidates : cellCandidates) {
                                List<BenchRequests.Pair> inline = BenchRequests.build(setup, mix, history, k, window, rank,
                                    BenchRequests.HistorySource.REQUEST, numCandidates);
                                for (BenchRequests.HistorySource source : sources) {
                                    pairs = source == BenchRequests.HistorySource.REQUEST ? inline
                                        : BenchRequests.build(setup, mix, history, k, window, rank, source, numCandidates);
                                    if (source == BenchRequests.HistorySource.INDEX) {
                                        load.checkSameHits(inline.get(0).genrec(), pairs.get(0).genrec());
                                    }
                                    String label = rankLabel(rank, cellRanks) + candidatesLabel(numCandidates, cellCandidates)
                                        + sourceLabel(source, sources);
                                    genrecVariants.add(new GenrecVariant(rank, numCandidates, source, label));
                                    variants.add(new LoadRun.Variant(cell + " genrec" + label,
                                        pairs.stream().map(BenchRequests.Pair::genrec).toList()));
                                }
                            }
                        }
                        variants.add(new LoadRun.Variant(cell + (mix == BenchRequests.Mix.RESCORE ? " match" : " knn"),
                            pairs.stream().map(BenchRequests.Pair::baseline).toList()));
                        for (int c : concurrency) {
                            List<LoadRun.Result> results = load.run(variants, c, warmup, duration, slices, out);
                            LoadRun.Result baseline = results.get(results.size() - 1);
                            for (int v = 0; v < genrecVariants.size(); v++) { // the results come in the variants' order
                                GenrecVariant variant = genrecVariants.get(v);
                                LoadRun.Result genrec = results.get(v);
                                printCell(out, cell, c, variant.label(), genrec, baseline);
                                cells.add(row(mix, history, k, window, variant, c, slices, genrec, baseline));
                                latency.add(cell + " genrec" + variant.label(), c, genrec.p50Millis());
                            }
                            latency.add(cell + " baseline", c, baseline.p50Millis());
                        }
                    }
                }
            }
            out.printf("model alone (this process, 1 intra-op thread): score call time per number of candidates, history 200 (the model"
                + " keeps the last %d); %d rounds of %d calls, each round against the GEMM rate ONNX Runtime reaches just before it%n",
                model.manifest().maxHistory(), MODEL_TIME_ROUNDS, MODEL_TIME_CALLS_PER_ROUND);
            LineChart modelTime = new LineChart("score graph time vs candidates (history 200)", "candidates", "ms");
            List<ModelTimeCurve.Point> curve = ModelTimeCurve.score(model, 200, ints(args.get("candidates", "100,200,500,1000,2048")),
                MODEL_TIME_ROUNDS, MODEL_TIME_CALLS_PER_ROUND);
            for (ModelTimeCurve.Point p : curve) {
                printModelTime(out, "K", p);
                modelTime.add("median ms", p.size(), p.medianMillis());
            }
            out.printf("and the encode call per history length (one request, no query; the same rounds)%n");
            List<ModelTimeCurve.Point> encodeCurve = ModelTimeCurve.encode(model, histories, MODEL_TIME_ROUNDS, MODEL_TIME_CALLS_PER_ROUND);
            for (ModelTimeCurve.Point p : encodeCurve) {
                printModelTime(out, "history", p);
            }
            List<CoOccurrenceCost.Point> coOccurrence = List.of();
            if (model.bundle().coOccurrence().pairs() > 0) {
                out.printf("and the co-occurrence term per request (its partners summed, then one lookup per hit of a window of 100;"
                    + " median of %d rounds of %d requests)%n", CoOccurrenceCost.TIMED_ROUNDS, CoOccurrenceCost.REQUESTS);
                coOccurrence = CoOccurrenceCost.measure(model.bundle().coOccurrence(), model.bundle().items().size(),
                    new int[] { 1, 5, 20, 200 }, 100);
                for (CoOccurrenceCost.Point p : coOccurrence) {
                    out.printf("  %3d context items: %.1f us%n", p.contextItems(), p.medianMicros());
                }
            }
            modelTime.write(outDir.resolve("model-time.png"));
            Map<String, Object> results = new LinkedHashMap<>();
            results.put("url", url);
            results.put("index", index);
            results.put("model", modelName);
            results.put("java", Runtime.version().toString());
            results.put("cpus", Runtime.getRuntime().availableProcessors());
            results.put("cells", cells);
            results.put("model_time", curve);
            results.put("encode_time", encodeCurve);
            results.put("co_occurrence_time", coOccurrence);
            JSON.writeValue(outDir.resolve("results.json").toFile(), results);
        }
        latency.write(outDir.resolve("latency.png"));
        out.println("wrote " + outDir.resolve("results.json") + ", latency.png, model-time.png");
    }

    /**
     * Wall time the load phase takes: each (mix, history, k) cell runs once per concurrency level, and each run warms up and then
     * measures every variant (one per ranking placement and candidate count, one for the rescorer, each per history source, plus
     * the baseline) for the full {@code duration}.
     */
    static long plannedLoadSeconds(List<BenchRequests.Mix> mixes, int cellsPerMix, int rankings, int historySources, int candidateCounts,
        int concurrencyLevels, Duration warmup, Duration duration) {
        long variantRuns = 0;
        for (BenchRequests.Mix mix : mixes) {
            int genrecVariants = (mix == BenchRequests.Mix.RESCORE ? 1 : rankings * candidateCounts) * historySources;
            variantRuns += (long) cellsPerMix * concurrencyLevels * (genrecVariants + 1);
        }
        return variantRuns * (warmup.toSeconds() + duration.toSeconds());
    }

    private static void printModelTime(PrintStream out, String shape, ModelTimeCurve.Point p) {
        out.printf("  %s=%-5d median %7.3f ms  %8.1f MFLOP  %6.2f GFLOP/s  %5.2fx the FLOP bound (GEMM %.1f GFLOP/s)%n", shape, p.size(),
            p.medianMillis(), p.megaFlops(), p.megaFlops() / p.medianMillis(), p.timeOverFlopBound(), p.gemmGflops());
    }

    private static void printCell(PrintStream out, String cell, int clients, String label, LoadRun.Result genrec, LoadRun.Result baseline) {
        out.printf("  %-22s c=%-2d genrec%s p50 %6.2f p99 %6.2f [%.2f-%.2f] ms %7.1f qps | baseline p50 %6.2f p99 %6.2f [%.2f-%.2f] ms"
            + " %7.1f qps | p50 x%.2f p99 x%.2f | errors %d/%d%n", cell, clients, label, genrec.p50Millis(), genrec.p99Millis(),
            genrec.p99Interval().lowMillis(), genrec.p99Interval().highMillis(), genrec.qps(), baseline.p50Millis(), baseline.p99Millis(),
            baseline.p99Interval().lowMillis(), baseline.p99Interval().highMillis(), baseline.qps(),
            genrec.p50Millis() / baseline.p50Millis(), genrec.p99Millis() / baseline.p99Millis(), genrec.errors(), baseline.errors());
        if (genrec.firstError() != null) {
            out.println("  first genrec error: " + genrec.firstError());
        }
    }

    /** One genrec variant of a cell: where it ranks, its num_candidates (null: the query's default), where its history comes from. */
    private record GenrecVariant(BenchRequests.Ranking rank, Integer numCandidates, BenchRequests.HistorySource source, String label) {}

    private static Map<String, Object> row(BenchRequests.Mix mix, int history, int k, int window, GenrecVariant variant, int concurrency,
        int slices, LoadRun.Result genrec, LoadRun.Result baseline) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("mix", mix.name().toLowerCase(java.util.Locale.ROOT));
        row.put("history", history);
        row.put("k", k);
        row.put("window", window);
        row.put("rank", variant.rank().cliValue);
        row.put("num_candidates", variant.numCandidates() == null ? k : variant.numCandidates());
        row.put("history_from", variant.source().cliValue);
        row.put("concurrency", concurrency);
        row.put("slices", slices);
        row.put("genrec", genrec);
        row.put("baseline", baseline);
        row.put("p50_ratio", genrec.p50Millis() / baseline.p50Millis());
        row.put("p99_ratio", genrec.p99Millis() / baseline.p99Millis());
        return row;
    }

    /** " rank=false" etc. only when a cell measures several; a single variant keeps the plain name. */
    private static String rankLabel(BenchRequests.Ranking rank, List<BenchRequests.Ranking> cellRanks) {
        if (cellRanks.size() > 1) {
            return " rank=" + rank.cliValue;
        }
        return switch (rank) {
            case SHARDS -> "";
            case OFF -> " (retrieval only)";
            case COORDINATOR -> " (ranked on the coordinator)";
            case COORDINATOR_NAMED -> " (ranked on the coordinator, named pipeline)";
        };
    }

    /** " num_candidates=400" only when a cell measures several counts; a single count other than the default keeps a plain note. */
    private static String candidatesLabel(Integer numCandidates, List<Integer> cellCandidates) {
        String count = numCandidates == null ? "k" : numCandidates.toString();
        if (cellCandidates.size() > 1) {
            return " num_candidates=" + count;
        }
        return numCandidates == null ? "" : " (num_candidates " + count + ")";
    }

    /** " history=index" only when a run measures both sources; a single source keeps the plain name, as {@link #rankLabel} does. */
    private static String sourceLabel(BenchRequests.HistorySource source, List<BenchRequests.HistorySource> sources) {
        if (sources.size() > 1) {
            return " history=" + source.cliValue;
        }
        return source == BenchRequests.HistorySource.INDEX ? " (history looked up)" : "";
    }

    /**
     * Every drawn history of every length as a user's events in a new events index (one shard), so the lookup variant reads what
     * the request variant sends.
     */
    private static long indexHistories(String url, BenchRequests.Setup setup, int[] histories) throws IOException {
        try (ClusterConnection cluster = new ClusterConnection(url);
             EventsWriter writer = EventsWriter.intoNewIndex(cluster, setup.historyIndex(), 1)) {
            for (int history : histories) {
                List<BenchRequests.Drawn> drawn = BenchRequests.draw(setup, history);
                for (int r = 0; r < drawn.size(); r++) {
                    for (HistoryEvent e : drawn.get(r).events()) {
                        writer.add(EventsIndex.document(BenchRequests.userId(history, r), e.itemId(), e.action(), e.timeSeconds(), null, null));
                    }
                }
            }
            return writer.count();
        }
    }

    /** A comma-separated list of an option's named choices, each once, in the order given. */
    static <E> List<E> choices(String option, String csv, E[] values, Function<E, String> name) {
        List<E> chosen = new ArrayList<>();
        for (String value : csv.split(",")) {
            E choice = Arrays.stream(values).filter(v -> name.apply(v).equals(value.trim())).findFirst()
                .orElseThrow(() -> new CliArgs.UsageException("--" + option + " takes "
                    + Arrays.stream(values).map(name).collect(Collectors.joining(", ")) + " (comma-separated), not [" + value.trim() + "]"));
            if (!chosen.contains(choice)) {
                chosen.add(choice);
            }
        }
        return chosen;
    }

    /** The query's own default: no num_candidates in the request (k). */
    private static final List<Integer> QUERY_DEFAULT = Collections.singletonList(null);

    /**
     * {@code --num-candidates}: each value once, in the order given, {@code k} (or null in the list) for the query's default. A count
     * below a cell's k is refused here, before any load, as the query would refuse every request.
     */
    static List<Integer> numCandidates(String csv, int[] ks) {
        int largestK = Arrays.stream(ks).max().orElse(0);
        List<Integer> counts = new ArrayList<>();
        for (String value : csv.split(",")) {
            Integer count = null;
            if (!value.trim().equals("k")) {
                try {
                    count = Integer.valueOf(value.trim());
                } catch (NumberFormatException e) {
                    throw new CliArgs.UsageException("--num-candidates takes k or whole numbers (comma-separated), not [" + value.trim() + "]");
                }
                if (count < largestK) {
                    throw new CliArgs.UsageException("--num-candidates " + count + " is below --k " + largestK + ": the query needs k or more");
                }
            }
            if (!counts.contains(count)) {
                counts.add(count);
            }
        }
        return counts;
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    }
}
