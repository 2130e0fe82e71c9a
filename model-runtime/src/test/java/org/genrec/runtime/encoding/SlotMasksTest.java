package org.genrec.runtime.encoding;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.genrec.runtime.JsonArrays.flatFloats;
import static org.genrec.runtime.JsonArrays.flatLongs;
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
        long[] actions = flatLongs(slots.path("actions"));
        SlotMasks masks = SlotMasks.of(rows, length, actions);
        JsonNode expected = slots.path("expected");
        assertArrayEquals(flatFloats(expected.path("key_padding")), masks.keyPadding(), "key_padding");
        assertArrayEquals(flatFloats(expected.path("slot_keep")), masks.keep(), "slot_keep");
        assertArrayEquals(flatFloats(expected.path("slot_columns")), masks.columns(), "slot_columns");
        assertEquals(SlotMasks.HIDDEN, masks.keyPadding()[0], "the first row's first slot is padding");
    }
}
