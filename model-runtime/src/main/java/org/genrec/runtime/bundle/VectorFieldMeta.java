package org.genrec.runtime.bundle;

import java.util.Map;

/**
 * What the mapping of a {@code genrec_vector} field records (in its standard {@code meta}) about the item embeddings it
 * holds, so that a query can refuse a model whose user embeddings are in another space. Without it, retraining a model and
 * loading it before the items index holds its vectors returns kNN hits that are silently wrong: the new user vector
 * against the old item vectors. {@code genrec-tools index-items} writes it; the {@code genrec} query checks it.
 */
public final class VectorFieldMeta {

    /** The {@link ItemCatalog#fingerprint()} of the bundle whose vectors the field holds: what the check compares. */
    public static final String EMBEDDINGS = "genrec_embeddings";
    /** {@code model_id@model_version} of that bundle, for people and error messages only. */
    public static final String MODEL = "genrec_model";
    /**
     * The {@link #EMBEDDINGS} value while {@code index-items} replaces the vectors of an existing index: the field then holds
     * a mix of two models' vectors, which no model's user vector can be searched against, so the query refuses every model
     * until the run has finished (or, if it failed, until it is run again).
     */
    public static final String BEING_REPLACED = "being-replaced";
    /** OpenSearch refuses mapping meta values longer than this. */
    private static final int MAX_VALUE_LENGTH = 50;

    private VectorFieldMeta() {}

    /** The meta of a field holding {@code bundle}'s item embeddings. */
    public static Map<String, String> of(ModelBundle bundle) {
        return Map.of(EMBEDDINGS, bundle.items().fingerprint(), MODEL, modelOf(bundle));
    }

    /** The meta of a field whose vectors are being replaced by {@code bundle}'s. */
    public static Map<String, String> beingReplacedBy(ModelBundle bundle) {
        return Map.of(EMBEDDINGS, BEING_REPLACED, MODEL, modelOf(bundle));
    }

    private static String modelOf(ModelBundle bundle) {
        String model = bundle.manifest().modelId() + "@" + bundle.manifest().modelVersion();
        return model.length() <= MAX_VALUE_LENGTH ? model : model.substring(0, MAX_VALUE_LENGTH - 3) + "...";
    }
}
