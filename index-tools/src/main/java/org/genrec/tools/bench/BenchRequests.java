package org.genrec.tools.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.encoding.HistoryEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Request bodies for one benchmark cell, each paired with its baseline: the same request as a plain
 * {@code genrec_knn} query with the same vector (computed here with the bundle before any timing
 * starts) and the history excluded the way the genrec query does it: kNN widened by the number of
 * distinct history items, those items dropped after it by a {@code must_not}. So the ratio is the
 * model's cost, not a difference in how the history is left out.
 */
final class BenchRequests {

    enum Mix {
        RECOMMEND,
        SEARCH,
        RESCORE
    }

    /** Where the genrec request ranks, as {@code --rank} names it. */
    enum Ranking {
        /** {@code true}: every shard ranks its own top window (the query's default). */
        SHARDS("true"),
        /** {@code false}: retrieval alone. */
        OFF("false"),
        /** {@code coordinator}: the shards retrieve, the {@code genrec_rank} search pipeline processor ranks the merged top window once. */
        COORDINATOR("coordinator"),
        /**
         * {@code coordinator-named}: the same through a named pipeline ({@link #NAMED_PIPELINE}, which bench creates) instead of an
         * ad hoc one in the body, which the node builds anew for every request.
         */
        COORDINATOR_NAMED("coordinator-named");

        final String cliValue;

        Ranking(String cliValue) {
            this.cliValue = cliValue;
        }

        boolean onTheCoordinator() {
            return this == COORDINATOR || this == COORDINATOR_NAMED;
        }
    }

    /** Where the genrec request's history comes from, as {@code --history-from} names it. */
    enum HistorySource {
        /** {@code request}: the events in the request body. */
        REQUEST("request"),
        /**
         * {@code index}: the plugin reads them from an events index by user ({@code "user": {...}}), all of them ({@code events}
         * = the history length): what the lookup adds, at history lengths beyond the model's window too.
         */
        INDEX("index");

        final String cliValue;

        HistorySource(String cliValue) {
            this.cliValue = cliValue;
        }
    }

    /** What every request of a run shares: the model (in this process, for the baseline's vectors), names on the cluster, the draw. */
    record Setup(GenrecModel model, String modelName, String vectorField, String historyIndex, int count, long seed) {}

    /** One drawn request: a history, and the item whose title gives the search text. */
    record Drawn(List<HistoryEvent> events, ItemCatalog.Item target) {}

    /** The pipeline {@code --rank coordinator-named} sends requests through. */
    static final String NAMED_PIPELINE = "genrec-bench-rank";

