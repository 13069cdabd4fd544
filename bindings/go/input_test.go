package eddy_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

func TestFilterRows(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")

	// Typed setters; volume left unset (NULL).
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(in.BeginRow())
	must(in.SetString(0, "ACME"))
	must(in.SetFloat64(1, 123.5))
	must(in.EndRow())
	must(in.BeginRow())
	must(in.SetString(0, "LOW"))
	must(in.SetFloat64(1, 99.5))
	must(in.SetInt64(2, 7))
	must(in.EndRow())
	// An explicit NULL symbol, and a row discarded half-way.
	must(in.BeginRow())
	must(in.SetNull(0))
	must(in.SetFloat64(1, 101))
	must(in.EndRow())
	must(in.BeginRow())
	must(in.SetString(0, "ABORTED"))
	must(in.SetFloat64(1, 500))
	must(in.AbortRow())
	// Append converts Go values; nil is NULL.
	must(in.Append("Q", 150.25, int64(3)))
	must(in.Append([]byte("Ünïcödé"), float32(200.5), nil))
	must(in.Append("", 100.0, 1)) // not > 100
	must(in.Append("INT", 1000, uint8(1)))

	flush(t, eng)
	got := drain(t, sub)
	want := [][]any{
		{"ACME", 123.5},
		{nil, 101.0},
		{"Q", 150.25},
		{"Ünïcödé", 200.5},
		{"INT", 1000.0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Big = %v\nwant  %v", got, want)
	}
	if s := statsOf(t, eng, "Trades"); s.EventsIn != 7 {
		t.Errorf("Trades events_in = %d, want 7 (the aborted row is not ingested)", s.EventsIn)
	}
}

func TestTypeMismatch(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, "CREATE STREAM S (flag BOOL, n INT, big BIGINT, f FLOAT, d DOUBLE, s STRING, ts TIMESTAMP)")
	in := mustInput(t, eng, "S")
	sub := mustSubscribe(t, eng, "S")

	if got := []eddy.Type{in.ColumnType(0), in.ColumnType(1), in.ColumnType(2), in.ColumnType(3),
		in.ColumnType(4), in.ColumnType(5), in.ColumnType(6), in.ColumnType(7), in.ColumnType(-1)}; !reflect.DeepEqual(got,
		[]eddy.Type{eddy.TypeBool, eddy.TypeInt, eddy.TypeBigint, eddy.TypeFloat, eddy.TypeDouble,
			eddy.TypeString, eddy.TypeTimestamp, eddy.TypeInvalid, eddy.TypeInvalid}) {
		t.Errorf("column types %v", got)
	}
	if in.NumColumns() != 7 || in.Stream() != "S" || in.Schema().Field(6).Type.String() != "timestamp[ms]" {
		t.Errorf("input metadata: %d %s %s", in.NumColumns(), in.Stream(), in.Schema())
	}
	if i, err := in.ColumnIndex("TS"); i != 6 || err != nil {
		t.Errorf("ColumnIndex(TS) = %d, %v", i, err)
	}
	if _, err := in.ColumnIndex("nope"); !errors.Is(err, eddy.ErrNotFound) {
		t.Errorf("ColumnIndex(nope) = %v", err)
	}

	// A setter outside a row, then a wrong setter: eddy names the right one.
	if err := in.SetInt32(1, 1); !errors.Is(err, eddy.ErrInvalidArgument) ||
		err.Error() != "eddy: EDDY_ERR_INVALID_ARGUMENT: no row is open; call begin_row first" {
		t.Errorf("setter before BeginRow: %v", err)
	}
	if err := in.BeginRow(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		err  error
		is   error
		text string
	}{
		{in.SetInt64(1, 1), eddy.ErrSchema, "column 1 'n' is INT; set_i64 cannot set it (use set_i32)"},
		{in.SetFloat64(3, 1), eddy.ErrSchema, "use set_f32"},
		{in.SetString(0, "x"), eddy.ErrSchema, "use set_bool"},
		{in.SetBool(5, true), eddy.ErrSchema, "use set_str"},
		{in.SetFloat32(4, 1), eddy.ErrSchema, "use set_f64"},
		{in.SetString(5, "\xff"), eddy.ErrInvalidArgument, "not valid UTF-8"},
		{in.SetNull(9), eddy.ErrInvalidArgument, "column index 9 is out of range"},
		{in.SetBool(-1, true), eddy.ErrInvalidArgument, "column index -1 is out of range"},
		{in.BeginRow(), eddy.ErrInvalidArgument, "a row is already open"},
	}
	for i, c := range checks {
		if !errors.Is(c.err, c.is) || !strings.Contains(c.err.Error(), c.text) {
			t.Errorf("check %d: %v, want %v containing %q", i, c.err, c.is, c.text)
		}
	}
	// The row stayed open through the failures: finish it.
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for _, err := range []error{in.SetBool(0, true), in.SetInt32(1, -5), in.SetInt64(2, math.MinInt64),
		in.SetFloat32(3, 0.5), in.SetFloat64(4, math.MaxFloat64), in.SetBytes(5, []byte("ok")),
		in.SetTimestamp(6, ts), in.EndRow()} {
		if err != nil {
			t.Fatal(err)
		}
	}

	// Append checks values in Go, before anything reaches eddy.
	appends := []struct {
		values []any
		is     error
		text   string
	}{
		{[]any{true, 1, 2, 3, 4}, eddy.ErrInvalidArgument, "Append got 5 values; stream S has 7 columns"},
		{[]any{1, 1, 2, 3, 4, "s", 0}, eddy.ErrSchema, `column 0 "flag" of stream S is BOOL; it cannot take a int`},
		{[]any{nil, 1.5, 2, 3, 4, "s", 0}, eddy.ErrSchema, `column 1 "n" of stream S is INT; it cannot take a float64`},
		{[]any{nil, int64(math.MaxInt32 + 1), 2, 3, 4, "s", 0}, eddy.ErrInvalidArgument, "2147483648 is out of its range"},
		{[]any{nil, 1, uint64(math.MaxUint64), 3, 4, "s", 0}, eddy.ErrInvalidArgument, "out of its range"},
		{[]any{nil, 1, 2, "3", 4, "s", 0}, eddy.ErrSchema, `column 3 "f" of stream S is FLOAT; it cannot take a string`},
		{[]any{nil, 1, 2, 3, 4, 5, 0}, eddy.ErrSchema, `column 5 "s" of stream S is STRING; it cannot take a int`},
		{[]any{nil, 1, 2, 3, 4, "s", 1.5}, eddy.ErrSchema, "TIMESTAMP; it cannot take a float64"},
		{[]any{nil, 1, ts, 3, 4, "s", 0}, eddy.ErrSchema, "BIGINT; it cannot take a time.Time"},
		{[]any{nil, 1, 2, 3, 4, "s", struct{}{}}, eddy.ErrSchema, "cannot take a struct {}"},
		// This one reaches eddy, which refuses it and the row is dropped.
		{[]any{nil, 1, 2, 3, 4, []byte{0xff}, 0}, eddy.ErrInvalidArgument, "column 5: value is not valid UTF-8"},
	}
	for _, a := range appends {
		err := in.Append(a.values...)
		if !errors.Is(err, a.is) || !strings.Contains(err.Error(), a.text) {
			t.Errorf("Append(%v) = %v, want %v containing %q", a.values, err, a.is, a.text)
		}
	}
	// Every Go integer and float type where the column takes it.
	ok := [][]any{
		{false, int8(-8), int16(-16), int32(32), int64(64), "a", ts},
		{nil, uint16(16), uint32(32), uint(7), uint64(8), []byte("b"), int64(1000)},
		{nil, nil, nil, float64(0.25), float32(0.75), nil, uint8(9)},
	}
	for _, row := range ok {
		if err := in.Append(row...); err != nil {
			t.Errorf("Append(%v): %v", row, err)
		}
	}
	flush(t, eng)
	got := drain(t, sub)
	want := [][]any{
		{true, int32(-5), int64(math.MinInt64), float32(0.5), math.MaxFloat64, "ok", ts.UnixMilli()},
		{false, int32(-8), int64(-16), float32(32), float64(64), "a", ts.UnixMilli()},
		{nil, int32(16), int64(32), float32(7), float64(8), "b", int64(1000)},
		{nil, nil, nil, float32(0.25), float64(0.75), nil, int64(9)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows\n got %v\nwant %v", got, want)
	}
	if s := statsOf(t, eng, "S"); s.EventsIn != 4 || s.Rejected != 0 {
		t.Errorf("stats %+v: the refused rows must not be ingested", s)
	}
}

var allTypesSQL = "CREATE STREAM AllIn (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP);" +
	"INSERT INTO AllOut SELECT * FROM AllIn"

// allTypesRecord builds 5 rows covering every column type, with a NULL in
// each column and empty, ASCII and multi-byte strings.
func allTypesRecord(mem memory.Allocator, schema *arrow.Schema) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	valid := []bool{true, false, true, true, true}
	for i, f := range schema.Fields() {
		switch fb := b.Field(i).(type) {
		case *array.BooleanBuilder:
			fb.AppendValues([]bool{true, false, false, true, false}, valid)
		case *array.Int32Builder:
			fb.AppendValues([]int32{math.MinInt32, 0, -1, math.MaxInt32, 42}, []bool{true, true, false, true, true})
		case *array.Int64Builder:
			fb.AppendValues([]int64{math.MinInt64, 1, 2, 0, math.MaxInt64}, []bool{true, true, true, false, true})
		case *array.Float32Builder:
			fb.AppendValues([]float32{1.5, -2.25, 0, 3, float32(math.Inf(1))}, []bool{true, true, true, true, false})
		case *array.Float64Builder:
			fb.AppendValues([]float64{math.Pi, -0.5, 1e300, 0, 7}, []bool{false, true, true, true, true})
		case *array.StringBuilder:
			fb.AppendValues([]string{"", "ascii", "", "Grüße, 世界", "last"}, []bool{true, true, false, true, true})
		case *array.TimestampBuilder:
			fb.AppendValues([]arrow.Timestamp{0, 1700000000123, -1000, 5, 0}, []bool{true, true, true, true, false})
		default:
			panic(fmt.Sprintf("no builder for %s", f.Type))
		}
	}
	return b.NewRecordBatch()
}

