package org.genrec.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.genrec.runtime.encoding.EventSchema;
import org.genrec.tools.eval.EvaluationProtocol;
import org.genrec.tools.eval.LeaveLastOut;
import org.genrec.tools.eval.ServedRankMetrics;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code evaluate}: the trainer's leave-one-out protocol through a live cluster. One {@code genrec}
 * query per user, exactly as an application would send it, and the held-out item's rank among the
 * hits. Against the trainer's own figures this checks that the cluster serves the order the trainer
 * measured (retrieval alone: the trainer's HR/NDCG; ranked: its {@code blend<k>_*} with window = k).
 */
final class EvaluateCommand {

    static final Set<String> OPTIONS = Set.of("events", "model", "url", "index", "vector-field", "item-id-field", "k", "num-candidates",
        "rank", "retrieval-weight", "co-occurrence-weight", "users", "clients", "history-index", "lookup-events", "protocol", "out", "ranks-out",
        "first-stage", "text-fields", "window", "search-type");
    static final String USAGE = """
        evaluate --events FILE.jsonl --model MODEL [--url http://127.0.0.1:9200] [--index items] [--vector-field item_vector]
                 [--item-id-field item_id] [--k 100] [--num-candidates K] [--rank true,false] [--retrieval-weight W]
                 [--co-occurrence-weight V] [--users N] [--clients 1] [--protocol loo|beauty]
                 [--history-index NAME [--lookup-events N]] [--out results.json] [--ranks-out ranks.jsonl]
                 [--first-stage knn|match [--text-fields title,categories.text] [--window 100]]
                 [--search-type query_then_fetch|dfs_query_then_fetch]
            Leave-one-out through the cluster (the trainer's "movielens"/"loo" protocol): per user with 3 or more events, in
            timestamp order with equal timestamps in file order, the last event is the target and every earlier event the
            history; the request is made at the target's time, with the target's query if it has one (personalized search).
            --protocol beauty (the published Beauty tables' protocol, the trainer's "beauty") then drops the users whose target
            is cold (in no user's events but as their last) or already in their history, and says how many; loo (the
            trainer's "movielens" and "loo") keeps them, as misses. Without --protocol, the one the model's bundle was tested
            under (the models API's training.protocol; loo when it names none), so its figures compare with the trainer's.
            One genrec query per user (k hits, history excluded, "rank" enabled or not: each --rank value in turn); the target
            ranks among the hits or misses. Prints and writes HR@10/NDCG@10 (and @50 when k >= 50), which equal the trainer's
            full-catalogue figures for a one-shard index, and MRR within the k hits. --retrieval-weight sets the ranked
            queries' rank.retrieval_weight (default: the bundle's; 0: the ranking head alone), --co-occurrence-weight their
            rank.co_occurrence_weight (default: the bundle's; 0: no co-occurrence term). --history-index NAME indexes every
            user's history (not the target) into the events index NAME (recreated) and names the user in each query instead
            of sending the history: the "user" lookup's path, which reads the latest max_history events (--lookup-events N: the
            latest N, as "user": {"events": N}; the model still reads max_history of them) and excludes those. --ranks-out
            writes each request's target rank among the hits (0-based, null when missing) as JSON lines, to pair user by
            user with the trainer's --ranks-out. --clients N keeps N requests in flight (the figures do not depend on it).
            --first-stage match measures the rescorer over a text search instead (every target must carry a query): the hits
            are a combined_fields query (BM25 over --text-fields as one field) for the target's query with the history items
            in must_not; --rank true adds the genrec rescorer over the best --window hits of each shard (on N shards up to N x
            window; the results file records the shards) at its default query_weight and rescore_query_weight (1 and 1), with the
            same history, query, time and weights as a genrec query; false is the text search alone. The trainer's search test
            measures the same on one shard (search_bm25_rescored100_*) with its own BM25. --search-type is each search's
            search_type (default query_then_fetch, OpenSearch's): on several shards, dfs_query_then_fetch scores BM25 with the
            whole index's term statistics, as one shard would, instead of each shard's own.""";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_CLIENTS = 64;

    private EvaluateCommand() {}

    /** What every request of a run shares, read from the command line once. */
    record Options(String model, String index, String vectorField, String itemIdField, int k, Integer numCandidates,
                   Float retrievalWeight, Float coOccurrenceWeight, String historyIndex, Integer lookupEvents,
                   EvaluationProtocol protocol, int clients, FirstStage firstStage, String searchType) {

        /** OpenSearch's search types; query_then_fetch is its default. */
        static final List<String> SEARCH_TYPES = List.of("query_then_fetch", "dfs_query_then_fetch");

        static Options parse(CliArgs args) {
            int k = args.getInt("k", 100);
            if (k < 10) {
                throw new CliArgs.UsageException("option [--k] must be at least 10 (HR@10 needs ten hits), got " + k);
            }
            Integer numCandidates = args.optionalInt("num-candidates");
            if (args.get("lookup-events", null) != null && args.get("history-index", null) == null) {
                throw new CliArgs.UsageException("option [--lookup-events] needs [--history-index]: it sizes the user lookup");
            }
            return new Options(args.required("model"), args.get("index", "items"), args.get("vector-field", "item_vector"),
                args.get("item-id-field", "item_id"), k, numCandidates, parseWeight(args, "retrieval-weight"),
                parseWeight(args, "co-occurrence-weight"), args.get("history-index", null), args.optionalInt("lookup-events"),
                protocol(args.get("protocol", null)), clients(args.getInt("clients", 1)), FirstStage.parse(args),
                searchType(args.get("search-type", SEARCH_TYPES.get(0))));
        }

        /** The same requests with the history sent in each, not looked up from --history-index. */
        Options withHistoryInRequest() {
            return new Options(model, index, vectorField, itemIdField, k, numCandidates, retrievalWeight, coOccurrenceWeight, null, null,
                protocol, clients, firstStage, searchType);
        }

        /** Where each search goes: the index's _search with the search type. */
        String searchPath() {
            return "/" + index + "/_search?search_type=" + searchType;
        }

        private static String searchType(String type) {
            if (!SEARCH_TYPES.contains(type)) {
                throw new CliArgs.UsageException("option [--search-type] takes " + String.join(" or ", SEARCH_TYPES) + ", got [" + type + "]");
            }
            return type;
        }

        private static int clients(int clients) {
            if (clients < 1 || clients > MAX_CLIENTS) {
                throw new CliArgs.UsageException("option [--clients] must be between 1 and " + MAX_CLIENTS + ", got " + clients);
            }
            return clients;
        }

        /** The protocol asked for, or {@code null}: the one the model was tested under. */
        private static EvaluationProtocol protocol(String name) {
            if (name == null) {
                return null;
            }
            EvaluationProtocol protocol = EvaluationProtocol.ofTrainerName(name);
            if (protocol == null) {
                throw new CliArgs.UsageException("option [--protocol] takes loo, movielens or beauty, got [" + name + "]");
            }
            return protocol;
        }
    }

    static void run(CliArgs args, PrintStream out) throws IOException {
        Path file = Path.of(args.required("events"));
        if (!Files.isRegularFile(file)) {
            throw new CliArgs.UsageException("events file [" + file + "] does not exist");
        }
        Options options = Options.parse(args);
        Path resultsFile = outputFile(args, "out");
        Path ranksFile = outputFile(args, "ranks-out");
        List<Boolean> rankings = rankings(args.get("rank", "true,false"));
        List<LeaveLastOut.Event> events = readEvents(file);
        try (ClusterConnection cluster = new ClusterConnection(args.get("url", "http://127.0.0.1:9200"));
             PrintStream ranks = ranksFile == null ? null : new PrintStream(Files.newOutputStream(ranksFile), false, StandardCharsets.UTF_8)) {
            ChosenProtocol protocol = chooseProtocol(cluster, options, events, out);
            List<LeaveLastOut.Case> cases;
            LeaveLastOut.Filtered filtered = null;
            if (protocol.protocol() == EvaluationProtocol.BEAUTY) {
                filtered = LeaveLastOut.beautyCases(events);
                cases = filtered.cases();
                out.printf("beauty filter: dropped %d test users with a cold last item and %d whose last item was already seen; %d remain%n",
                    filtered.droppedCold(), filtered.droppedSeen(), cases.size());
            } else {
                cases = LeaveLastOut.cases(events);
            }
            int users = Math.min(cases.size(), args.getInt("users", cases.size()));
            cases = cases.subList(0, users);
            if (options.firstStage().textMatch()) {
                requireQueries(cases);
            }
            ObjectNode results = describeRun(file, options, users, protocol, filtered, primaryShards(cluster, options.index()));
            ObjectNode variants = results.putObject("rank");
            ObjectNode timings = results.putObject("seconds");
            if (options.historyIndex() != null) {
                out.printf("indexed %d history events of %d users into [%s]%n", indexHistories(cluster, options.historyIndex(), cases),
                    cases.size(), options.historyIndex());
            }
            for (boolean ranked : rankings) {
                ServedRankMetrics metrics = new ServedRankMetrics(options.k());
                long start = System.nanoTime();
                int[] targetRanks = targetRanks(cluster, cases, options, ranked, out);
                for (int i = 0; i < cases.size(); i++) { // in the cases' order, whatever order the answers came in
                    metrics.add(targetRanks[i]);
                    if (ranks != null) {
                        ranks.println(rankLine(cases.get(i), ranked, targetRanks[i]));
                    }
                }
                Map<String, Double> m = metrics.metrics();
                double seconds = (System.nanoTime() - start) / 1e9;
                out.printf("rank %s, %d users: %s (%.1f s)%n", ranked, users, format(m), seconds);
                ObjectNode variant = variants.putObject(String.valueOf(ranked));
                m.forEach(variant::put);
                // beside the figures, which must not depend on it; with one client, seconds / users is the mean request time
                timings.put(String.valueOf(ranked), Math.round(seconds * 10) / 10.0);
            }
            if (resultsFile != null) {
                Files.writeString(resultsFile, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results) + "\n");
                out.printf("results written to %s%n", resultsFile);
            }
        }
    }

    /** A text search needs a query: a target without one would be measured as a miss it never had a chance at. */
    static void requireQueries(List<LeaveLastOut.Case> cases) {
        for (LeaveLastOut.Case c : cases) {
            if (c.target().query() == null || c.target().query().isBlank()) {
                throw new CliArgs.UsageException("--first-stage match searches each target's query, but user [" + c.userId()
                    + "]'s last event (item [" + c.target().itemId() + "]) has none");
            }
        }
    }

    /** The results file's account of the run, before its figures: what was sent, to which model, under which protocol. */
    private static ObjectNode describeRun(Path file, Options options, int users, ChosenProtocol protocol, LeaveLastOut.Filtered filtered,
                                          int shards) {
        ObjectNode results = JSON.createObjectNode();
        results.put("events", file.toString());
        results.put("model", options.model());
        results.put("index", options.index());
        results.put("shards", shards);
        results.put("search_type", options.searchType());
        results.put("k", options.k());
        results.put("users", users);
        results.put("retrieval_weight", options.retrievalWeight() == null ? "the bundle's" : options.retrievalWeight().toString());
        results.put("co_occurrence_weight", options.coOccurrenceWeight() == null ? "the bundle's" : options.coOccurrenceWeight().toString());
        results.put("history", options.historyIndex() == null ? "in the request" : "looked up by user in [" + options.historyIndex() + "]"
            + (options.lookupEvents() == null ? ", the model's max_history events" : ", " + options.lookupEvents() + " events"));
        results.put("protocol", "leave-one-out: last event per user = target (3+ events), history = every earlier event, "
            + "timestamp order with equal timestamps in file order; history items excluded; request time = the target's"
            + (filtered == null ? "" : "; test users whose target is cold or already seen dropped (the Beauty protocol)"));
        results.put("protocol_source", protocol.source());
        FirstStage stage = options.firstStage();
        results.put("hits", stage.textMatch()
            ? "combined_fields over " + stage.textFields() + " for the target's query, history items in must_not; ranked: the genrec "
              + "rescorer over the best " + stage.window() + " of each shard (query_weight 1, rescore_query_weight 1)"
            : "the genrec query's kNN; ranked: its rank option");
        if (filtered != null) {
            results.put("dropped_cold", filtered.droppedCold());
            results.put("dropped_seen", filtered.droppedSeen());
        }
        return results;
    }

    /**
     * The primary shards the searches run on, summed over the indices the name covers (an alias or a pattern): a figure
     * depends on them where the work is per shard, as a rescorer's window is (on 3 shards it reorders up to 3 x window).
     */
    static int primaryShards(ClusterConnection cluster, String index) throws IOException {
        JsonNode settings = JSON.readTree(cluster.json("GET", "/" + index + "/_settings/index.number_of_shards", null));
        int shards = 0;
        for (JsonNode indexSettings : settings) {
            shards += indexSettings.path("settings").path("index").path("number_of_shards").asInt();
        }
        return shards;
    }

    /** The protocol a run measures and why: asked for, the model's, or the default. */
    record ChosenProtocol(EvaluationProtocol protocol, String source) {}

    /**
     * {@code --protocol} when given, else the protocol the model's bundle says its figures were measured on, so that a
     * Beauty model is not evaluated on MovieLens's rules by default (its cold users would count as misses); {@code loo}
     * for a bundle that names none. A model is listed only where it is loaded, and it loads on first use: when no node
     * lists it yet and no --protocol was given, one request (the first user's, its history in the request) loads it.
     */
    static ChosenProtocol chooseProtocol(ClusterConnection cluster, Options options, List<LeaveLastOut.Event> events, PrintStream out)
        throws IOException {
        String trained = trainedProtocol(cluster, options, events, options.protocol() == null);
        EvaluationProtocol ofModel = trained == null ? null : EvaluationProtocol.ofTrainerName(trained);
        ChosenProtocol chosen;
        if (options.protocol() != null) {
            chosen = new ChosenProtocol(options.protocol(), "--protocol");
            if (ofModel != null && ofModel != options.protocol()) {
                out.printf("note: model [%s] was tested under protocol [%s]; this run measures %s, as --protocol asks%n",
                    options.model(), trained, options.protocol().name().toLowerCase(Locale.ROOT));
            }
        } else if (trained == null) {
            chosen = new ChosenProtocol(EvaluationProtocol.LOO, "the default: model [" + options.model() + "] names no training protocol");
        } else if (ofModel == null) {
            throw new CliArgs.UsageException("model [" + options.model() + "] was tested under protocol [" + trained
                + "], which evaluate does not know: pass --protocol loo or beauty");
        } else {
            chosen = new ChosenProtocol(ofModel, "model [" + options.model() + "]'s training protocol [" + trained + "]");
        }
        out.printf("protocol %s (%s)%n", chosen.protocol().name().toLowerCase(Locale.ROOT), chosen.source());
        return chosen;
    }

    private static String trainedProtocol(ClusterConnection cluster, Options options, List<LeaveLastOut.Event> events, boolean loadIfUnlisted)
        throws IOException {
        String endpoint = "/_plugins/_genrec/models/" + URLEncoder.encode(options.model(), StandardCharsets.UTF_8);
        JsonNode listed = JSON.readTree(cluster.json("GET", endpoint, null));
        if (loadIfUnlisted && !EvaluationProtocol.anyNodeLists(listed)) {
            List<LeaveLastOut.Case> cases = LeaveLastOut.cases(events);
            if (cases.isEmpty()) {
                return null; // nothing to evaluate either; the run says so with zero users
            }
            // the history in the request: a --history-index is filled only once the protocol has chosen the users
            // a genrec query whatever the first stage: a text search alone would not load the model
            cluster.json("POST", options.searchPath(), genrecSearch(cases.get(0), options.withHistoryInRequest(), false).toString());
            listed = JSON.readTree(cluster.json("GET", endpoint, null));
        }
        try {
            return EvaluationProtocol.trainedUnder(listed);
        } catch (IllegalStateException e) {
            throw new CliArgs.UsageException("model [" + options.model() + "]: " + e.getMessage() + "; pass --protocol");
        }
    }

    /** The search an application sends for this case: the {@code genrec} query, or a text search it rescores. */
    static ObjectNode request(LeaveLastOut.Case c, Options options, boolean rank) {
        return options.firstStage().textMatch() ? rescoredTextSearch(c, options, rank) : genrecSearch(c, options, rank);
    }

    /**
     * The genrec query an application sends for this case: the whole history (the model keeps its max_history; all are
     * excluded), or with a history index the user's id, the plugin reading the history from there.
     */
    private static ObjectNode genrecSearch(LeaveLastOut.Case c, Options options, boolean rank) {
        ObjectNode genrec = JSON.createObjectNode();
        genrec.put("vector_field", options.vectorField());
        describeUser(genrec, c, options);
        genrec.put("k", options.k());
        if (options.numCandidates() != null) {
            genrec.put("num_candidates", options.numCandidates());
        }
        if (rank && (options.retrievalWeight() != null || options.coOccurrenceWeight() != null)) {
            putWeights(genrec.putObject("rank").put("enabled", true), options);
        } else {
            genrec.put("rank", rank);
        }
        ObjectNode body = hitsOfK(options);
        body.putObject("query").set("genrec", genrec);
        return body;
    }

    /**
     * A text search for the target's query over the items' text fields (BM25 over them as one field), the history's items
     * left out as the genrec query's exclude_history leaves them out; ranked, the genrec rescorer reorders its best
     * window hits with the same user context and weights as a ranked genrec query.
     */
    private static ObjectNode rescoredTextSearch(LeaveLastOut.Case c, Options options, boolean rank) {
        ObjectNode body = hitsOfK(options);
        ObjectNode bool = body.putObject("query").putObject("bool");
        ObjectNode text = bool.putObject("must").putObject("combined_fields").put("query", c.target().query());
        options.firstStage().textFields().forEach(text.putArray("fields")::add);
        ArrayNode seen = bool.putObject("must_not").putObject("terms").putArray(options.itemIdField());
        c.history().stream().map(LeaveLastOut.Event::itemId).distinct().forEach(seen::add);
        if (rank) {
            ObjectNode rescorer = body.putObject("rescore").put("window_size", options.firstStage().window()).putObject("genrec");
            describeUser(rescorer, c, options);
            putWeights(rescorer, options);
        }
        return body;
    }

    /** What the query and the rescorer share: the model, how hits map to its items, and the user's context and time. */
    private static void describeUser(ObjectNode genrec, LeaveLastOut.Case c, Options options) {
        genrec.put("model", options.model());
        genrec.put("item_id_field", options.itemIdField());
        if (options.historyIndex() != null) {
            ObjectNode user = genrec.putObject("user").put("index", options.historyIndex()).put("id", c.userId());
            if (options.lookupEvents() != null) {
                user.put("events", options.lookupEvents());
            }
        } else {
            ArrayNode history = genrec.putArray("history");
            for (LeaveLastOut.Event e : c.history()) {
                ObjectNode event = history.addObject().put("item", e.itemId()).put("action", e.action()).put("time", e.timestamp());
                if (e.query() != null) {
                    event.put("query", e.query());
                }
            }
        }
        if (c.target().query() != null) {
            genrec.put("query", c.target().query());
        }
        genrec.put("request_time", c.target().timestamp());
    }

    /** The served blend's weights where given; absent, the bundle's. */
    private static void putWeights(ObjectNode ranking, Options options) {
        if (options.retrievalWeight() != null) {
            ranking.put("retrieval_weight", options.retrievalWeight());
        }
        if (options.coOccurrenceWeight() != null) {
            ranking.put("co_occurrence_weight", options.coOccurrenceWeight());
        }
    }

    /** k hits, each with only the item id: the target's rank among them is all a run reads. */
    private static ObjectNode hitsOfK(Options options) {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", options.k());
        body.putArray("_source").add(options.itemIdField());
        return body;
    }

    /** Every case's history into a fresh events index, in the cases' order (ties in log order, numbered by seq). */
    private static long indexHistories(ClusterConnection cluster, String index, List<LeaveLastOut.Case> cases) throws IOException {
        try (EventsWriter writer = EventsWriter.intoNewIndex(cluster, index, 1)) {
            for (LeaveLastOut.Case c : cases) {
                for (LeaveLastOut.Event e : c.history()) {
                    writer.add(EventsIndex.document(e.userId(), e.itemId(), e.action(), e.timestamp(), e.query(), e.label()));
                }
            }
            return writer.count();
        }
    }

    private static List<Boolean> rankings(String values) {
        List<Boolean> out = new ArrayList<>();
        for (String value : values.split(",")) {
            switch (value.strip()) {
                case "true" -> out.add(true);
                case "false" -> out.add(false);
                default -> throw new CliArgs.UsageException("option [--rank] takes true and/or false, got [" + value.strip() + "]");
            }
        }
        return out;
    }

    /**
     * Each case's target rank among its hits (-1: missed), with {@code options.clients()} requests in flight. The first
     * failed request fails the run with OpenSearch's reason; the requests not yet sent are dropped.
     */
    private static int[] targetRanks(ClusterConnection cluster, List<LeaveLastOut.Case> cases, Options options, boolean ranked,
                                     PrintStream out) throws IOException {
        int[] ranks = new int[cases.size()];
        AtomicInteger answered = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(options.clients());
        try {
            List<Future<?>> requests = new ArrayList<>(cases.size());
            for (int i = 0; i < cases.size(); i++) {
                LeaveLastOut.Case c = cases.get(i);
                int index = i;
                requests.add(clients.submit(() -> {
                    String body = request(c, options, ranked).toString();
                    JsonNode response = JSON.readTree(cluster.json("POST", options.searchPath(), body));
                    ranks[index] = rankOf(response, c.target().itemId(), options.itemIdField());
                    int n = answered.incrementAndGet();
                    if (n % 500 == 0) {
                        out.printf("rank %s: %d of %d users%n", ranked, n, cases.size());
                    }
                    return null;
                }));
            }
            for (Future<?> request : requests) {
                request.get();
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e.getCause() instanceof RuntimeException runtime ? runtime : new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the cluster", e);
        } finally {
            clients.shutdownNow();
        }
        return ranks;
    }

    /** An output option's file, its folder checked before the first request rather than after the last one. */
    static Path outputFile(CliArgs args, String option) {
        String value = args.get(option, null);
        if (value == null) {
            return null;
        }
        Path file = Path.of(value).toAbsolutePath();
        if (!Files.isDirectory(file.getParent())) {
            throw new CliArgs.UsageException("option [--" + option + "]: folder [" + file.getParent() + "] does not exist");
        }
        return file;
    }

    private static Float parseWeight(CliArgs args, String option) {
        String value = args.get(option, null);
        try {
            return value == null ? null : Float.valueOf(value);
        } catch (NumberFormatException e) {
            throw new CliArgs.UsageException("option [--" + option + "] must be a number, got [" + value + "]");
        }
    }

    /** One line of --ranks-out: the trainer's --ranks-out names (user, item, rank), and whether the request was ranked. */
    static String rankLine(LeaveLastOut.Case c, boolean ranked, int rank) {
        ObjectNode line = JSON.createObjectNode().put("user", c.userId()).put("item", c.target().itemId()).put("ranked", ranked);
        if (rank < 0) {
            line.putNull("rank");
        } else {
            line.put("rank", rank);
        }
        return line.toString();
    }

    /** The 0-based rank of {@code itemId} among the response's hits, or -1. */
    static int rankOf(JsonNode response, String itemId, String itemIdField) {
        JsonNode hits = response.path("hits").path("hits");
        for (int i = 0; i < hits.size(); i++) {
            if (itemId.equals(hits.get(i).path("_source").path(itemIdField).asText())) {
                return i;
            }
        }
        return -1;
    }

    static List<LeaveLastOut.Event> readEvents(Path file) throws IOException {
        List<LeaveLastOut.Event> events = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (!line.isBlank()) {
                    Map<String, Object> doc = IndexEventsCommand.toDocument(line, file, lineNo); // one parser, one set of error messages
                    events.add(new LeaveLastOut.Event((String) doc.get(EventSchema.USER_ID), (String) doc.get(EventSchema.ITEM_ID),
                        (String) doc.get(EventSchema.ACTION), ((Number) doc.get(EventSchema.TIMESTAMP)).longValue(),
                        (String) doc.get(EventSchema.QUERY), (Integer) doc.get(EventSchema.LABEL)));
                }
            }
        }
        return events;
    }

    private static String format(Map<String, Double> metrics) {
        Map<String, String> rounded = new LinkedHashMap<>();
        metrics.forEach((name, value) -> rounded.put(name, String.format(java.util.Locale.ROOT, "%.4f", value)));
        return rounded.toString();
    }
}
