package dev.eddy;

import static dev.eddy.TestSupport.assertStatus;
import static dev.eddy.TestSupport.drain;
import static dev.eddy.TestSupport.row;
import static dev.eddy.TestSupport.rows;
import static dev.eddy.TestSupport.streamStat;
import static dev.eddy.TestSupport.subscribeAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.memory.util.MemoryUtil;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampMilliVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class ArrowTest {
    static final String ALL_TYPES = "CREATE STREAM S (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP);"
            + "INSERT INTO Out SELECT * FROM S WHERE i IS NULL OR i % 2 = 0";

    BufferAllocator alloc;

    @BeforeEach
    void allocator() {
        alloc = new RootAllocator();
    }

    @AfterEach
    void noLeak() {
        assertEquals(0, alloc.getAllocatedMemory(), "Arrow memory left in the test's allocator");
        alloc.close();
    }

    /** Row r of the test data: every 3rd value of each column NULL, at different phases. */
    static List<Object> expected(int r) {
        return row(
                r % 3 == 0 ? null : r % 2 == 1,
                r % 3 == 1 ? null : r,
                r % 3 == 2 ? null : (long) r * 1_000_000_007L,
                r % 3 == 0 ? null : r + 0.5f,
                r % 3 == 1 ? null : -r - 0.25,
                r % 3 == 2 ? null : "s" + r + "é".repeat(r % 4),
                r % 3 == 0 ? null : 1_700_000_000_000L + r);
    }

    static VectorSchemaRoot allTypes(BufferAllocator a, int n) {
        VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(Arrays.asList(
                Field.nullable("b", ColumnType.BOOL.arrowType()),
                Field.nullable("i", ColumnType.INT.arrowType()),
                Field.nullable("l", ColumnType.BIGINT.arrowType()),
                Field.nullable("f", ColumnType.FLOAT.arrowType()),
                Field.nullable("d", ColumnType.DOUBLE.arrowType()),
                Field.nullable("s", ColumnType.STRING.arrowType()),
                Field.nullable("t", ColumnType.TIMESTAMP.arrowType()))), a);
        root.allocateNew();
        for (int r = 0; r < n; r++) {
            List<Object> v = expected(r);
            if (v.get(0) == null) ((BitVector) root.getVector(0)).setNull(r);
            else ((BitVector) root.getVector(0)).setSafe(r, (Boolean) v.get(0) ? 1 : 0);
            if (v.get(1) == null) ((IntVector) root.getVector(1)).setNull(r);
            else ((IntVector) root.getVector(1)).setSafe(r, (Integer) v.get(1));
            if (v.get(2) == null) ((BigIntVector) root.getVector(2)).setNull(r);
            else ((BigIntVector) root.getVector(2)).setSafe(r, (Long) v.get(2));
            if (v.get(3) == null) ((Float4Vector) root.getVector(3)).setNull(r);
            else ((Float4Vector) root.getVector(3)).setSafe(r, (Float) v.get(3));
            if (v.get(4) == null) ((Float8Vector) root.getVector(4)).setNull(r);
            else ((Float8Vector) root.getVector(4)).setSafe(r, (Double) v.get(4));
            if (v.get(5) == null) ((VarCharVector) root.getVector(5)).setNull(r);
            else ((VarCharVector) root.getVector(5)).setSafe(r, ((String) v.get(5)).getBytes(StandardCharsets.UTF_8));
            if (v.get(6) == null) ((TimeStampMilliVector) root.getVector(6)).setNull(r);
            else ((TimeStampMilliVector) root.getVector(6)).setSafe(r, (Long) v.get(6));
        }
        root.setRowCount(n);
        return root;
    }

    @Test
    void streamSchemaHasEddysArrowTypes() {
        try (Engine e = Engine.open(null, alloc)) {
            e.execute(ALL_TYPES);
            Schema s = e.streamSchema("S");
            assertEquals(List.of("b", "i", "l", "f", "d", "s", "t"), s.getFields().stream().map(Field::getName).toList());
            ColumnType[] types = {ColumnType.BOOL, ColumnType.INT, ColumnType.BIGINT, ColumnType.FLOAT, ColumnType.DOUBLE,
                ColumnType.STRING, ColumnType.TIMESTAMP};
            for (int i = 0; i < types.length; i++) assertEquals(types[i].arrowType(), s.getFields().get(i).getType());
            // The output stream of a query is known before any row arrives.
            assertEquals(s.getFields().stream().map(Field::getType).toList(),
                    e.streamSchema("Out").getFields().stream().map(Field::getType).toList());
            assertStatus(Status.NOT_FOUND, "Nope", () -> e.streamSchema("Nope"));
        }
    }

    @Test
    void pushRoundTripsEveryTypeWithNulls() {
        int n = 50;
        try (Engine e = Engine.open(null, alloc);
                Subscription out = subscribeAfter(e, ALL_TYPES, "Out");
                Input in = e.openInput("S")) {
            try (VectorSchemaRoot root = allTypes(alloc, n)) {
                in.push(root);
                in.push(root); // the root stays the caller's: push it again
            }
            e.flush();
            List<List<Object>> want = new ArrayList<>();
            for (int k = 0; k < 2; k++) {
                for (int r = 0; r < n; r++) {
                    List<Object> v = expected(r);
                    if (v.get(1) == null || (Integer) v.get(1) % 2 == 0) want.add(v);
                }
            }
            VectorSchemaRoot first = out.next(0);
            assertNotNull(first);
            try (first) {
                assertEquals(out.schema(), first.getSchema());
                List<List<Object>> got = new ArrayList<>(rows(first));
                got.addAll(drain(out));
                assertEquals(want, got);
            }
            String stats = e.statsJson();
            assertEquals(2L * n, streamStat(stats, "S", "events_in"));
            assertEquals(want.size(), streamStat(stats, "Out", "events_in"));
        }
    }

    @Test
    void mismatchedBatchIsRejectedWhole() {
        try (Engine e = Engine.open(null, alloc);
                Subscription out = subscribeAfter(e, ALL_TYPES, "Out");
                Input in = e.openInput("S")) {
            // i as BIGINT where the stream says INT.
            Schema wrong = new Schema(List.of(Field.nullable("i", ColumnType.BIGINT.arrowType())));
            try (VectorSchemaRoot root = VectorSchemaRoot.create(wrong, alloc)) {
                ((BigIntVector) root.getVector(0)).allocateNew(3);
                for (int r = 0; r < 3; r++) ((BigIntVector) root.getVector(0)).set(r, r);
                root.setRowCount(3);
                assertStatus(Status.SCHEMA, "i", () -> in.push(root));
            }
            // An Arrow type eddy does not take at all.
            Schema unsigned = new Schema(List.of(new Field("i", FieldType.nullable(new ArrowType.Int(16, false)), null)));
            try (VectorSchemaRoot root = VectorSchemaRoot.create(unsigned, alloc)) {
                root.allocateNew();
                root.setRowCount(0);
                assertStatus(Status.SCHEMA, null, () -> in.push(root));
            }
            // A batch lacking a column is rejected too.
            Schema subset = new Schema(List.of(Field.nullable("s", ColumnType.STRING.arrowType()), Field.nullable("i", ColumnType.INT.arrowType())));
            try (VectorSchemaRoot root = VectorSchemaRoot.create(subset, alloc)) {
                root.allocateNew();
                root.setRowCount(0);
                assertStatus(Status.SCHEMA, "no column 'b'", () -> in.push(root));
            }
            // Every column, in another order and case, is fine.
            try (VectorSchemaRoot all = allTypes(alloc, 3)) {
                List<Field> fields = new ArrayList<>(all.getSchema().getFields());
                java.util.Collections.reverse(fields);
                List<org.apache.arrow.vector.FieldVector> vectors = new ArrayList<>();
                for (Field f : fields) vectors.add(all.getVector(f.getName()));
                List<Field> renamed = new ArrayList<>();
                for (Field f : fields) renamed.add(new Field(f.getName().toUpperCase(), f.getFieldType(), null));
                try (VectorSchemaRoot shuffled = new VectorSchemaRoot(renamed, transfer(vectors, renamed), 3)) {
                    in.push(shuffled);
                }
            }
            e.flush();
            assertEquals(List.of(expected(0), expected(1), expected(2)), drain(out));
            String stats = e.statsJson();
            assertEquals(3, streamStat(stats, "S", "rejected")); // rows of the rejected batches: 3 + 0 + 0
            assertEquals(3, streamStat(stats, "S", "events_in"));
        }
        // Rejected or not, every exported batch was released by eddy: the
        // allocator check after the test sees no leak.
    }

    /** The vectors moved into new ones named after `fields` (same data, no copy). */
    private List<org.apache.arrow.vector.FieldVector> transfer(List<org.apache.arrow.vector.FieldVector> from, List<Field> fields) {
        List<org.apache.arrow.vector.FieldVector> out = new ArrayList<>();
        for (int i = 0; i < from.size(); i++) {
            org.apache.arrow.vector.FieldVector to = fields.get(i).createVector(alloc);
            from.get(i).makeTransferPair(to).transfer();
            out.add(to);
        }
        return out;
    }

    @Test
    void resultBatchesWithOffsetsAreImportedCorrectly() {
        // Arrow Java's importer ignores ArrowArray.offset; the glue rewrites
        // such batches first. eddy itself exports offset 0 today, so build
        // batches with offsets by hand: export, then shift the structs.
        int n = 40;
        int[][] cases = {{0, 0}, {1, 0}, {0, 1}, {3, 5}, {8, 0}, {8, 8}, {16, 3}, {0, 13}};
        for (int[] c : cases) {
            int parentOffset = c[0], childOffset = c[1];
            int length = n - parentOffset - childOffset - 2;
            try (VectorSchemaRoot src = allTypes(alloc, n);
                    ArrowArray array = ArrowArray.allocateNew(alloc);
                    ArrowSchema schema = ArrowSchema.allocateNew(alloc)) {
                Data.exportVectorSchemaRoot(alloc, src, null, array, schema);
                ArrowArray.Snapshot top = array.snapshot();
                top.offset = parentOffset;
                top.length = length;
                array.save(top);
                // Odd columns get a child offset too (their length shrinks with it).
                for (int col = 1; col < 7; col += 2) {
                    ArrowArray child = ArrowArray.wrap(MemoryUtil.getLong(top.children + 8L * col));
                    ArrowArray.Snapshot s = child.snapshot();
                    s.offset = childOffset;
                    s.length = n - childOffset;
                    child.save(s);
                }
                Native.normalizeBatch(array.memoryAddress(), schema.memoryAddress());
                try (VectorSchemaRoot got = Subscription.importBatch(alloc, array, schema)) {
                    assertEquals(length, got.getRowCount());
                    for (int r = 0; r < length; r++) {
                        List<Object> row = TestSupport.rows(got).get(r);
                        for (int col = 0; col < 7; col++) {
                            int srcRow = parentOffset + r + (col % 2 == 1 ? childOffset : 0);
                            assertEquals(expected(srcRow).get(col), row.get(col),
                                    "case " + Arrays.toString(c) + " row " + r + " column " + col);
                        }
                    }
                    // Null counts were recomputed for the window, not copied.
                    for (int col = 0; col < 7; col++) {
                        int nulls = 0;
                        for (int r = 0; r < length; r++) {
                            if (expected(parentOffset + r + (col % 2 == 1 ? childOffset : 0)).get(col) == null) nulls++;
                        }
                        assertEquals(nulls, got.getVector(col).getNullCount(), "nulls of column " + col);
                    }
                }
            }
        }
    }

    @Test
    void manyBatchesDoNotLeak() {
        try (Engine e = Engine.open("subscriber_capacity=100000", alloc);
                Subscription out = subscribeAfter(e, ALL_TYPES, "Out");
                Input in = e.openInput("S")) {
            long rows = 0;
            for (int k = 0; k < 200; k++) {
                try (VectorSchemaRoot root = allTypes(alloc, 10)) {
                    in.push(root);
                }
                if (k % 50 == 49) {
                    e.flush();
                    rows += drain(out).size();
                }
            }
            e.flush();
            rows += drain(out).size();
            assertEquals(200L * 7, rows); // rows 0,1,2,4,6,7,8 of each 10: i NULL or even
            assertTrue(e.statsJson().contains("\"rejected\":0"));
        }
    }
}
