package org.genrec.runtime.encoding;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.genrec.runtime.bundle.Manifest;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.genrec.runtime.JsonArrays.flatFloats;
import static org.genrec.runtime.JsonArrays.flatLongs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rotary rows of every switch that moves a rotation (time scale, tied positions, queries at the next event's time, no
 * time pairs) against the rows the trainer's specification makes of the same batch ({@code runtime_input_cases.json}, written by
 * {@code trainer/scripts/make_runtime_input_cases.py}). The fixture bundle's golden vectors cover its one configuration.
 */
class RotaryRowsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> rowsOfEveryConfigurationAreTheTrainers() throws IOException {
        JsonNode cases;
        try (InputStream in = RotaryRowsTest.class.getResourceAsStream("runtime_input_cases.json")) {
            cases = JSON.readTree(in).path("cases");
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            tests.add(DynamicTest.dynamicTest(c.path("name").asText(), () -> check(c)));
        }
        assertTrue(tests.size() >= 5, "cases for every configuration");
        return tests.stream();
    }

    private static void check(JsonNode c) throws IOException {
        Manifest.RotarySpec spec = JSON.treeToValue(c.path("rotary"), Manifest.RotarySpec.class);
        long[] actions = flatLongs(c.path("actions"));
        long[] ages = flatLongs(c.path("ages"));
        int rows = c.path("actions").size(), length = c.path("actions").path(0).size();
        RotaryRows.Rows got = new RotaryRows(spec, length).of(rows, length, actions, ages);
        JsonNode expected = c.path("expected");
        assertEquals(expected.path("rotary_cos").size(), got.rowCount(), "rows");
        assertClose(flatFloats(expected.path("rotary_cos")), got.cos(), "rotary_cos");
        assertClose(flatFloats(expected.path("rotary_sin")), got.sin(), "rotary_sin");
        assertArrayEquals(flatLongs(expected.path("rotary_ids")), got.ids(), "rotary_ids");
        if (expected.has(EncodeInputs.KEY_ROTARY_IDS)) {
            assertArrayEquals(flatLongs(expected.path(EncodeInputs.KEY_ROTARY_IDS)), got.keyIds(), EncodeInputs.KEY_ROTARY_IDS);
        } else {
            assertNull(got.keyIds(), "no key ids when queries and keys share their rows");
        }
    }

    @Test
    void positionsBeyondTheTableAreComputedAsTheTableWouldHaveThem() {
        // a table for histories of 2, asked for one of 5 (a bundle's max_history is the table's; this is its fallback)
        Manifest.RotarySpec spec = new Manifest.RotarySpec(new float[] { 1f, 0.1f }, new float[] { 1f }, new long[] { 120 }, "log",
            false, "own");
        long[] actions = { 1, 1, 1, 1, 1 };
        long[] ages = { 500, 400, 300, 200, 100 };
        RotaryRows.Rows small = new RotaryRows(spec, 2).of(1, 5, actions, ages);
        RotaryRows.Rows large = new RotaryRows(spec, 10).of(1, 5, actions, ages);
        assertArrayEquals(large.cos(), small.cos());
        assertArrayEquals(large.sin(), small.sin());
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6, what + "[" + i + "]");
        }
    }
}
