package org.genrec.tools;

import java.util.Arrays;
import java.util.List;

/**
 * Where {@code evaluate}'s hits come from: the {@code genrec} query's kNN over the item vectors, or a text search over
 * the items' text fields whose best {@code window} hits the {@code genrec} rescorer reorders (the rescorer's use in an
 * application: its own search, personalized).
 */
record FirstStage(boolean textMatch, List<String> textFields, int window) {

    static final FirstStage KNN = new FirstStage(false, List.of(), 0);
    /** The text fields of the items index that {@code index-items} creates. */
    static final String DEFAULT_TEXT_FIELDS = ItemsIndex.TITLE + "," + ItemsIndex.CATEGORIES_TEXT;
    static final int DEFAULT_WINDOW = 100;
    /** OpenSearch's default {@code index.max_rescore_window}. */
    static final int MAX_WINDOW = 10_000;

    static FirstStage parse(CliArgs args) {
        String stage = args.get("first-stage", "knn");
        switch (stage) {
            case "knn" -> {
                for (String option : List.of("text-fields", "window")) {
                    if (args.get(option, null) != null) {
                        throw new CliArgs.UsageException("option [--" + option + "] needs [--first-stage match]");
                    }
                }
                return KNN;
            }
            case "match" -> {
                List<String> fields = Arrays.stream(args.get("text-fields", DEFAULT_TEXT_FIELDS).split(","))
                    .map(String::strip).filter(f -> !f.isEmpty()).toList();
                if (fields.isEmpty()) {
                    throw new CliArgs.UsageException("option [--text-fields] names no field");
                }
                int window = args.getInt("window", DEFAULT_WINDOW);
                if (window < 1 || window > MAX_WINDOW) {
                    throw new CliArgs.UsageException("option [--window] must be between 1 and " + MAX_WINDOW + ", got " + window);
                }
                return new FirstStage(true, fields, window);
            }
            default -> throw new CliArgs.UsageException("option [--first-stage] takes knn or match, got [" + stage + "]");
        }
    }
}
