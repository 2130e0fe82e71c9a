package org.genrec.runtime.encoding;

import org.genrec.runtime.bundle.Manifest;

import java.util.Arrays;

/**
 * The encode graph's rotary rows (docs/bundle-format.md, "Rotary rows"), made here rather than in the graph: there they
 * were ~45 kernels of about a microsecond each on the tokens' positions and ages, a fixed cost of every encode call
 * (BENCHMARKS.md, "Session 46"). The trainer's {@code rotary_rows.py} is the specification; this class follows it step by
 * step, in float32 where it computes in float32, and the golden vectors hold the two together.
 *
 * <p>For a batch of {@code rows} histories of {@code length} slots each (left padding has action 0), every request has
 * S = length + 2 tokens: its events, the query context and RET. Token t of row b has a rotary position counted from RET's
 * place (RET 0, the context -1, the last event -2, each earlier real event one less, or with tied positions the first of
 * its second's; padding as the specification says) and an age (the event's, 0 for padding, the context and RET); its row
 * of angles holds the position pairs
 * ({@code position * f_i}), then the time pairs. The cosines and sines of those rows, [rows * S, pairs], in token order;
 * with queries at the next event's time the queries' rows come first (each history token at the age of the event after
 * it, the last one at 0) and the keys' after them.
 */
public final class RotaryRows {

    private static final float TWO_PI = (float) (2 * Math.PI);

    /** The rows of one encode call, and the row ids the graph looks them up by. */
    public record Rows(float[] cos, float[] sin, int rowCount, int pairs, long[] ids, long[] keyIds) {}

    private final float[] positionFrequencies;
    private final float[] timeFrequencies;
    private final long[] timePeriods;
    private final boolean linearTime;
    private final boolean tiePositions;
    private final boolean queryAtNextEvent;
    private final int pairs;
    /**
     * Whether each time frequency is half the one before (the trainer's log scale: 1, 1/2, 1/4, ...): then every angle of a
     * token is the last one doubled, and a row's time pairs take one cosine and one sine instead of one per pair, the
     * difference of the cosines ~1e-12 (the doubling's rounding, 2^pairs times a double's).
     */
    private final boolean halvings;
    /** cos and sin of position -p's pairs for p = 0 .. maxHistory + 1, every position a request can have: computed once. */
    private final float[] positionCos;
    private final float[] positionSin;

    public RotaryRows(Manifest.RotarySpec spec, int maxHistory) {
        this.positionFrequencies = spec.positionFrequencies().clone();
        this.linearTime = spec.linearTime();
        this.timeFrequencies = linearTime ? new float[0] : spec.timeFrequencies().clone();
        this.timePeriods = linearTime ? spec.timePeriods().clone() : new long[0];
        this.tiePositions = spec.tiePositions();
        this.queryAtNextEvent = spec.queryAtNextEvent();
        this.pairs = spec.pairs();
        boolean halving = timeFrequencies.length > 1;
        for (int j = 1; j < timeFrequencies.length; j++) {
            halving &= timeFrequencies[j] == Math.scalb(timeFrequencies[0], -j);
        }
        this.halvings = halving;
        int n = positionFrequencies.length;
        this.positionCos = new float[(maxHistory + 2) * n];
        this.positionSin = new float[(maxHistory + 2) * n];
        for (int p = 0; p < maxHistory + 2; p++) {
            for (int i = 0; i < n; i++) {
                float angle = (float) p * positionFrequencies[i];
                positionCos[p * n + i] = (float) Math.cos(angle);
                positionSin[p * n + i] = (float) -Math.sin(angle); // the table's positions are -p: sin(-a) = -sin(a)
            }
        }
    }

    /** Whether the graph takes the keys' row ids apart from the queries' ({@link EncodeInputs#KEY_ROTARY_IDS}). */
    public boolean queryAtNextEvent() {
        return queryAtNextEvent;
    }

