package dev.eddy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A producer on one stream: rows one at a time (the row appender) or Arrow
 * record batches ({@link #push}).
 *
 * <pre>{@code
 * try (Input in = engine.openInput("Trades")) {
 *     in.beginRow().setString(0, "ACME").setDouble(1, 123.5).endRow(); // column 2 stays NULL
 *     in.append("XYZ", 99.0, 10L);                                     // converts by column type
 * }
 * }</pre>
 *
 * <p>Typed setters map one to one to the C setters and take the column's
 * exact type: {@link #setInt} an INT, {@link #setLong} a BIGINT,
 * {@link #setTimestamp} a TIMESTAMP (milliseconds), {@link #setFloat} a FLOAT,
 * {@link #setDouble} a DOUBLE, {@link #setBoolean} a BOOL, {@link #setString} a
 * STRING; anything else is {@link Status#SCHEMA}. A failed setter leaves the
 * row open: set the value again or {@link #abortRow()}. {@link #append} and
 * {@link #appendMap} convert Java values by column type instead, and discard
 * the row if a value does not fit.
 *
 * <p>Not thread-safe: a single producer, used by one thread at a time (open
 * one per producing thread), as {@code eddy_input *}. Several inputs on one
 * stream may push concurrently; each input's rows keep their order.
 */
public final class Input implements AutoCloseable {
    private final Handle handle;
    private final String stream;
    private final Schema schema;
    private final ColumnType[] types;
    private final BufferAllocator allocator;
    private Map<String, Integer> byName; // built on first appendMap

    // append() encodes its row here and crosses JNI once per row instead of
    // once per value; the glue then makes the begin_row, setter and end_row
    // calls in C. Each value: int column, byte tag, payload, in native byte
    // order, as inputAppendRow in eddy_jni.c reads it.
    private static final byte TAG_NULL = 0, TAG_BOOL = 1, TAG_I32 = 2, TAG_I64 = 3, TAG_F32 = 4, TAG_F64 = 5,
            TAG_STR = 6;
    private ByteBuffer row = ByteBuffer.allocateDirect(256).order(ByteOrder.nativeOrder());

    Input(long ptr, String stream, Schema schema, BufferAllocator allocator) {
        this.handle = Handle.register(this, "input on stream '" + stream + "'", ptr, Native::inputFree);
        this.stream = stream;
        this.schema = schema;
        this.allocator = allocator;
        int n = Native.inputNumColumns(ptr);
        this.types = new ColumnType[n];
        for (int i = 0; i < n; i++) types[i] = ColumnType.of(Native.inputColumnType(ptr, i));
    }

    public String stream() {
        return stream;
    }

    /** The stream's columns. */
    public Schema schema() {
        return schema;
    }

    public int columnCount() {
        return types.length;
    }

    /** The type of column {@code col} (0-based, declaration order). */
    public ColumnType columnType(int col) {
        Objects.checkIndex(col, types.length);
        return types[col];
    }

    /** The index of a column by name, case-insensitive; {@link Status#NOT_FOUND} if none. */
    public int columnIndex(String name) {
        Objects.requireNonNull(name, "name");
        byte[] n = Native.cString(name);
        long p = handle.acquire();
        try {
            return Native.inputColumnIndex(p, n);
        } finally {
            handle.release();
        }
    }

    // ---- the row appender: one C call each ----------------------------------

    /** Starts a row; columns not set before {@link #endRow()} are NULL. */
    public Input beginRow() {
        long p = handle.acquire();
        try {
            Native.inputBeginRow(p);
        } finally {
            handle.release();
        }
        return this;
    }

    /**
     * Commits the row. Under {@code overflow=block}, {@link Status#FULL} when
     * the queue had no room within {@code push_timeout_ms}: the row was not
     * ingested. Under a drop policy a row that does not fit is counted as
     * dropped and this returns normally.
     */
    public void endRow() {
        long p = handle.acquire();
        try {
            Native.inputEndRow(p);
        } finally {
            handle.release();
        }
    }

    /**
     * Declares that no row with an event time (epoch milliseconds) below
     * {@code tsMs} follows on this input's stream, which must be declared
     * {@code WITH (event_time = 'col')}: event-time windows ending at or before
     * it fire. It travels in order with the rows pushed before it and never
     * moves the watermark back; {@code INVALID_ARGUMENT} on a stream without
     * event time.
     */
    public void watermark(long tsMs) {
        long p = handle.acquire();
        try {
            Native.inputWatermark(p, tsMs);
        } finally {
            handle.release();
        }
    }

    /** Discards the open row; no-op when none is open. */
    public void abortRow() {
        long p = handle.acquire();
        try {
            Native.inputAbortRow(p);
        } finally {
            handle.release();
        }
    }

    public Input setNull(int col) {
        long p = handle.acquire();
        try {
            Native.inputSetNull(p, col);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a BOOL column. */
    public Input setBoolean(int col, boolean v) {
        long p = handle.acquire();
        try {
            Native.inputSetBool(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets an INT column. */
    public Input setInt(int col, int v) {
        long p = handle.acquire();
        try {
            Native.inputSetI32(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a BIGINT column (or a TIMESTAMP, in milliseconds since the epoch). */
    public Input setLong(int col, long v) {
        long p = handle.acquire();
        try {
            Native.inputSetI64(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a FLOAT column. */
    public Input setFloat(int col, float v) {
        long p = handle.acquire();
        try {
            Native.inputSetF32(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a DOUBLE column. */
    public Input setDouble(int col, double v) {
        long p = handle.acquire();
        try {
            Native.inputSetF64(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a STRING column (null sets NULL). Converted to UTF-8 natively, without garbage. */
    public Input setString(int col, String v) {
        if (v == null) return setNull(col);
        long p = handle.acquire();
        try {
            Native.inputSetString(p, col, v);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a STRING column from UTF-8 bytes (validated by eddy). */
    public Input setString(int col, byte[] utf8, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, utf8.length);
        long p = handle.acquire();
        try {
            Native.inputSetUtf8(p, col, utf8, offset, length);
        } finally {
            handle.release();
        }
        return this;
    }

    /** Sets a TIMESTAMP column to {@code epochMillis} milliseconds since 1970-01-01T00:00Z. */
    public Input setTimestamp(int col, long epochMillis) {
        return setLong(col, epochMillis);
    }

    /** Sets a TIMESTAMP column (millisecond precision; null sets NULL). */
    public Input setTimestamp(int col, Instant t) {
        return t == null ? setNull(col) : setLong(col, t.toEpochMilli());
    }

    // ---- conversions ------------------------------------------------------------

    /**
     * Appends one row, values in column order (fewer values leave the last
     * columns NULL; null is NULL). Converted by column type:
     *
     * <ul>
     *   <li>BOOL: Boolean;
     *   <li>INT: Byte, Short, Integer, or a Long within range;
     *   <li>BIGINT: Byte, Short, Integer, Long;
     *   <li>FLOAT, DOUBLE: any Number;
     *   <li>STRING: CharSequence, Character, or byte[] of UTF-8;
     *   <li>TIMESTAMP: Instant, Date, OffsetDateTime, ZonedDateTime,
     *       LocalDateTime and LocalDate (as UTC), or an integer of milliseconds.
     * </ul>
     *
     * Anything else is {@link Status#SCHEMA} naming the column; the row is then
     * discarded: nothing of it is ingested. The row crosses into native code in
     * one call (the typed setters make one each), so this is the faster way to
     * append rows one at a time. Fails with {@link Status#INVALID_ARGUMENT},
     * leaving it alone, if a row was begun with {@link #beginRow()}.
     */
    public void append(Object... values) {
        if (values.length > types.length) {
            throw new EddyException(Status.INVALID_ARGUMENT,
                    "a row of " + values.length + " values for stream '" + stream + "' of " + types.length + " columns");
        }
        row.clear();
        for (int i = 0; i < values.length; i++) encode(i, values[i]);
        appendEncoded();
    }

    /** Appends one row of values by column name (case-insensitive); columns not named are NULL. */
    public void appendMap(Map<String, ?> values) {
        Map<String, Integer> index = columnsByName();
        row.clear();
        for (Map.Entry<String, ?> e : values.entrySet()) {
            Integer col = index.get(e.getKey().toLowerCase(Locale.ROOT));
            if (col == null) {
                throw new EddyException(Status.NOT_FOUND, "stream '" + stream + "' has no column '" + e.getKey() + "'");
            }
            encode(col, e.getValue());
        }
        appendEncoded();
    }

    /** Appends several rows with {@link #append}. */
    public void appendAll(Iterable<? extends List<?>> rows) {
        for (List<?> r : rows) append(r.toArray());
    }

    private Map<String, Integer> columnsByName() {
        if (byName == null) {
            Map<String, Integer> m = new HashMap<>();
            List<Field> fields = schema.getFields();
            for (int i = 0; i < fields.size(); i++) m.put(fields.get(i).getName().toLowerCase(Locale.ROOT), i);
            byName = m;
        }
        return byName;
    }

    // ---- the encoded row of append() ----------------------------------------------

    private void appendEncoded() {
        long p = handle.acquire();
        try {
            Native.inputAppendRow(p, row, row.position());
        } finally {
            handle.release();
        }
    }

    private void put(int col, byte tag, int payload) {
        if (row.remaining() < 5 + payload) {
            ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(2 * row.capacity(), row.position() + 5 + payload))
                    .order(ByteOrder.nativeOrder());
            row.flip();
            bigger.put(row);
            row = bigger;
        }
        row.putInt(col).put(tag);
    }

    private void putString(int col, String s) {
        int n = s.length();
        int start = row.position();
        put(col, TAG_STR, 4 + n); // room for the ASCII case, copied char by char
        row.putInt(n);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) { // not ASCII: start again with the JDK's encoder
                row.position(start);
                putBytes(col, s.getBytes(StandardCharsets.UTF_8));
                return;
            }
            row.put((byte) c);
        }
    }

    private void putBytes(int col, byte[] utf8) {
        put(col, TAG_STR, 4 + utf8.length);
        row.putInt(utf8.length).put(utf8);
    }

    private void encode(int col, Object v) {
        if (v == null) {
            put(col, TAG_NULL, 0);
            return;
        }
        switch (types[col]) {
            case BOOL:
                if (v instanceof Boolean) {
                    put(col, TAG_BOOL, 1);
                    row.put((byte) ((Boolean) v ? 1 : 0));
                    return;
                }
                break;
            case INT:
                if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
                    put(col, TAG_I32, 4);
                    row.putInt(((Number) v).intValue());
                    return;
                }
                if (v instanceof Long) {
                    long l = (Long) v;
                    if (l != (int) l) throw mismatch(col, v, "out of the INT range");
                    put(col, TAG_I32, 4);
                    row.putInt((int) l);
                    return;
                }
                break;
            case BIGINT:
                if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
                    put(col, TAG_I64, 8);
                    row.putLong(((Number) v).longValue());
                    return;
                }
                break;
            case FLOAT:
                if (v instanceof Number) {
                    put(col, TAG_F32, 4);
                    row.putFloat(((Number) v).floatValue());
                    return;
                }
                break;
            case DOUBLE:
                if (v instanceof Number) {
                    put(col, TAG_F64, 8);
                    row.putDouble(((Number) v).doubleValue());
                    return;
                }
                break;
            case STRING:
                if (v instanceof CharSequence || v instanceof Character) {
                    putString(col, v.toString());
                    return;
                }
                if (v instanceof byte[]) {
                    putBytes(col, (byte[]) v);
                    return;
                }
                break;
            case TIMESTAMP:
                Long ms = epochMillis(v);
                if (ms != null) {
                    put(col, TAG_I64, 8);
                    row.putLong(ms);
                    return;
                }
                break;
            default:
                break;
        }
        throw mismatch(col, v, null);
    }

    private static Long epochMillis(Object v) {
        if (v instanceof Long || v instanceof Integer) return ((Number) v).longValue();
        if (v instanceof Instant) return ((Instant) v).toEpochMilli();
        if (v instanceof Date) return ((Date) v).getTime();
        if (v instanceof OffsetDateTime) return ((OffsetDateTime) v).toInstant().toEpochMilli();
        if (v instanceof ZonedDateTime) return ((ZonedDateTime) v).toInstant().toEpochMilli();
        if (v instanceof LocalDateTime) return ((LocalDateTime) v).toInstant(ZoneOffset.UTC).toEpochMilli();
        if (v instanceof LocalDate) return ((LocalDate) v).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        return null;
    }

    private EddyException mismatch(int col, Object v, String why) {
        String name = schema.getFields().get(col).getName();
        return new EddyException(Status.SCHEMA, "column " + col + " '" + name + "' of stream '" + stream + "' is "
                + types[col] + ": cannot take " + v.getClass().getName() + " " + v + (why == null ? "" : " (" + why + ")"));
    }

    // ---- Arrow ----------------------------------------------------------------------

    /**
     * Pushes a record batch through the Arrow C Data Interface, without
     * copying: its vectors must match the stream's columns by name
     * (case-insensitive, any order) and type (see {@link ColumnType#arrowType()};
     * STRING also takes LargeUtf8). The batch is validated in full first; a
     * rejected one ({@link Status#SCHEMA}, {@link Status#INVALID_ARGUMENT})
     * ingests nothing. The root stays the caller's, and eddy holds references
     * to its buffers until it has consumed them: close the root right away if
     * you like, or refill it after {@code allocateNew()} (fresh buffers), but
     * do not write into the buffers just pushed.
     */
    public void push(VectorSchemaRoot root) {
        Objects.requireNonNull(root, "root");
        long p = handle.acquire();
        try (ArrowArray array = ArrowArray.allocateNew(allocator);
                ArrowSchema cschema = ArrowSchema.allocateNew(allocator)) {
            Data.exportVectorSchemaRoot(allocator, root, null, array, cschema);
            try {
                Native.inputPushArrow(p, array.memoryAddress(), cschema.memoryAddress());
            } finally {
                cschema.release(); // borrowed by eddy; the array was moved (released by eddy)
            }
        } finally {
            handle.release();
        }
    }

    public boolean isClosed() {
        return handle.isClosed();
    }

    /**
     * Ends the input (its stream sees end of input) and frees it. Idempotent;
     * every other method throws {@link Status#CLOSED} afterwards.
     */
    @Override
    public void close() {
        handle.close();
    }
}
