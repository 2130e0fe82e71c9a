package org.genrec.plugin;

import org.genrec.runtime.onnx.GraphPrecision;
import org.opensearch.common.settings.Settings;
import org.opensearch.test.OpenSearchTestCase;

import java.nio.file.Path;

/** Node settings reach the models: {@code genrec.precision} picks the graph variant a model loads. */
public class GenrecPluginSettingsTests extends OpenSearchTestCase {

    private static Path fixtureConfig() {
        // .../test-config/genrec/synthetic -> .../test-config
        return Path.of(System.getProperty("genrec.plugin.test.bundle")).getParent().getParent();
    }

    private static GraphPrecision loadedPrecision(Settings settings) {
        GenrecPlugin plugin = new GenrecPlugin(settings, fixtureConfig());
        try {
            return plugin.services().models().load(GenrecIntegTestCase.MODEL).model().precision();
        } finally {
            plugin.close();
        }
    }

    public void testPrecisionSettingPicksTheGraphVariant() {
        assertEquals("auto on a CPU node: float32", GraphPrecision.FP32, loadedPrecision(Settings.EMPTY));
        assertEquals(GraphPrecision.FP16, loadedPrecision(Settings.builder().put("genrec.precision", "fp16").build()));
        assertEquals(GraphPrecision.FP32, loadedPrecision(Settings.builder().put("genrec.precision", "FP32").build()));
    }

    public void testUnknownPrecisionIsRefusedWithTheAllowedValues() {
        IllegalArgumentException e = expectThrows(IllegalArgumentException.class,
            () -> new GenrecPlugin(Settings.builder().put("genrec.precision", "int8").build(), fixtureConfig()));
        assertTrue(e.getMessage(), e.getMessage().contains("use auto, fp32 or fp16"));
    }
}
