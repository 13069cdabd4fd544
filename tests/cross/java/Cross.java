import dev.eddy.EddyException;
import dev.eddy.Engine;
import dev.eddy.Input;
import dev.eddy.Status;
import dev.eddy.Subscription;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * The cross-language scenario in Java (see tests/cross/README.md): rows
 * alternate, 1000 at a time, between Input.append and Input.push (Arrow
 * VectorSchemaRoot); Big is read through a callback run by Engine.poll,
 * PerSec by pulling with Subscription.next; the canonical text goes to
 * stdout. Exit status 1 with a message on stderr on failure.
 */
public final class Cross {
    static final int ROWS = 10000;
    static final int CHUNK = 1000;
    static final String SQL =
            "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT) "
            + "WITH (event_time = 'ts', watermark_delay = INTERVAL '200' MILLISECOND);"
            + "INSERT INTO Big SELECT symbol, price, volume FROM Trades WHERE price > 140.0;"
            + "INSERT INTO PerSec SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, "
            + "MIN(price) AS lo, MAX(price) AS hi, AVG(price) AS avg_price "
            + "FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start";

    // Row i of the scenario, from the shared formulas (64-bit integer math).
    static String symbol(long i) { return String.format(Locale.ROOT, "S%03d", (i * 37) % 20); }
    static double price(long i) { return 50.0 + (double) ((i * 7919) % 10000) / 100.0; }
    static long volume(long i) { return 1 + (i * 104729) % 1000; }
    static long ts(long i) { return 1700000000000L + i * 3 + ((i * 13) % 7) * 20 - 60; }

    // Field formatters: NULL, integers, strings, and doubles as the 16 hex
    // digits of their IEEE 754 bits (exact, the same in every language).
    static FieldVector col(VectorSchemaRoot root, String name) {
        FieldVector v = root.getVector(name);
        if (v == null) throw new IllegalStateException("no column " + name + " in " + root.getSchema());
        return v;
    }

    static String str(FieldVector v, int r) {
        return v.isNull(r) ? "NULL" : new String(((VarCharVector) v).get(r), StandardCharsets.UTF_8);
    }

    static String f64(FieldVector v, int r) {
        return v.isNull(r) ? "NULL" : String.format(Locale.ROOT, "%016x", Double.doubleToRawLongBits(((Float8Vector) v).get(r)));
    }

    static String i64(FieldVector v, int r) {
        if (v.isNull(r)) return "NULL";
        if (v instanceof TimeStampMilliVector) return Long.toString(((TimeStampMilliVector) v).get(r)); // epoch ms
        return Long.toString(((BigIntVector) v).get(r));
    }

    static void bigLines(VectorSchemaRoot b, List<String> out) {
        for (int r = 0; r < b.getRowCount(); r++) {
            out.add(String.join("|", "Big", str(col(b, "symbol"), r), f64(col(b, "price"), r), i64(col(b, "volume"), r)));
        }
    }

    static void perSecLines(VectorSchemaRoot b, List<String> out) {
        for (int r = 0; r < b.getRowCount(); r++) {
            out.add(String.join("|", "PerSec", str(col(b, "symbol"), r), i64(col(b, "window_start"), r),
                    i64(col(b, "n"), r), i64(col(b, "vol"), r), f64(col(b, "lo"), r), f64(col(b, "hi"), r),
                    f64(col(b, "avg_price"), r)));
        }
    }

    static void pushChunk(Engine engine, Input in, long from, long to) {
        try (VectorSchemaRoot root = VectorSchemaRoot.create(in.schema(), engine.allocator())) {
            root.allocateNew();
            VarCharVector sym = (VarCharVector) root.getVector("symbol");
            Float8Vector price = (Float8Vector) root.getVector("price");
            BigIntVector volume = (BigIntVector) root.getVector("volume");
            BigIntVector ts = (BigIntVector) root.getVector("ts");
            for (long i = from; i < to; i++) {
                int r = (int) (i - from);
                sym.setSafe(r, symbol(i).getBytes(StandardCharsets.UTF_8));
                price.setSafe(r, price(i));
                volume.setSafe(r, volume(i));
                ts.setSafe(r, ts(i));
            }
            root.setRowCount((int) (to - from));
            in.push(root);
        }
    }

    // The integer after "key": in json between from and end.
    static long jsonLong(String json, int from, int end, String key) {
        int k = json.indexOf("\"" + key + "\":", from);
        if (k < 0 || k >= end) throw new IllegalStateException("stats without " + key + ": " + json);
        int s = k + key.length() + 3, e = s;
        while (e < json.length() && (Character.isDigit(json.charAt(e)) || json.charAt(e) == '-')) e++;
        return Long.parseLong(json.substring(s, e));
    }

    // The Trades stream's counters and the sum of the queries' late counts.
    static String statsLine(String json) {
        int trades = json.indexOf("\"name\":\"Trades\"");
        int queries = json.indexOf("\"queries\":[");
        if (trades < 0 || queries < 0) throw new IllegalStateException("stats without Trades or queries: " + json);
        int tradesEnd = json.indexOf('}', trades);
        long qlate = 0;
        int nq = 0;
        for (int q = json.indexOf("\"late\":", queries); q >= 0; q = json.indexOf("\"late\":", q + 1)) {
            qlate += jsonLong(json, q, json.length(), "late");
            nq++;
        }
        if (nq != 2) throw new IllegalStateException("stats: expected 2 queries: " + json);
        return "Stats|Trades|events_in=" + jsonLong(json, trades, tradesEnd, "events_in")
                + "|late=" + jsonLong(json, trades, tradesEnd, "late") + "|queries_late=" + qlate;
    }

    public static void main(String[] args) {
        List<String> lines = new ArrayList<>();
        try (Engine engine = Engine.open("overflow=block")) {
            engine.execute(SQL);
            try (Subscription big = engine.subscribe("Big");
                    Subscription perSec = engine.subscribe("PerSec")) {
                big.setCallback(batch -> bigLines(batch, lines)); // runs inside engine.poll
                try (Input in = engine.openInput("Trades")) {
                    for (long from = 0; from < ROWS; from += CHUNK) {
                        if ((from / CHUNK) % 2 == 1) {
                            pushChunk(engine, in, from, from + CHUNK);
                            continue;
                        }
                        for (long i = from; i < from + CHUNK; i++) in.append(symbol(i), price(i), volume(i), ts(i));
                    }
                } // closing the stream's only input fires the windows still open
                engine.flush();
                lines.add(statsLine(engine.statsJson()));
                engine.shutdown();

                for (;;) { // CLOSED once every batch was delivered
                    try {
                        engine.poll(-1);
                    } catch (EddyException e) {
                        if (e.status() != Status.CLOSED) throw e;
                        break;
                    }
                }
                for (;;) { // END_OF_STREAM once everything was read
                    try (VectorSchemaRoot batch = perSec.next(-1)) {
                        if (batch == null) throw new IllegalStateException("next(-1) timed out");
                        perSecLines(batch, lines);
                    } catch (EddyException e) {
                        if (e.status() != Status.END_OF_STREAM) throw e;
                        break;
                    }
                }
            }
        } catch (RuntimeException e) {
            System.err.println("Cross.java: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        Collections.sort(lines);
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        for (String l : lines) {
            out.print(l);
            out.print('\n');
        }
        out.flush();
        if (out.checkError()) {
            System.err.println("Cross.java: cannot write the output");
            System.exit(1);
        }
    }
}
