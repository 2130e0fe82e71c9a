package org.genrec.runtime.bundle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.genrec.runtime.bundle.BundleLoader.require;

/**
 * The bundle's co-occurrence counts ({@code co_occurrence.bin}, docs/bundle-format.md): for each item, its most
 * frequent partners among the items other users logged in the same second (or, with the manifest's
 * {@code co_occurrence.span} K, at most K events apart), and how often. The served order adds
 * {@code co_occurrence_weight * log(1 + the summed counts of a candidate with the request's context items)}, the context
 * being the request's latest second or its last K events (the trainer's cooccurrence.py): on MovieLens, a user rates a
 * page of films in one second, and which films other users rated together says what the page held; in a log without
 * seconds, items logged close together go together.
 */
public final class CoOccurrence {

    /** A bundle without the file: every prior is 0. */
    public static final CoOccurrence NONE = new CoOccurrence(new int[] { 0 }, new int[0], new float[0]);

    private final int[] offsets;     // [rows + 1]: row i is neighbours[offsets[i], offsets[i + 1])
    private final int[] neighbours;
    private final float[] counts;

    private CoOccurrence(int[] offsets, int[] neighbours, float[] counts) {
        this.offsets = offsets;
        this.neighbours = neighbours;
        this.counts = counts;
    }

    /** The rows stored: items + 1 (row 0, padding, is empty). */
    public int rows() {
        return offsets.length - 1;
    }

    /** Pairs stored. */
    public int pairs() {
        return neighbours.length;
    }

    /**
     * Reads and checks the file: int32 rows, int32 pairs, int32 offsets [rows + 1], int32 neighbours [pairs], float32
     * counts [pairs], little-endian. A file that disagrees with the catalogue or with itself is refused here, not
     * found out by a request.
     */
    public static CoOccurrence read(Path file, int items) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new BundleFormatException("cannot read co-occurrence counts " + file + ": " + e.getMessage(), e);
        }
        String name = file.getFileName().toString();
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        require(bytes.length >= 8, name + " has " + bytes.length + " bytes, shorter than its header");
        int rows = in.getInt(), pairs = in.getInt();
        require(rows == items + 1, name + " has " + rows + " rows, the catalogue " + items + " items (+ 1 for padding)");
        require(pairs >= 0 && bytes.length == 8L + 4L * (rows + 1) + 8L * pairs, name + " has " + bytes.length + " bytes, expected "
            + (8L + 4L * (rows + 1) + 8L * Math.max(0, pairs)) + " for " + rows + " rows and " + pairs + " pairs");
        int[] offsets = new int[rows + 1];
        int[] neighbours = new int[pairs];
        float[] counts = new float[pairs];
        in.asIntBuffer().get(offsets);
        in.position(in.position() + 4 * offsets.length);
        in.asIntBuffer().get(neighbours);
        in.position(in.position() + 4 * pairs);
        in.asFloatBuffer().get(counts);
        require(offsets[0] == 0 && offsets[rows] == pairs, name + ": the offsets must run from 0 to the number of pairs");
        for (int i = 0; i < rows; i++) {
            require(offsets[i] <= offsets[i + 1], name + ": the offsets must not decrease (row " + i + ")");
        }
        for (int j = 0; j < pairs; j++) {
            require(neighbours[j] >= 1 && neighbours[j] <= items, name + ": neighbour " + neighbours[j] + " is not an item index");
            require(Float.isFinite(counts[j]) && counts[j] >= 0, name + ": count " + counts[j] + " is not a finite count");
        }
        return new CoOccurrence(offsets, neighbours, counts);
    }

    /** An item's kept partners, ascending (empty for an index outside the table). */
    public int[] neighboursOf(int item) {
        return item >= 1 && item < rows() ? Arrays.copyOfRange(neighbours, offsets[item], offsets[item + 1]) : new int[0];
    }

    /**
     * The prior of a request whose context holds the items {@code context} (model indices; any outside the table
     * are ignored): summed once here, so that ranking a window costs one map lookup per hit.
     */
    public Prior priorFor(int[] context) {
        Map<Integer, Double> summed = new HashMap<>();
        for (int c : context) {
            if (c >= 1 && c < rows()) {
                for (int j = offsets[c]; j < offsets[c + 1]; j++) {
                    summed.merge(neighbours[j], (double) counts[j], Double::sum);
                }
            }
        }
        return new Prior(summed);
    }

    /** One request's prior: {@code log(1 + summed counts)} of a candidate, 0 for one with no count (or a new item). */
    public static final class Prior {
        private final Map<Integer, Double> summed;

        private Prior(Map<Integer, Double> summed) {
            this.summed = summed;
        }

        public double of(long index) {
            Double sum = index > 0 && index <= Integer.MAX_VALUE ? summed.get((int) index) : null;
            return sum == null ? 0 : Math.log1p(sum);
        }
    }
}
