package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.batching.EncodeBatching;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Several threads encoding at once, as concurrent searches do, with cross-request batching off
 * and on: the batched mode's throughput and the latency its queueing adds. On CPU this is why
 * AUTO leaves batching off; the GPU run this is meant for needs a lent GPU machine.
 *
 * <pre>
 * java -Dgenrec.bundle=target/ml100k-bundle -jar model-runtime-bench/target/model-runtime-benchmarks.jar EncodeBatchingBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode({ Mode.Throughput, Mode.SampleTime })
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
@Threads(4)
@Fork(1)
public class EncodeBatchingBenchmark {

    @Param({ "off", "on" })
    public String batching;

    @Param({ "200" })
    public int history;

    @Param({ "1000" })
    public long maxDelayMicros;

    private GenrecModel model;
    private GenrecRequest request;

    @Setup(Level.Trial)
    public void load() {
        EncodeBatching mode = new EncodeBatching(EncodeBatching.Mode.parse(batching), 32, maxDelayMicros);
        model = GenrecModel.load(Path.of(System.getProperty("genrec.bundle", "target/fixture-bundle")), ExecutionProvider.CPU, mode);
        model.warmUp();
        request = BenchHistories.request(model, history, new Random(7));
    }

    @TearDown(Level.Trial)
    public void close() {
        model.close();
    }

    @Benchmark
    public UserEncoding encode() {
        return model.encode(request);
    }
}
