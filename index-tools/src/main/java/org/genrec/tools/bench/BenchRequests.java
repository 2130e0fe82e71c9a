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
 * {@code genrec_knn} query with the same vector and the same history filter, computed here with
 * the bundle before any timing starts.
 */
final class BenchRequests {

    enum Mix {
        RECOMMEND,
        SEARCH,
        RESCORE
    }

    record Pair(String genrec, String baseline) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long NOW = 1_800_000_000L;

    private BenchRequests() {}

    static List<Pair> build(GenrecModel model, String modelName, String vectorField, Mix mix, int history, int k, int window, int count,
        long seed) {
        ItemCatalog items = model.bundle().items();
        String action = model.manifest().actions().get(0);
        Random random = new Random(seed);
        List<Pair> pairs = new ArrayList<>(count);
        for (int r = 0; r < count; r++) {
            List<HistoryEvent> events = new ArrayList<>(history);
            ArrayNode historyJson = JSON.createArrayNode();
            for (int i = 0; i < history; i++) {
                String item = items.items().get(random.nextInt(items.size())).itemId();
                long time = NOW - 600L * (history - i);
                events.add(new HistoryEvent(item, action, time, null));
                historyJson.addObject().put("item", item).put("action", action).put("time", time);
            }
            ItemCatalog.Item target = items.items().get(random.nextInt(items.size()));
            String text = mix == Mix.RECOMMEND ? null : target.title().split(" ")[0];
            float[] embedding = model.encode(new GenrecRequest(events, text, NOW)).embedding();
            ArrayNode seen = JSON.createArrayNode();
            events.forEach(e -> seen.add(e.itemId()));

            ObjectNode baselineFilter = JSON.createObjectNode();
            baselineFilter.putObject("bool").putObject("must_not").putObject("terms").set("item_id", seen);
            ObjectNode knn = JSON.createObjectNode();
            knn.put("field", vectorField).put("k", k).set("filter", baselineFilter);
            ArrayNode vector = knn.putArray("vector");
            for (float v : embedding) {
                vector.add(v);
            }

            ObjectNode genrec = JSON.createObjectNode();
            genrec.put("model", modelName).set("history", historyJson);
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
                genrecBody = wrap("genrec", genrec);
                baselineBody = wrap("genrec_knn", knn);
            }
            pairs.add(new Pair(genrecBody, baselineBody));
        }
        return pairs;
    }

    private static String wrap(String queryName, ObjectNode query) {
        ObjectNode body = JSON.createObjectNode();
        body.put("size", 10).put("_source", false);
        body.putObject("query").set(queryName, query);
        return body.toString();
    }
}
