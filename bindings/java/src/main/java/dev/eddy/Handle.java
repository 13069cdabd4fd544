package dev.eddy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;

/**
 * A native handle shared by its owner (Engine, Input or Subscription) and a
 * Cleaner, so that:
 *
 * <ul>
 *   <li>use after close throws {@link EddyException} ({@link Status#CLOSED})
 *       instead of passing a freed pointer to C;
 *   <li>close on one thread while a call is running on another (a blocking
 *       {@code poll} or {@code next}, say) defers the free until that call
 *       returns: the last one out frees;
 *   <li>an owner that becomes unreachable without close is freed by the
 *       Cleaner; a call in flight keeps the handle alive even if the JIT
 *       considers its owner dead, for the same reason.
 * </ul>
 *
 * Every call costs two uncontended atomic adds, no lock.
 */
final class Handle implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Handle.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final int CLOSED = 1;
    private static final int FREED = 2;
    private static final int CALL = 4;

    /** Handles the Cleaner freed because their owner was never closed (for tests and leak hunting). */
    static final LongAdder cleanedByCleaner = new LongAdder();

    private final String what;
    private final long ptr;
    private final LongConsumer free;
    /** CLOSED | FREED | CALL * (calls in flight). */
    @SuppressWarnings("unused") // through STATE
    private volatile int state;
    private Cleaner.Cleanable cleanable;

    private Handle(String what, long ptr, LongConsumer free) {
        this.what = what;
        this.ptr = ptr;
        this.free = free;
    }

    /** Wraps a fresh native handle; `free` runs exactly once. */
    static Handle register(Object owner, String what, long ptr, LongConsumer free) {
        Handle h = new Handle(what, ptr, free);
        h.cleanable = CLEANER.register(owner, h);
        return h;
    }

    /** Starts a call: the native pointer, live until {@link #release()}. */
    long acquire() {
        int prev = (int) STATE.getAndAdd(this, CALL);
        if ((prev & CLOSED) != 0) {
            release();
            throw new EddyException(Status.CLOSED, what + " is closed");
        }
        return ptr;
    }

    /** Ends a call started by {@link #acquire()}. */
    void release() {
        int prev = (int) STATE.getAndAdd(this, -CALL);
        if ((prev & CLOSED) != 0 && prev - CALL < CALL) tryFree();
    }

    boolean isClosed() {
        return ((int) STATE.getVolatile(this) & CLOSED) != 0;
    }

    /** Marks the handle closed; frees it now or when the last call in flight ends. */
    void close() {
        if (markClosed()) cleanable.clean(); // unregisters; the action then finds it closed
    }

    /** The Cleaner's action: the owner became unreachable. */
    @Override
    public void run() {
        if (markClosed()) cleanedByCleaner.increment();
    }

    private boolean markClosed() {
        int prev = (int) STATE.getAndBitwiseOr(this, CLOSED);
        if ((prev & CLOSED) != 0) return false;
        if (prev < CALL) tryFree();
        return true;
    }

    private void tryFree() {
        int prev = (int) STATE.getAndBitwiseOr(this, FREED);
        if ((prev & FREED) == 0) free.accept(ptr);
    }
}
