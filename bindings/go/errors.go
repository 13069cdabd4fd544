package eddy

// #include "bridge.h"
import "C"

import (
	"errors"
	"fmt"
	"io"
)

// Status mirrors eddy_status. The values are frozen by the C API.
type Status int

// The statuses of the C API, in the order of eddy_status.
const (
	StatusOK              Status = C.EDDY_OK
	StatusInvalidArgument Status = C.EDDY_ERR_INVALID_ARGUMENT
	StatusSQL             Status = C.EDDY_ERR_SQL
	StatusSchema          Status = C.EDDY_ERR_SCHEMA
	StatusNotFound        Status = C.EDDY_ERR_NOT_FOUND
	StatusFull            Status = C.EDDY_ERR_FULL
	StatusTimeout         Status = C.EDDY_ERR_TIMEOUT
	StatusClosed          Status = C.EDDY_ERR_CLOSED
	StatusEndOfStream     Status = C.EDDY_ERR_END_OF_STREAM
	StatusIO              Status = C.EDDY_ERR_IO
	StatusCorrupt         Status = C.EDDY_ERR_CORRUPT
	StatusInternal        Status = C.EDDY_ERR_INTERNAL
	StatusPanic           Status = C.EDDY_ERR_PANIC
)

// String is the enumerator's C name, e.g. "EDDY_ERR_SQL".
func (s Status) String() string {
	return C.GoString(C.eddy_status_name(C.int(s)))
}

// Error is an eddy failure: the status of the C call and its message. SQL
// errors' messages start with "line L:C:".
//
// errors.Is(err, ErrSQL) (and the other sentinels) matches on the status
// alone; errors.Is(err, io.EOF) holds for StatusEndOfStream.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "eddy: " + e.Status.String()
	}
	return "eddy: " + e.Status.String() + ": " + e.Message
}

// Is makes a sentinel (an *Error without a message) match every error of
// its status.
func (e *Error) Is(target error) bool {
	if target == io.EOF {
		return e.Status == StatusEndOfStream
	}
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Message == "" || t.Message == e.Message)
}

// Sentinels for errors.Is, one per status.
var (
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument}
	ErrSQL             = &Error{Status: StatusSQL}
	ErrSchema          = &Error{Status: StatusSchema}
	ErrNotFound        = &Error{Status: StatusNotFound}
	ErrFull            = &Error{Status: StatusFull}
	ErrTimeout         = &Error{Status: StatusTimeout}
	ErrClosed          = &Error{Status: StatusClosed}
	ErrEndOfStream     = &Error{Status: StatusEndOfStream}
	ErrIO              = &Error{Status: StatusIO}
	ErrCorrupt         = &Error{Status: StatusCorrupt}
	ErrInternal        = &Error{Status: StatusInternal}
	ErrPanic           = &Error{Status: StatusPanic}
)

// StatusOf is the Status carried by err (through wrapping), StatusOK for
// nil and StatusInternal for an error that is not an eddy *Error.
func StatusOf(err error) Status {
	if err == nil {
		return StatusOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return StatusInternal
}

// PanicError is what Engine.Poll panics with when a subscription callback
// panicked: the callback ran inside a C call, so the panic is caught there
// and raised again on the polling goroutine once the C call has returned.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("eddy: subscription callback panicked: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap gives the panic value when it was an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// takeError turns a failed status and the eddy_error the call wrote into a
// Go error, freeing the C error.
func takeError(st C.enum_eddy_status, cerr *C.eddy_error) error {
	if st == C.EDDY_OK {
		C.eddy_error_free(cerr)
		return nil
	}
	e := &Error{Status: Status(st)}
	if cerr != nil {
		e.Message = C.GoString(C.eddy_error_message(cerr))
		C.eddy_error_free(cerr)
	}
	return e
}

func newError(s Status, format string, args ...any) error {
	return &Error{Status: s, Message: fmt.Sprintf(format, args...)}
}
