package org.genrec.tools.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trainer's ranking metrics (genrec_trainer.evaluate.rank_metrics) over the hits a cluster
 * returned: a target's 0-based rank among the k hits, or a miss when it is not among them. HR and
 * NDCG at n ≤ k are then exactly the trainer's; MRR can only count ranks inside k ({@code mrr@k}).
 * One relevant item: DCG = 1 / log2(rank + 2).
 */
public final class ServedRankMetrics {

    private final int k;
    private long requests;
    private final Map<Integer, Long> hitsAt = new LinkedHashMap<>();
    private final Map<Integer, Double> dcgAt = new LinkedHashMap<>();
    private double reciprocalRanks;

    /** @param k the hits each request returns; metrics are reported at 10 and 50 where they fit in k */
    public ServedRankMetrics(int k) {
        this.k = k;
        for (int n : new int[] { 10, 50 }) {
            if (n <= k) {
                hitsAt.put(n, 0L);
                dcgAt.put(n, 0.0);
            }
        }
    }

    /** @param rank the target's 0-based rank among the returned hits, or -1 when it is not among them */
    public void add(int rank) {
        if (rank >= k) {
            throw new IllegalArgumentException("rank " + rank + " among " + k + " hits");
        }
        requests++;
        if (rank < 0) {
            return;
        }
        for (int n : hitsAt.keySet()) {
            if (rank < n) {
                hitsAt.merge(n, 1L, Long::sum);
                dcgAt.merge(n, 1.0 / (Math.log(rank + 2.0) / Math.log(2)), Double::sum);
            }
        }
        reciprocalRanks += 1.0 / (rank + 1);
    }

    public long requests() {
        return requests;
    }

    /** hr@10, ndcg@10, hr@50, ndcg@50 (where k allows), mrr@k: means over the requests added. */
    public Map<String, Double> metrics() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int n : hitsAt.keySet()) {
            out.put("hr@" + n, mean(hitsAt.get(n)));
            out.put("ndcg@" + n, mean(dcgAt.get(n)));
        }
        out.put("mrr@" + k, mean(reciprocalRanks));
        return out;
    }

    private double mean(double sum) {
        return requests == 0 ? 0 : sum / requests;
    }
}
