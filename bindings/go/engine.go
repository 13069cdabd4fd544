package eddy

// #include "bridge.h"
import "C"

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/cdata"
)

// How long one C call of a blocking method may wait before the method looks
// at its context again: the bound on how late a cancellation is noticed.
const (
	pollSlice     = 25 * time.Millisecond
	flushSliceMin = 10 * time.Millisecond
	flushSliceMax = 200 * time.Millisecond
)

// Engine is an eddy engine: streams, continuous queries and the worker
// thread that runs them. All its methods are safe for concurrent use, as
// eddy_engine is thread-safe.
type Engine struct {
	s *engineState
}

type engineState struct {
	h *C.eddy_engine
	// One reference for the owner until Close, plus one per call in flight:
	// the handle is freed when the last one goes, so Close may run while
	// other goroutines (or a callback inside Poll) still use the engine.
	refs   atomic.Int64
	closed atomic.Bool

	// Closed once Close has stored the final counters.
	closeDone  chan struct{}
	finalStats string

	// A panic or error from a callback, raised by the Poll that ran it.
	pendingMu sync.Mutex
	pending   any
}

// Open starts an engine. options is "" for the defaults or
// "key=value;key=value" (docs/c-api.md lists the keys).
func Open(options string) (*Engine, error) {
	if err := versionCheck(); err != nil {
		return nil, err
	}
	var copts *C.char
	if options != "" {
		var err error
		if copts, err = cstring(options, "options"); err != nil {
			return nil, err
		}
		defer C.free(unsafe.Pointer(copts))
	}
	var h *C.eddy_engine
	var cerr *C.eddy_error
	if st := C.eddy_engine_open(copts, &h, &cerr); st != C.EDDY_OK {
		return nil, takeError(st, cerr)
	}
	s := &engineState{h: h, closeDone: make(chan struct{})}
	s.refs.Store(1)
	e := &Engine{s: s}
	// A safety net only: an engine that is never closed is closed (inputs
	// drained) when it becomes unreachable.
	runtime.AddCleanup(e, (*engineState).abandon, s)
	return e, nil
}

var errEngineClosed = &Error{Status: StatusClosed, Message: "the engine is closed"}

func (s *engineState) acquire() error {
	for {
		r := s.refs.Load()
		if r == 0 || s.closed.Load() {
			return errEngineClosed
		}
		if s.refs.CompareAndSwap(r, r+1) {
			return nil
		}
	}
}

func (s *engineState) release() {
	if s.refs.Add(-1) == 0 {
		C.eddy_engine_free(s.h)
	}
}

func (s *engineState) abandon() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.closeDone)
		s.release()
	}
}

// Close stops accepting input, drains every queue, ends every subscription
// and frees the engine. Results already produced stay readable through
// their subscriptions, and Stats keeps answering with the final counters.
// Inputs and subscriptions must still be closed. A second Close is a no-op.
// Close may be called from a subscription callback.
func (e *Engine) Close() error {
	s := e.s
	if s.acquire() != nil {
		return nil
	}
	if !s.closed.CompareAndSwap(false, true) {
		s.release()
		return nil
	}
	var cerr *C.eddy_error
	err := takeError(C.eddy_engine_close(s.h, &cerr), cerr)
	if doc, serr := statsJSON(s.h); serr == nil {
		s.finalStats = doc
	}
	close(s.closeDone)
	s.release()
	s.release() // the owner's reference
	return err
}

// Execute runs one or more ';'-separated statements (CREATE STREAM,
// INSERT INTO ... SELECT); all of them apply or none does. SQL errors carry
// StatusSQL and a message starting with "line L:C:".
func (e *Engine) Execute(sql string) error {
	s := e.s
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	csql, err := cstring(sql, "sql")
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(csql))
	var cerr *C.eddy_error
	return takeError(C.eddy_engine_execute(s.h, csql, &cerr), cerr)
}

// Flush returns once every event pushed (by any goroutine) before the call
// has been processed and its results are queued for subscribers. It gives
// ctx.Err() (or context.DeadlineExceeded) when ctx ends first; events keep
// being processed regardless.
func (e *Engine) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := e.s
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	var cerr *C.eddy_error
	if ctx.Done() == nil {
		// Nothing can cancel: one wait, which Close ends.
		return takeError(C.eddy_engine_flush(s.h, -1, &cerr), cerr)
	}
	// Later calls wait for at least what earlier ones did, so retrying
	// keeps the guarantee. Growing slices keep a long backlog from being
	// retried forever while still noticing ctx quickly at first.
	slice := flushSliceMin
	for {
		ms, ok := sliceMillis(ctx, slice)
		if !ok {
			return context.DeadlineExceeded
		}
		st := C.eddy_engine_flush(s.h, ms, &cerr)
		if st != C.EDDY_ERR_TIMEOUT {
			return takeError(st, cerr)
		}
		C.eddy_error_free(cerr)
		cerr = nil
		if err := ctx.Err(); err != nil {
			return err
		}
		slice = min(2*slice, flushSliceMax)
	}
}

