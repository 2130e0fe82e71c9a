package org.genrec.plugin.query;

import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.encoding.HistoryEvent;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

import java.io.IOException;
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
        }
    }

    static List<HistoryEvent> readHistory(StreamInput in) throws IOException {
        int n = in.readVInt();
        HistoryEvent[] events = new HistoryEvent[n];
        for (int i = 0; i < n; i++) {
            events[i] = new HistoryEvent(in.readString(), in.readString(), in.readZLong(), in.readOptionalString());
        }
        return List.of(events);
    }

    static void writeEncoding(StreamOutput out, UserEncoding encoding) throws IOException {
        out.writeBoolean(encoding != null);
        if (encoding != null) {
            out.writeFloatArray(encoding.embedding());
            out.writeVLongArray(encoding.cacheShape());
            out.writeFloatArray(encoding.cacheKeys());
            out.writeFloatArray(encoding.cacheValues());
            out.writeFloatArray(encoding.cacheMask());
            out.writeVInt(encoding.droppedHistoryItems());
        }
    }

    static UserEncoding readEncoding(StreamInput in) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        return new UserEncoding(
            in.readFloatArray(),
            in.readVLongArray(),
            in.readFloatArray(),
            in.readFloatArray(),
            in.readFloatArray(),
            in.readVInt()
        );
    }
}
