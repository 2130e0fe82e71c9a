package org.genrec.plugin.action;

import org.opensearch.action.ActionType;

/** Model management: list, load/reload, unload, alias. */
public final class ModelsAction extends ActionType<ModelsResponse> {

    public static final ModelsAction INSTANCE = new ModelsAction();
    public static final String NAME = "cluster:admin/genrec/models";

    private ModelsAction() {
        super(NAME, ModelsResponse::new);
    }
}
