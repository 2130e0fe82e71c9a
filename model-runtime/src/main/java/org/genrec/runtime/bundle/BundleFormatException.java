package org.genrec.runtime.bundle;

/** A bundle directory that cannot be served: missing or corrupt file, unknown format, manifest/graph mismatch. */
public class BundleFormatException extends RuntimeException {
    public BundleFormatException(String message) {
        super(message);
    }

    public BundleFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
