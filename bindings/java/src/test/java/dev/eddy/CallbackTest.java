package dev.eddy;

import static dev.eddy.TestSupport.assertStatus;
import static dev.eddy.TestSupport.drain;
import static dev.eddy.TestSupport.row;
import static dev.eddy.TestSupport.rows;
import static dev.eddy.TestSupport.subscribeAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class CallbackTest {
    static final String SQL = "CREATE STREAM S (a INT, s STRING); INSERT INTO Out SELECT a, s FROM S WHERE a % 2 = 0";

    @Test
    void callbacksRunInsidePollOnThePollingThread() {
        try (Engine e = Engine.open(); Subscription sub = subscribeAfter(e, SQL, "Out"); Input in = e.openInput("S")) {
            List<List<Object>> got = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            sub.setCallback(b -> {
                threads.add(Thread.currentThread());
                got.addAll(rows(b));
            });
            assertStatus(Status.INVALID_ARGUMENT, null, () -> sub.next(0)); // pushed, not pulled
            assertEquals(0, e.poll(0));
            for (int i = 0; i < 6; i++) in.append(i, "v" + i);
            assertTrue(got.isEmpty(), "nothing runs outside poll");
            e.flush();
            long delivered = 0;
            while (got.size() < 3) delivered += e.poll(1000);
            assertTrue(delivered >= 1);
            assertEquals(List.of(row(0, "v0"), row(2, "v2"), row(4, "v4")), got);
            for (Thread t : threads) assertSame(Thread.currentThread(), t);

            // Back to pulling.
            sub.setCallback(null);
            in.append(8, "v8");
            e.flush();
            assertEquals(0, e.poll(0));
            assertEquals(List.of(row(8, "v8")), drain(sub));
        }
    }

    @Test
    void callbackFailureIsRethrownByPollAndOthersStillRun() {
        try (Engine e = Engine.open();
                Subscription bad = subscribeAfter(e, SQL, "Out");
                Subscription good = e.subscribe("Out");
                Input in = e.openInput("S")) {
            List<Integer> seen = new ArrayList<>();
            bad.setCallback(b -> {
                throw new IllegalStateException("boom");
            });
            good.setCallback(b -> seen.add(b.getRowCount()));
            in.append(2, "x");
            e.flush();
            IllegalStateException ex = assertThrows(IllegalStateException.class, () -> e.poll(1000));
            assertEquals("boom", ex.getMessage());
            assertEquals(List.of(1), seen, "the other subscription's callback ran in the same poll");

            // A checked exception is wrapped.
            bad.setCallback(b -> {
                throw new IOException("disk");
            });
            in.append(4, "y");
            e.flush();
            EddyException wrapped = assertThrows(EddyException.class, () -> e.poll(1000));
            assertTrue(wrapped.getMessage().contains("java.io.IOException: disk"), wrapped.getMessage());
            assertEquals(0, e.poll(0)); // failures do not linger
        }
    }

    @Test
    void callbackMayPushCloseItsSubscriptionAndCloseTheEngine() {
        try (BufferAllocator alloc = new RootAllocator()) {
            Engine e = Engine.open(null, alloc);
            Subscription sub = subscribeAfter(e, SQL, "Out");
            Subscription other = e.subscribe("Out");
            Input in = e.openInput("S");
            List<Integer> values = new ArrayList<>();
            sub.setCallback(b -> {
                int a = (Integer) b.getVector(0).getObject(0);
                values.add(a);
                if (a < 6) {
                    in.append(a + 2, "again"); // re-entrant push
                } else {
                    sub.close(); // frees the subscription from inside its callback
                    e.close(); // and the engine: freed once this poll returns
                }
            });
            AtomicReference<Integer> otherRows = new AtomicReference<>(0);
            other.setCallback(b -> otherRows.set(otherRows.get() + b.getRowCount()));
            in.append(0, "start");
            while (!e.isClosed()) {
                e.flush(1000);
                e.poll(1000);
            }
            assertEquals(List.of(0, 2, 4, 6), values);
            // Every poll runs all pending callbacks, so `other` saw 0, 2 and 4
            // before 6 was pushed; whether it saw 6 depends on the order in
            // that last poll.
            assertTrue(otherRows.get() == 3 || otherRows.get() == 4, "other saw " + otherRows.get());
            assertTrue(sub.isClosed());
            assertStatus(Status.CLOSED, null, () -> e.poll(0));
            in.close();
            other.close();
            assertEquals(0, alloc.getAllocatedMemory());
        }
    }

    @Test
    void pollEndsWithClosedOnceEverythingWasDelivered() {
        try (Engine e = Engine.open(); Subscription sub = subscribeAfter(e, SQL, "Out"); Input in = e.openInput("S")) {
            List<Integer> got = new ArrayList<>();
            sub.setCallback(b -> got.add(b.getRowCount()));
            in.append(0, "a");
            in.append(2, "b");
            e.shutdown(); // drains; results wait for poll
            long delivered = 0;
            EddyException end = null;
            for (int i = 0; i < 100 && end == null; i++) {
                try {
                    delivered += e.poll(100);
                } catch (EddyException x) {
                    end = x;
                }
            }
            assertEquals(Status.CLOSED, end.status());
            assertTrue(delivered >= 1);
            assertEquals(2, got.stream().mapToInt(Integer::intValue).sum());
        }
    }
}