func TestPushRecordRoundTrip(t *testing.T) {
	for _, alloc := range []struct {
		name string
		mem  memory.Allocator
	}{{"go", memory.NewGoAllocator()}, {"malloc", mallocator.NewMallocator()}} {
		t.Run(alloc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(alloc.mem)
			live := eddy.LiveBatches()
			eng := openEngine(t, "")
			mustExec(t, eng, allTypesSQL)
			sub := mustSubscribe(t, eng, "AllOut")
			in := mustInput(t, eng, "AllIn")

			schema := in.Schema()
			rec := allTypesRecord(mem, schema)
			// The same rows again with the columns in another order and case.
			var fields []arrow.Field
			var cols []arrow.Array
			for i := schema.NumFields() - 1; i >= 0; i-- {
				f := schema.Field(i)
				f.Name = strings.ToUpper(f.Name)
				fields = append(fields, f)
				cols = append(cols, rec.Column(i))
			}
			shuffled := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
			sliced := rec.NewSlice(1, 3)
			for _, r := range []arrow.RecordBatch{rec, shuffled, sliced} {
				if err := in.PushRecord(r); err != nil {
					t.Fatalf("PushRecord: %v", err)
				}
			}
			// eddy holds the buffers now; Go lets go of its references.
			rec.Release()
			shuffled.Release()
			sliced.Release()

			flush(t, eng)
			var got []arrow.RecordBatch
			for {
				r, err := sub.TryNext()
				if err != nil {
					t.Fatal(err)
				}
				if r == nil {
					break
				}
				got = append(got, r)
			}
			if n := eddy.LiveBatches() - live; n != int64(len(got)) {
				t.Errorf("LiveBatches grew by %d for %d records held", n, len(got))
			}
			want := allTypesRecord(memory.NewGoAllocator(), schema)
			defer want.Release()
			var rows [][]any
			for _, r := range got {
				if !r.Schema().Equal(sub.Schema()) {
					t.Errorf("record schema %s, subscription schema %s", r.Schema(), sub.Schema())
				}
				rows = append(rows, rowsOf(r)...)
			}
			wantRows := append(append(rowsOf(want), rowsOf(want)...), rowsOf(want)[1:3]...)
			if !reflect.DeepEqual(rows, wantRows) {
				t.Fatalf("round trip\n got %v\nwant %v", rows, wantRows)
			}
			if rows[3][5] != "Grüße, 世界" || rows[1][0] != nil || rows[0][6] != int64(0) {
				t.Fatalf("spot checks failed: %v", rows)
			}
			for _, r := range got {
				r.Release()
			}
			if n := eddy.LiveBatches() - live; n != 0 {
				t.Errorf("%d result batches not released back to eddy", n)
			}
			// Once the engine is gone eddy has released every pushed batch:
			// exactly once each, or the allocator would not balance (or
			// arrow-go would panic on a second release).
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			mem.AssertSize(t, 0)
		})
	}
}

