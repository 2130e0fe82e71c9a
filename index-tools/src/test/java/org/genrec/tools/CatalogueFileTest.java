package org.genrec.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The catalogue file index-items --items reads: each line's item, and the line named when one is wrong. */
class CatalogueFileTest {

    @TempDir
    Path dir;

    private CatalogueFile read(String... lines) throws IOException {
        return CatalogueFile.read(Files.write(dir.resolve("items.jsonl"), List.of(lines)));
    }

    @Test
    void itemsWithCategoriesAsAListOrOneStringAndOptionalTitles() throws IOException {
        CatalogueFile file = read("{\"item_id\": \"a\", \"title\": \"Red shoes\", \"categories\": [\"Shoes\", \"Red\"], \"price\": 3}", "",
            "{\"item_id\": 17, \"categories\": \"Hats\"}", "{\"item_id\": \"c\", \"title\": \"Plain\", \"categories\": null}");
        assertEquals(List.of(new CatalogueFile.Entry("a", "Red shoes", List.of("Shoes", "Red")),
            new CatalogueFile.Entry("17", "", List.of("Hats")), new CatalogueFile.Entry("c", "Plain", List.of())), file.entries());
    }

    @Test
    void aBadLineIsNamed() {
        assertRefused("line 2 is not JSON", "{\"item_id\": \"a\"}", "{\"item_id\": ");
        assertRefused("line 1 has no item_id", "{\"title\": \"no id\"}");
        assertRefused("line 1 has no item_id", "{\"item_id\": \"\"}");
        assertRefused("line 1 has no item_id", "{\"item_id\": [1]}");
        assertRefused("line 3: item_id [a] appears twice", "{\"item_id\": \"a\"}", "{\"item_id\": \"b\"}", "{\"item_id\": \"a\"}");
    }

    private void assertRefused(String message, String... lines) {
        IOException e = assertThrows(IOException.class, () -> read(lines));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
