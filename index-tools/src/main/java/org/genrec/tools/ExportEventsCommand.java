package org.genrec.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.encoding.EventSchema;
import org.opensearch.client.opensearch._types.SortOrder;
import org.opensearch.client.opensearch._types.Time;
import org.opensearch.client.opensearch._types.mapping.FieldType;
import org.opensearch.client.opensearch.core.ScrollResponse;
import org.opensearch.client.opensearch.core.SearchResponse;
import org.opensearch.client.opensearch.core.search.Hit;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code export-events}: writes the events index back as the trainer's JSON lines, per user in time order (the retrain loop). */
final class ExportEventsCommand {

    static final Set<String> OPTIONS = Set.of("out", "url", "index");
    static final String USAGE = """
        export-events --out FILE.jsonl [--url http://127.0.0.1:9200] [--index events]
            Writes every event of the index as JSON lines (user_id, item_id, action, timestamp, query, label), sorted by
            user and time, events with one timestamp in the order they were ingested ("seq"): the input of
            `python -m genrec_trainer.train --events FILE.jsonl`, which orders such events by their place in the file.""";

    private static final ObjectMapper JSON = new ObjectMapper();

    private ExportEventsCommand() {}

    @SuppressWarnings({ "rawtypes", "unchecked" })
    static void run(CliArgs args, PrintStream out) throws IOException {
        Path file = Path.of(args.required("out"));
        String index = args.get("index", "events");
        long written = 0;
        try (ClusterConnection cluster = new ClusterConnection(args.get("url", "http://127.0.0.1:9200"));
             BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            SearchResponse<Map> first = cluster.client().search(s -> s.index(index).size(1000).scroll(Time.of(t -> t.time("1m")))
                .sort(o -> o.field(f -> f.field(EventSchema.USER_ID).order(SortOrder.Asc)))
                .sort(o -> o.field(f -> f.field(EventSchema.TIMESTAMP).order(SortOrder.Asc)))
                .sort(o -> o.field(f -> f.field(EventSchema.SEQ).order(SortOrder.Asc).unmappedType(FieldType.Long))), Map.class);
            String scrollId = first.scrollId();
            List<Hit<Map>> hits = first.hits().hits();
            while (!hits.isEmpty()) {
                for (Hit<Map> hit : hits) {
                    Map<String, Object> event = hit.source();
                    event.remove(EventSchema.SEQ); // the log's line order carries it
                    writer.write(JSON.writeValueAsString(event));
                    writer.newLine();
                    written++;
                }
                String id = scrollId;
                ScrollResponse<Map> next = cluster.client().scroll(r -> r.scrollId(id).scroll(Time.of(t -> t.time("1m"))), Map.class);
                scrollId = next.scrollId();
                hits = next.hits().hits();
            }
            String id = scrollId;
            cluster.client().clearScroll(c -> c.scrollId(id));
        }
        out.printf("wrote %d events of index [%s] to %s%n", written, index, file);
    }
}
