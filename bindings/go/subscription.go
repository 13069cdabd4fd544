package eddy

// #include "bridge.h"
import "C"

import (
	"bytes"
	"context"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/cdata"
)

// Subscription receives what one stream emits after Subscribe: pulled with
// Next / TryNext, or pushed to a callback run by Engine.Poll.
//
// Records are Arrow record batches whose buffers are eddy's, shared without
// copying; Release each one when done (LiveBatches counts those still
// held). All methods are safe for concurrent use; concurrent Next calls
// are served one at a time.
type Subscription struct {
	s *subState
}

type subState struct {
	mu     sync.Mutex // one C call at a time, and none after free
	closed atomic.Bool
	h      *C.eddy_subscription
	slot   *C.eddy_go_slot
	carr   *C.struct_ArrowArray
	csch   *C.struct_ArrowSchema
	cache  schemaCache
	eng    *engineState
	stream string
	schema *arrow.Schema
}

func newSubscription(h *C.eddy_subscription, eng *engineState, stream string, schema *arrow.Schema) *Subscription {
	s := &subState{
		h:      h,
		slot:   (*C.eddy_go_slot)(C.calloc(1, C.sizeof_eddy_go_slot)),
		carr:   (*C.struct_ArrowArray)(C.calloc(1, C.sizeof_struct_ArrowArray)),
		csch:   (*C.struct_ArrowSchema)(C.calloc(1, C.sizeof_struct_ArrowSchema)),
		eng:    eng,
		stream: stream,
		schema: schema,
	}
	sub := &Subscription{s: s}
	// A safety net only: a subscription nobody closed is freed (and its
	// callback released) when unreachable. A callback's closure that
	// refers to its Subscription keeps it reachable until Close.
	runtime.AddCleanup(sub, (*subState).free, s)
	return sub
}

var errSubClosed = &Error{Status: StatusClosed, Message: "the subscription is closed"}

func (sub *Subscription) lock() (*subState, error) {
	s := sub.s
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, errSubClosed
	}
	return s, nil
}

func (sub *Subscription) unlock() { sub.s.mu.Unlock() }

func (s *subState) check(st C.enum_eddy_status) error {
	if st == C.EDDY_OK {
		return nil
	}
	cerr := s.slot.err
	s.slot.err = nil
	return takeError(st, cerr)
}

// Stream is the subscribed stream's name.
func (sub *Subscription) Stream() string { return sub.s.stream }

// Schema is the subscribed stream's Arrow schema, that of its records.
func (sub *Subscription) Schema() *arrow.Schema { return sub.s.schema }

// Next waits for the next record. It returns ctx.Err() (or
// context.DeadlineExceeded) when ctx ends first, an error matching
// ErrEndOfStream (and io.EOF) once the engine is closed and everything was
// read, and ErrInvalidArgument while a callback is set. Release the record.
func (sub *Subscription) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ms, ok := sliceMillis(ctx, pollSlice)
		if !ok {
			return nil, context.DeadlineExceeded
		}
		// Short waits, with the lock released between them, let Close and
		// ctx interrupt a Next that has nothing to read.
		rec, err := sub.next(ms)
		if rec != nil || err != nil {
			return rec, err
		}
	}
}

// TryNext returns the next record if one is ready, else (nil, nil).
func (sub *Subscription) TryNext() (arrow.RecordBatch, error) {
	return sub.next(0)
}

func (sub *Subscription) next(ms C.int32_t) (arrow.RecordBatch, error) {
	s, err := sub.lock()
	if err != nil {
		return nil, err
	}
	defer sub.unlock()
	*s.carr = C.struct_ArrowArray{}
	*s.csch = C.struct_ArrowSchema{}
	st := C.eddy_subscription_next(s.h, ms, s.carr, s.csch, &s.slot.err)
	if st == C.EDDY_ERR_TIMEOUT {
		C.eddy_error_free(s.slot.err)
		s.slot.err = nil
		return nil, nil
	}
	if err := s.check(st); err != nil {
		return nil, err
	}
	C.eddy_go_track(s.carr)
	return s.cache.importBatch(s.carr, s.csch)
}

