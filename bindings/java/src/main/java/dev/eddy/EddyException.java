package dev.eddy;

import java.nio.charset.StandardCharsets;

/**
 * A failed eddy call: the {@link Status} and eddy's message. Unchecked, like
 * the failures of {@code java.util.concurrent}: most of them are misuse or
 * bad SQL, which a caller fixes rather than handles.
 */
public class EddyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final Status status;
    private final int code;

    public EddyException(Status status, String message) {
        super(message);
        this.status = status;
        this.code = status.code();
    }

    /** Thrown by the JNI glue: the raw status and the UTF-8 message eddy gave. */
    EddyException(int code, byte[] utf8Message) {
        super(new String(utf8Message, StandardCharsets.UTF_8));
        this.status = Status.of(code);
        this.code = code;
    }

    public Status status() {
        return status;
    }

    /** The raw {@code eddy_status} value (differs from {@code status().code()} only for a status newer than this binding). */
    public int code() {
        return code;
    }

    @Override
    public String toString() {
        return "EddyException[" + status + "]: " + getMessage();
    }
}
