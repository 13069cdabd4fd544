package eddy_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	eddy "github.com/eddy-stream/eddy/bindings/go"
)

// within fails unless d is in [lo, hi]. The upper bounds leave room for a
// loaded machine; what they catch is a wait that ignores its context.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v", what, d, lo, hi)
	}
}

func TestNextContext(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	goroutines := runtime.NumGoroutine()

	// Nothing arrives: the deadline ends the wait, on time.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	start := time.Now()
	rec, err := sub.Next(ctx)
	cancel()
	if rec != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past its deadline = %v, %v", rec, err)
	}
	within(t, "Next with a 120ms deadline", time.Since(start), 115*time.Millisecond, 600*time.Millisecond)

	// Cancelled from another goroutine while waiting.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(60*time.Millisecond, cancel)
	start = time.Now()
	_, err = sub.Next(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Next = %v", err)
	}
	within(t, "Next cancelled after 60ms", time.Since(start), 55*time.Millisecond, 500*time.Millisecond)

	// Already cancelled: no wait at all, even with data ready.
	if err := in.Append("A", 500.0, 1); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	if _, err := sub.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on a cancelled ctx = %v", err)
	}

	// Data arriving while Next waits is returned.
	rec, err = sub.Next(context.Background())
	if err != nil || !reflect.DeepEqual(rowsOf(rec), [][]any{{"A", 500.0}}) {
		t.Fatalf("Next = %v, %v", rec, err)
	}
	rec.Release()
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = in.Append("B", 600.0, 2)
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	rec, err = sub.Next(ctx)
	cancel()
	if err != nil || !reflect.DeepEqual(rowsOf(rec), [][]any{{"B", 600.0}}) {
		t.Fatalf("Next after a late row = %v, %v", rec, err)
	}
	rec.Release()

	// No goroutine was left behind by the cancelled waits.
	time.Sleep(20 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines after the waits, %d before", n, goroutines)
	}
}

func TestCloseInterruptsNext(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	sub2 := mustSubscribe(t, eng, "Big")
	done := make(chan error, 2)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	go func() {
		_, err := sub2.Next(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)

	// Closing the subscription ends its wait with ErrClosed...
	start := time.Now()
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, eddy.ErrClosed) {
		t.Fatalf("Next interrupted by Close = %v", err)
	}
	within(t, "Close of a waited-on subscription", time.Since(start), 0, 500*time.Millisecond)

	// ...closing the engine ends the other's with ErrEndOfStream.
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eddy.ErrEndOfStream) {
			t.Fatalf("Next interrupted by engine Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next still waiting 5s after the engine closed")
	}
}