// SetCallback delivers the subscription's records to fn instead of Next:
// fn runs inside Engine.Poll (or TryPoll), on the polling goroutine, with a
// record that is released when fn returns (Retain it to keep it). fn may
// call into eddy, including closing this subscription or the engine. A nil
// fn removes the callback (back to Next).
func (sub *Subscription) SetCallback(fn func(arrow.RecordBatch)) error {
	s, err := sub.lock()
	if err != nil {
		return err
	}
	defer sub.unlock()
	if fn == nil {
		// eddy releases the previous callback's handle.
		return s.check(C.eddy_subscription_set_callback(s.h, nil, nil, nil, &s.slot.err))
	}
	cs := &callbackState{fn: fn, eng: s.eng}
	h := cgo.NewHandle(cs)
	liveCallbacks.Add(1)
	st := C.eddy_go_set_callback(s.h, C.uintptr_t(h), &s.slot.err)
	if st != C.EDDY_OK {
		// On failure eddy does not own the user data: release it here.
		freeCallback(h)
	}
	return s.check(C.enum_eddy_status(st))
}

// Close frees the subscription (and its callback). A second Close is a
// no-op; later calls give ErrClosed. Records already returned stay valid.
func (sub *Subscription) Close() error {
	sub.s.free()
	return nil
}

func (s *subState) free() {
	// Only the first Close frees; a later one (say from the subscription's
	// own callback while another goroutine closes it) returns at once.
	if s.closed.Swap(true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	C.eddy_subscription_free(s.h)
	C.free(unsafe.Pointer(s.carr))
	C.free(unsafe.Pointer(s.csch))
	C.free(unsafe.Pointer(s.slot))
	s.h, s.carr, s.csch, s.slot = nil, nil, nil, nil
}

// callbackState is what a cgo.Handle given to eddy as user data refers to.
type callbackState struct {
	fn    func(arrow.RecordBatch)
	eng   *engineState
	cache schemaCache
}

// liveCallbacks counts handles not yet released by eddy's free_user_data.
var liveCallbacks atomic.Int64

// freeCallback deletes the handle; cgo.Handle.Delete panics if it was
// already deleted, so a second release could not go unnoticed.
func freeCallback(h cgo.Handle) {
	h.Delete()
	liveCallbacks.Add(-1)
}

// schemaCache imports record batches, reusing the Arrow schema decoded for
// an earlier batch while eddy exports the same one (it always does for a
// stream) instead of decoding it for every batch.
type schemaCache struct {
	mu     sync.Mutex
	sig    []byte // eddy_go_schema_sig of the schema decoded last
	buf    []byte
	schema *arrow.Schema
}

// importBatch takes ownership of arr and sch: the record owns the array's
// memory (released when the record is), the schema is released here.
func (c *schemaCache) importBatch(arr *C.struct_ArrowArray, sch *C.struct_ArrowSchema) (arrow.RecordBatch, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	carr := (*cdata.CArrowArray)(unsafe.Pointer(arr))
	if len(c.buf) == 0 {
		c.buf = make([]byte, 256)
	}
	n := int(C.eddy_go_schema_sig(sch, (*C.char)(unsafe.Pointer(&c.buf[0])), C.size_t(len(c.buf))))
	if n > len(c.buf) {
		c.buf = make([]byte, n)
		C.eddy_go_schema_sig(sch, (*C.char)(unsafe.Pointer(&c.buf[0])), C.size_t(len(c.buf)))
	}
	if c.schema != nil && bytes.Equal(c.sig, c.buf[:n]) {
		cdata.ReleaseCArrowSchema((*cdata.CArrowSchema)(unsafe.Pointer(sch)))
	} else {
		c.schema, c.sig = nil, nil
		// importSchema releases sch, whatever its outcome.
		schema, err := importSchema(sch)
		if err != nil {
			cdata.ReleaseCArrowArray(carr)
			return nil, err
		}
		c.schema, c.sig = schema, bytes.Clone(c.buf[:n])
	}
	rec, err := cdata.ImportCRecordBatchWithSchema(carr, c.schema)
	if err != nil {
		if arr.release != nil {
			cdata.ReleaseCArrowArray(carr)
		}
		return nil, newError(StatusInternal, "cannot import a result batch: %v", err)
	}
	return rec, nil
}

func importSchema(csch *C.struct_ArrowSchema) (*arrow.Schema, error) {
	field, err := cdata.ImportCArrowField((*cdata.CArrowSchema)(unsafe.Pointer(csch)))
	if err != nil {
		return nil, newError(StatusInternal, "cannot import a result schema: %v", err)
	}
	st, ok := field.Type.(*arrow.StructType)
	if !ok {
		return nil, newError(StatusInternal, "a result batch is a %s, not a struct", field.Type)
	}
	return arrow.NewSchema(st.Fields(), &field.Metadata), nil
}
