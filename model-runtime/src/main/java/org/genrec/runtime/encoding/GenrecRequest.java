package org.genrec.runtime.encoding;

import java.util.List;

/**
 * What the model is asked about one user: the history, an optional query (null = recommendation)
 * and the time the request is made (Unix seconds), from which event ages are computed.
 */
public record GenrecRequest(List<HistoryEvent> history, String query, long requestTimeSeconds) {
    public GenrecRequest {
        history = List.copyOf(history);
    }
}
