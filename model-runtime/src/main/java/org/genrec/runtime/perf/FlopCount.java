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

    /** encode: history N, then the query-context and retrieval tokens (T = N + 2), all layers, plus the embedding head. */
    public static double encode(Manifest.Architecture a, int history) {
        double d = a.dModel();
        double t = history + 2;
        double perLayer = t * (4 * d * d + 3 * d * hidden(a)) + 2 * d * t * t;
        return 2 * (a.layers() * perLayer + d * d);
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
