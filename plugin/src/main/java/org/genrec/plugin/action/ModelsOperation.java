package org.genrec.plugin.action;

/** What a models request does on every node. */
public enum ModelsOperation {
    LIST,
    LOAD,
    UNLOAD,
    ALIAS,
    REMOVE_ALIAS
}
