package org.genrec.runtime.bench;

import org.genrec.runtime.GenrecModel;
import org.genrec.runtime.NewItemScores;
import org.genrec.runtime.UserEncoding;
import org.genrec.runtime.bundle.ItemCatalog;
import org.genrec.runtime.encoding.ItemText;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * What items added after training cost a ranked request: embedding N of them from their text (also what the ingest
 * processor pays per document, N = 1), ranking them from their text (the item encoder, then score_rows: what a shard pays
 * when its window holds N of them), against scoring N trained items by index (score), for a history of 200.
 *
 * <pre>
 * mvn -B -pl model-runtime,model-runtime-bench -am package -DskipTests
 * java -Dgenrec.bundle=target/fixture-bundle -jar model-runtime-bench/target/model-runtime-benchmarks.jar NewItemsBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class NewItemsBenchmark {

    @Param({ "1", "10", "100" })
    public int items;

    private GenrecModel model;
    private UserEncoding user;
    private List<ItemText> texts;
    private long[] trained;

    @Setup(Level.Trial)
    public void load() {
        model = GenrecModel.load(Path.of(System.getProperty("genrec.bundle", "target/fixture-bundle")), ExecutionProvider.CPU);
        if (!model.embedsNewItems()) {
            throw new IllegalStateException("this bundle has no item encoder: export a model with item text");
        }
        model.warmUp();
        Random random = new Random(7);
        user = model.encode(BenchHistories.request(model, 200, random));
        // Catalogue items' texts under new ids: real text lengths, none of them known by id.
        List<ItemCatalog.Item> catalogue = model.bundle().items().items();
        texts = new ArrayList<>(items);
        trained = new long[items];
        for (int i = 0; i < items; i++) {
            ItemCatalog.Item item = catalogue.get(random.nextInt(catalogue.size()));
            texts.add(new ItemText(item.title(), item.categories()));
            trained[i] = item.index();
        }
    }

    @TearDown(Level.Trial)
    public void close() {
        model.close();
    }

    @Benchmark
    public float[][] embedNewItems() {
        return model.embedNewItems(texts);
    }

    @Benchmark
    public NewItemScores rankNewItems() {
        return model.scoreNewItems(user, texts);
    }

    @Benchmark
    public float[] scoreTrainedItems() {
        return model.score(user, trained);
    }
}
