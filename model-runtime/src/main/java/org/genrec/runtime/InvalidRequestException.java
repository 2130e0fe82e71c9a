package org.genrec.runtime;

/**
 * The caller sent something the model cannot take (unknown action, malformed time, too many
 * candidates...). An {@link IllegalArgumentException} so that OpenSearch answers 400 with the message.
 */
public class InvalidRequestException extends IllegalArgumentException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
