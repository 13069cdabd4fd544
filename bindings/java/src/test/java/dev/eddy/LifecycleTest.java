package dev.eddy;

import static dev.eddy.TestSupport.assertStatus;
import static dev.eddy.TestSupport.drain;
import static dev.eddy.TestSupport.row;
import static dev.eddy.TestSupport.streamStat;
import static dev.eddy.TestSupport.subscribeAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class LifecycleTest {
    static final String SQL = "CREATE STREAM S (a INT, s STRING); INSERT INTO Out SELECT a, s FROM S WHERE a >= 0";

    @Test
    void versionMatchesTheHeaderTheGlueWasBuiltFrom() {
        int v = Engine.versionNumber();
        assertEquals(Native.headerVersion() / 1000, v / 1000, "major.minor of libeddy vs eddy.h");
        String[] parts = Engine.version().split("\\.");
        assertEquals(3, parts.length);
        assertEquals(v, Integer.parseInt(parts[0]) * 1_000_000 + Integer.parseInt(parts[1]) * 1000 + Integer.parseInt(parts[2]));
    }

    @Test
    void statusEnumMirrorsEddyStatus() {
        for (Status s : Status.values()) {
            String expected = s == Status.OK ? "EDDY_OK" : "EDDY_ERR_" + s.name();
            assertEquals(expected, Native.statusName(s.code()));
            assertEquals(s, Status.of(s.code()));
        }
        assertEquals("EDDY_UNKNOWN_STATUS", Native.statusName(Status.values().length));
        assertEquals(Status.INTERNAL, Status.of(99));
    }

    @Test
    void tryWithResourcesAndDoubleClose() {
        Engine e = Engine.open();
        Input in;
        Subscription sub;
        try (e) {
            e.execute(SQL);
            in = e.openInput("S");
            sub = e.subscribe("Out");
            assertFalse(e.isClosed());
        }
        assertTrue(e.isClosed());
        e.close(); // second close: fine
        e.close();
        // Children outlive the engine, as in C: the input is closed, the subscription ended.
        assertStatus(Status.CLOSED, null, () -> in.append(1, "x"));
        assertStatus(Status.END_OF_STREAM, null, () -> sub.next(0));
        in.close();
        in.close();
        sub.close();
        sub.close();
    }

    @Test
    void useAfterCloseThrowsClosed() {
        Engine e = Engine.open();
        e.execute(SQL);
        Input in = e.openInput("S");
        Subscription sub = e.subscribe("Out");
        in.close();
        sub.close();
        assertStatus(Status.CLOSED, "input on stream 'S' is closed", () -> in.append(1, "x"));
        assertStatus(Status.CLOSED, "is closed", in::beginRow);
        assertStatus(Status.CLOSED, "is closed", () -> in.setInt(0, 1));
        assertStatus(Status.CLOSED, "is closed", in::endRow);
        assertStatus(Status.CLOSED, "is closed", () -> in.columnIndex("a"));
        assertStatus(Status.CLOSED, "subscription to stream 'Out' is closed", () -> sub.next(0));
        assertStatus(Status.CLOSED, "is closed", () -> sub.setCallback(b -> {}));
        e.close();
        assertStatus(Status.CLOSED, "engine is closed", () -> e.execute(SQL));
        assertStatus(Status.CLOSED, "engine is closed", () -> e.openInput("S"));
        assertStatus(Status.CLOSED, "engine is closed", () -> e.subscribe("Out"));
        assertStatus(Status.CLOSED, "engine is closed", e::flush);
        assertStatus(Status.CLOSED, "engine is closed", () -> e.poll(0));
        assertStatus(Status.CLOSED, "engine is closed", e::statsJson);
        assertStatus(Status.CLOSED, "engine is closed", () -> e.streamSchema("S"));
        assertStatus(Status.CLOSED, "engine is closed", () -> e.advanceTime(1));
        assertStatus(Status.CLOSED, "engine is closed", e::shutdown);
    }

    @Test
    void shutdownDrainsAndKeepsStatsReadable() {
        try (Engine e = Engine.open(); Subscription sub = subscribeAfter(e, SQL, "Out"); Input in = e.openInput("S")) {
            for (int i = 0; i < 100; i++) in.append(i, "v" + i);
            e.shutdown(); // no flush: shutdown drains the queue
            e.shutdown(); // idempotent
            // eddy's own CLOSED for calls on a shut-down engine.
            assertStatus(Status.CLOSED, null, () -> e.execute("CREATE STREAM T (x INT)"));
            assertStatus(Status.CLOSED, null, () -> in.append(1, "late"));
            String stats = e.statsJson();
            assertTrue(stats.startsWith("{\"closed\":true"), stats);
            assertEquals(100, streamStat(stats, "S", "events_in"));
            assertEquals(100, streamStat(stats, "Out", "events_in"));
            List<List<Object>> rows = drain(sub);
            assertEquals(100, rows.size());
            assertEquals(row(99, "v99"), rows.get(99));
            assertStatus(Status.END_OF_STREAM, null, () -> sub.next(-1)); // does not wait: ended
        }
    }

    @Test
    void optionsAsStringOrMap() {
        Map<String, Object> opts = new LinkedHashMap<>();
        opts.put("queue_capacity", 16);
        opts.put("overflow", "drop_newest");
        assertEquals("queue_capacity=16;overflow=drop_newest", Engine.formatOptions(opts));
        try (Engine e = Engine.open(opts)) {
            e.execute(SQL);
        }
        assertStatus(Status.INVALID_ARGUMENT, "bogus", () -> Engine.open("bogus=1"));
        assertStatus(Status.INVALID_ARGUMENT, "overflow", () -> Engine.open("overflow=sometimes"));
        assertStatus(Status.INVALID_ARGUMENT, "';' or '='", () -> Engine.open(Map.of("overflow", "block;x=1")));
        assertStatus(Status.INVALID_ARGUMENT, "NUL", () -> Engine.open("overflow=block\0"));
    }

    @Test
    void ownAllocatorHasNothingLeftAfterUse() {
        try (BufferAllocator alloc = new RootAllocator()) {
            try (Engine e = Engine.open(null, alloc)) {
                e.execute(SQL);
                try (Subscription sub = e.subscribe("Out"); Input in = e.openInput("S")) {
                    in.append(1, "a");
                    e.flush();
                    try (VectorSchemaRoot b = sub.next(1000)) {
                        assertEquals(1, b.getRowCount());
                        assertTrue(alloc.getAllocatedMemory() > 0, "the imported batch is accounted to the allocator");
                    }
                }
            }
            assertEquals(0, alloc.getAllocatedMemory());
        } // RootAllocator.close() throws on a leak
    }

    @Test
    void closeFromAnotherThreadWakesBlockedCalls() throws Exception {
        Engine e = Engine.open();
        e.execute(SQL);
        Subscription pulled = e.subscribe("Out");
        Subscription pushed = e.subscribe("Out");
        pushed.setCallback(b -> {});
        CountDownLatch started = new CountDownLatch(2);
        CompletableFuture<Object> next = CompletableFuture.supplyAsync(() -> {
            started.countDown();
            try {
                return pulled.next(-1);
            } catch (EddyException x) {
                return x.status();
            }
        });
        CompletableFuture<Object> poll = CompletableFuture.supplyAsync(() -> {
            started.countDown();
            try {
                for (;;) e.poll(-1);
            } catch (EddyException x) {
                return x.status();
            }
        });
        assertTrue(started.await(10, TimeUnit.SECONDS));
        Thread.sleep(100); // let both block inside eddy
        e.close();
        assertEquals(Status.END_OF_STREAM, next.get(10, TimeUnit.SECONDS));
        // CLOSED from eddy (engine closed, all delivered) or from the handle (already freed).
        assertEquals(Status.CLOSED, poll.get(10, TimeUnit.SECONDS));
        pulled.close();
        pushed.close();
    }

    @Test
    void cleanerFreesWhatWasNeverClosed() throws Exception {
        long before = Handle.cleanedByCleaner.sum();
        openAndForget();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (Handle.cleanedByCleaner.sum() < before + 3 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertTrue(Handle.cleanedByCleaner.sum() >= before + 3, "engine, input and subscription cleaned");
    }

    private static void openAndForget() {
        Engine e = Engine.open();
        e.execute(SQL);
        e.openInput("S").append(1, "x");
        e.subscribe("Out");
    }

    @Test
    void concurrentCallsAndCloseNeverCrash() throws Exception {
        // Several threads hammer the engine while another closes it: every
        // call either works or throws CLOSED; nothing else, no crash.
        for (int round = 0; round < 20; round++) {
            Engine e = Engine.open();
            e.execute(SQL);
            CountDownLatch go = new CountDownLatch(1);
            @SuppressWarnings("unchecked")
            CompletableFuture<Void>[] workers = new CompletableFuture[3];
            for (int t = 0; t < workers.length; t++) {
                workers[t] = CompletableFuture.runAsync(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 200; i++) {
                            try (Input in = e.openInput("S")) {
                                in.append(i, "x");
                                e.statsJson();
                                e.flush(1000);
                            }
                        }
                    } catch (EddyException x) {
                        assertEquals(Status.CLOSED, x.status(), x.getMessage());
                    } catch (InterruptedException x) {
                        throw new AssertionError(x);
                    }
                });
            }
            go.countDown();
            Thread.sleep(round % 5);
            e.close();
            CompletableFuture.allOf(workers).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void timeoutConversion() {
        assertEquals(-1, Native.timeout(-5));
        assertEquals(0, Native.timeout(0));
        assertEquals(Integer.MAX_VALUE, Native.timeout(Long.MAX_VALUE));
        try (Engine e = Engine.open(); Subscription sub = subscribeAfter(e, SQL, "Out")) {
            long t0 = System.nanoTime();
            assertNull(sub.next(150));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms >= 140 && ms < 5000, "waited " + ms + " ms");
            t0 = System.nanoTime();
            assertNull(sub.next(0));
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 1000, "next(0) does not wait");
        }
    }
}
