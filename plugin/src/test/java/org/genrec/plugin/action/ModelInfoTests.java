package org.genrec.plugin.action;

import org.genrec.plugin.model.LookupStats;
import org.genrec.runtime.Distribution;
import org.genrec.runtime.ModelStats;
import org.genrec.runtime.batching.EncodeBatching;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.test.OpenSearchTestCase;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the models API says of a bundle's training; the multi-node listing itself is in ModelManagementIT. */
public class ModelInfoTests extends OpenSearchTestCase {

    private static Map<String, Object> manifestTraining() {
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("hr@10", 0.0959);
        metrics.put("ndcg@10", 0.0579);
        metrics.put("auc", null);                      // undefined on a log without negative labels: JSON null
        metrics.put("cold_hr@10", 0.0);                // ablation-level figures stay in the bundle
        metrics.put("rerank100_ndcg@10", 0.0182);
        metrics.put("blend100_hr@10", 0.0986);
        metrics.put("blend100_without_prior_hr@10", 0.0961);
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("data", "beauty(...)");
        training.put("data_fingerprint", "sha256:2468");
        training.put("seed", 1);
        training.put("epochs", 200);
        training.put("item_id_dropout", 0.0);
        training.put("protocol", "beauty");
        training.put("protocol_text", "leave-one-out (last = test, ...)");
        training.put("metrics", metrics);
        training.put("onnx_parity_max_abs_err", 4.8e-6);
        return training;
    }

    public void testTheSummaryKeepsProvenanceAndHeadlineFiguresOnly() {
        Map<String, Object> summary = ModelInfo.trainingSummary(manifestTraining());
        assertEquals(List.of("data", "data_fingerprint", "seed", "protocol", "protocol_text", "metrics"), List.copyOf(summary.keySet()));
        assertEquals("beauty", summary.get("protocol"));
        @SuppressWarnings("unchecked")
        Map<String, Object> metrics = (Map<String, Object>) summary.get("metrics");
        assertEquals(List.of("hr@10", "ndcg@10", "auc", "blend100_hr@10"), List.copyOf(metrics.keySet()));
        assertNull(metrics.get("auc"));
        assertEquals(0.0986, metrics.get("blend100_hr@10"));
    }

    public void testABundleWithoutATrainingSectionHasAnEmptySummary() {
        assertTrue(ModelInfo.trainingSummary(null).isEmpty());
        assertTrue(ModelInfo.trainingSummary(new HashMap<>()).isEmpty());
    }

    public void testTheSummaryCrossesTheWireBetweenNodes() throws Exception {
        Distribution.Summary s = new Distribution.Summary(1, 2, 3);
        ModelInfo info = new ModelInfo("m", "m", "1", "cpu", "fp32", 7L, 10, 8, "sha256:ab", 3f, 10f, 5, false, false, false, 99L,
            ModelInfo.trainingSummary(manifestTraining()), new EncodeBatching(EncodeBatching.Mode.OFF, 1, 0L),
            new ModelStats.Snapshot(1, 2, 3, 0, s, s, s, s, s, s, 50.0), new LookupStats.Snapshot(0, 0, s, s));
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            info.writeTo(out);
            try (StreamInput in = out.bytes().streamInput()) {
                ModelInfo read = ModelInfo.read(in);
                assertEquals(info.training(), read.training());
                assertEquals(info.memoryBytes(), read.memoryBytes());
                assertEquals(info.stats().gemmGflops(), read.stats().gemmGflops(), 0);
                assertEquals(0, in.available());
            }
        }
    }
}
