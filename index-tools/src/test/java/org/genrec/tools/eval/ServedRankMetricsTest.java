package org.genrec.tools.eval;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ServedRankMetricsTest {

    @Test
    void theTrainersMetricsOverRanksAmongTheHitsAndMisses() {
        ServedRankMetrics metrics = new ServedRankMetrics(100);
        for (int rank : new int[] { 0, 1, 9, 10, 99, -1 }) {
            metrics.add(rank);
        }
        Map<String, Double> m = metrics.metrics();
        assertEquals(3 / 6.0, m.get("hr@10"), 1e-12);
        assertEquals((1 + 1 / (Math.log(3) / Math.log(2)) + 1 / (Math.log(11) / Math.log(2))) / 6, m.get("ndcg@10"), 1e-12);
        assertEquals(4 / 6.0, m.get("hr@50"), 1e-12);
        assertEquals((1 + 1 / 2.0 + 1 / 10.0 + 1 / 11.0 + 1 / 100.0) / 6, m.get("mrr@100"), 1e-12);
        assertEquals(java.util.List.of("hr@10", "ndcg@10", "hr@50", "ndcg@50", "mrr@100"), java.util.List.copyOf(m.keySet()));
    }

    @Test
    void metricsBeyondKAreNotReportedAndRanksBeyondKRefused() {
        ServedRankMetrics metrics = new ServedRankMetrics(20);
        metrics.add(3);
        assertEquals(java.util.List.of("hr@10", "ndcg@10", "mrr@20"), java.util.List.copyOf(metrics.metrics().keySet()));
        assertThrows(IllegalArgumentException.class, () -> metrics.add(20));
    }
}
