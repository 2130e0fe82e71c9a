package org.genrec.plugin.rest;

import org.genrec.plugin.GenrecPlugin;
import org.genrec.plugin.action.ModelsAction;
import org.genrec.plugin.action.ModelsOperation;
import org.genrec.plugin.action.ModelsRequest;
import org.genrec.plugin.action.ModelsResponse;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.action.ActionListener;
import org.opensearch.core.rest.RestStatus;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.rest.BaseRestHandler;
import org.opensearch.rest.BytesRestResponse;
import org.opensearch.rest.RestChannel;
import org.opensearch.rest.RestRequest;
import org.opensearch.rest.RestResponse;
import org.opensearch.rest.action.RestResponseListener;
import org.opensearch.transport.client.node.NodeClient;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.opensearch.rest.RestRequest.Method.DELETE;
import static org.opensearch.rest.RestRequest.Method.GET;
import static org.opensearch.rest.RestRequest.Method.POST;
import static org.opensearch.rest.RestRequest.Method.PUT;

/**
 * Model management and stats under {@code _plugins/_genrec}. Every call reaches every node and
 * answers per node; if the operation failed on any node the status is 400 and that node's entry
 * says why. Alias changes that every node accepted are then written to the persistent cluster
 * setting {@code genrec.aliases.ALIAS.model}, so they survive restarts.
 */
public final class RestModelsAction extends BaseRestHandler {

    static final String BASE = "/_plugins/_genrec";

    @Override
    public String getName() {
        return "genrec_models";
    }

    @Override
    public List<Route> routes() {
        return List.of(
            new Route(GET, BASE + "/models"),
            new Route(GET, BASE + "/models/{model}"),
            new Route(GET, BASE + "/stats"),
            new Route(POST, BASE + "/models/{model}/_load"),
            new Route(POST, BASE + "/models/{model}/_unload"),
            new Route(PUT, BASE + "/aliases/{alias}"),
            new Route(POST, BASE + "/aliases/{alias}"),
            new Route(DELETE, BASE + "/aliases/{alias}")
        );
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) throws IOException {
        ModelsRequest modelsRequest = toModelsRequest(request);
        return channel -> {
            RestResponseListener<ModelsResponse> respond = new RestResponseListener<>(channel) {
                @Override
                public RestResponse buildResponse(ModelsResponse response) throws Exception {
                    RestStatus status = response.failedSomewhere() ? RestStatus.BAD_REQUEST : RestStatus.OK;
                    return new BytesRestResponse(status, response.toXContent(channel.newBuilder(), request));
                }
            };
            client.execute(ModelsAction.of(modelsRequest.operation()), modelsRequest, ActionListener.wrap(response -> {
                boolean aliasChange = modelsRequest.operation() == ModelsOperation.ALIAS
                    || modelsRequest.operation() == ModelsOperation.REMOVE_ALIAS;
                if (!aliasChange || response.failedSomewhere()) {
                    respond.onResponse(response);
                    return;
                }
                // Every node took the alias; now make it durable and known to nodes that join later.
                String key = GenrecPlugin.MODEL_ALIASES.getConcreteSettingForNamespace(modelsRequest.alias()).getKey();
                Settings.Builder persistent = Settings.builder();
                if (modelsRequest.operation() == ModelsOperation.ALIAS) {
                    persistent.put(key, modelsRequest.model());
                } else {
                    persistent.putNull(key);
                }
                client.admin().cluster().prepareUpdateSettings().setPersistentSettings(persistent)
                    .execute(ActionListener.wrap(updated -> respond.onResponse(response), respond::onFailure));
            }, respond::onFailure));
        };
    }

    private static ModelsRequest toModelsRequest(RestRequest request) throws IOException {
        String path = request.path();
        if (request.method() == GET) {
            return new ModelsRequest(ModelsOperation.LIST, request.param("model"), null);
        }
        if (path.endsWith("/_load")) {
            return new ModelsRequest(ModelsOperation.LOAD, request.param("model"), null);
        }
        if (path.endsWith("/_unload")) {
            return new ModelsRequest(ModelsOperation.UNLOAD, request.param("model"), null);
        }
        String alias = request.param("alias");
        if (request.method() == DELETE) {
            return new ModelsRequest(ModelsOperation.REMOVE_ALIAS, null, alias);
        }
        if (!request.hasContent()) {
            throw new IllegalArgumentException("alias [" + alias + "] needs a body like {\"model\": \"ml1m\"} or {\"model\": \"ml1m@3\"}");
        }
        try (XContentParser parser = request.contentParser()) {
            Map<String, Object> body = parser.map();
            Object model = body.get("model");
            if (!(model instanceof String) || body.size() != 1) {
                throw new IllegalArgumentException("alias [" + alias + "] needs a body like {\"model\": \"ml1m\"} or {\"model\": \"ml1m@3\"}");
            }
            return new ModelsRequest(ModelsOperation.ALIAS, (String) model, alias);
        }
    }
}
