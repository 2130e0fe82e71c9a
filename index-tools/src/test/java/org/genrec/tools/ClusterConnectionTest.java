package org.genrec.tools;

import org.apache.hc.core5.util.VersionInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a command prints when the cluster is not there, and the HTTP stack it reaches the cluster with. */
class ClusterConnectionTest {

    /**
     * httpcore5 5.4, which opensearch-java 3.6.0 brings, skips TCP_NODELAY on its async connections: measured, a bulk of
     * 500 items took 67 ms instead of 26 ms and a 5 KB search 48 ms instead of 4 ms. The root pom pins a fixed release;
     * this fails if that pin is lost (a dependency upgrade that brings 5.4 back wins silently otherwise).
     */
    @Test
    void theJavaClientsTransportIsAnHttpcoreReleaseThatSetsTcpNoDelay() {
        VersionInfo info = VersionInfo.loadVersionInfo("org.apache.hc.core5", ClusterConnection.class.getClassLoader());
        int[] release = Arrays.stream(info.getRelease().split("[.-]")).limit(3).mapToInt(Integer::parseInt).toArray();
        int[] fixed = {5, 4, 1};
        assertTrue(Arrays.compare(release, fixed) >= 0, "httpcore5 " + info.getRelease() + " is older than 5.4.1");
    }

    /** The address it tried and the call, not "null". */
    @Test
    void anUnreachableClusterIsAnErrorThatNamesItsAddressAndTheCall() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0)) { // a port that nothing listens on once closed
            port = free.getLocalPort();
        }
        try (ClusterConnection cluster = new ClusterConnection("http://127.0.0.1:" + port)) {
            IOException e = assertThrows(IOException.class, () -> cluster.json("GET", "/_plugins/_genrec/models/m", null));
            assertTrue(e.getMessage().startsWith("cannot reach the cluster at [http://127.0.0.1:" + port + "] (GET /_plugins/_genrec/models/m): ")
                && !e.getMessage().endsWith("null"), e.getMessage());
        }
    }
}
