package eddy

// #include "bridge.h"
//
// // Setters only write into the open row: they never reach Go code.
// #cgo nocallback eddy_input_begin_row
// #cgo nocallback eddy_input_abort_row
// #cgo nocallback eddy_input_set_null
// #cgo nocallback eddy_input_set_bool
// #cgo nocallback eddy_input_set_i32
// #cgo nocallback eddy_input_set_i64
// #cgo nocallback eddy_input_set_f32
// #cgo nocallback eddy_input_set_f64
// #cgo nocallback eddy_input_set_str
// #cgo noescape eddy_input_set_str
import "C"

import (
	"math"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/cdata"
)

// Input is a producer on one stream: rows through BeginRow / Set* / EndRow
// or Append, batches through PushRecord.
//
// Like eddy_input it is a single producer: use it from one goroutine at a
// time (concurrent calls are serialized, never unsafe, but interleaved rows
// are the caller's bug). Open one Input per producing goroutine; each
// Input's rows keep their order in every output.
//
// Under overflow=block a push that finds the queue full for push_timeout_ms
// fails with an error matching ErrFull, having ingested nothing; under the
// drop policies it succeeds and the discarded rows are counted in the
// stream's Dropped statistic.
type Input struct {
	s *inputState
}

type inputState struct {
	mu     sync.Mutex
	h      *C.eddy_input
	slot   *C.eddy_go_slot // C memory: the calls' error out-parameter
	closed bool

	stream string
	schema *arrow.Schema
	types  []Type

	// Append's row, reused: values and the bytes of its strings.
	vals []C.eddy_go_value
	strs []byte

	// PushRecord's C Data Interface structs, and the schema exported into
	// csch (eddy only borrows it, so it is kept while the schema repeats).
	carr   *C.struct_ArrowArray
	csch   *C.struct_ArrowSchema
	pushed *arrow.Schema
}

func newInput(h *C.eddy_input, stream string, schema *arrow.Schema) *Input {
	n := int(C.eddy_input_num_columns(h))
	s := &inputState{
		h:      h,
		slot:   (*C.eddy_go_slot)(C.calloc(1, C.sizeof_eddy_go_slot)),
		stream: stream,
		schema: schema,
		types:  make([]Type, n),
		vals:   make([]C.eddy_go_value, n),
	}
	for i := range s.types {
		s.types[i] = Type(C.eddy_input_column_type(h, C.uint32_t(i)))
	}
	in := &Input{s: s}
	// A safety net only: an Input nobody closed is closed when unreachable.
	runtime.AddCleanup(in, (*inputState).free, s)
	return in
}

var errInputClosed = &Error{Status: StatusClosed, Message: "the input is closed"}

// lock takes the input for one call; unlock (through the *Input, which
// keeps it reachable until the C call is over) gives it back.
func (in *Input) lock() (*inputState, error) {
	s := in.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errInputClosed
	}
	return s, nil
}

func (in *Input) unlock() { in.s.mu.Unlock() }

func (s *inputState) check(st C.enum_eddy_status) error {
	if st == C.EDDY_OK {
		return nil
	}
	cerr := s.slot.err
	s.slot.err = nil
	return takeError(st, cerr)
}

func column(col int) (C.uint32_t, error) {
	if col < 0 || col > math.MaxUint32 {
		return 0, newError(StatusInvalidArgument, "column index %d is out of range", col)
	}
	return C.uint32_t(col), nil
}

// Close ends the input (its rows stay queued and are processed) and frees
// it. A second Close is a no-op; later calls give ErrClosed. When eddy
// cannot queue the input's end within push_timeout_ms (a full queue under
// overflow=block) Close returns an error matching ErrFull; the input is
// freed regardless.
func (in *Input) Close() error {
	s := in.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	st := C.eddy_input_close(s.h, &s.slot.err)
	err := s.check(st)
	if StatusOf(err) == StatusClosed {
		err = nil // the engine was closed first: the input is ended anyway
	}
	s.release()
	return err
}

func (s *inputState) free() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.release()
	}
}

