package org.genrec.runtime.bundle;

import java.util.Locale;

/**
 * How a model scores an item for retrieval (manifest {@code similarity}), and the
 * {@code genrec_vector} similarity an items index must map for its vectors to rank the same way.
 */
public enum RetrievalSimilarity {
    /** Unit-length embeddings compared by cosine: Lucene's dot product is the same and cheaper. */
    COSINE("cosine", "dot_product"),
    /** Unnormalized embeddings compared by their dot product (SASRec's form): the length counts. */
    DOT("dot", "maximum_inner_product");

    private final String manifestName;
    private final String fieldSimilarity;

    RetrievalSimilarity(String manifestName, String fieldSimilarity) {
        this.manifestName = manifestName;
        this.fieldSimilarity = fieldSimilarity;
    }

    /** The value of {@code "similarity"} in a {@code genrec_vector} mapping that ranks like the model. */
    public String fieldSimilarity() {
        return fieldSimilarity;
    }

    /** A manifest's value; absent (bundles written before the field existed) means cosine. */
    public static RetrievalSimilarity fromManifest(String value) {
        if (value == null) {
            return COSINE;
        }
        for (RetrievalSimilarity s : values()) {
            if (s.manifestName.equals(value.toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new BundleFormatException("similarity must be \"cosine\" or \"dot\", got [" + value + "]");
    }
}
