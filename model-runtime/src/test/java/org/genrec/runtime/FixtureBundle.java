package org.genrec.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * The small models trained by trainer/scripts/make_fixture_bundle.sh before the Java tests run: the fixture, and one
 * trained shorter with --absolute-time whose encode graph also takes the request's date (scripts/test.sh trains both).
 */
public final class FixtureBundle {

    private FixtureBundle() {}

    public static Path path() {
        return configured("genrec.test.bundle", "target/fixture-bundle");
    }

    /** The fixture model that reads absolute time (its encode graph's request_time input). */
    public static Path absoluteTimePath() {
        return configured("genrec.test.absolute-time-bundle", "target/fixture-bundle-absolute-time --epochs 2 --absolute-time 7");
    }

    private static Path configured(String property, String scriptArguments) {
        String configured = System.getProperty(property);
        if (configured == null || !Files.isRegularFile(Path.of(configured, "manifest.json"))) {
            throw new IllegalStateException("no fixture bundle at [" + configured + "]: run trainer/scripts/make_fixture_bundle.sh "
                + scriptArguments + " first (the README's test command does), or pass -D" + property + "=DIR");
        }
        return Path.of(configured);
    }

    /** A private copy that a test may corrupt. */
    public static Path copyTo(Path target) throws IOException {
        Path source = path();
        try (Stream<Path> files = Files.list(source)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.copy(file, target.resolve(file.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return target;
    }
}