// Poll runs pending subscription callbacks on the calling goroutine and
// returns how many batches it delivered. It waits until it delivered at
// least one, or ctx ends (0, ctx.Err()), or the engine is closed and
// everything was delivered (0, an error matching ErrClosed).
//
// If a callback panicked, Poll panics with a *PanicError once the C call
// has returned (the other pending callbacks have run by then).
func (e *Engine) Poll(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s := e.s
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	for {
		ms := C.int32_t(-1)
		if ctx.Done() != nil {
			var ok bool
			if ms, ok = sliceMillis(ctx, pollSlice); !ok {
				return 0, context.DeadlineExceeded
			}
		}
		n, err := s.poll(ms)
		if err != nil || n > 0 {
			return n, err
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
}

// TryPoll runs the callbacks of what is pending now, without waiting.
// It returns (0, nil) when nothing was pending.
func (e *Engine) TryPoll() (int, error) {
	s := e.s
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	return s.poll(0)
}

func (s *engineState) poll(ms C.int32_t) (int, error) {
	var n C.size_t
	var cerr *C.eddy_error
	err := takeError(C.eddy_engine_poll(s.h, ms, &n, &cerr), cerr)
	if p := s.takePending(); p != nil {
		if pe, ok := p.(*PanicError); ok {
			panic(pe)
		}
		return int(n), p.(error)
	}
	return int(n), err
}

func (s *engineState) setPending(v any) {
	s.pendingMu.Lock()
	if s.pending == nil {
		s.pending = v
	}
	s.pendingMu.Unlock()
}

func (s *engineState) takePending() any {
	s.pendingMu.Lock()
	v := s.pending
	s.pending = nil
	s.pendingMu.Unlock()
	return v
}

// AdvanceTime moves the engine's clock to now (engine option clock=manual
// only; it is read in milliseconds since the Unix epoch, so tests may use
// time.UnixMilli(n)).
func (e *Engine) AdvanceTime(now time.Time) error {
	s := e.s
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	var cerr *C.eddy_error
	return takeError(C.eddy_engine_advance_time(s.h, C.int64_t(now.UnixMilli()), &cerr), cerr)
}

// StatsJSON is the engine's counters as eddy writes them
// (eddy_engine_stats_json). After Close it is the final document, taken
// when Close had drained the engine.
func (e *Engine) StatsJSON() (string, error) {
	s := e.s
	if err := s.acquire(); err != nil {
		<-s.closeDone
		if s.finalStats == "" {
			return "", err
		}
		return s.finalStats, nil
	}
	defer s.release()
	return statsJSON(s.h)
}

// Stats is StatsJSON decoded.
func (e *Engine) Stats() (*Stats, error) {
	doc, err := e.StatsJSON()
	if err != nil {
		return nil, err
	}
	return decodeStats(doc)
}

func statsJSON(h *C.eddy_engine) (string, error) {
	var out *C.char
	var cerr *C.eddy_error
	if st := C.eddy_engine_stats_json(h, &out, &cerr); st != C.EDDY_OK {
		return "", takeError(st, cerr)
	}
	defer C.eddy_string_free(out)
	return C.GoString(out), nil
}

// StreamSchema is the Arrow schema of a stream (a declared one, or a
// query's output), known before any row arrives. Unknown streams give an
// error matching ErrNotFound.
func (e *Engine) StreamSchema(stream string) (*arrow.Schema, error) {
	s := e.s
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	return s.streamSchema(stream)
}

func (s *engineState) streamSchema(stream string) (*arrow.Schema, error) {
	cname, err := cstring(stream, "stream")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	csch := (*C.struct_ArrowSchema)(C.calloc(1, C.sizeof_struct_ArrowSchema))
	defer C.free(unsafe.Pointer(csch))
	var cerr *C.eddy_error
	if st := C.eddy_engine_stream_schema(s.h, cname, csch, &cerr); st != C.EDDY_OK {
		return nil, takeError(st, cerr)
	}
	// ImportCArrowSchema releases the C schema, whatever its result.
	sch, err := cdata.ImportCArrowSchema((*cdata.CArrowSchema)(unsafe.Pointer(csch)))
	if err != nil {
		return nil, newError(StatusInternal, "cannot import the schema of %q: %v", stream, err)
	}
	return sch, nil
}

// OpenInput opens a producer on stream. An Input is used by one goroutine
// at a time; open one per producing goroutine.
func (e *Engine) OpenInput(stream string) (*Input, error) {
	s := e.s
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	schema, err := s.streamSchema(stream)
	if err != nil {
		return nil, err
	}
	cname, err := cstring(stream, "stream")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	var h *C.eddy_input
	var cerr *C.eddy_error
	if st := C.eddy_input_open(s.h, cname, &h, &cerr); st != C.EDDY_OK {
		return nil, takeError(st, cerr)
	}
	return newInput(h, stream, schema), nil
}

// Subscribe starts receiving everything stream emits from now on, pulled
// with Next or pushed to a callback (SetCallback).
func (e *Engine) Subscribe(stream string) (*Subscription, error) {
	s := e.s
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	schema, err := s.streamSchema(stream)
	if err != nil {
		return nil, err
	}
	cname, err := cstring(stream, "stream")
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cname))
	var h *C.eddy_subscription
	var cerr *C.eddy_error
	if st := C.eddy_subscribe(s.h, cname, &h, &cerr); st != C.EDDY_OK {
		return nil, takeError(st, cerr)
	}
	return newSubscription(h, s, stream, schema), nil
}

// cstring copies s into C memory (free it with C.free); eddy takes
// NUL-terminated strings, so an embedded NUL is refused rather than
// silently cutting the string.
func cstring(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, newError(StatusInvalidArgument, "%s contains a NUL byte", what)
	}
	return C.CString(s), nil
}

// sliceMillis is how long the next C call may wait: slice, cut to ctx's
// deadline and rounded up to whole milliseconds; false once the deadline
// has passed.
func sliceMillis(ctx context.Context, slice time.Duration) (C.int32_t, bool) {
	if dl, ok := ctx.Deadline(); ok {
		rem := time.Until(dl)
		if rem <= 0 {
			return 0, false
		}
		slice = min(slice, rem)
	}
	return C.int32_t((slice + time.Millisecond - 1) / time.Millisecond), true
}