func TestPushRecordRejected(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	in := mustInput(t, eng, "Trades")

	// price as a string: refused whole, counted as rejected.
	bad := arrow.NewSchema([]arrow.Field{
		{Name: "symbol", Type: arrow.BinaryTypes.String},
		{Name: "price", Type: arrow.BinaryTypes.String},
		{Name: "volume", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, bad)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"A", "B"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"1", "2"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	err := in.PushRecord(rec)
	rec.Release()
	if !errors.Is(err, eddy.ErrSchema) ||
		err.Error() != "eddy: EDDY_ERR_SCHEMA: batch column 'price' is STRING, stream column is DOUBLE" {
		t.Fatalf("PushRecord(bad) = %v", err)
	}
	// eddy released the refused batch before returning.
	mem.AssertSize(t, 0)

	// An unknown column is refused too; the input stays usable.
	unknown := arrow.NewSchema([]arrow.Field{{Name: "nope", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b = array.NewRecordBuilder(mem, unknown)
	b.Field(0).(*array.Int64Builder).Append(1)
	rec = b.NewRecordBatch()
	b.Release()
	err = in.PushRecord(rec)
	rec.Release()
	if !errors.Is(err, eddy.ErrSchema) || !strings.Contains(err.Error(), "batch has no column 'symbol'") {
		t.Fatalf("PushRecord with unknown columns = %v", err)
	}
	if err := in.PushRecord(nil); !errors.Is(err, eddy.ErrInvalidArgument) {
		t.Errorf("PushRecord(nil) = %v", err)
	}
	good := tradesRecord(t, mem)
	if err := in.PushRecord(good); err != nil {
		t.Fatalf("PushRecord(good) after refusals: %v", err)
	}
	good.Release()
	flush(t, eng)
	s := statsOf(t, eng, "Trades")
	if s.EventsIn != 2 || s.Rejected != 3 {
		t.Errorf("Trades stats %+v: want events_in 2, rejected 3", s)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)
}

// tradesRecord is two Trades rows, built with mem (a Go allocator if nil).
func tradesRecord(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "symbol", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "price", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "volume", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"A", "B"}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{150, 50}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	return b.NewRecordBatch()
}

func TestOverflowDropCounting(t *testing.T) {
	for _, policy := range []string{"drop_newest", "drop_oldest"} {
		t.Run(policy, func(t *testing.T) {
			// An unread subscriber of capacity 1 stalls the worker, so the
			// 4-row input queue overflows.
			eng := openEngine(t, "queue_capacity=4;subscriber_capacity=1;subscriber_overflow=block;overflow="+policy)
			mustExec(t, eng, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S WHERE a >= 0")
			sub := mustSubscribe(t, eng, "Out")
			in := mustInput(t, eng, "S")
			const pushed = 1000
			for i := range pushed {
				if err := in.Append(i); err != nil {
					t.Fatalf("Append %d under %s: %v", i, policy, err)
				}
			}
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			s := statsOf(t, eng, "S")
			if s.Dropped == 0 || s.EventsIn+s.Dropped != pushed || s.Rejected != 0 {
				t.Fatalf("stats %+v: want dropped > 0 and events_in + dropped = %d", s, pushed)
			}
			var last any
			n := 0
			for {
				rec, err := sub.Next(context.Background())
				if errors.Is(err, eddy.ErrEndOfStream) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rows := rowsOf(rec)
				n += len(rows)
				last = rows[len(rows)-1][0]
				rec.Release()
			}
			if uint64(n) != s.EventsIn {
				t.Errorf("read %d rows, events_in %d", n, s.EventsIn)
			}
			if policy == "drop_oldest" && last != int32(pushed-1) {
				t.Errorf("drop_oldest kept %v last, want the newest row %d", last, pushed-1)
			}
		})
	}
}

func TestOverflowBlockFull(t *testing.T) {
	eng := openEngine(t, "queue_capacity=4;push_timeout_ms=50;subscriber_capacity=1")
	mustExec(t, eng, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S")
	mustSubscribe(t, eng, "Out") // never read
	in := mustInput(t, eng, "S")
	accepted, full := 0, 0
	for i := 0; i < 200 && full < 3; i++ {
		start := time.Now()
		err := in.Append(i)
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, eddy.ErrFull):
			if d := time.Since(start); d < 45*time.Millisecond {
				t.Errorf("ErrFull after %v, want about push_timeout_ms=50", d)
			}
			full++
		default:
			t.Fatal(err)
		}
	}
	if full != 3 || accepted < 5 {
		t.Fatalf("accepted %d, full %d", accepted, full)
	}
	if s := statsOf(t, eng, "S"); s.Rejected != 3 || s.Dropped != 0 {
		t.Errorf("stats %+v: want rejected 3", s)
	}
	// Close cannot queue the input's end either; the handle is freed anyway.
	if err := in.Close(); !errors.Is(err, eddy.ErrFull) {
		t.Errorf("Close of an input on a full queue = %v, want ErrFull", err)
	}
	if err := in.Append(1); !errors.Is(err, eddy.ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}
}

func TestConcurrentInputs(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, "CREATE STREAM S (producer INT, seq BIGINT, label STRING)")
	sub := mustSubscribe(t, eng, "S")
	const producers, rows = 4, 2000
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := eng.OpenInput("S")
			if err != nil {
				errs <- err
				return
			}
			defer in.Close()
			for i := range rows {
				if err := in.Append(p, i, fmt.Sprintf("p%d-%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	flush(t, eng)
	next := make([]int64, producers)
	for _, r := range drain(t, sub) {
		p, seq := r[0].(int32), r[1].(int64)
		if seq != next[p] || r[2] != fmt.Sprintf("p%d-%d", p, seq) {
			t.Fatalf("producer %d: got row %v, want seq %d", p, r, next[p])
		}
		next[p]++
	}
	for p, n := range next {
		if n != rows {
			t.Errorf("producer %d: %d rows, want %d", p, n, rows)
		}
	}
}

// A misused Input (shared by goroutines, closed while in use) must not
// crash; the race detector checks the binding's own state.
func TestInputMisuseIsSafe(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, "CREATE STREAM S (a INT)")
	in := mustInput(t, eng, "S")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				err := in.Append(g*1000 + i)
				if err != nil && !errors.Is(err, eddy.ErrClosed) {
					t.Errorf("Append: %v", err)
					return
				}
				if g == 0 && i == 250 {
					_ = in.Close()
				}
			}
		}()
	}
	wg.Wait()
	if err := in.Append(1); !errors.Is(err, eddy.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	eng := openEngine(b, "overflow=drop_oldest")
	mustExec(b, eng, tradesSQL)
	in := mustInput(b, eng, "Trades")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := in.Append("ACME", float64(i%200), int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSetters(b *testing.B) {
	eng := openEngine(b, "overflow=drop_oldest")
	mustExec(b, eng, tradesSQL)
	in := mustInput(b, eng, "Trades")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := in.BeginRow(); err != nil {
			b.Fatal(err)
		}
		_ = in.SetString(0, "ACME")
		_ = in.SetFloat64(1, float64(i%200))
		_ = in.SetInt64(2, int64(i))
		if err := in.EndRow(); err != nil {
			b.Fatal(err)
		}
	}
}

// Event time: a tumbling window fires when the host's watermark passes its
// end; a row behind the watermark is late (dropped, counted); the stats
// carry the watermark.
func TestWatermarkFiresEventTimeWindows(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, `CREATE STREAM R (k STRING, v BIGINT, ts BIGINT) WITH (event_time = 'ts', watermark_delay = 60000);
		INSERT INTO W SELECT k, COUNT(*) AS n, SUM(v) AS s FROM R WINDOW('tumbling', 1000) GROUP BY k`)
	sub := mustSubscribe(t, eng, "W")
	in := mustInput(t, eng, "R")
	for _, r := range [][]any{{"a", 1, 10}, {"b", 2, 20}, {"a", 3, 990}, {"a", 4, 1500}} {
		if err := in.Append(r...); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, eng)
	if got := drain(t, sub); len(got) != 0 {
		t.Fatalf("nothing may fire before the watermark, got %v", got)
	}
	if err := in.Watermark(1000); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	got := drain(t, sub)
	want := [][]any{{"a", int64(2), int64(4)}, {"b", int64(1), int64(2)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("window [0, 1000): got %v, want %v", got, want)
	}
	if err := in.Append("a", 9, 999); err != nil { // behind the watermark
		t.Fatal(err)
	}
	flush(t, eng)
	st := statsOf(t, eng, "R")
	if st.Late != 1 || st.Watermark == nil || *st.Watermark != 1000 {
		t.Fatalf("late %d watermark %v, want 1 and 1000", st.Late, st.Watermark)
	}
	p := mustInput(t, eng, "W")
	if err := p.Watermark(5); !errors.Is(err, eddy.ErrInvalidArgument) {
		t.Fatalf("watermark on a stream without event time: %v", err)
	}
}
