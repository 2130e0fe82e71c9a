package org.genrec.plugin.action;

import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.model.ModelRegistry;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

import java.io.IOException;
import java.util.List;

/** Runs a model operation on every node's {@link ModelRegistry}; a failure on one node leaves its other models serving. */
public final class TransportModelsAction extends TransportNodesAction<ModelsRequest, ModelsResponse, ModelsNodeRequest, ModelsNodeResponse> {

    private final GenrecServices services;

    @Inject
    public TransportModelsAction(
        ThreadPool threadPool,
        ClusterService clusterService,
        TransportService transportService,
        ActionFilters actionFilters,
        GenrecServices services
    ) {
        // GENERIC: loading a bundle reads files and creates ONNX sessions, which must not block search threads.
        super(ModelsAction.NAME, threadPool, clusterService, transportService, actionFilters, ModelsRequest::new, ModelsNodeRequest::new,
            ThreadPool.Names.GENERIC, ModelsNodeResponse.class);
        this.services = services;
    }

    @Override
    protected ModelsResponse newResponse(ModelsRequest request, List<ModelsNodeResponse> responses, List<FailedNodeException> failures) {
        return new ModelsResponse(clusterService.getClusterName(), responses, failures);
    }

    @Override
    protected ModelsNodeRequest newNodeRequest(ModelsRequest request) {
        return new ModelsNodeRequest(request);
    }

    @Override
    protected ModelsNodeResponse newNodeResponse(StreamInput in) throws IOException {
        return new ModelsNodeResponse(in);
    }

    @Override
    protected ModelsNodeResponse nodeOperation(ModelsNodeRequest nodeRequest) {
        ModelsRequest request = nodeRequest.request();
        ModelRegistry models = services.models();
        String error = null;
        try {
            switch (request.operation()) {
                case LIST -> {
                }
                case LOAD -> models.load(request.model());
                case UNLOAD -> models.unload(request.model());
                case ALIAS -> models.alias(request.alias(), request.model());
                case REMOVE_ALIAS -> models.removeAlias(request.alias());
            }
        } catch (IllegalArgumentException e) {
            error = e.getMessage();
        }
        // GET models/NAME (name or alias) lists that model alone; a node where it is not loaded (models load on first use,
        // per node) lists none.
        String shown = request.operation() == ModelsOperation.LIST && request.model() != null ? models.nameOf(request.model()) : null;
        List<ModelInfo> loaded = models.loaded().stream().filter(m -> shown == null || m.name().equals(shown)).map(ModelInfo::of).toList();
        return new ModelsNodeResponse(clusterService.localNode(), loaded, models.aliases(), error);
    }
}
