package dev.eddy;

import static dev.eddy.TestSupport.assertStatus;
import static dev.eddy.TestSupport.drain;
import static dev.eddy.TestSupport.row;
import static dev.eddy.TestSupport.streamStat;
import static dev.eddy.TestSupport.subscribeAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ErrorsTest {
    static final Pattern LINE_COL = Pattern.compile("^line (\\d+):(\\d+):");

    @Test
    void badSqlCarriesStatusAndLineColumn() {
        try (Engine e = Engine.open()) {
            EddyException x = assertStatus(Status.SQL, null, () -> e.execute("SELEC 1"));
            assertTrue(LINE_COL.matcher(x.getMessage()).find(), x.getMessage());
            assertTrue(x.toString().startsWith("EddyException[SQL]: line 1:"), x.toString());

            x = assertStatus(Status.SQL, "line 2:", () -> e.execute("CREATE STREAM S (a INT);\nCREATE STREAM T (b INT"));
            // All or nothing: S was not created either.
            assertStatus(Status.NOT_FOUND, null, () -> e.openInput("S"));

            e.execute("CREATE STREAM S (a INT, b DOUBLE)");
            x = assertStatus(Status.SQL, "line 1:", () -> e.execute("INSERT INTO Out SELECT nope FROM S"));
            assertTrue(x.getMessage().contains("nope"), x.getMessage());
            assertStatus(Status.SQL, "already exists", () -> e.execute("CREATE STREAM S (x INT)"));
            assertStatus(Status.SCHEMA, "line 1:", () -> e.execute("INSERT INTO Out SELECT a FROM S WHERE a + 1"));
            assertStatus(Status.INVALID_ARGUMENT, "NUL", () -> e.execute("CREATE STREAM T (a INT)\0"));
        }
    }

    @Test
    void unknownStreamIsNotFound() {
        try (Engine e = Engine.open()) {
            e.execute("CREATE STREAM S (a INT)");
            assertStatus(Status.NOT_FOUND, "Nope", () -> e.openInput("Nope"));
            assertStatus(Status.NOT_FOUND, "Nope", () -> e.subscribe("Nope"));
            assertStatus(Status.NOT_FOUND, "Nope", () -> e.streamSchema("Nope"));
            assertStatus(Status.NOT_FOUND, "Nope", () -> e.execute("INSERT INTO Out SELECT a FROM Nope"));
            // Names are case-insensitive.
            try (Input in = e.openInput("s")) {
                assertEquals("s", in.stream());
            }
        }
    }

    @Test
    void advanceTimeNeedsTheManualClock() {
        try (Engine e = Engine.open()) {
            assertStatus(Status.INVALID_ARGUMENT, "manual", () -> e.advanceTime(1000));
        }
        try (Engine e = Engine.open("clock=manual")) {
            e.advanceTime(1000);
            e.advanceTime(2000);
        }
    }

    @Test
    void dropNewestCountsEveryDroppedRow() {
        // A subscriber nobody reads, with room for one row and the block
        // policy, stalls the worker; then the 4-row input queue overflows.
        try (Engine e = Engine.open("queue_capacity=4;overflow=drop_newest;subscriber_overflow=block;subscriber_capacity=1");
                Subscription sub = subscribeAfter(e, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S WHERE a >= 0", "Out");
                Input in = e.openInput("S")) {
            int pushed = 1000;
            for (int i = 0; i < pushed; i++) in.append(i); // never FULL under a drop policy
            e.shutdown(); // drains what was queued into the (now unbounded) subscriber
            String stats = e.statsJson();
            long eventsIn = streamStat(stats, "S", "events_in");
            long dropped = streamStat(stats, "S", "dropped");
            assertTrue(dropped > 0, stats);
            assertEquals(pushed, eventsIn + dropped, stats);
            assertEquals(0, streamStat(stats, "S", "rejected"));
            List<List<Object>> rows = drain(sub);
            assertEquals(eventsIn, rows.size());
            assertEquals(row(0), rows.get(0)); // drop_newest keeps the first rows
        }
    }

    @Test
    void blockPolicyFailsWithFullAndCountsRejected() {
        try (Engine e = Engine.open("queue_capacity=4;push_timeout_ms=20;subscriber_capacity=1");
                Subscription sub = subscribeAfter(e, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S WHERE a >= 0", "Out");
                Input in = e.openInput("S")) {
            int accepted = 0, full = 0;
            for (int i = 0; i < 200 && full < 3; i++) {
                try {
                    in.append(i);
                    accepted++;
                } catch (EddyException x) {
                    assertEquals(Status.FULL, x.status(), x.getMessage());
                    full++;
                }
            }
            assertEquals(3, full);
            assertStatus(Status.TIMEOUT, "flush", () -> e.flush(50)); // the worker is stalled
            e.shutdown();
            String stats = e.statsJson();
            assertEquals(3, streamStat(stats, "S", "rejected"));
            assertEquals(accepted, streamStat(stats, "S", "events_in"));
            assertEquals(accepted, drain(sub).size());
        }
    }
}
