package org.genrec.runtime.perf;

/**
 * This machine's fp32 GEMM rate as ONNX Runtime reaches it with one intra-op thread, measured once
 * per process with {@link GemmProbe}: the denominator of the runtime's own "measured time / FLOP
 * lower bound" statistics.
 */
public final class GemmRate {

    private static volatile double gflops;

    private GemmRate() {}

    /** GFLOP/s; measured on first use (about a tenth of a second). */
    public static double gflops() {
        double rate = gflops;
        if (rate == 0) {
            synchronized (GemmRate.class) {
                if (gflops == 0) {
                    try (GemmProbe probe = new GemmProbe()) {
                        gflops = probe.gflops(9);
                    }
                }
                rate = gflops;
            }
        }
        return rate;
    }
}
