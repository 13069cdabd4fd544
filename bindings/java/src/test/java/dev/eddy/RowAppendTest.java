package dev.eddy;

import static dev.eddy.TestSupport.assertStatus;
import static dev.eddy.TestSupport.drain;
import static dev.eddy.TestSupport.row;
import static dev.eddy.TestSupport.streamStat;
import static dev.eddy.TestSupport.subscribeAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class RowAppendTest {
    static final String ALL_TYPES = "CREATE STREAM S (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP);"
            + "INSERT INTO Out SELECT * FROM S WHERE i IS NULL OR i <> 13";

    @Test
    void filterQueryGivesExactRows() {
        try (Engine e = Engine.open("overflow=block;push_timeout_ms=1000");
                Subscription big = subscribeAfter(e,
                        "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT);"
                                + "INSERT INTO Big SELECT symbol, price FROM Trades WHERE price > 100.0",
                        "Big");
                Input trades = e.openInput("Trades")) {
            assertEquals(3, trades.columnCount());
            assertEquals(ColumnType.STRING, trades.columnType(0));
            assertEquals(ColumnType.DOUBLE, trades.columnType(1));
            assertEquals(ColumnType.BIGINT, trades.columnType(2));
            assertEquals(2, trades.columnIndex("VOLUME"));

            trades.beginRow().setString(0, "ACME").setDouble(1, 123.5).endRow(); // volume NULL
            trades.beginRow().setString(0, "XYZ").setDouble(1, 99.0).setLong(2, 10).endRow();
            trades.append("Q", 150.25, 3L);
            trades.append("LOW", 100.0, 1L); // not > 100
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Price", 1000);
            m.put("symbol", "BYNAME");
            trades.appendMap(m);
            e.flush();
            assertEquals(List.of(row("ACME", 123.5), row("Q", 150.25), row("BYNAME", 1000.0)), drain(big));
            assertEquals(List.of("symbol", "price"), big.schema().getFields().stream().map(f -> f.getName()).toList());

            String stats = e.statsJson();
            assertEquals(5, streamStat(stats, "Trades", "events_in"));
            assertEquals(3, streamStat(stats, "Big", "events_in"));
        }
    }

    @Test
    void typedSettersForEveryType() {
        try (Engine e = Engine.open(); Subscription out = subscribeAfter(e, ALL_TYPES, "Out"); Input in = e.openInput("S")) {
            in.beginRow()
                    .setBoolean(0, true)
                    .setInt(1, Integer.MIN_VALUE)
                    .setLong(2, Long.MAX_VALUE)
                    .setFloat(3, 1.5f)
                    .setDouble(4, -2.25)
                    .setString(5, "héllo")
                    .setTimestamp(6, 1_700_000_000_123L)
                    .endRow();
            in.beginRow().setInt(1, 7).setTimestamp(6, Instant.ofEpochMilli(-1)).setNull(0).setString(5, (String) null).endRow();
            byte[] utf8 = "xxabcxx".getBytes(StandardCharsets.UTF_8);
            in.beginRow().setString(5, utf8, 2, 3).endRow();
            e.flush();
            assertEquals(List.of(
                            row(true, Integer.MIN_VALUE, Long.MAX_VALUE, 1.5f, -2.25, "héllo", 1_700_000_000_123L),
                            row(null, 7, null, null, null, null, -1L),
                            row(null, null, null, null, null, "abc", null)),
                    drain(out));
        }
    }

    @Test
    void appendConvertsByColumnType() {
        try (Engine e = Engine.open(); Subscription out = subscribeAfter(e, ALL_TYPES, "Out"); Input in = e.openInput("S")) {
            in.append(false, (short) 3, 4, 5, 6L, 'c', Instant.parse("2024-01-02T03:04:05.678Z"));
            in.append(null, (byte) 1, (short) 2, 2.5, 7.0f, new StringBuilder("sb"), new Date(42));
            in.append(true, 5L, 9L, 1, 2, "x".getBytes(StandardCharsets.UTF_8),
                    OffsetDateTime.of(1970, 1, 1, 1, 0, 0, 0, ZoneOffset.ofHours(1)));
            in.append(true, 1, 1L, 1f, 1d, "ldt", LocalDateTime.of(1970, 1, 1, 0, 0, 1));
            in.append(true, 1, 1L, 1f, 1d, "ld", LocalDate.of(1970, 1, 2));
            in.append(true, 2); // the rest NULL
            in.appendAll(List.of(Arrays.asList(null, 3), Arrays.asList(false, 4, null, 0.5)));
            e.flush();
            assertEquals(List.of(
                            row(false, 3, 4L, 5.0f, 6.0, "c", Instant.parse("2024-01-02T03:04:05.678Z").toEpochMilli()),
                            row(null, 1, 2L, 2.5f, 7.0, "sb", 42L),
                            row(true, 5, 9L, 1.0f, 2.0, "x", 0L),
                            row(true, 1, 1L, 1.0f, 1.0, "ldt", 1000L),
                            row(true, 1, 1L, 1.0f, 1.0, "ld", 86_400_000L),
                            row(true, 2, null, null, null, null, null),
                            row(null, 3, null, null, null, null, null),
                            row(false, 4, null, 0.5f, null, null, null)),
                    drain(out));
        }
    }

    @Test
    void strictSettersAndMismatchesAreSchemaErrors() {
        try (Engine e = Engine.open(); Subscription out = subscribeAfter(e, ALL_TYPES, "Out"); Input in = e.openInput("S")) {
            in.beginRow();
            // eddy names the right setter; the row stays open.
            assertStatus(Status.SCHEMA, "use set_i32", () -> in.setLong(1, 5));
            assertStatus(Status.SCHEMA, null, () -> in.setString(1, "five"));
            assertStatus(Status.SCHEMA, null, () -> in.setInt(2, 5));
            assertStatus(Status.SCHEMA, null, () -> in.setDouble(3, 5));
            assertStatus(Status.SCHEMA, null, () -> in.setBoolean(5, true));
            assertStatus(Status.INVALID_ARGUMENT, null, () -> in.setInt(99, 1));
            assertStatus(Status.INVALID_ARGUMENT, null, () -> in.setInt(-1, 1));
            in.setInt(1, 5).endRow(); // fixed: the row goes in
            in.beginRow().setInt(1, 13).endRow(); // filtered out by the query

            // append: a value the column cannot take discards the whole row.
            assertStatus(Status.SCHEMA, "column 1 'i' of stream 'S' is INT: cannot take java.lang.String", () -> in.append(true, "nope"));
            assertStatus(Status.SCHEMA, "out of the INT range", () -> in.append(true, 1L << 40));
            assertStatus(Status.SCHEMA, "is BIGINT", () -> in.append(true, 1, 1.5));
            assertStatus(Status.SCHEMA, "is BOOL", () -> in.append(1));
            assertStatus(Status.SCHEMA, "is TIMESTAMP", () -> in.append(null, 1, 1L, 1f, 1d, "s", "yesterday"));
            assertStatus(Status.INVALID_ARGUMENT, "8 values", () -> in.append(1, 2, 3, 4, 5, 6, 7, 8));
            assertStatus(Status.NOT_FOUND, "no column 'nope'", () -> in.appendMap(Map.of("nope", 1)));
            in.append(null, 6);
            e.flush();
            assertEquals(List.of(row(null, 5, null, null, null, null, null), row(null, 6, null, null, null, null, null)), drain(out));
            assertEquals(3, streamStat(e.statsJson(), "S", "events_in")); // 13 entered S, was filtered
            assertEquals(2, streamStat(e.statsJson(), "Out", "events_in"));
        }
    }

    @Test
    void rowProtocolMisuse() {
        try (Engine e = Engine.open(); Subscription out = subscribeAfter(e, ALL_TYPES, "Out"); Input in = e.openInput("S")) {
            assertStatus(Status.INVALID_ARGUMENT, null, () -> in.setInt(1, 1)); // no row open
            assertStatus(Status.INVALID_ARGUMENT, null, in::endRow);
            in.abortRow(); // no-op without a row
            in.beginRow().setInt(1, 1);
            in.abortRow();
            in.beginRow().setInt(1, 2).endRow();
            // append() while a row is open fails, and leaves that row alone.
            in.beginRow().setInt(1, 3);
            assertStatus(Status.INVALID_ARGUMENT, null, () -> in.append(true, 4));
            in.endRow();
            e.flush();
            assertEquals(List.of(row(null, 2, null, null, null, null, null), row(null, 3, null, null, null, null, null)), drain(out));
            assertStatus(Status.NOT_FOUND, null, () -> in.columnIndex("nope"));
        }
    }

    @Test
    void stringsRoundTripExactly() {
        String longer = "ünïcödé-".repeat(100); // past the glue's stack buffer
        String[] values = {"", "a\0b", "日本語", "emoji \uD83D\uDE00", longer, "ascii".repeat(300), "ascii then ü"};
        try (Engine e = Engine.open();
                Subscription out = subscribeAfter(e, "CREATE STREAM S (s STRING); INSERT INTO Out SELECT s FROM S WHERE s IS NOT NULL", "Out");
                Input in = e.openInput("S")) {
            for (String v : values) {
                in.append(v); // encoded in Java
                in.beginRow().setString(0, v).endRow(); // converted in the glue
            }
            in.append("lone \uD800 surrogate"); // replaced by '?', as getBytes does
            in.beginRow().setString(0, "lone \uD800 surrogate").endRow();
            assertStatus(Status.INVALID_ARGUMENT, "UTF-8", () -> in.beginRow().setString(0, new byte[] {(byte) 0xff}, 0, 1));
            in.abortRow();
            e.flush();
            List<List<Object>> rows = drain(out);
            assertEquals(2 * values.length + 2, rows.size());
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], rows.get(2 * i).get(0));
                assertEquals(values[i], rows.get(2 * i + 1).get(0));
            }
            assertEquals("lone ? surrogate", rows.get(2 * values.length).get(0));
            assertEquals("lone ? surrogate", rows.get(2 * values.length + 1).get(0));
        }
    }

    @Test
    void watermarkFiresEventTimeWindows() {
        try (Engine e = Engine.open("");
                Subscription w = subscribeAfter(e,
                        "CREATE STREAM R (k STRING, v BIGINT, ts BIGINT)"
                                + " WITH (event_time = 'ts', watermark_delay = 60000);"
                                + "INSERT INTO W SELECT k, COUNT(*) AS n, SUM(v) AS s FROM R"
                                + " WINDOW('tumbling', 1000) GROUP BY k",
                        "W");
                Input r = e.openInput("R")) {
            r.append("a", 1L, 10L);
            r.append("b", 2L, 20L);
            r.append("a", 3L, 990L);
            r.append("a", 4L, 1500L);
            e.flush();
            assertEquals(List.of(), drain(w));
            r.watermark(1000);
            e.flush();
            assertEquals(List.of(row("a", 2L, 4L), row("b", 1L, 2L)), drain(w));
            r.append("a", 9L, 999L); // behind the watermark: late
            e.flush();
            assertEquals(1, streamStat(e.statsJson(), "R", "late"));
            try (Input plain = e.openInput("W")) {
                assertStatus(Status.INVALID_ARGUMENT, "event_time", () -> plain.watermark(5));
            }
        }
    }
}
