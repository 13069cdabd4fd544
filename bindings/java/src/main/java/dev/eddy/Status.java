package dev.eddy;

/** The status of a failed call: mirrors {@code eddy_status} of eddy.h, same codes. */
public enum Status {
    OK(0),
    /** NULL or malformed argument, bad option, misuse of a handle (e.g. a setter before beginRow). */
    INVALID_ARGUMENT(1),
    /** SQL syntax or semantic error; the message starts with {@code line L:C:}. */
    SQL(2),
    /** Type mismatch: a setter of the wrong type, a batch whose columns do not match. */
    SCHEMA(3),
    /** Unknown stream or column. */
    NOT_FOUND(4),
    /** {@code overflow=block} and the queue stayed full for {@code push_timeout_ms}: nothing was ingested. */
    FULL(5),
    /** {@code flush} did not complete in time. */
    TIMEOUT(6),
    /** The engine, input or subscription is closed. */
    CLOSED(7),
    /** The engine closed and every result of this subscription was read. */
    END_OF_STREAM(8),
    /** An operating-system failure. */
    IO(9),
    /** Corrupt persisted state. */
    CORRUPT(10),
    /** A bug in eddy; please report it with the message. */
    INTERNAL(11),
    /** A bug caught at the boundary; the handle is no longer usable. */
    PANIC(12);

    private static final Status[] BY_CODE = values();

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The {@code eddy_status} value. */
    public int code() {
        return code;
    }

    /** The status with this {@code eddy_status} value; INTERNAL for one this binding does not know. */
    public static Status of(int code) {
        if (code >= 0 && code < BY_CODE.length && BY_CODE[code].code == code) return BY_CODE[code];
        return INTERNAL;
    }
}
