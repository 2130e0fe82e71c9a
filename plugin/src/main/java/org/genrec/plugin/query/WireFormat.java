package org.genrec.plugin.query;

import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.HistoryEvent;
import org.genrec.runtime.encoding.ItemText;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Transport serialization of the model types the query carries from the coordinating node to the shards. */
final class WireFormat {

    private WireFormat() {}

    static void writeHistory(StreamOutput out, List<HistoryEvent> history) throws IOException {
        out.writeVInt(history.size());
        for (HistoryEvent e : history) {
            out.writeString(e.itemId());
            out.writeString(e.action());
            out.writeZLong(e.timeSeconds());
            out.writeOptionalString(e.query());
            out.writeBoolean(e.itemText() != null); // an item added after training, with the text it is read by
            if (e.itemText() != null) {
                out.writeString(e.itemText().title());
                out.writeStringCollection(e.itemText().categories());
            }
        }
    }

    static List<HistoryEvent> readHistory(StreamInput in) throws IOException {
        int n = in.readVInt();
        HistoryEvent[] events = new HistoryEvent[n];
        for (int i = 0; i < n; i++) {
            events[i] = new HistoryEvent(in.readString(), in.readString(), in.readZLong(), in.readOptionalString(),
                in.readBoolean() ? new ItemText(in.readString(), in.readStringList()) : null);
        }
        return List.of(events);
    }

    static void writeEncoding(StreamOutput out, UserEncoding encoding) throws IOException {
        out.writeBoolean(encoding != null);
        if (encoding != null) {
            writeFloats(out, encoding.embedding());
            out.writeVLongArray(encoding.cacheShape());
            writeFloats(out, encoding.cacheKeys());
            writeFloats(out, encoding.cacheValues());
            writeFloats(out, encoding.cacheMask());
            out.writeVInt(encoding.droppedHistoryItems());
            out.writeVIntArray(encoding.coOccurrenceContext());
        }
    }

    static UserEncoding readEncoding(StreamInput in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        return new UserEncoding(readFloats(in), in.readVLongArray(), readFloats(in), readFloats(in), readFloats(in), in.readVInt(),
            in.readVIntArray());
    }

    /**
     * Floats as one little-endian byte block. The cache is ~53K floats per request and shard (213 KB
     * for d 64, 2 layers, 200 events); StreamOutput.writeFloatArray writes them one by one, which
     * measured ~0.4-0.7 ms to write and as much to read per shard request on this machine, against
     * two bulk copies here.
     */
    private static void writeFloats(StreamOutput out, float[] values) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        out.writeByteArray(bytes.array());
    }

    private static float[] readFloats(StreamInput in) throws IOException {
        byte[] bytes = in.readByteArray();
        if (bytes.length % Float.BYTES != 0) {
            throw new IOException("genrec encoding: a float block of " + bytes.length + " bytes is not a whole number of floats");
        }
        float[] values = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }
}
