package org.genrec.plugin.query;

import org.genrec.runtime.CacheLayout;
import org.genrec.runtime.UserEncoding;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.core.common.io.stream.StreamInput;

import java.io.IOException;
import java.util.Arrays;
import java.util.Random;

/**
 * What shipping a history cache to one shard costs in CPU (BENCHMARKS.md, "Where ranking runs"):
 * WireFormat's encoding written and read back, against StreamOutput's own float arrays (one float at
 * a time, what WireFormat used before), for the ML-100K model's cache (L 2, H 2, 201 positions,
 * Dh 32: 206 KB). A timing tool, not a test: medians over rounds, run by hand.
 *
 * <pre>
 * mvn -q install -DskipTests
 * mvn -q -pl plugin test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:java \
 *     -Dexec.classpathScope=test -Dexec.mainClass=org.genrec.plugin.query.WireFormatTiming
 * </pre>
 */
public final class WireFormatTiming {

    private static final int ROUNDS = 15;
    private static final int CALLS = 200;

    private WireFormatTiming() {}

    public static void main(String[] args) throws IOException {
        long[] shape = { 2, 1, 2, 201, 32 };
        CacheLayout layout = CacheLayout.of(shape);
        Random random = new Random(1);
        float[] keys = new float[layout.layers() * layout.keysPerLayer()];
        float[] values = new float[layout.layers() * layout.valuesPerLayer()];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = random.nextFloat();
        }
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat();
        }
        UserEncoding encoding = new UserEncoding(new float[64], shape, keys, values, new float[(int) shape[3]], 0, new int[0]);
        double[][] perFloat = new double[2][ROUNDS];
        double[][] bulk = new double[2][ROUNDS];
        for (int round = 0; round < ROUNDS; round++) {
            time(perFloat, round, out -> {
                out.writeFloatArray(keys);
                out.writeFloatArray(values);
            }, in -> {
                in.readFloatArray();
                in.readFloatArray();
            });
            time(bulk, round, out -> WireFormat.writeEncoding(out, encoding), WireFormat::readEncoding);
        }
        System.out.printf("cache %s (%d KB): median over %d rounds of %d round trips, microseconds per shard request%n",
            Arrays.toString(shape), (long) (keys.length + values.length) * Float.BYTES / 1000, ROUNDS, CALLS);
        System.out.printf("  StreamOutput float arrays (one float at a time): write %.0f, read %.0f%n",
            median(perFloat[0]), median(perFloat[1]));
        System.out.printf("  WireFormat (one byte block per array):           write %.0f, read %.0f%n", median(bulk[0]), median(bulk[1]));
    }

    private interface Writer {
        void write(BytesStreamOutput out) throws IOException;
    }

    private interface Reader {
        void read(StreamInput in) throws IOException;
    }

    private static void time(double[][] into, int round, Writer writer, Reader reader) throws IOException {
        long write = 0;
        long read = 0;
        for (int i = 0; i < CALLS; i++) {
            long t0 = System.nanoTime();
            BytesStreamOutput out = new BytesStreamOutput();
            writer.write(out);
            long t1 = System.nanoTime();
            reader.read(out.bytes().streamInput());
            read += System.nanoTime() - t1;
            write += t1 - t0;
        }
        into[0][round] = write / 1e3 / CALLS;
        into[1][round] = read / 1e3 / CALLS;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