    /**
     * @param actions [rows * length] the histories' actions, 0 for padding
     * @param ages    [rows * length] the events' ages in seconds (request time minus event time, never negative)
     */
    public Rows of(int rows, int length, long[] actions, long[] ages) {
        int tokens = length + 2;
        int all = rows * tokens;
        int rowCount = queryAtNextEvent ? 2 * all : all;
        float[] cos = new float[rowCount * pairs];
        float[] sin = new float[rowCount * pairs];
        long[] ids = new long[all];
        int[] positions = new int[tokens];
        long[] tokenAges = new long[tokens];
        for (int b = 0; b < rows; b++) {
            int from = b * length;
            int real = positions(actions, ages, from, length, positions);
            for (int t = 0; t < length; t++) {
                tokenAges[t] = actions[from + t] > 0 ? Math.max(0L, ages[from + t]) : 0L;
            }
            tokenAges[length] = 0L;
            tokenAges[length + 1] = 0L;
            positions[length] = real;                                // the context, then RET: #real events, + 1
            positions[length + 1] = real + 1;
            int keyRows = queryAtNextEvent ? all : 0;                // the keys' rows follow the queries'
            for (int t = 0; t < tokens; t++) {
                int position = positions[t] - (real + 1);            // counted from RET's place
                ids[b * tokens + t] = b * tokens + t;
                fill(cos, sin, keyRows + b * tokens + t, position, tokenAges[t]);
                if (queryAtNextEvent) {                              // a history token asks at the next event's age
                    fill(cos, sin, b * tokens + t, position, t < length - 1 ? tokenAges[t + 1] : 0L);
                }
            }
        }
        long[] keyIds = null;
        if (queryAtNextEvent) {
            keyIds = new long[all];
            Arrays.setAll(keyIds, i -> i + (long) all);
        }
        return new Rows(cos, sin, rowCount, pairs, ids, keyIds);
    }

    /**
     * Writes the event positions of one history (slots [from, from + length)) into positions[0, length): the real events
     * before it (left padding: 0), or with tied positions the real events older than it; returns the number of real events.
     */
    private int positions(long[] actions, long[] ages, int from, int length, int[] positions) {
        int real = 0;
        for (int t = 0; t < length; t++) {
            if (actions[from + t] > 0) {
                real++;
            }
            positions[t] = Math.max(real - 1, 0);
        }
        if (tiePositions) {
            long[] realAges = new long[real];
            for (int t = 0, r = 0; t < length; t++) {
                if (actions[from + t] > 0) {
                    realAges[r++] = ages[from + t];
                }
            }
            Arrays.sort(realAges);
            for (int t = 0; t < length; t++) {
                positions[t] = real - upperBound(realAges, ages[from + t]); // those with a larger age: older
            }
        }
        return real;
    }

    /** The number of entries of the ascending {@code sorted} that are at most {@code value}. */
    private static int upperBound(long[] sorted, long value) {
        int lo = 0, hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** Row {@code row}: the position pairs of {@code position} (<= 0), then the time pairs of {@code age}. */
    private void fill(float[] cos, float[] sin, int row, int position, long age) {
        int at = row * pairs;
        int n = positionFrequencies.length;
        int back = -position;
        if (back < positionCos.length / Math.max(n, 1)) {
            System.arraycopy(positionCos, back * n, cos, at, n);
            System.arraycopy(positionSin, back * n, sin, at, n);
        } else {
            for (int i = 0; i < n; i++) {
                float angle = (float) position * positionFrequencies[i];
                cos[at + i] = (float) Math.cos(angle);
                sin[at + i] = (float) Math.sin(angle);
            }
        }
        at += n;
        if (age == 0L) { // every time angle is 0: the context, RET and padding, and events of the request's second
            Arrays.fill(cos, at, at + pairs - n, 1f);
            return;
        }
        if (linearTime) {
            for (long period : timePeriods) {
                float angle = (float) (age % period) / (float) period * TWO_PI;
                cos[at] = (float) Math.cos(angle);
                sin[at++] = (float) Math.sin(angle);
            }
        } else if (halvings) {
            float scale = (float) Math.log1p((float) age / 60f);
            int last = timeFrequencies.length - 1;
            double angle = scale * timeFrequencies[last];          // float32, exact: a power of two apart from the first
            double c = Math.cos(angle), s = Math.sin(angle);
            for (int j = last; j >= 0; j--) {
                cos[at + j] = (float) c;
                sin[at + j] = (float) s;
                double doubled = c * c - s * s;
                s = 2 * s * c;
                c = doubled;
            }
        } else {
            float scale = (float) Math.log1p((float) age / 60f);
            for (float frequency : timeFrequencies) {
                float angle = scale * frequency;
                cos[at] = (float) Math.cos(angle);
                sin[at++] = (float) Math.sin(angle);
            }
        }
    }
}
