package org.genrec.runtime;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Test fixtures' nested JSON arrays (golden inputs, runtime input cases) flattened in order, as the runtime's arrays are. */
public final class JsonArrays {

    private JsonArrays() {}

    public static long[] flatLongs(JsonNode node) {
        List<Long> out = new ArrayList<>();
        leaves(node, leaf -> out.add(leaf.asLong()));
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    public static float[] flatFloats(JsonNode node) {
        List<Float> out = new ArrayList<>();
        leaves(node, leaf -> out.add((float) leaf.asDouble()));
        float[] array = new float[out.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = out.get(i);
        }
        return array;
    }

    private static void leaves(JsonNode node, Consumer<JsonNode> leaf) {
        if (node.isArray()) {
            node.forEach(child -> leaves(child, leaf));
        } else if (!node.isMissingNode()) {
            leaf.accept(node);
        }
    }
}
