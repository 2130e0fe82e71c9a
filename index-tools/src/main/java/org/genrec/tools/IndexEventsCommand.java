package org.genrec.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.encoding.EventSchema;
import org.genrec.runtime.encoding.EventTime;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code index-events}: ingests an interaction log (JSON lines, the trainer's event schema) into the events index. */
final class IndexEventsCommand {

    static final Set<String> OPTIONS = Set.of("events", "url", "index", "shards", "replicas", "batch", "recreate");
    static final String USAGE = """
        index-events --events FILE.jsonl [--url http://127.0.0.1:9200] [--index events] [--shards 1] [--replicas 0] [--batch 1000] [--recreate]
            Indexes an interaction log, one JSON object a line with user_id, item_id, action, timestamp (Unix seconds or ISO-8601),
            optional query and label, into the events index that the genrec query's "user" lookup reads. A malformed line stops
            the import with its line number; nothing after it is indexed. Each event gets a "seq", its place in the order of
            ingestion (continuing after the index's last), so that events with one timestamp come back in file order. The index
            writes through the pipeline "genrec-events" by default (created here), which numbers the events an application
            writes later without a seq after these.""";

    private static final ObjectMapper JSON = new ObjectMapper();

    private IndexEventsCommand() {}

    static void run(CliArgs args, PrintStream out) throws IOException {
        Path file = Path.of(args.required("events"));
        String index = args.get("index", "events");
        int batch = Math.max(1, args.getInt("batch", 1000));
        try (ClusterConnection cluster = new ClusterConnection(args.get("url", "http://127.0.0.1:9200"));
             BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            if (EventsIndex.create(cluster, index, args.getInt("shards", 1), args.getInt("replicas", 0), args.flag("recreate"))) {
                out.printf("created index [%s]%n", index);
            }
            long total;
            try (EventsWriter writer = new EventsWriter(cluster, index, lastSeq(cluster, index), batch,
                     written -> out.printf("indexed %d events%n", written))) {
                String line;
                int lineNo = 0;
                while ((line = reader.readLine()) != null) {
                    lineNo++;
                    if (!line.isBlank()) {
                        writer.add(toDocument(line, file, lineNo));
                    }
                }
                total = writer.count();
            }
            out.printf("index [%s] received %d events from %s%n", index, total, file);
        }
    }

    /** The highest seq already in the index (0 if none): a second log appended to the index orders after the first. */
    private static long lastSeq(ClusterConnection cluster, String index) throws IOException {
        String response = cluster.json("POST", "/" + index + "/_search",
            "{\"size\": 0, \"aggs\": {\"last\": {\"max\": {\"field\": \"" + EventSchema.SEQ + "\"}}}}");
        JsonNode last = JSON.readTree(response).path("aggregations").path("last").path("value");
        return last.isNumber() ? last.asLong() : 0;
    }

    static Map<String, Object> toDocument(String line, Path file, int lineNo) {
        try {
            JsonNode node = JSON.readTree(line);
            for (String field : List.of(EventSchema.USER_ID, EventSchema.ITEM_ID, EventSchema.ACTION, EventSchema.TIMESTAMP)) {
                if (!node.hasNonNull(field)) {
                    throw new IllegalArgumentException("missing [" + field + "]");
                }
            }
            JsonNode time = node.get(EventSchema.TIMESTAMP);
            return EventsIndex.document(node.get(EventSchema.USER_ID).asText(), node.get(EventSchema.ITEM_ID).asText(),
                node.get(EventSchema.ACTION).asText(), EventTime.toUnixSeconds(time.isNumber() ? time.numberValue() : time.asText()),
                node.hasNonNull(EventSchema.QUERY) ? node.get(EventSchema.QUERY).asText() : null,
                node.hasNonNull(EventSchema.LABEL) ? node.get(EventSchema.LABEL).asInt() : null);
        } catch (IOException | IllegalArgumentException e) {
            throw new CliArgs.UsageException(file + " line " + lineNo + ": " + e.getMessage());
        }
    }
}
