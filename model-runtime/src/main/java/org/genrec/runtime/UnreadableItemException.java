package org.genrec.runtime;

/** An item to embed from its text has no token the model can read; {@link #position()} says which of those handed in. */
public final class UnreadableItemException extends InvalidRequestException {

    private final int position;

    UnreadableItemException(int position, String message) {
        super(message);
        this.position = position;
    }

    /** Its place (0-based) in the list given to {@link GenrecModel#embedNewItems}. */
    public int position() {
        return position;
    }
}
