package org.genrec.plugin.action;

import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.nodes.BaseNodesResponse;
import org.opensearch.cluster.ClusterName;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentObject;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.List;

/** Every node's answer to a models request. */
public final class ModelsResponse extends BaseNodesResponse<ModelsNodeResponse> implements ToXContentObject {

    public ModelsResponse(ClusterName clusterName, List<ModelsNodeResponse> nodes, List<FailedNodeException> failures) {
        super(clusterName, nodes, failures);
    }

    public ModelsResponse(StreamInput in) throws IOException {
        super(in);
    }

    @Override
    protected List<ModelsNodeResponse> readNodesFrom(StreamInput in) throws IOException {
        return in.readList(ModelsNodeResponse::new);
    }

    @Override
    protected void writeNodesTo(StreamOutput out, List<ModelsNodeResponse> nodes) throws IOException {
        out.writeList(nodes);
    }

    /** True when the operation failed on some node (the response then says where and why). */
    public boolean failedSomewhere() {
        return hasFailures() || getNodes().stream().anyMatch(n -> n.error() != null);
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject();
        builder.field("cluster_name", getClusterName().value());
        if (hasFailures()) {
            builder.startArray("failures");
            for (FailedNodeException failure : failures()) {
                builder.startObject().field("node", failure.nodeId()).field("reason", failure.getDetailedMessage()).endObject();
            }
            builder.endArray();
        }
        builder.startObject("nodes");
        for (ModelsNodeResponse node : getNodes()) {
            node.toXContent(builder, params);
        }
        builder.endObject();
        return builder.endObject();
    }
}
