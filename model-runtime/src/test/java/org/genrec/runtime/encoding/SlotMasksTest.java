package org.genrec.runtime.encoding;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The slot masks of a left-padded batch with an empty history against the trainer's ({@code runtime_input_cases.json}). */
class SlotMasksTest {

    @Test
    void masksOfALeftPaddedBatchAreTheTrainers() throws IOException {
        JsonNode slots;
        try (InputStream in = SlotMasksTest.class.getResourceAsStream("runtime_input_cases.json")) {
            slots = new ObjectMapper().readTree(in).path("slots");
        }
        int rows = slots.path("actions").size(), length = slots.path("actions").path(0).size();
        long[] actions = new long[rows * length];
        for (int b = 0; b < rows; b++) {
            for (int t = 0; t < length; t++) {
                actions[b * length + t] = slots.path("actions").path(b).path(t).asLong();
            }
        }
        SlotMasks masks = SlotMasks.of(rows, length, actions);
        JsonNode expected = slots.path("expected");
        assertArrayEquals(floats(expected.path("key_padding")), masks.keyPadding(), "key_padding");
        assertArrayEquals(floats(expected.path("slot_keep")), masks.keep(), "slot_keep");
        assertArrayEquals(floats(expected.path("slot_columns")), masks.columns(), "slot_columns");
        assertEquals(SlotMasks.HIDDEN, masks.keyPadding()[0], "the first row's first slot is padding");
    }

    private static float[] floats(JsonNode node) {
        List<Float> out = new ArrayList<>();
        collect(node, out);
        float[] array = new float[out.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = out.get(i);
        }
        return array;
    }

    private static void collect(JsonNode node, List<Float> out) {
        if (node.isArray()) {
            node.forEach(child -> collect(child, out));
        } else {
            out.add((float) node.asDouble());
        }
    }
}
