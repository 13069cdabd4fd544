package eddy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

func TestVersion(t *testing.T) {
	want := fmt.Sprintf("%d.%d.%d", eddy.HeaderVersionMajor, eddy.HeaderVersionMinor, eddy.HeaderVersionPatch)
	if got := eddy.Version(); got != want {
		t.Fatalf("Version() = %q, header is %q", got, want)
	}
}

func TestLifecycle(t *testing.T) {
	eng, err := eddy.Open("overflow=block;push_timeout_ms=1000")
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, eng, tradesSQL)
	in, err := eng.OpenInput("Trades")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := eng.Subscribe("Big")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Append("ACME", 123.5, 10); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := eng.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// The engine handle is gone: every call says so, none crashes.
	ctx := context.Background()
	checkClosed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, eddy.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	checkClosed("Execute", eng.Execute("CREATE STREAM X (a INT)"))
	checkClosed("Flush", eng.Flush(ctx))
	_, err = eng.Poll(ctx)
	checkClosed("Poll", err)
	_, err = eng.TryPoll()
	checkClosed("TryPoll", err)
	checkClosed("AdvanceTime", eng.AdvanceTime(time.UnixMilli(1)))
	_, err = eng.OpenInput("Trades")
	checkClosed("OpenInput", err)
	_, err = eng.Subscribe("Big")
	checkClosed("Subscribe", err)
	_, err = eng.StreamSchema("Trades")
	checkClosed("StreamSchema", err)

	// Stats answer with the final counters: Close drained the row.
	st, err := eng.Stats()
	if err != nil {
		t.Fatalf("Stats after Close: %v", err)
	}
	if !st.Closed {
		t.Errorf("final stats not closed: %+v", st)
	}
	if s, _ := st.Stream("trades"); s.EventsIn != 1 {
		t.Errorf("final Trades events_in = %d, want 1", s.EventsIn)
	}

	// Inputs and subscriptions outlive the engine: eddy answers for them.
	err = in.Append("X", 200.0, 1)
	if !errors.Is(err, eddy.ErrClosed) || !strings.Contains(err.Error(), "engine is closed") {
		t.Errorf("Append after engine Close: %v", err)
	}
	rows := drain(t, sub)
	if want := [][]any{{"ACME", 123.5}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows after Close = %v, want %v", rows, want)
	}
	_, err = sub.Next(ctx)
	if !errors.Is(err, eddy.ErrEndOfStream) || !errors.Is(err, io.EOF) {
		t.Errorf("Next at the end: %v, want ErrEndOfStream and io.EOF", err)
	}

	if err := in.Close(); err != nil {
		t.Errorf("input Close after engine Close: %v", err)
	}
	if err := in.Close(); err != nil {
		t.Errorf("second input Close: %v", err)
	}
	err = in.Append("X", 1.0, 1)
	if !errors.Is(err, eddy.ErrClosed) || !strings.Contains(err.Error(), "input is closed") {
		t.Errorf("Append after input Close: %v", err)
	}
	checkClosed("BeginRow", in.BeginRow())
	checkClosed("SetString", in.SetString(0, "x"))
	checkClosed("PushRecord", in.PushRecord(tradesRecord(t, nil)))
	_, err = in.ColumnIndex("price")
	checkClosed("ColumnIndex", err)

	if err := sub.Close(); err != nil {
		t.Errorf("sub Close: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Errorf("second sub Close: %v", err)
	}
	_, err = sub.Next(ctx)
	if !errors.Is(err, eddy.ErrClosed) || !strings.Contains(err.Error(), "subscription is closed") {
		t.Errorf("Next after sub Close: %v", err)
	}
	_, err = sub.TryNext()
	checkClosed("TryNext", err)
	checkClosed("SetCallback", sub.SetCallback(nil))
}

func TestOpenErrors(t *testing.T) {
	_, err := eddy.Open("bogus=1")
	var e *eddy.Error
	if !errors.As(err, &e) || e.Status != eddy.StatusInvalidArgument || !strings.Contains(e.Message, "unknown option 'bogus'") {
		t.Fatalf("Open(bogus=1) = %v", err)
	}
	if _, err := eddy.Open("clock=manual\x00;x=1"); !errors.Is(err, eddy.ErrInvalidArgument) ||
		!strings.Contains(err.Error(), "NUL") {
		t.Fatalf("Open with a NUL byte = %v", err)
	}
}

func TestSQLErrors(t *testing.T) {
	eng := openEngine(t, "")
	cases := []struct {
		sql     string
		is      error
		message string
	}{
		{"SELEC 1", eddy.ErrSQL, "line 1:1: expected CREATE STREAM or INSERT INTO, found 'SELEC'"},
		{"CREATE STREAM S (a INT, b STRING);\nINSERT INTO O SELECT c FROM S", eddy.ErrSQL,
			"line 2:22: unknown column 'c' in stream 'S' (columns: a, b)"},
		{"CREATE STREAM T (a INT); INSERT INTO O2 SELECT a FROM T WHERE a = 'x'", eddy.ErrSchema,
			"line 1:63: operator '=' cannot compare INT with STRING"},
	}
	for _, c := range cases {
		err := eng.Execute(c.sql)
		var e *eddy.Error
		if !errors.Is(err, c.is) || !errors.As(err, &e) {
			t.Errorf("Execute(%q) = %v, want %v", c.sql, err, c.is)
			continue
		}
		if e.Message != c.message {
			t.Errorf("Execute(%q) message %q, want %q", c.sql, e.Message, c.message)
		}
	}
	// All or nothing: the failed batch above created neither S nor T.
	if _, err := eng.StreamSchema("S"); !errors.Is(err, eddy.ErrNotFound) {
		t.Errorf("stream S after a failed Execute: %v", err)
	}
	if err := eng.Execute("CREATE STREAM A (x INT)\x00"); !errors.Is(err, eddy.ErrInvalidArgument) {
		t.Errorf("SQL with a NUL byte: %v", err)
	}
}

