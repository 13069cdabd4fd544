package dev.eddy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An eddy engine: streams, the queries between them, and the worker thread
 * that runs them.
 *
 * <pre>{@code
 * try (Engine eng = Engine.open("overflow=block;push_timeout_ms=1000")) {
 *     eng.execute("CREATE STREAM Trades (symbol STRING, price DOUBLE);"
 *               + "INSERT INTO Big SELECT symbol, price FROM Trades WHERE price > 100");
 *     try (Subscription big = eng.subscribe("Big"); Input trades = eng.openInput("Trades")) {
 *         trades.append("ACME", 123.5);
 *         eng.flush();
 *         try (VectorSchemaRoot batch = big.next(0)) { ... }
 *     }
 * }
 * }</pre>
 *
 * <p>Thread-safe, like {@code eddy_engine *}: any thread may call any method
 * at any time, including {@link #close()} while another thread waits in
 * {@link #poll} or {@link #flush}. Inputs and subscriptions are independent
 * handles: closing the engine ends them (an input then throws
 * {@link Status#CLOSED}, a subscription hands out what it still holds, then
 * {@link Status#END_OF_STREAM}) but they must still be closed.
 *
 * <p>Arrow data is allocated from, and imported into, the engine's
 * {@link BufferAllocator}: the one given to {@link #open(String,
 * BufferAllocator)} (the caller closes it, after the engine and every batch),
 * else a process-wide {@link RootAllocator} that is never closed.
 */
public final class Engine implements AutoCloseable {
    private static final class DefaultAllocator {
        static final BufferAllocator ROOT = new RootAllocator();
    }

    /** Callback failures of the polls running on this thread; a stack for nested polls. */
    private static final ThreadLocal<List<Throwable>> CALLBACK_ERRORS = new ThreadLocal<>();

    private final Handle handle;
    private final BufferAllocator allocator;

    private Engine(long ptr, BufferAllocator allocator) {
        this.handle = Handle.register(this, "engine", ptr, Native::engineFree);
        this.allocator = allocator;
    }

    /** An engine with the default options. */
    public static Engine open() {
        return open((String) null);
    }

    /**
     * An engine with options {@code "key=value;key=value"} (see docs/c-api.md:
     * queue_capacity, overflow, push_timeout_ms, clock, ...); null for the
     * defaults. An unknown key or bad value is {@link Status#INVALID_ARGUMENT}.
     */
    public static Engine open(String options) {
        return open(options, DefaultAllocator.ROOT);
    }

    /** An engine with options given as a map; values are formatted with {@code toString()}. */
    public static Engine open(Map<String, ?> options) {
        return open(options == null ? null : formatOptions(options), DefaultAllocator.ROOT);
    }

    /** An engine whose Arrow data goes through {@code allocator}. */
    public static Engine open(String options, BufferAllocator allocator) {
        Objects.requireNonNull(allocator, "allocator");
        return new Engine(Native.engineOpen(Native.cString(options)), allocator);
    }

    static String formatOptions(Map<String, ?> options) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, ?> e : options.entrySet()) {
            String k = e.getKey(), v = String.valueOf(e.getValue());
            if (k.indexOf(';') >= 0 || k.indexOf('=') >= 0 || v.indexOf(';') >= 0) {
                throw new EddyException(Status.INVALID_ARGUMENT, "option " + k + "=" + v + " contains ';' or '='");
            }
            if (sb.length() > 0) sb.append(';');
            sb.append(k).append('=').append(v);
        }
        return sb.toString();
    }

    public BufferAllocator allocator() {
        return allocator;
    }

    /**
     * Runs one or more ';'-separated statements ({@code CREATE STREAM},
     * {@code INSERT INTO ... SELECT ...}); all apply or none do. Errors are
     * {@link Status#SQL} with a message starting {@code line L:C:}.
     */
    public void execute(String sql) {
        Objects.requireNonNull(sql, "sql");
        byte[] s = Native.cString(sql);
        long p = handle.acquire();
        try {
            Native.engineExecute(p, s);
        } finally {
            handle.release();
        }
    }

    /** A producer on {@code stream}. {@link Status#NOT_FOUND} for an unknown stream. */
    public Input openInput(String stream) {
        Objects.requireNonNull(stream, "stream");
        byte[] s = Native.cString(stream);
        long p = handle.acquire();
        try {
            Schema schema = streamSchema(p, s);
            return new Input(Native.inputOpen(p, s), stream, schema, allocator);
        } finally {
            handle.release();
        }
    }

    /** Subscribes to everything {@code stream} emits from now on. */
    public Subscription subscribe(String stream) {
        Objects.requireNonNull(stream, "stream");
        byte[] s = Native.cString(stream);
        long p = handle.acquire();
        try {
            Schema schema = streamSchema(p, s);
            return new Subscription(Native.subscribe(p, s), stream, schema, allocator);
        } finally {
            handle.release();
        }
    }

    /** Waits until every row pushed before the call is processed and its results are queued. */
    public void flush() {
        flush(-1);
    }

    /**
     * {@link #flush()} waiting at most {@code timeoutMs} (negative: forever);
     * {@link Status#TIMEOUT} when it did not complete in time.
     */
    public void flush(long timeoutMs) {
        long p = handle.acquire();
        boolean done;
        try {
            done = Native.engineFlush(p, Native.timeout(timeoutMs));
        } finally {
            handle.release();
        }
        if (!done) throw new EddyException(Status.TIMEOUT, "flush did not complete within " + timeoutMs + " ms");
    }

    /**
     * Runs the pending subscription callbacks on this thread, waiting up to
     * {@code timeoutMs} (0: no wait, negative: forever) for at least one.
     * Returns the number of batches delivered (0 after a timeout). Throws
     * {@link Status#CLOSED} once the engine is closed and all was delivered.
     *
     * <p>A callback that throws does not stop the others: the first failure
     * is rethrown when poll returns (an unchecked one as is, a checked one
     * wrapped in an {@link EddyException}), later ones added as suppressed.
     */
    public long poll(long timeoutMs) {
        List<Throwable> outer = CALLBACK_ERRORS.get();
        List<Throwable> errors = new ArrayList<>(0);
        CALLBACK_ERRORS.set(errors);
        long delivered;
        try {
            long p = handle.acquire();
            try {
                delivered = Native.enginePoll(p, Native.timeout(timeoutMs));
            } finally {
                handle.release();
            }
        } finally {
            if (outer == null) CALLBACK_ERRORS.remove();
            else CALLBACK_ERRORS.set(outer);
        }
        if (!errors.isEmpty()) {
            Throwable first = errors.get(0);
            for (int i = 1; i < errors.size(); i++) first.addSuppressed(errors.get(i));
            if (first instanceof RuntimeException) throw (RuntimeException) first;
            if (first instanceof Error) throw (Error) first;
            throw new EddyException(Status.INTERNAL, "a subscription callback failed: " + first);
        }
        return delivered;
    }

    /** Records a callback's failure for the poll running on this thread. */
    static void callbackFailed(Throwable t) {
        List<Throwable> errors = CALLBACK_ERRORS.get();
        if (errors != null) errors.add(t);
        else Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), t);
    }

    /** Moves the engine's clock to {@code nowMs} (only with option {@code clock=manual}). */
    public void advanceTime(long nowMs) {
        long p = handle.acquire();
        try {
            Native.engineAdvanceTime(p, nowMs);
        } finally {
            handle.release();
        }
    }

    /**
     * Per-stream and per-query counters as JSON (docs/c-api.md, "Stats"):
     * events_in, events_out, dropped, rejected, late, queue_depth, ... Works
     * after {@link #shutdown()}, so final counts can be read; not after
     * {@link #close()}.
     */
    public String statsJson() {
        long p = handle.acquire();
        try {
            return new String(Native.engineStatsJson(p), StandardCharsets.UTF_8);
        } finally {
            handle.release();
        }
    }

    /** The columns of {@code stream}, known before any row arrives. */
    public Schema streamSchema(String stream) {
        Objects.requireNonNull(stream, "stream");
        byte[] s = Native.cString(stream);
        long p = handle.acquire();
        try {
            return streamSchema(p, s);
        } finally {
            handle.release();
        }
    }

    private Schema streamSchema(long p, byte[] stream) {
        try (ArrowSchema c = ArrowSchema.allocateNew(allocator)) {
            Native.engineStreamSchema(p, stream, c.memoryAddress());
            return Data.importSchema(allocator, c, null); // releases the C schema
        }
    }

    public boolean isClosed() {
        return handle.isClosed();
    }

    /**
     * Stops the engine ({@code eddy_engine_close}) but keeps the handle:
     * stops accepting input, drains every queue, lets every query emit what it
     * holds, ends every subscription and joins the worker. Afterwards
     * {@link #statsJson()} and {@link #streamSchema} still work; the rest
     * throws {@link Status#CLOSED}. Idempotent; {@link #close()} is still needed.
     */
    public void shutdown() {
        long p = handle.acquire();
        try {
            Native.engineClose(p);
        } catch (EddyException e) {
            if (e.status() != Status.CLOSED) throw e; // already shut down: fine
        } finally {
            handle.release();
        }
    }

    /**
     * {@link #shutdown()}, then frees the handle (once the calls other
     * threads are making return). Idempotent; every method but close throws
     * {@link Status#CLOSED} afterwards.
     */
    @Override
    public void close() {
        if (handle.isClosed()) return;
        try {
            shutdown();
        } catch (EddyException e) {
            if (e.status() != Status.CLOSED) { // CLOSED: another thread closed it first
                handle.close();
                throw e;
            }
        }
        handle.close();
    }

    /** eddy_version_string() of the loaded libeddy. */
    public static String version() {
        return Native.versionString();
    }

    /** eddy_version_number() of the loaded libeddy: MAJOR*1000000 + MINOR*1000 + PATCH. */
    public static int versionNumber() {
        return Native.versionNumber();
    }
}
