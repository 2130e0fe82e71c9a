package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.UserEncoding;
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
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * model-runtime alone, without a cluster: one encode call per history length, one score call per
 * number of candidates. Measures runtime changes (tensor handling, session options) in isolation.
 *
 * <pre>
 * mvn -B -pl model-runtime,model-runtime-bench -am package -DskipTests
 * java -Dgenrec.bundle=target/fixture-bundle -jar model-runtime-bench/target/model-runtime-benchmarks.jar
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ModelRuntimeBenchmark {

    @Param({ "10", "50", "100", "200" })
    public int history;

    @Param({ "100", "1000", "2048" })
    public int candidates;

    private GenrecModel model;
    private GenrecRequest request;
    private UserEncoding user;
    private long[] candidateIndices;

    @Setup(Level.Trial)
    public void load() {
        model = GenrecModel.load(Path.of(System.getProperty("genrec.bundle", "target/fixture-bundle")), ExecutionProvider.CPU);
        model.warmUp();
        Random random = new Random(7);
        request = BenchHistories.request(model, history, random);
        user = model.encode(request);
        candidateIndices = random.ints(candidates, 1, model.bundle().items().size() + 1).asLongStream().toArray();
    }

    @TearDown(Level.Trial)
    public void close() {
        model.close();
    }

    @Benchmark
    public UserEncoding encode() {
        return model.encode(request);
    }

    @Benchmark
    public float[] score() {
        return model.score(user, candidateIndices);
    }
}
