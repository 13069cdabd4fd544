// Package eddy embeds eddy, the streaming SQL engine, in a Go program. It
// is a cgo binding of eddy's C API (eddy.h) and nothing else.
//
//	eng, err := eddy.Open("overflow=block;push_timeout_ms=1000")
//	if err != nil { ... }
//	defer eng.Close()
//	err = eng.Execute(`CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT);
//	    INSERT INTO Big SELECT symbol, price FROM Trades WHERE price > 100.0`)
//	sub, _ := eng.Subscribe("Big")
//	in, _ := eng.OpenInput("Trades")
//	_ = in.Append("ACME", 123.5, nil)  // nil is NULL
//	_ = eng.Flush(ctx)
//	rec, _ := sub.Next(ctx)            // an arrow.RecordBatch
//	defer rec.Release()
//
// # Ownership
//
// Records returned by Subscription.Next and TryNext share eddy's memory
// (imported through the Arrow C Data Interface, not copied): Release each
// one, which hands the memory back to eddy. Strings read from them
// (array.String.Value) alias that memory too; copy them (strings.Clone) to
// keep them past Release. A record given to a callback is released when
// the callback returns; Retain it to keep it. LiveBatches counts the
// records not yet released.
//
// Input.PushRecord exports a record's buffers to eddy without copying;
// eddy keeps a reference until it is done with them, so the caller may
// Release the record as soon as PushRecord returns.
//
// # Concurrency
//
// As in the C API: an Engine may be used by any number of goroutines; an
// Input is a single producer (one goroutine at a time: open one per
// producing goroutine); a Subscription serves one Next at a time (concurrent
// calls wait their turn). Callbacks run only inside Engine.Poll and TryPoll,
// on the polling goroutine, and may call back into eddy. Misuse is never
// unsafe: concurrent calls on one Input are serialized, and every call on
// a closed handle returns an error matching ErrClosed.
//
// # Blocking and cancellation
//
// Next, Poll and Flush take a context. They wait inside eddy in short
// slices (25 ms for Next and Poll; Flush starts at 10 ms and grows to
// 200 ms) and check the context between slices, so a cancellation or
// deadline takes effect within one slice and leaves no goroutine behind;
// they then return ctx.Err(). Closing a Subscription ends a Next waiting
// on it with ErrClosed; closing the Engine ends a Poll or Flush waiting on
// it, and Next ends with ErrEndOfStream once everything was read.
//
// # Errors
//
// Failures are *Error values carrying the eddy status (Status, mirroring
// eddy_status) and eddy's message; use errors.Is with the sentinels
// (ErrSQL, ErrSchema, ErrNotFound, ErrFull, ErrTimeout, ErrClosed,
// ErrEndOfStream, ...) or errors.As to read Status and Message.
//
// # Closing
//
// Engine, Input and Subscription have Close methods; closing twice is
// fine and they may be closed in any order (an Input or Subscription
// outlives its Engine and then reports ErrClosed or ErrEndOfStream).
// Handles nobody closed are freed when the garbage collector finds them
// unreachable (runtime.AddCleanup), but that is a safety net: close them.
package eddy
