package org.genrec.plugin.action;

import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.transport.TransportRequest;

import java.io.IOException;

/** The per-node part of a {@link ModelsRequest}. */
public final class ModelsNodeRequest extends TransportRequest {

    private final ModelsRequest request;

    ModelsNodeRequest(ModelsRequest request) {
        this.request = request;
    }

    public ModelsNodeRequest(StreamInput in) throws IOException {
        super(in);
        this.request = new ModelsRequest(in);
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        request.writeTo(out);
    }

    ModelsRequest request() {
        return request;
    }
}
