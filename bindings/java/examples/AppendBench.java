import dev.eddy.Engine;
import dev.eddy.Input;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Per-row cost of feeding eddy from Java, for a row (symbol STRING, price
 * DOUBLE, volume BIGINT):
 *
 *   setters   beginRow + setString + setDouble + setLong + endRow (5 JNI calls)
 *   append    append(Object...) (boxing, conversion by column type, the row encoded for 1 JNI call)
 *   arrow     push(VectorSchemaRoot) of 8192-row batches (1 JNI call per batch)
 *
 * The input queue is sized to hold every row, so the producer never waits for
 * the worker. "cpu" is the producing thread's CPU time per row (the cost of
 * the calls, least disturbed by other processes); "wall" is elapsed time per
 * row including the flush that waits for the worker to process every row.
 * Usage: AppendBench [rows] (at most 4194304; `scripts/test_java.sh bench`).
 */
public final class AppendBench {
    static final String SQL = "CREATE STREAM T (symbol STRING, price DOUBLE, volume BIGINT);"
            + "INSERT INTO Big SELECT symbol, price FROM T WHERE price > 1000000.0";
    static final String OPTIONS = "queue_capacity=4194304;queue_bytes=134217728;overflow=block;push_timeout_ms=60000";
    static final String[] SYMBOLS = {"ACME", "XYZ", "QQQQ", "BRK.A", "T", "GOOGL", "MSFT", "NVDA"};

    public static void main(String[] args) {
        int rows = Math.min(args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000, 4_194_304);
        System.out.println("eddy " + Engine.version() + ", Java " + System.getProperty("java.version") + ", "
                + Runtime.getRuntime().availableProcessors() + " cpus, " + rows + " rows per run, best of 3 runs");
        for (String mode : new String[] {"setters", "append", "arrow"}) {
            run(mode, rows / 4); // warm-up: JIT and allocator
            double bestCpu = Double.MAX_VALUE, bestWall = Double.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                double[] r = run(mode, rows);
                bestCpu = Math.min(bestCpu, r[0]);
                bestWall = Math.min(bestWall, r[1]);
            }
            System.out.printf("%-8s cpu %7.1f ns/row   wall %7.1f ns/row   (%.2f M rows/s end to end)%n",
                    mode, bestCpu, bestWall, 1e3 / bestWall);
        }
    }

    static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    /** {producer CPU ns per row, wall ns per row including the final flush}. */
    static double[] run(String mode, int rows) {
        try (BufferAllocator alloc = new RootAllocator();
                Engine e = Engine.open(OPTIONS, alloc)) {
            e.execute(SQL);
            try (Input in = e.openInput("T")) {
                long c0 = THREADS.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                switch (mode) {
                    case "setters":
                        for (int r = 0; r < rows; r++) {
                            in.beginRow().setString(0, SYMBOLS[r & 7]).setDouble(1, r * 0.5).setLong(2, r).endRow();
                        }
                        break;
                    case "append":
                        for (int r = 0; r < rows; r++) in.append(SYMBOLS[r & 7], r * 0.5, (long) r);
                        break;
                    default:
                        arrow(in, alloc, e, rows);
                }
                long c1 = THREADS.getCurrentThreadCpuTime();
                e.flush();
                long t2 = System.nanoTime();
                return new double[] {(double) (c1 - c0) / rows, (double) (t2 - t0) / rows};
            }
        }
    }

    static void arrow(Input in, BufferAllocator alloc, Engine e, int rows) {
        int batch = 8192;
        byte[][] symbols = new byte[SYMBOLS.length][];
        for (int i = 0; i < symbols.length; i++) symbols[i] = SYMBOLS[i].getBytes(StandardCharsets.UTF_8);
        try (VectorSchemaRoot root = VectorSchemaRoot.create(e.streamSchema("T"), alloc)) {
            VarCharVector sym = (VarCharVector) root.getVector(0);
            Float8Vector price = (Float8Vector) root.getVector(1);
            BigIntVector volume = (BigIntVector) root.getVector(2);
            for (int done = 0; done < rows; ) {
                int n = Math.min(batch, rows - done);
                root.allocateNew(); // eddy may still hold the previous batch's buffers
                for (int i = 0; i < n; i++) {
                    int r = done + i;
                    sym.setSafe(i, symbols[r & 7]);
                    price.setSafe(i, r * 0.5);
                    volume.setSafe(i, r);
                }
                root.setRowCount(n);
                in.push(root);
                done += n;
            }
        }
    }
}
