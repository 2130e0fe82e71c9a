package org.genrec.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A catalogue as the application has it now, which may hold items added after the model was trained: JSON lines
 * {@code {"item_id": str, "title": str, "categories": [str] or str}}, the fields of the bundle's {@code items.jsonl}
 * (other fields are ignored). Read whole and checked before anything is indexed.
 */
record CatalogueFile(List<Entry> entries) {

    record Entry(String itemId, String title, List<String> categories) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    static CatalogueFile read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = reader.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new IOException(file.getFileName() + " line " + lineNo + " is not JSON: " + e.getOriginalMessage());
                }
                JsonNode id = node.path("item_id");
                if (!id.isTextual() && !id.isIntegralNumber() || id.asText().isEmpty()) {
                    throw new IOException(file.getFileName() + " line " + lineNo + " has no item_id");
                }
                if (!seen.add(id.asText())) {
                    throw new IOException(file.getFileName() + " line " + lineNo + ": item_id [" + id.asText() + "] appears twice");
                }
                List<String> categories = new ArrayList<>();
                JsonNode given = node.path("categories");
                if (given.isArray()) {
                    given.forEach(c -> categories.add(c.asText()));
                } else if (given.isValueNode() && !given.isNull()) {
                    categories.add(given.asText());
                }
                entries.add(new Entry(id.asText(), node.path("title").asText(""), categories));
            }
        }
        return new CatalogueFile(List.copyOf(entries));
    }
}