func (s *inputState) release() {
	s.closed = true
	C.eddy_input_free(s.h)
	if s.csch != nil && s.csch.release != nil {
		cdata.ReleaseCArrowSchema((*cdata.CArrowSchema)(unsafe.Pointer(s.csch)))
	}
	C.free(unsafe.Pointer(s.csch))
	C.free(unsafe.Pointer(s.carr))
	C.free(unsafe.Pointer(s.slot))
	s.h, s.csch, s.carr, s.slot = nil, nil, nil, nil
}

// Stream is the name the input was opened on.
func (in *Input) Stream() string { return in.s.stream }

// Schema is the stream's Arrow schema: what PushRecord expects.
func (in *Input) Schema() *arrow.Schema { return in.s.schema }

// NumColumns is the number of columns of the stream.
func (in *Input) NumColumns() int { return len(in.s.types) }

// ColumnType is the type of column col (TypeInvalid when out of range).
func (in *Input) ColumnType(col int) Type {
	if col < 0 || col >= len(in.s.types) {
		return TypeInvalid
	}
	return in.s.types[col]
}

// ColumnIndex finds a column by name, case-insensitively as SQL does; an
// error matching ErrNotFound when the stream has no such column.
func (in *Input) ColumnIndex(name string) (int, error) {
	cname, err := cstring(name, "column name")
	if err != nil {
		return -1, err
	}
	defer C.free(unsafe.Pointer(cname))
	s, err := in.lock()
	if err != nil {
		return -1, err
	}
	var out C.uint32_t
	err = s.check(C.eddy_input_column_index(s.h, cname, &out, &s.slot.err))
	in.unlock()
	if err != nil {
		return -1, err
	}
	return int(out), nil
}

// BeginRow starts a row. Columns not set before EndRow are NULL.
func (in *Input) BeginRow() error {
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_begin_row(s.h, &s.slot.err))
	in.unlock()
	return err
}

// EndRow commits the open row. If it fails the row was not ingested.
func (in *Input) EndRow() error {
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_end_row(s.h, &s.slot.err))
	in.unlock()
	return err
}

// AbortRow discards the open row (after a setter failed, say); a no-op when
// no row is open.
func (in *Input) AbortRow() error {
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_abort_row(s.h, &s.slot.err))
	in.unlock()
	return err
}

// Watermark declares that no row with an event time (epoch milliseconds)
// below ts follows on this input's stream, which must be declared WITH
// (event_time = 'col'): event-time windows ending at or before ts fire. It
// travels in order with the rows pushed before it and never moves the
// watermark back. A stream without event time gives an error matching
// ErrInvalidArgument.
func (in *Input) Watermark(ts int64) error {
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_watermark(s.h, C.int64_t(ts), &s.slot.err))
	in.unlock()
	return err
}

// The setters address columns by index (0-based, in declaration order) and
// must match the column's type, else an error matching ErrSchema names the
// right one. A failed setter leaves the row open.

// SetNull sets column col of the open row to NULL.
func (in *Input) SetNull(col int) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_null(s.h, c, &s.slot.err))
	in.unlock()
	return err
}

// SetBool sets a BOOL column.
func (in *Input) SetBool(col int, v bool) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_bool(s.h, c, C.bool(v), &s.slot.err))
	in.unlock()
	return err
}

// SetInt32 sets an INT column.
func (in *Input) SetInt32(col int, v int32) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_i32(s.h, c, C.int32_t(v), &s.slot.err))
	in.unlock()
	return err
}

// SetInt64 sets a BIGINT column, or a TIMESTAMP one in milliseconds since
// the Unix epoch.
func (in *Input) SetInt64(col int, v int64) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_i64(s.h, c, C.int64_t(v), &s.slot.err))
	in.unlock()
	return err
}

// SetTimestamp sets a TIMESTAMP column (kept to the millisecond).
func (in *Input) SetTimestamp(col int, t time.Time) error {
	return in.SetInt64(col, t.UnixMilli())
}

// SetFloat32 sets a FLOAT column.
func (in *Input) SetFloat32(col int, v float32) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_f32(s.h, c, C.float(v), &s.slot.err))
	in.unlock()
	return err
}

