package org.genrec.tools;

import org.genrec.runtime.encoding.EventSchema;
import org.opensearch.client.opensearch.core.BulkRequest;
import org.opensearch.client.opensearch.core.BulkResponse;
import org.opensearch.client.opensearch.core.bulk.BulkResponseItem;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Appends events to an events index in bulk, in the order they are given, each numbered with the next {@code seq}: the order
 * that breaks ties between equal timestamps in the {@code user} lookup, as the trainer's file order does. Closing flushes the
 * rest and refreshes the index, so the events are searchable when the writer is closed.
 */
public final class EventsWriter implements AutoCloseable {

    private final ClusterConnection cluster;
    private final String index;
    private final int batch;
    private final LongConsumer onFlush;
    private final List<Map<String, Object>> pending;
    private long seq;
    private long written;

    /**
     * @param lastSeq the highest {@code seq} already in the index (0 for a new one)
     * @param onFlush told the number of events written so far after each full batch (progress)
     */
    EventsWriter(ClusterConnection cluster, String index, long lastSeq, int batch, LongConsumer onFlush) {
        this.cluster = cluster;
        this.index = index;
        this.seq = lastSeq;
        this.batch = batch;
        this.onFlush = onFlush;
        this.pending = new ArrayList<>(batch);
    }

    /** A writer into a new, empty events index (an existing one of that name is deleted first). */
    public static EventsWriter intoNewIndex(ClusterConnection cluster, String index, int shards) throws IOException {
        EventsIndex.create(cluster, index, shards, 0, true);
        return new EventsWriter(cluster, index, 0, 1000, written -> {});
    }

    /** Adds one event document ({@link EventsIndex#document}); its seq is set here. */
    public void add(Map<String, Object> doc) throws IOException {
        doc.put(EventSchema.SEQ, ++seq);
        pending.add(doc);
        if (pending.size() == batch) {
            flush();
            onFlush.accept(written);
        }
    }

    /** Events written so far, including those still pending. */
    public long count() {
        return written + pending.size();
    }

    private void flush() throws IOException {
        if (pending.isEmpty()) {
            return;
        }
        BulkRequest.Builder request = new BulkRequest.Builder();
        for (Map<String, Object> doc : pending) {
            request.operations(op -> op.index(i -> i.index(index).document(doc)));
        }
        BulkResponse response = cluster.client().bulk(request.build());
        if (response.errors()) {
            BulkResponseItem failed = response.items().stream().filter(i -> i.error() != null).findFirst().orElseThrow();
            throw new IOException("bulk indexing into [" + index + "] failed: " + failed.error().reason());
        }
        written += pending.size();
        pending.clear();
    }

    @Override
    public void close() throws IOException {
        flush();
        cluster.client().indices().refresh(r -> r.index(index));
    }
}
