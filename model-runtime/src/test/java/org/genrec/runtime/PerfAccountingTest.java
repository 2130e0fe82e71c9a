package org.genrec.runtime;

import org.genrec.runtime.bundle.Manifest;
import org.genrec.runtime.encoding.GenrecRequest;
import org.genrec.runtime.onnx.ExecutionProvider;
import org.genrec.runtime.perf.FlopCount;
import org.genrec.runtime.perf.GemmRate;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PerfAccountingTest {

    @Test
    void flopCountsOnAHandComputableArchitecture() {
        Manifest.Architecture a = new Manifest.Architecture("llama", 2, 1, 1, 2, 4, 0);
        // encode, no history: T = 2 tokens; per layer 2*(4*4 + 3*2*4) + 2*2*2^2 = 96; head 2^2; x2 for multiply-adds
        assertEquals(200, FlopCount.encode(a, 0));
        // the last layer's output for the last token only: qkv 2*3*4 = 24, output and MLP 1*(4 + 3*2*4) = 28,
        // attention 2*2*2*1 = 8; so 60, the head 4; x2
        assertEquals(128, FlopCount.encode(new Manifest.Architecture("llama", 2, 1, 1, 2, 4, 1), 0));
        // two layers, history 1 (T = 3), output for the last 3 rows (all): the same as every token's
        assertEquals(FlopCount.encode(new Manifest.Architecture("llama", 2, 2, 1, 2, 4, 0), 1),
                FlopCount.encode(new Manifest.Architecture("llama", 2, 2, 1, 2, 4, 3), 1));
        // score one candidate, no history: T = 1; 4*4 + 3*2*4 + 2*2*2 = 48 per layer; head 2; x2
        assertEquals(100, FlopCount.score(a, 0, 1));
        assertEquals(100 * 7, FlopCount.score(a, 0, 7), "linear in the number of candidates");
    }

    @Test
    void gemmProbeRunsAndStatsReportTimeOverTheFlopBound() {
        assertTrue(GemmRate.gflops() > 0.1, "the MatMul probe ran: " + GemmRate.gflops());
        try (GenrecModel model = GenrecModel.load(FixtureBundle.path(), ExecutionProvider.CPU)) {
            model.warmUp();
            assertEquals(1, model.manifest().architecture().lastLayerRows(),
                "the fixture (readout at RET) says its encode's last layer computes RET's output only");
            assertEquals(0, model.stats().snapshot().encodeCalls(), "warm-up is not counted");
            UserEncoding user = model.encode(new GenrecRequest(List.of(), null, 0));
            model.score(user, new long[] { 1, 2, 3 });
            ModelStats.Snapshot s = model.stats().snapshot();
            assertEquals(1, s.encodeCalls());
            assertEquals(3, s.candidatesScored());
            assertTrue(s.encodeBoundRatio().p50() > 0 && s.scoreBoundRatio().p50() > 0, s.toString());
            assertEquals(GemmRate.gflops(), s.gemmGflops());
        }
    }
}
