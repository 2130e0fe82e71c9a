package org.genrec.plugin.action;

import org.genrec.plugin.query.NewItemTextCache;
import org.opensearch.action.support.nodes.BaseNodeResponse;
import org.opensearch.cluster.node.DiscoveryNode;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.ToXContentFragment;
import org.opensearch.core.xcontent.XContentBuilder;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * One node's models and aliases after the operation, or why the operation failed there; and its cache of the text of items
 * added after training that histories named.
 */
public final class ModelsNodeResponse extends BaseNodeResponse implements ToXContentFragment {

    private final List<ModelInfo> models;
    private final Map<String, String> aliases;
    private final NewItemTextCache.Stats newItemTexts;
    private final String error;

    ModelsNodeResponse(DiscoveryNode node, List<ModelInfo> models, Map<String, String> aliases, NewItemTextCache.Stats newItemTexts,
        String error) {
        super(node);
        this.models = models;
        this.aliases = aliases;
        this.newItemTexts = newItemTexts;
        this.error = error;
    }

    public ModelsNodeResponse(StreamInput in) throws IOException {
        super(in);
        this.models = in.readList(ModelInfo::read);
        this.aliases = in.readMap(StreamInput::readString, StreamInput::readString);
        this.newItemTexts = new NewItemTextCache.Stats(in.readVLong(), in.readVLong(), in.readVLong(), in.readVLong());
        this.error = in.readOptionalString();
    }

    @Override
    public void writeTo(StreamOutput out) throws IOException {
        super.writeTo(out);
        out.writeList(models);
        out.writeMap(aliases, StreamOutput::writeString, StreamOutput::writeString);
        out.writeVLong(newItemTexts.entries());
        out.writeVLong(newItemTexts.hits());
        out.writeVLong(newItemTexts.searchedIds());
        out.writeVLong(newItemTexts.searches());
        out.writeOptionalString(error);
    }

    public List<ModelInfo> models() {
        return models;
    }

    public Map<String, String> aliases() {
        return aliases;
    }

    public NewItemTextCache.Stats newItemTexts() {
        return newItemTexts;
    }

    public String error() {
        return error;
    }

    @Override
    public XContentBuilder toXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(getNode().getId());
        builder.field("name", getNode().getName());
        if (error != null) {
            builder.field("error", error);
        }
        builder.startObject("models");
        for (ModelInfo model : models) {
            model.toXContent(builder, params);
        }
        builder.endObject();
        builder.field("aliases", aliases);
        // Items added after training that histories named, when this node coordinated the request: ids answered from the
        // cache, ids searched for in the searched indices, and the searches (one per request that had any to search).
        builder.startObject("new_item_texts").field("cached", newItemTexts.entries()).field("cache_hits", newItemTexts.hits())
            .field("searched_ids", newItemTexts.searchedIds()).field("searches", newItemTexts.searches()).endObject();
        return builder.endObject();
    }
}
