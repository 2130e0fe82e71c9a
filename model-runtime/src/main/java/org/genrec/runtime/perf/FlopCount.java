package org.genrec.runtime.perf;

import org.genrec.runtime.bundle.Manifest;

/**
 * FLOPs (2 x multiply-adds) of the bundle's graphs for a request shape, from the manifest's
 * architecture. Counts the matrix work only (projections, MLP, attention); embedding lookups,
 * norms and activations are noise next to it. The graphs compute full T x T attention scores and
 * mask them, so the count does too.
 */
public final class FlopCount {

    private FlopCount() {}

    /**
     * encode: history N, then the query-context and retrieval tokens (T = N + 2), all layers, plus the embedding head.
     * The last layer computes the keys and values of all T tokens but the output of its last {@code lastLayerRows}
     * only (all T where the manifest does not say).
     */
    public static double encode(Manifest.Architecture a, int history) {
        double t = history + 2;
        double lastRows = a.lastLayerRows() > 0 ? Math.min(a.lastLayerRows(), t) : t;
        return 2 * ((a.layers() - 1) * encodeLayer(a, t, t) + encodeLayer(a, t, lastRows) + (double) a.dModel() * a.dModel());
    }

    /** Multiply-adds of one encode layer over T tokens whose output is computed for the last {@code rows} of them. */
    private static double encodeLayer(Manifest.Architecture a, double t, double rows) {
        double d = a.dModel();
        double keysAndValuesAndQueries = t * 3 * d * d;                    // the one qkv projection runs on all T
        double outputAndMlp = rows * (d * d + 3 * d * hidden(a));
        double attention = 2 * d * t * rows;                               // scores and weights x values
        return keysAndValuesAndQueries + outputAndMlp + attention;
    }

    /** score: K candidates, each attending to the T = N + 1 cached positions and itself, plus the output head. */
    public static double score(Manifest.Architecture a, int history, int candidates) {
        double d = a.dModel();
        double t = history + 1;
        double perCandidateLayer = 4 * d * d + 3 * d * hidden(a) + 2 * d * (t + 1);
        return 2.0 * candidates * (a.layers() * perCandidateLayer + d);
    }

    private static double hidden(Manifest.Architecture a) {
        return a.mlpHidden() > 0 ? a.mlpHidden() : 4 * a.dModel();
    }
}
