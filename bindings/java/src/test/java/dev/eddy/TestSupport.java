package dev.eddy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.function.Executable;

/** Helpers shared by the tests. */
final class TestSupport {
    private TestSupport() {}

    /** The rows of a batch as lists: Boolean, Integer, Long, Float, Double, String, or Long ms for TIMESTAMP. */
    static List<List<Object>> rows(VectorSchemaRoot root) {
        List<List<Object>> out = new ArrayList<>();
        for (int r = 0; r < root.getRowCount(); r++) {
            List<Object> row = new ArrayList<>();
            for (FieldVector v : root.getFieldVectors()) row.add(value(v, r));
            out.add(row);
        }
        return out;
    }

    static Object value(FieldVector v, int r) {
        if (v.isNull(r)) return null;
        if (v instanceof VarCharVector) return new String(((VarCharVector) v).get(r), java.nio.charset.StandardCharsets.UTF_8);
        if (v instanceof TimeStampMilliVector) return ((TimeStampMilliVector) v).get(r);
        return v.getObject(r);
    }

    /**
     * Everything the subscription holds now (after a flush), closing each
     * batch; stops at a timeout or at the end of the stream.
     */
    static List<List<Object>> drain(Subscription sub) {
        List<List<Object>> out = new ArrayList<>();
        for (;;) {
            try (VectorSchemaRoot b = sub.next(0)) {
                if (b == null) return out;
                out.addAll(rows(b));
            } catch (EddyException e) {
                if (e.status() != Status.END_OF_STREAM) throw e;
                return out;
            }
        }
    }

    /** Runs `sql` on the engine, then subscribes to `stream`. */
    static Subscription subscribeAfter(Engine e, String sql, String stream) {
        e.execute(sql);
        return e.subscribe(stream);
    }

    static List<Object> row(Object... values) {
        return Arrays.asList(values);
    }

    /** A counter of one stream from Engine.statsJson(). */
    static long streamStat(String json, String stream, String counter) {
        Matcher m = Pattern.compile("\\{\"name\":\"" + Pattern.quote(stream) + "\"[^}]*?\"" + counter + "\":(\\d+)")
                .matcher(json);
        if (!m.find()) fail("no " + counter + " for stream " + stream + " in " + json);
        return Long.parseLong(m.group(1));
    }

    /** Asserts `call` throws EddyException with `status` and a message containing `fragment`. */
    static EddyException assertStatus(Status status, String fragment, Executable call) {
        EddyException e = assertThrows(EddyException.class, call);
        assertEquals(status, e.status(), () -> "message: " + e.getMessage());
        assertEquals(status.code(), e.code());
        if (fragment != null) {
            assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' lacks '" + fragment + "'");
        }
        return e;
    }
}
