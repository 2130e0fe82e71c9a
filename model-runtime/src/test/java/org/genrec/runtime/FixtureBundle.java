package org.genrec.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/** The small model trained by trainer/scripts/make_fixture_bundle.sh before the Java tests run. */
public final class FixtureBundle {

    private FixtureBundle() {}

    public static Path path() {
        String configured = System.getProperty("genrec.test.bundle");
        if (configured == null || !Files.isRegularFile(Path.of(configured, "manifest.json"))) {
            throw new IllegalStateException("no fixture bundle at [" + configured + "]: run trainer/scripts/make_fixture_bundle.sh "
                + "target/fixture-bundle first (the README's test command does), or pass -Dgenrec.test.bundle=DIR");
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
