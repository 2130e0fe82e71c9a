package org.genrec.runtime.bench;

import org.genrec.runtime.bundle.Manifest;
import org.genrec.runtime.encoding.RotaryRows;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * What the encode graph's rotary rows cost the runtime per request ({@link RotaryRows}), for the quality model's head (64:
 * 16 position pairs, 16 time pairs on the log scale): the price of the ~45 kernels the graph no longer runs.
 *
 * <pre>
 * java -jar model-runtime-bench/target/model-runtime-benchmarks.jar RotaryRowsBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RotaryRowsBenchmark {

    @Param({ "10", "50", "100", "200" })
    public int history;

    private RotaryRows rows;
    private long[] actions;
    private long[] ages;

    @Setup
    public void setUp() {
        float[] positions = new float[16];
        float[] times = new float[16];
        long[] periods = new long[16];
        for (int i = 0; i < 16; i++) {
            positions[i] = (float) Math.pow(10_000, -i / 16.0);       // the trainer's frequencies (TimeRotary)
            times[i] = (float) Math.pow(2, -i);
            periods[i] = 120L << i;
        }
        rows = new RotaryRows(new Manifest.RotarySpec(positions, times, periods, "log", false, "own"), 200);
        actions = new long[history];
        ages = new long[history];
        for (int i = 0; i < history; i++) {
            actions[i] = 1;
            ages[i] = (history - i) * 7 * 3600L + 13;                 // a week of events, seven hours apart
        }
    }

    @Benchmark
    public RotaryRows.Rows rows() {
        return rows.of(1, history, actions, ages);
    }
}
