package eddy

// Only declarations here: this file exports Go functions to C.

// #include "bridge.h"
import "C"

import (
	"runtime/cgo"
	"runtime/debug"
)

// eddygoDeliver runs a callback for one batch, called by eddy_go_on_batch
// inside eddy_engine_poll. A panic must not unwind through eddy's frames:
// it is kept and raised by Poll after the C call.
//
//export eddygoDeliver
func eddygoDeliver(h C.uintptr_t, arr *C.struct_ArrowArray, sch *C.struct_ArrowSchema, st C.int, cerr *C.eddy_error) {
	cs := cgo.Handle(h).Value().(*callbackState)
	if err := takeError(C.enum_eddy_status(st), cerr); err != nil {
		cs.eng.setPending(err)
		return
	}
	rec, err := cs.cache.importBatch(arr, sch)
	if err != nil {
		cs.eng.setPending(err)
		return
	}
	defer rec.Release()
	defer func() {
		if r := recover(); r != nil {
			cs.eng.setPending(&PanicError{Value: r, Stack: debug.Stack()})
		}
	}()
	cs.fn(rec)
}

// eddygoFreeCallback is the free_user_data hook: eddy calls it exactly once
// per handle it accepted.
//
//export eddygoFreeCallback
func eddygoFreeCallback(h C.uintptr_t) {
	freeCallback(cgo.Handle(h))
}
