package dev.eddy;

import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** A stream column's SQL type: mirrors {@code eddy_type} of eddy.h. */
public enum ColumnType {
    INVALID(0, null),
    BOOL(1, ArrowType.Bool.INSTANCE),
    INT(2, new ArrowType.Int(32, true)),
    BIGINT(3, new ArrowType.Int(64, true)),
    FLOAT(4, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
    DOUBLE(5, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
    STRING(6, ArrowType.Utf8.INSTANCE),
    /** Milliseconds since the Unix epoch, no time zone. */
    TIMESTAMP(7, new ArrowType.Timestamp(TimeUnit.MILLISECOND, null));

    private static final ColumnType[] BY_CODE = values();

    private final int code;
    private final ArrowType arrowType;

    ColumnType(int code, ArrowType arrowType) {
        this.code = code;
        this.arrowType = arrowType;
    }

    public int code() {
        return code;
    }

    /** The Arrow type eddy uses for this column in batches (null for INVALID). */
    public ArrowType arrowType() {
        return arrowType;
    }

    static ColumnType of(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : INVALID;
    }
}