    record Pair(String genrec, String baseline) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The pipeline both coordinator variants rank through: named ({@link #NAMED_PIPELINE}) or ad hoc in each body. */
    static ObjectNode rankingPipeline() {
        ObjectNode pipeline = JSON.createObjectNode();
        pipeline.putArray("response_processors").addObject().putObject("genrec_rank");
        return pipeline;
    }
    private static final long NOW = 1_800_000_000L;

    private BenchRequests() {}

    /**
     * The run's histories of one length, drawn from the catalogue with one seed, so that every variant, mix and k sends the same
     * ones, and the events index holds them as users {@link #userId}.
     */
    static List<Drawn> draw(Setup setup, int history) {
        ItemCatalog items = setup.model().bundle().items();
        String action = setup.model().manifest().actions().get(0);
        Random random = new Random(setup.seed());
        List<Drawn> drawn = new ArrayList<>(setup.count());
        for (int r = 0; r < setup.count(); r++) {
            List<HistoryEvent> events = new ArrayList<>(history);
            for (int i = 0; i < history; i++) {
                String item = items.items().get(random.nextInt(items.size())).itemId();
                events.add(new HistoryEvent(item, action, NOW - 600L * (history - i), null));
            }
            drawn.add(new Drawn(events, items.items().get(random.nextInt(items.size()))));
        }
        return drawn;
    }

    /** The user whose events in the history index are request {@code r}'s history of length {@code history}. */
    static String userId(int history, int r) {
        return "bench-h" + history + "-" + r;
    }

    /** The cell's request pairs; {@code numCandidates} null leaves the genrec query's default (k). */
    static List<Pair> build(Setup setup, Mix mix, int history, int k, int window, Ranking ranking, HistorySource source,
                            Integer numCandidates) {
        List<Drawn> drawn = draw(setup, history);
        String vectorField = setup.vectorField();
        List<Pair> pairs = new ArrayList<>(drawn.size());
        for (int r = 0; r < drawn.size(); r++) {
            List<HistoryEvent> events = drawn.get(r).events();
            String text = mix == Mix.RECOMMEND ? null : drawn.get(r).target().title().split(" ")[0];
            float[] embedding = setup.model().encode(new GenrecRequest(events, text, NOW)).embedding();
            ArrayNode seen = JSON.createArrayNode();
            events.stream().map(HistoryEvent::itemId).distinct().forEach(seen::add);

            ObjectNode knn = JSON.createObjectNode();
            knn.put("field", vectorField).put("k", k + seen.size());
            ArrayNode vector = knn.putArray("vector");
            for (float v : embedding) {
                vector.add(v);
            }
            ObjectNode baselineQuery = JSON.createObjectNode();
            ObjectNode bool = baselineQuery.putObject("bool");
            bool.putArray("must").addObject().set("genrec_knn", knn);
            bool.putArray("must_not").addObject().putObject("terms").set("item_id", seen);

            ObjectNode genrec = JSON.createObjectNode();
            genrec.put("model", setup.modelName());
            if (source == HistorySource.INDEX) {
                genrec.putObject("user").put("index", setup.historyIndex()).put("id", userId(history, r)).put("events", history);
            } else {
                ArrayNode historyJson = genrec.putArray("history");
                for (HistoryEvent e : events) {
                    historyJson.addObject().put("item", e.itemId()).put("action", e.action()).put("time", e.timeSeconds());
                }
            }
            genrec.put("request_time", NOW);
            if (text != null) {
                genrec.put("query", text);
            }
            String genrecBody;
            String baselineBody;
            if (mix == Mix.RESCORE) {
                ObjectNode body = JSON.createObjectNode();
                body.put("size", 10).put("_source", false);
                body.putObject("query").putObject("match").put("title", text);
                ObjectNode rescore = body.putObject("rescore");
                rescore.put("window_size", window);
                rescore.set("genrec", genrec);
                genrecBody = body.toString();
                ObjectNode plain = JSON.createObjectNode();
                plain.put("size", 10).put("_source", false);
                plain.putObject("query").putObject("match").put("title", text);
                baselineBody = plain.toString();
            } else {
                genrec.put("vector_field", vectorField).put("k", k);
                if (numCandidates != null) {
                    genrec.put("num_candidates", numCandidates);
                }
                // (the rescorer mix always ranks, on the shards)
                genrec.putObject("rank").put("enabled", ranking == Ranking.SHARDS).put("window", Math.min(window, k));
                ObjectNode genrecQuery = JSON.createObjectNode();
                genrecQuery.set("genrec", genrec);
                genrecBody = ranking.onTheCoordinator() ? rankedOnTheCoordinator(genrecQuery, Math.min(window, k), ranking) : wrap(genrecQuery);
                baselineBody = wrap(baselineQuery);
            }
            pairs.add(new Pair(genrecBody, baselineBody));
        }
        return pairs;
    }

    /**
     * The genrec_rank processor ranks the hits of the response, so the response holds the whole window
     * (size = window, item ids as doc values): that fetch is part of what ranking there costs. The
     * pipeline is named in the body, or rides in it (ad hoc), so the other variants of the run go without it.
     */
    private static String rankedOnTheCoordinator(ObjectNode query, int window, Ranking ranking) {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", Math.max(10, window)).put("_source", false);
        body.putArray("docvalue_fields").add("item_id");
        body.set("query", query);
        if (ranking == Ranking.COORDINATOR_NAMED) {
            body.put("search_pipeline", NAMED_PIPELINE);
        } else {
            body.set("search_pipeline", rankingPipeline());
        }
        return body.toString();
    }

    private static String wrap(ObjectNode query) {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", 10).put("_source", false);
        body.set("query", query);
        return body.toString();
    }
}
