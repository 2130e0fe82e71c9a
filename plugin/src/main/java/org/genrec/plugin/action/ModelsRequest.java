package org.genrec.plugin.action;

import org.opensearch.action.support.nodes.BaseNodesRequest;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;

import java.io.IOException;

/** A model management operation, sent to every node (models live in each node's memory). */
public final class ModelsRequest extends BaseNodesRequest<ModelsRequest> {

    private final ModelsOperation operation;
    private final String model;
    private final String alias;

    public ModelsRequest(ModelsOperation operation, String model, String alias) {
        super((String[]) null);
        this.operation = operation;
        this.model = model;
        this.alias = alias;
    }

    public ModelsRequest(StreamInput in) throws IOException {
        super(in);
        this.operation = in.readEnum(ModelsOperation.class);
        this.model = in.readOptionalString();
        this.alias = in.readOptionalString();
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeEnum(operation);
        out.writeOptionalString(model);
        out.writeOptionalString(alias);
    }

    public ModelsOperation operation() {
        return operation;
    }

    public String model() {
        return model;
    }

    public String alias() {
        return alias;
    }
}