// SetFloat64 sets a DOUBLE column.
func (in *Input) SetFloat64(col int, v float64) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_f64(s.h, c, C.double(v), &s.slot.err))
	in.unlock()
	return err
}

// SetString sets a STRING column. eddy copies the bytes and checks they are
// UTF-8 (ErrInvalidArgument otherwise).
func (in *Input) SetString(col int, v string) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_str(s.h, c, (*C.char)(unsafe.Pointer(unsafe.StringData(v))), C.size_t(len(v)), &s.slot.err))
	in.unlock()
	return err
}

// SetBytes sets a STRING column from UTF-8 bytes (copied).
func (in *Input) SetBytes(col int, v []byte) error {
	c, err := column(col)
	if err != nil {
		return err
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	err = s.check(C.eddy_input_set_str(s.h, c, (*C.char)(unsafe.Pointer(unsafe.SliceData(v))), C.size_t(len(v)), &s.slot.err))
	in.unlock()
	return err
}

// Append pushes one row: one value per column, in column order, in a single
// call into eddy. nil is NULL. Accepted Go values per column type:
//
//	BOOL       bool
//	INT        any Go integer within int32's range
//	BIGINT     any Go integer within int64's range
//	TIMESTAMP  time.Time, or an integer of milliseconds since the epoch
//	FLOAT      float32, float64, any Go integer
//	DOUBLE     float64, float32, any Go integer
//	STRING     string, []byte (UTF-8)
//
// A value the column does not take is an error matching ErrSchema (out of
// range: ErrInvalidArgument) naming the column; nothing of the row is
// ingested then. A row must not be open (BeginRow) around Append.
func (in *Input) Append(values ...any) error {
	s, err := in.lock()
	if err != nil {
		return err
	}
	defer in.unlock()
	if len(values) != len(s.types) {
		return newError(StatusInvalidArgument, "Append got %d values; stream %s has %d columns",
			len(values), s.stream, len(s.types))
	}
	if len(values) == 0 {
		return newError(StatusInvalidArgument, "stream %s has no columns", s.stream)
	}
	s.strs = s.strs[:0]
	for i, v := range values {
		if err := s.encode(i, v); err != nil {
			return err
		}
	}
	var strs *C.char
	if len(s.strs) > 0 {
		strs = (*C.char)(unsafe.Pointer(&s.strs[0]))
	}
	st := C.eddy_go_append_row(s.h, &s.vals[0], C.uint32_t(len(s.vals)), strs, &s.slot.bad_col, &s.slot.err)
	return s.check(C.enum_eddy_status(st))
}

func (s *inputState) encode(col int, v any) error {
	cv := &s.vals[col]
	t := s.types[col]
	cv._type = C.EDDY_TYPE_INVALID
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		if t == TypeBool {
			cv.i = 0
			if x {
				cv.i = 1
			}
			cv._type = C.int32_t(t)
			return nil
		}
	case string:
		if t == TypeString {
			cv.i, cv.len = C.int64_t(len(s.strs)), C.uint64_t(len(x))
			s.strs = append(s.strs, x...)
			cv._type = C.int32_t(t)
			return nil
		}
	case []byte:
		if t == TypeString {
			cv.i, cv.len = C.int64_t(len(s.strs)), C.uint64_t(len(x))
			s.strs = append(s.strs, x...)
			cv._type = C.int32_t(t)
			return nil
		}
	case float64:
		return s.encodeFloat(col, x, v)
	case float32:
		return s.encodeFloat(col, float64(x), v)
	case time.Time:
		if t == TypeTimestamp {
			cv.i = C.int64_t(x.UnixMilli())
			cv._type = C.int32_t(t)
			return nil
		}
	case int:
		return s.encodeInt(col, int64(x), v)
	case int8:
		return s.encodeInt(col, int64(x), v)
	case int16:
		return s.encodeInt(col, int64(x), v)
	case int32:
		return s.encodeInt(col, int64(x), v)
	case int64:
		return s.encodeInt(col, x, v)
	case uint:
		return s.encodeUint(col, uint64(x), v)
	case uint8:
		return s.encodeInt(col, int64(x), v)
	case uint16:
		return s.encodeInt(col, int64(x), v)
	case uint32:
		return s.encodeInt(col, int64(x), v)
	case uint64:
		return s.encodeUint(col, x, v)
	}
	return s.mismatch(col, reflect.TypeOf(v))
}

