package eddy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

const tradesSQL = "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT);" +
	"INSERT INTO Big SELECT symbol, price FROM Trades WHERE price > 100.0"

func openEngine(t testing.TB, options string) *eddy.Engine {
	t.Helper()
	eng, err := eddy.Open(options)
	if err != nil {
		t.Fatalf("Open(%q): %v", options, err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	})
	return eng
}

func mustExec(t testing.TB, eng *eddy.Engine, sql string) {
	t.Helper()
	if err := eng.Execute(sql); err != nil {
		t.Fatalf("Execute: %v", err)
	}
}

func mustInput(t testing.TB, eng *eddy.Engine, stream string) *eddy.Input {
	t.Helper()
	in, err := eng.OpenInput(stream)
	if err != nil {
		t.Fatalf("OpenInput(%s): %v", stream, err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in
}

func mustSubscribe(t testing.TB, eng *eddy.Engine, stream string) *eddy.Subscription {
	t.Helper()
	sub, err := eng.Subscribe(stream)
	if err != nil {
		t.Fatalf("Subscribe(%s): %v", stream, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func flush(t testing.TB, eng *eddy.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// value is one cell as a comparable Go value: nil for NULL, and int64
// milliseconds for timestamps.
func value(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch c := col.(type) {
	case *array.Boolean:
		return c.Value(i)
	case *array.Int32:
		return c.Value(i)
	case *array.Int64:
		return c.Value(i)
	case *array.Float32:
		return c.Value(i)
	case *array.Float64:
		return c.Value(i)
	case *array.String:
		// Value aliases eddy's buffer: copy it to outlive the record.
		return strings.Clone(c.Value(i))
	case *array.Timestamp:
		return int64(c.Value(i))
	}
	panic(fmt.Sprintf("unexpected column type %s", col.DataType()))
}

func rowsOf(rec arrow.RecordBatch) [][]any {
	out := make([][]any, rec.NumRows())
	for r := range out {
		row := make([]any, rec.NumCols())
		for c := range row {
			row[c] = value(rec.Column(c), r)
		}
		out[r] = row
	}
	return out
}

// drain reads, without waiting, every record the subscription holds now
// (up to its end, if the engine is closed).
func drain(t testing.TB, sub *eddy.Subscription) [][]any {
	t.Helper()
	var rows [][]any
	for {
		rec, err := sub.TryNext()
		if errors.Is(err, eddy.ErrEndOfStream) {
			return rows
		}
		if err != nil {
			t.Fatalf("TryNext: %v", err)
		}
		if rec == nil {
			return rows
		}
		rows = append(rows, rowsOf(rec)...)
		rec.Release()
	}
}

func statsOf(t testing.TB, eng *eddy.Engine, stream string) eddy.StreamStats {
	t.Helper()
	st, err := eng.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	s, ok := st.Stream(stream)
	if !ok {
		t.Fatalf("no stats for stream %s in %+v", stream, st)
	}
	return s
}
