package org.genrec.plugin.action;

import org.opensearch.action.ActionType;

/**
 * Model management, as two transport actions so that a security role can be given one without the
 * other: reading the models list and stats is a {@code cluster:monitor} action (the security
 * plugin's {@code cluster_monitor} group covers it, as it does {@code _nodes/stats}); loading,
 * unloading and aliasing change what every node serves and are {@code cluster:admin}.
 */
public final class ModelsAction extends ActionType<ModelsResponse> {

    public static final ModelsAction READ = new ModelsAction("cluster:monitor/genrec/models");
    public static final ModelsAction MANAGE = new ModelsAction("cluster:admin/genrec/models");

    private ModelsAction(String name) {
        super(name, ModelsResponse::new);
    }

    /** The action that carries this operation. */
    public static ModelsAction of(ModelsOperation operation) {
        return operation == ModelsOperation.LIST ? READ : MANAGE;
    }

    /**
     * Whether this action may run the operation. The read action must refuse a load: otherwise a
     * role allowed only to monitor could load or unload models by sending them through it.
     */
    public boolean runs(ModelsOperation operation) {
        return of(operation) == this;
    }
}