func (s *inputState) encodeUint(col int, x uint64, v any) error {
	if x > math.MaxInt64 {
		return s.outOfRange(col, strconv.FormatUint(x, 10))
	}
	return s.encodeInt(col, int64(x), v)
}

func (s *inputState) encodeInt(col int, x int64, v any) error {
	cv := &s.vals[col]
	switch t := s.types[col]; t {
	case TypeInt:
		if x < math.MinInt32 || x > math.MaxInt32 {
			return s.outOfRange(col, strconv.FormatInt(x, 10))
		}
		cv.i = C.int64_t(x)
	case TypeBigint, TypeTimestamp:
		cv.i = C.int64_t(x)
	case TypeFloat, TypeDouble:
		cv.f = C.double(x)
	default:
		return s.mismatch(col, reflect.TypeOf(v))
	}
	cv._type = C.int32_t(s.types[col])
	return nil
}

func (s *inputState) encodeFloat(col int, x float64, v any) error {
	t := s.types[col]
	if t != TypeFloat && t != TypeDouble {
		return s.mismatch(col, reflect.TypeOf(v))
	}
	cv := &s.vals[col]
	cv.f = C.double(x)
	cv._type = C.int32_t(t)
	return nil
}

// The error paths take the value's type or text rather than the value, so
// that Append's arguments do not escape (boxing them would allocate).

func (s *inputState) mismatch(col int, t reflect.Type) error {
	return newError(StatusSchema, "column %d %q of stream %s is %s; it cannot take a %v",
		col, s.schema.Field(col).Name, s.stream, s.types[col], t)
}

func (s *inputState) outOfRange(col int, value string) error {
	return newError(StatusInvalidArgument, "column %d %q of stream %s is %s; %s is out of its range",
		col, s.schema.Field(col).Name, s.stream, s.types[col], value)
}

// PushRecord pushes an Arrow record batch whose columns match the stream's
// by name (case-insensitively, in any order) and type (Type.ArrowType;
// STRING also takes large_utf8 and utf8_view). The record's buffers are
// shared with eddy through the C Data Interface, not copied: eddy holds a
// reference until it is done with them, so the caller may Release rec as
// soon as PushRecord returns. The whole batch is validated before any row
// is ingested; a rejected batch ingests nothing.
func (in *Input) PushRecord(rec arrow.RecordBatch) error {
	if rec == nil {
		return newError(StatusInvalidArgument, "PushRecord got a nil record")
	}
	s, err := in.lock()
	if err != nil {
		return err
	}
	defer in.unlock()
	if s.carr == nil {
		s.carr = (*C.struct_ArrowArray)(C.calloc(1, C.sizeof_struct_ArrowArray))
		s.csch = (*C.struct_ArrowSchema)(C.calloc(1, C.sizeof_struct_ArrowSchema))
	}
	csch := (*cdata.CArrowSchema)(unsafe.Pointer(s.csch))
	if sc := rec.Schema(); s.pushed == nil || (s.pushed != sc && !s.pushed.Equal(sc)) {
		if s.csch.release != nil {
			cdata.ReleaseCArrowSchema(csch)
		}
		*s.csch = C.struct_ArrowSchema{}
		cdata.ExportArrowSchema(sc, csch)
		s.pushed = sc
	}
	*s.carr = C.struct_ArrowArray{}
	carr := (*cdata.CArrowArray)(unsafe.Pointer(s.carr))
	cdata.ExportArrowRecordBatch(rec, carr, nil)
	st := C.eddy_input_push_arrow(s.h, s.carr, s.csch, &s.slot.err)
	// eddy took the array whatever the outcome; this only guards a
	// library that did not.
	if s.carr.release != nil {
		cdata.ReleaseCArrowArray(carr)
	}
	return s.check(st)
}
