package org.genrec.tools;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real OpenSearch node for the end-to-end test, driven through scripts/opensearch-node.sh (the
 * same script the demo uses). Stopped by its PID file in {@link #close}, also when a test failed, and its
 * directory (the distribution, ~260 MB) deleted then, unless {@code -Dgenrec.keep.node=true} keeps it for a look at
 * the node's logs: every test run would otherwise leave one behind.
 */
final class LocalNode implements AutoCloseable {

    private final Path script;
    private final Path directory;
    private final int httpPort;
    private boolean started;

    LocalNode(Path script, Path directory) throws IOException {
        this.script = script;
        this.directory = directory;
        this.httpPort = freePort();
    }

    static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException("system property [" + name + "] is not set; run this test through Maven (mvn verify)");
        }
        return value;
    }

    void install(Path distributionZip, Path pluginZip) throws IOException, InterruptedException {
        run("install", distributionZip.toString(), pluginZip.toString(), directory.toString());
    }

    void addModel(String name, Path bundle) throws IOException, InterruptedException {
        run("add-model", directory.toString(), name, bundle.toString());
    }

    void start() throws IOException, InterruptedException {
        started = true; // from here on, close() must try to stop it even if start fails half way
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopQuietly));
        run("start", directory.toString(), Integer.toString(httpPort), Integer.toString(freePort()));
    }

    String url() {
        return "http://127.0.0.1:" + httpPort;
    }

    private void run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        Path log = Files.createTempFile("opensearch-node-", ".log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", command) + " timed out; output:\n" + Files.readString(log));
        }
        String output = Files.readString(log);
        Files.delete(log);
        System.out.print(output);
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with exit code " + process.exitValue() + ":\n" + output);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private void stopQuietly() {
        try {
            close();
        } catch (Exception e) {
            System.err.println("stopping the node failed: " + e);
        }
    }

    @Override
    public synchronized void close() throws IOException, InterruptedException {
        if (started) {
            started = false;
            run("stop", directory.toString());
        }
        if (Files.exists(directory) && !Boolean.getBoolean("genrec.keep.node")) {
            try (Stream<Path> files = Files.walk(directory)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(file);
                }
            }
        }
    }
}