func TestCallbacksAndPoll(t *testing.T) {
	live := eddy.LiveCallbacks()
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")

	var got [][]any
	var kept arrow.RecordBatch
	if err := sub.SetCallback(func(rec arrow.RecordBatch) {
		got = append(got, rowsOf(rec)...)
		if kept == nil {
			rec.Retain() // outlives the callback
			kept = rec
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n := eddy.LiveCallbacks() - live; n != 1 {
		t.Fatalf("%d live callback handles, want 1", n)
	}
	// A pushed subscription cannot be pulled.
	if _, err := sub.TryNext(); !errors.Is(err, eddy.ErrInvalidArgument) {
		t.Errorf("TryNext with a callback = %v", err)
	}

	// Nothing pending: TryPoll delivers nothing, Poll waits out its ctx.
	if n, err := eng.TryPoll(); n != 0 || err != nil {
		t.Fatalf("TryPoll = %d, %v", n, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	start := time.Now()
	n, err := eng.Poll(ctx)
	cancel()
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll with nothing pending = %d, %v", n, err)
	}
	within(t, "Poll with an 80ms deadline", time.Since(start), 75*time.Millisecond, 500*time.Millisecond)

	for _, r := range [][]any{{"A", 101.0, 1}, {"B", 5.0, 2}, {"C", 300.5, 3}} {
		if err := in.Append(r...); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, eng)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	total := 0
	for len(got) < 2 {
		n, err := eng.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if want := [][]any{{"A", 101.0}, {"C", 300.5}}; !reflect.DeepEqual(got, want) || total < 1 {
		t.Fatalf("callback rows %v (in %d batches), want %v", got, total, want)
	}
	if !reflect.DeepEqual(rowsOf(kept)[0], []any{"A", 101.0}) {
		t.Errorf("retained record reads %v", rowsOf(kept))
	}
	kept.Release()

	// Replacing the callback releases the old handle; nil goes back to pull.
	if err := sub.SetCallback(func(arrow.RecordBatch) {}); err != nil {
		t.Fatal(err)
	}
	if n := eddy.LiveCallbacks() - live; n != 1 {
		t.Errorf("%d live handles after replacing the callback, want 1", n)
	}
	if err := sub.SetCallback(nil); err != nil {
		t.Fatal(err)
	}
	if n := eddy.LiveCallbacks() - live; n != 0 {
		t.Errorf("%d live handles after removing the callback, want 0", n)
	}
	if err := in.Append("D", 400.0, 4); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	if rows := drain(t, sub); !reflect.DeepEqual(rows, [][]any{{"D", 400.0}}) {
		t.Errorf("pulled after removing the callback: %v", rows)
	}

	// Closing a subscription releases its handle.
	if err := sub.SetCallback(func(arrow.RecordBatch) {}); err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if n := eddy.LiveCallbacks() - live; n != 0 {
		t.Errorf("%d live handles after Close, want 0", n)
	}
}

func TestCallbackClosesItsSubscription(t *testing.T) {
	live, batches := eddy.LiveCallbacks(), eddy.LiveBatches()
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	calls := 0
	if err := sub.SetCallback(func(rec arrow.RecordBatch) {
		calls++
		if err := sub.Close(); err != nil {
			t.Errorf("Close from the callback: %v", err)
		}
		// The record stays valid until the callback returns.
		if rec.NumRows() != 1 || rowsOf(rec)[0][0] != "A" {
			t.Errorf("record after Close: %v", rowsOf(rec))
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := in.Append("A", 200.0, 1); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	if err := in.Append("B", 200.0, 1); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	for range 3 {
		if _, err := eng.TryPoll(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("callback ran %d times, want 1 (its subscription closed)", calls)
	}
	if n := eddy.LiveCallbacks() - live; n != 0 {
		t.Errorf("%d live handles after the callback closed its subscription", n)
	}
	if n := eddy.LiveBatches() - batches; n != 0 {
		t.Errorf("%d callback batches not released", n)
	}
}

func TestCallbackPanic(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	var seen []string
	if err := sub.SetCallback(func(rec arrow.RecordBatch) {
		s := rowsOf(rec)[0][0].(string)
		seen = append(seen, s)
		if s == "BOOM" {
			panic("boom")
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"BOOM", "AFTER"} {
		if err := in.Append(s, 200.0, 1); err != nil {
			t.Fatal(err)
		}
		flush(t, eng)
	}
	func() {
		defer func() {
			r := recover()
			pe, ok := r.(*eddy.PanicError)
			if !ok || pe.Value != "boom" || !strings.Contains(pe.Error(), "callback panicked: boom") ||
				len(pe.Stack) == 0 {
				t.Errorf("Poll panicked with %#v, want a *PanicError for boom", r)
			}
		}()
		_, _ = eng.TryPoll()
		t.Error("TryPoll did not panic")
	}()
	// eddy went on delivering after the panicking callback: the engine is fine.
	for len(seen) < 2 {
		if _, err := eng.TryPoll(); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(seen, []string{"BOOM", "AFTER"}) {
		t.Errorf("callbacks saw %v", seen)
	}
	if err := in.Append("LATER", 200.0, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := eng.Poll(ctx); err != nil || seen[len(seen)-1] != "LATER" {
		t.Errorf("Poll after a panic: %v, seen %v", err, seen)
	}
}

func TestPollEndsWhenEngineCloses(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	var mu sync.Mutex
	var got []string
	if err := sub.SetCallback(func(rec arrow.RecordBatch) {
		mu.Lock()
		for _, r := range rowsOf(rec) {
			got = append(got, r[0].(string))
		}
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			// No deadline: only the engine's end stops this loop.
			if _, err := eng.Poll(context.Background()); err != nil {
				done <- err
				return
			}
		}
	}()
	if err := in.Append("LAST", 999.0, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, eddy.ErrClosed) {
			t.Errorf("Poll after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Poll still blocked 5s after Close")
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(got, []string{"LAST"}) {
		t.Errorf("delivered %v, want [LAST]", got)
	}
}

func TestCallbackClosesEngine(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	if err := sub.SetCallback(func(arrow.RecordBatch) {
		if err := eng.Close(); err != nil {
			t.Errorf("engine Close from a callback: %v", err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := in.Append("A", 200.0, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := eng.Poll(ctx); n != 1 || err != nil {
		t.Fatalf("Poll = %d, %v", n, err)
	}
	if _, err := eng.Poll(ctx); !errors.Is(err, eddy.ErrClosed) {
		t.Errorf("Poll after the callback closed the engine = %v", err)
	}
	if st, err := eng.Stats(); err != nil || !st.Closed {
		t.Errorf("final stats %+v, %v", st, err)
	}
}

func TestFlushDeadline(t *testing.T) {
	// The worker stalls on a full, unread subscriber, so a flush cannot
	// complete: its ctx must end it on time.
	eng := openEngine(t, "queue_capacity=4;subscriber_capacity=1;subscriber_overflow=block;overflow=drop_newest")
	mustExec(t, eng, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S")
	mustSubscribe(t, eng, "Out")
	in := mustInput(t, eng, "S")
	// The first row fills the subscriber; the worker then stalls on the
	// second.
	if err := in.Append(0); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	if err := in.Append(1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	start := time.Now()
	err := eng.Flush(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush of a stalled engine = %v", err)
	}
	within(t, "Flush with a 150ms deadline", time.Since(start), 145*time.Millisecond, 700*time.Millisecond)

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	if err := eng.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Flush = %v", err)
	}
	within(t, "Flush cancelled after 50ms", time.Since(start), 45*time.Millisecond, 500*time.Millisecond)
}

func TestCleanupReleasesForgottenHandles(t *testing.T) {
	live := eddy.LiveCallbacks()
	func() {
		eng, err := eddy.Open("")
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, eng, tradesSQL)
		sub, err := eng.Subscribe("Big")
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetCallback(func(arrow.RecordBatch) {}); err != nil {
			t.Fatal(err)
		}
		in, err := eng.OpenInput("Trades")
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Append("A", 1.0, 1); err != nil {
			t.Fatal(err)
		}
		// Nothing is closed: the garbage collector's cleanups must do it.
	}()
	deadline := time.Now().Add(5 * time.Second)
	for eddy.LiveCallbacks() != live && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := eddy.LiveCallbacks() - live; n != 0 {
		t.Errorf("%d callback handles still live after the subscription became unreachable", n)
	}
}

func TestCloseEndsFlush(t *testing.T) {
	eng := openEngine(t, "queue_capacity=4;subscriber_capacity=1;subscriber_overflow=block")
	mustExec(t, eng, "CREATE STREAM S (a INT); INSERT INTO Out SELECT a FROM S")
	mustSubscribe(t, eng, "Out")
	in := mustInput(t, eng, "S")
	if err := in.Append(0); err != nil {
		t.Fatal(err)
	}
	flush(t, eng)
	if err := in.Append(1); err != nil { // stalls the worker
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Flush(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("Flush of a stalled engine returned %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		// Close processed everything the flush waited for.
		if err != nil && !errors.Is(err, eddy.ErrClosed) {
			t.Errorf("Flush ended by Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush still waiting 5s after Close")
	}
}

func TestCallbackReplacesItself(t *testing.T) {
	live := eddy.LiveCallbacks()
	eng := openEngine(t, "")
	mustExec(t, eng, tradesSQL)
	sub := mustSubscribe(t, eng, "Big")
	in := mustInput(t, eng, "Trades")
	var first, second []string
	err := sub.SetCallback(func(rec arrow.RecordBatch) {
		first = append(first, rowsOf(rec)[0][0].(string))
		// From inside the callback: the next batches go to another one.
		if err := sub.SetCallback(func(rec arrow.RecordBatch) {
			second = append(second, rowsOf(rec)[0][0].(string))
			if err := sub.SetCallback(nil); err != nil { // back to pull
				t.Errorf("SetCallback(nil) from a callback: %v", err)
			}
		}); err != nil {
			t.Errorf("SetCallback from a callback: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ONE", "TWO", "THREE"} {
		if err := in.Append(s, 200.0, 1); err != nil {
			t.Fatal(err)
		}
		flush(t, eng)
		if _, err := eng.TryPoll(); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(first, []string{"ONE"}) || !reflect.DeepEqual(second, []string{"TWO"}) {
		t.Errorf("first callback saw %v, second %v", first, second)
	}
	if rows := drain(t, sub); !reflect.DeepEqual(rows, [][]any{{"THREE", 200.0}}) {
		t.Errorf("pulled %v", rows)
	}
	if n := eddy.LiveCallbacks() - live; n != 0 {
		t.Errorf("%d callback handles left", n)
	}
}

// Several producers and two polling goroutines at once, for the race
// detector; every row must arrive exactly once.
func TestConcurrentPollers(t *testing.T) {
	eng := openEngine(t, "")
	mustExec(t, eng, "CREATE STREAM S (p INT, i INT)")
	var subs []*eddy.Subscription
	var mu sync.Mutex
	counts := map[[2]int32]int{}
	for range 3 {
		sub := mustSubscribe(t, eng, "S")
		if err := sub.SetCallback(func(rec arrow.RecordBatch) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rowsOf(rec) {
				counts[[2]int32{r[0].(int32), r[1].(int32)}]++
			}
		}); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	const producers, rows = 3, 500
	ctx, cancel := context.WithCancel(context.Background())
	var pollers sync.WaitGroup
	for range 2 {
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			for ctx.Err() == nil {
				if _, err := eng.Poll(ctx); err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("Poll: %v", err)
					return
				}
			}
		}()
	}
	var producersWG sync.WaitGroup
	for p := range producers {
		producersWG.Add(1)
		go func() {
			defer producersWG.Done()
			in, err := eng.OpenInput("S")
			if err != nil {
				t.Error(err)
				return
			}
			defer in.Close()
			for i := range rows {
				if err := in.Append(p, i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	producersWG.Wait()
	flush(t, eng)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(counts)
		mu.Unlock()
		if n == producers*rows || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	pollers.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(counts) != producers*rows {
		t.Fatalf("%d distinct rows delivered, want %d", len(counts), producers*rows)
	}
	for k, n := range counts {
		if n != len(subs) {
			t.Fatalf("row %v delivered %d times, want once per subscription (%d)", k, n, len(subs))
		}
	}
}
