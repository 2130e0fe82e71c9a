package org.genrec.tools;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a command prints when the cluster is not there: the address it tried and the call, not "null". */
class ClusterConnectionTest {

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
