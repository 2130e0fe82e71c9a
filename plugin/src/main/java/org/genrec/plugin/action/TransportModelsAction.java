package org.genrec.plugin.action;

import org.genrec.plugin.GenrecServices;
import org.genrec.plugin.model.ModelRegistry;
import org.opensearch.action.FailedNodeException;
import org.opensearch.action.support.ActionFilters;
import org.opensearch.action.support.nodes.TransportNodesAction;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.inject.Inject;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.tasks.Task;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.TransportService;

import java.io.IOException;
import java.util.List;

/**
 * Runs a model operation on every node's {@link ModelRegistry}; a failure on one node leaves its other models serving.
 * Registered twice, as {@link ModelsAction#READ} and {@link ModelsAction#MANAGE} (see {@link Read} and {@link Manage}:
 * each registered action needs its own class), and each refuses the other's operations.
 */
public abstract class TransportModelsAction extends TransportNodesAction<ModelsRequest, ModelsResponse, ModelsNodeRequest, ModelsNodeResponse> {

    /** Lists models and their stats. */
    public static final class Read extends TransportModelsAction {
        @Inject
        public Read(ThreadPool threadPool, ClusterService clusterService, TransportService transportService, ActionFilters actionFilters,
            GenrecServices services) {
            super(ModelsAction.READ, threadPool, clusterService, transportService, actionFilters, services);
        }
    }

    /** Loads, unloads and aliases models. */
    public static final class Manage extends TransportModelsAction {
        @Inject
        public Manage(ThreadPool threadPool, ClusterService clusterService, TransportService transportService, ActionFilters actionFilters,
            GenrecServices services) {
            super(ModelsAction.MANAGE, threadPool, clusterService, transportService, actionFilters, services);
        }
    }

    private final ModelsAction action;
    private final GenrecServices services;

    private TransportModelsAction(
        ModelsAction action,
        ThreadPool threadPool,
        ClusterService clusterService,
        TransportService transportService,
        ActionFilters actionFilters,
        GenrecServices services
    ) {
        // GENERIC: loading a bundle reads files and creates ONNX sessions, which must not block search threads.
        super(action.name(), threadPool, clusterService, transportService, actionFilters, ModelsRequest::new, ModelsNodeRequest::new,
            ThreadPool.Names.GENERIC, ModelsNodeResponse.class);
        this.action = action;
        this.services = services;
    }

    @Override
    protected void doExecute(Task task, ModelsRequest request, ActionListener<ModelsResponse> listener) {
        if (!action.runs(request.operation())) {
            listener.onFailure(new IllegalArgumentException("genrec action [" + action.name() + "] does not run ["
                + request.operation() + "]; send it as [" + ModelsAction.of(request.operation()).name() + "]"));
            return;
        }
        super.doExecute(task, request, listener);
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
        return new ModelsNodeResponse(clusterService.localNode(), loaded, models.aliases(), services.newItemTexts().stats(), error);
    }
}
