package dev.eddy;

import java.util.Objects;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Everything a stream emits after {@link Engine#subscribe}, pulled with
 * {@link #next} or pushed to a {@link BatchCallback} by {@link Engine#poll}.
 * Batches come through the Arrow C Data Interface without copying: their
 * buffers are eddy's memory, released when the root is closed.
 *
 * <pre>{@code
 * try (VectorSchemaRoot batch = sub.next(1000)) {
 *     if (batch != null) System.out.println(batch.contentToTSVString());
 * }
 * }</pre>
 *
 * <p>{@code next} may be called from any thread, one at a time, as
 * {@code eddy_subscription_next}; a subscription with a callback cannot be
 * pulled ({@link Status#INVALID_ARGUMENT}).
 */
public final class Subscription implements AutoCloseable {
    private final Handle handle;
    private final String stream;
    private final Schema schema;
    private final BufferAllocator allocator;

    Subscription(long ptr, String stream, Schema schema, BufferAllocator allocator) {
        this.handle = Handle.register(this, "subscription to stream '" + stream + "'", ptr, Native::subscriptionFree);
        this.stream = stream;
        this.schema = schema;
        this.allocator = allocator;
    }

    public String stream() {
        return stream;
    }

    /** The stream's columns: every batch has this schema. */
    public Schema schema() {
        return schema;
    }

    /**
     * The next result batch, waiting up to {@code timeoutMs} (0: no wait,
     * negative: forever); null when none came in time. The caller owns (and
     * closes) the root. {@link Status#END_OF_STREAM} once the engine closed
     * and every result was read.
     */
    public VectorSchemaRoot next(long timeoutMs) {
        return next(timeoutMs, allocator);
    }

    /** {@link #next(long)}, importing into {@code allocator}. */
    public VectorSchemaRoot next(long timeoutMs, BufferAllocator allocator) {
        Objects.requireNonNull(allocator, "allocator");
        long p = handle.acquire();
        try (ArrowArray array = ArrowArray.allocateNew(allocator);
                ArrowSchema cschema = ArrowSchema.allocateNew(allocator)) {
            if (!Native.subscriptionNext(p, Native.timeout(timeoutMs), array.memoryAddress(), cschema.memoryAddress())) {
                return null;
            }
            return importBatch(allocator, array, cschema);
        } finally {
            handle.release();
        }
    }

    /** Moves an exported batch into a root; on failure releases what is left. */
    static VectorSchemaRoot importBatch(BufferAllocator allocator, ArrowArray array, ArrowSchema cschema) {
        try {
            return Data.importVectorSchemaRoot(allocator, array, cschema, null);
        } catch (RuntimeException | Error e) {
            array.release(); // no-ops once moved
            cschema.release();
            throw e;
        }
    }

    /**
     * Delivers results to {@code callback} from inside {@link Engine#poll}
     * instead of {@link #next}; null goes back to pulling. The callback
     * should not capture this subscription if it relies on the Cleaner: the
     * native side keeps the callback reachable until the subscription is
     * closed.
     */
    public void setCallback(BatchCallback callback) {
        Dispatcher d = callback == null ? null : new Dispatcher(callback, allocator);
        long p = handle.acquire();
        try {
            Native.subscriptionSetCallback(p, d);
        } finally {
            handle.release();
        }
    }

    public boolean isClosed() {
        return handle.isClosed();
    }

    /**
     * Frees the subscription (and its callback). Idempotent, allowed from
     * inside its own callback; {@link #next} and {@link #setCallback} throw
     * {@link Status#CLOSED} afterwards.
     */
    @Override
    public void close() {
        handle.close();
    }

    /**
     * What the JNI glue calls for each batch. It must not refer to the
     * Subscription: the native side holds it until the subscription is freed,
     * and that would keep the subscription from ever being cleaned.
     */
    static final class Dispatcher {
        private final BatchCallback callback;
        private final BufferAllocator allocator;

        Dispatcher(BatchCallback callback, BufferAllocator allocator) {
            this.callback = callback;
            this.allocator = allocator;
        }

        /** Called by the glue with an eddy_batch valid for this call only. */
        void deliver(long batch) {
            try {
                VectorSchemaRoot root;
                try (ArrowArray array = ArrowArray.allocateNew(allocator);
                        ArrowSchema cschema = ArrowSchema.allocateNew(allocator)) {
                    Native.batchExport(batch, array.memoryAddress(), cschema.memoryAddress());
                    root = importBatch(allocator, array, cschema);
                }
                try (root) {
                    callback.onBatch(root);
                }
            } catch (Throwable t) {
                Engine.callbackFailed(t); // thrown again by the poll that runs us
            }
        }
    }
}
