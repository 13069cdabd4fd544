import dev.eddy.Engine;
import dev.eddy.Input;
import dev.eddy.Subscription;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * eddy from Java: a filter query over a stream of trades, fed row by row and
 * with an Arrow batch, read back by pulling and by a callback.
 *
 * Run it with scripts/test_java.sh (which also runs it), or by hand:
 *   java --add-opens=java.base/java.nio=ALL-UNNAMED -cp <classes and jars> \
 *        -Deddy.jni.library=build/java-jni/libeddy_jni.so \
 *        -Deddy.library=build/cargo-target/release/libeddy.so Quickstart
 *
 * Exits with status 1 if the results are not the expected ones.
 */
public final class Quickstart {
    public static void main(String[] args) {
        System.out.println("eddy " + Engine.version() + " from Java " + System.getProperty("java.version"));
        int big = 0;
        try (BufferAllocator allocator = new RootAllocator();
                Engine engine = Engine.open("overflow=block;push_timeout_ms=1000", allocator)) {
            engine.execute("CREATE STREAM trades (symbol STRING, price DOUBLE, volume BIGINT);\n"
                    + "INSERT INTO big SELECT symbol, price, volume FROM trades WHERE price * volume >= 10000");
            System.out.println("big: " + engine.streamSchema("big"));

            try (Subscription pulled = engine.subscribe("big");
                    Subscription pushed = engine.subscribe("big");
                    Input trades = engine.openInput("trades")) {
                // A callback runs inside engine.poll(), on this thread.
                AtomicInteger seen = new AtomicInteger();
                pushed.setCallback(batch -> seen.addAndGet(batch.getRowCount()));

                // Row by row: typed setters, or append() converting by column type.
                trades.beginRow().setString(0, "ACME").setDouble(1, 123.5).setLong(2, 100).endRow();
                trades.append("TINY", 1.25, 10L);
                trades.append("BULK", 10.0, 5000L);

                // A whole Arrow batch, handed over without copying.
                try (VectorSchemaRoot batch = VectorSchemaRoot.create(engine.streamSchema("trades"), allocator)) {
                    String[] symbols = {"ZED", "YAK", "XOX"};
                    double[] prices = {500.0, 2.0, 99.5};
                    long[] volumes = {40, 70, 101};
                    batch.allocateNew();
                    for (int i = 0; i < symbols.length; i++) {
                        ((VarCharVector) batch.getVector("symbol")).setSafe(i, symbols[i].getBytes(StandardCharsets.UTF_8));
                        ((Float8Vector) batch.getVector("price")).setSafe(i, prices[i]);
                        ((BigIntVector) batch.getVector("volume")).setSafe(i, volumes[i]);
                    }
                    batch.setRowCount(symbols.length);
                    trades.push(batch);
                }

                engine.flush(); // everything pushed so far is processed

                System.out.println("pulled from big:");
                for (;;) {
                    try (VectorSchemaRoot batch = pulled.next(0)) { // null: nothing more now
                        if (batch == null) break;
                        System.out.print(batch.contentToTSVString());
                        big += batch.getRowCount();
                    }
                }
                while (seen.get() < big) engine.poll(1000);
                System.out.println("the callback saw " + seen.get() + " rows");
            }
            engine.shutdown(); // drain and stop; the counters stay readable
            System.out.println("stats: " + engine.statsJson());
        }
        // ACME 12350, BULK 50000, ZED 20000, XOX 10049.5
        if (big != 4) {
            System.err.println("expected 4 big trades, got " + big);
            System.exit(1);
        }
    }
}