func TestUnknownStream(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	const msg = "eddy: EDDY_ERR_NOT_FOUND: unknown stream 'Nope'"
	if _, err := eng.OpenInput("Nope"); !errors.Is(err, eddy.ErrNotFound) || err.Error() != msg {
		t.Errorf("OpenInput: %v", err)
	}
	if _, err := eng.Subscribe("Nope"); !errors.Is(err, eddy.ErrNotFound) || err.Error() != msg {
		t.Errorf("Subscribe: %v", err)
	}
	if _, err := eng.StreamSchema("Nope"); !errors.Is(err, eddy.ErrNotFound) || err.Error() != msg {
		t.Errorf("StreamSchema: %v", err)
	}
}

func TestStreamSchema(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sch, err := eng.StreamSchema("big") // names are case-insensitive
	if err != nil {
		t.Fatal(err)
	}
	if got := sch.String(); !strings.Contains(got, "symbol: type=utf8") || !strings.Contains(got, "price: type=float64") ||
		sch.NumFields() != 2 {
		t.Errorf("schema of Big: %s", got)
	}
}

func TestErrorValues(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &eddy.Error{Status: eddy.StatusFull, Message: "queue full"})
	if !errors.Is(err, eddy.ErrFull) || errors.Is(err, eddy.ErrTimeout) || errors.Is(err, io.EOF) {
		t.Errorf("errors.Is on %v", err)
	}
	if !errors.Is(err, &eddy.Error{Status: eddy.StatusFull, Message: "queue full"}) ||
		errors.Is(err, &eddy.Error{Status: eddy.StatusFull, Message: "other"}) {
		t.Errorf("errors.Is with a message")
	}
	if eddy.StatusOf(err) != eddy.StatusFull || eddy.StatusOf(nil) != eddy.StatusOK ||
		eddy.StatusOf(io.EOF) != eddy.StatusInternal {
		t.Errorf("StatusOf")
	}
	if got := err.Error(); got != "wrapped: eddy: EDDY_ERR_FULL: queue full" {
		t.Errorf("Error() = %q", got)
	}
	names := map[eddy.Status]string{
		eddy.StatusOK: "EDDY_OK", eddy.StatusSQL: "EDDY_ERR_SQL", eddy.StatusPanic: "EDDY_ERR_PANIC",
		eddy.StatusEndOfStream: "EDDY_ERR_END_OF_STREAM", 99: "EDDY_UNKNOWN_STATUS",
	}
	for s, want := range names {
		if s.String() != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), s.String(), want)
		}
	}
	if eddy.ErrTimeout.Error() != "eddy: EDDY_ERR_TIMEOUT" {
		t.Errorf("sentinel text %q", eddy.ErrTimeout.Error())
	}
}

func TestManualClock(t *testing.T) {
	eng := openEngine(t, "clock=manual")
	if err := eng.AdvanceTime(time.UnixMilli(5000)); err != nil {
		t.Fatalf("AdvanceTime on a manual clock: %v", err)
	}
	sys := openEngine(t, "")
	err := sys.AdvanceTime(time.UnixMilli(5000))
	if !errors.Is(err, eddy.ErrInvalidArgument) || !strings.Contains(err.Error(), "clock=manual") {
		t.Fatalf("AdvanceTime on the system clock: %v", err)
	}
}

func TestStats(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	in := mustInput(t, eng, "Trades")
	sub := mustSubscribe(t, eng, "Big")
	for i := range 10 {
		if err := in.Append("S", float64(95+i), i); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, eng)
	if n := len(drain(t, sub)); n != 4 {
		t.Fatalf("got %d rows over 100, want 4", n)
	}
	st, err := eng.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Closed || len(st.Streams) != 2 || len(st.Queries) != 1 {
		t.Fatalf("stats %+v", st)
	}
	tr, _ := st.Stream("TRADES")
	big, _ := st.Stream("Big")
	if tr.Name != "Trades" || tr.EventsIn != 10 || tr.Dropped != 0 || tr.Rejected != 0 || tr.QueueDepth != 0 {
		t.Errorf("Trades %+v", tr)
	}
	if big.EventsIn != 4 || big.EventsOut != 4 || big.Subscribers != 1 {
		t.Errorf("Big %+v", big)
	}
	q := st.Queries[0]
	if q.Input != "Trades" || q.Output != "Big" || q.RowsIn != 10 || q.RowsOut != 4 || q.LastError != nil ||
		!strings.HasPrefix(q.SQL, "INSERT INTO Big") {
		t.Errorf("query %+v", q)
	}
	raw, err := eng.StatsJSON()
	if err != nil || !strings.HasPrefix(raw, `{"closed":false,`) {
		t.Errorf("StatsJSON = %q, %v", raw, err)
	}
}
