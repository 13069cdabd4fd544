//! eddy_engine_*: open, execute, flush, poll, stats, close, free.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;
use crate::error::Error;
use crate::runtime::Engine;

/// An engine handle. Thread-safe: any thread may call any eddy_engine_*
/// function on it at any time.
pub struct eddy_engine(EngineFields);

/// The handle's fields. repr(C) puts the tag first, and the one-field
/// wrapper above (opaque to cbindgen, which would publish a repr(C) struct's
/// fields) is checked to keep it at offset 0: a handle of another kind
/// (a cast in C) is refused by reading 8 bytes inside it, never past it.
#[repr(C)]
#[doc(hidden)]
pub struct EngineFields {
    /// Atomic: a free requested from inside a callback retags the handle
    /// while the poll running that callback still holds a reference.
    pub(crate) magic: AtomicU64,
    pub(crate) engine: Engine,
    poisoned: AtomicBool,
}
const _: () = assert!(std::mem::offset_of!(eddy_engine, 0) == 0);

impl std::ops::Deref for eddy_engine {
    type Target = EngineFields;
    fn deref(&self) -> &EngineFields {
        &self.0
    }
}

thread_local! {
    /// Engines whose eddy_engine_poll is running on this thread (callbacks
    /// run inside it), with whether a callback asked to free the handle.
    static POLLING: RefCell<Vec<(usize, bool)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's POLLING list; None once thread-local storage is
/// torn down (a call from a TLS destructor), where no poll can be running.
fn polling<T>(f: impl FnOnce(&mut Vec<(usize, bool)>) -> T) -> Option<T> {
    POLLING.try_with(|p| f(&mut p.borrow_mut())).ok()
}

/// Checks an engine handle and returns the engine, or the error to report.
pub(crate) unsafe fn engine_ref<'a>(e: *const eddy_engine) -> Result<&'a eddy_engine> {
    let e = e.as_ref().ok_or_else(|| null_arg("engine"))?;
    if e.magic.load(Ordering::Acquire) != MAGIC_ENGINE {
        return Err(Error::invalid("engine handle is not a live eddy_engine"));
    }
    if e.poisoned.load(Ordering::Acquire) {
        return Err(Error::new(
            Status::Panic,
            "engine handle is unusable after an internal panic",
        ));
    }
    Ok(e)
}

/// Runs `f` with a checked engine; a panic marks the handle unusable.
unsafe fn with_engine(
    e: *const eddy_engine,
    err: *mut *mut eddy_error,
    f: impl FnOnce(&Engine) -> Result<()>,
) -> eddy_status {
    let h = match engine_ref(e) {
        Ok(h) => h,
        Err(x) => return fail(err, x),
    };
    guard(err, || h.poisoned.store(true, Ordering::Release), || f(&h.engine))
}

/// Opens an engine. `options` is NULL or "key=value;key=value" (see
/// docs/c-api.md). On success *out receives the handle. With
/// "worker=caller" no engine thread is started: each push runs the
/// queries on the calling thread before it returns.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_open(
    options: *const c_char,
    out: *mut *mut eddy_engine,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            if out.is_null() {
                return Err(null_arg("out"));
            }
            let opts = if options.is_null() {
                ""
            } else {
                str_arg(options, "options")?
            };
            let engine = Engine::open(opts)?;
            let h = Box::new(eddy_engine(EngineFields {
                magic: AtomicU64::new(MAGIC_ENGINE),
                engine,
                poisoned: AtomicBool::new(false),
            }));
            *out = Box::into_raw(h);
            Ok(())
        },
    )
}

/// Runs one or more ';'-separated statements. All apply or none do.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_execute(
    engine: *mut eddy_engine,
    sql: *const c_char,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| e.execute(str_arg(sql, "sql")?))
}

/// Returns once every event pushed before the call is processed and its
/// results are ready to read or deliver. timeout_ms < 0 waits forever;
/// EDDY_ERR_TIMEOUT when it did not complete in time.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_flush(
    engine: *mut eddy_engine,
    timeout_ms: i32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| e.flush(timeout_ms))
}

/// Runs pending subscription callbacks on the calling thread. Waits up to
/// timeout_ms for at least one (0: don't wait, -1: forever). *delivered (may
/// be NULL) receives the number of batches delivered; 0 after a timeout is
/// EDDY_OK. EDDY_ERR_CLOSED once the engine is closed and all was delivered.
/// With worker=caller it also fires due processing-time windows, waking for
/// them while it waits.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_poll(
    engine: *mut eddy_engine,
    timeout_ms: i32,
    delivered: *mut usize,
    err: *mut *mut eddy_error,
) -> eddy_status {
    let key = engine as usize;
    if polling(|p| p.iter().any(|(e, _)| *e == key)).unwrap_or(false) {
        // The outer poll holds this engine's callbacks; a nested one could
        // only wait for results that cannot come (or run callbacks re-entrantly).
        return fail(
            err,
            Error::invalid("eddy_engine_poll called from inside a callback of the same engine; return from the callback instead"),
        );
    }
    polling(|p| p.push((key, false)));
    let st = with_engine(engine, err, |e| {
        let n = e.poll(timeout_ms)?;
        if !delivered.is_null() {
            *delivered = n;
        }
        Ok(())
    });
    let free_requested = polling(|p| p.pop().is_some_and(|(_, f)| f)).unwrap_or(false);
    if free_requested {
        // A callback freed the engine: it was closed then, and is freed now
        // that nothing on this thread uses it any more.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(engine))));
    }
    st
}

/// Moves the engine's clock to now_ms (engine option clock=manual only). A
/// barrier: rows pushed before the call are processed at the old time, then
/// the clock moves and every processing-time window due by now_ms fires
/// before the call returns. Time never goes backwards
/// (EDDY_ERR_INVALID_ARGUMENT).
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_advance_time(
    engine: *mut eddy_engine,
    now_ms: i64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| e.advance_time(now_ms))
}

/// Writes a JSON document of per-stream and per-query counters to *out_json;
/// free it with eddy_string_free. Works on a closed engine too.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_stats_json(
    engine: *mut eddy_engine,
    out_json: *mut *mut c_char,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| {
        if out_json.is_null() {
            return Err(null_arg("out_json"));
        }
        *out_json = CString::new(e.stats_json()).unwrap_or_default().into_raw();
        Ok(())
    })
}

/// Drains every input, fires what queries hold, ends every subscription and
/// stops the worker. Results already produced stay readable. Later calls on
/// the engine give EDDY_ERR_CLOSED.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_close(
    engine: *mut eddy_engine,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| e.close())
}

/// Frees an engine handle, closing the engine if it is still open. Inputs
/// and subscriptions stay valid (to free) after it. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_free(engine: *mut eddy_engine) {
    if engine.is_null() || (*engine).0.magic.load(Ordering::Acquire) != MAGIC_ENGINE {
        return;
    }
    let key = engine as usize;
    let inside_poll = polling(|p| match p.iter_mut().find(|(e, _)| *e == key) {
        Some(slot) => {
            slot.1 = true;
            true
        }
        None => false,
    })
    .unwrap_or(false);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if inside_poll {
            // Freed from inside one of its own callbacks: the poll running
            // it still uses the handle. Close now, retag so later calls are
            // refused, and let that poll free the memory when it returns.
            let h = &*engine;
            if !h.engine.is_closed() {
                let _ = h.engine.close();
            }
            h.magic.store(MAGIC_DEAD, Ordering::Release);
            return;
        }
        let h = Box::from_raw(engine);
        if !h.engine.is_closed() {
            let _ = h.engine.close();
        }
        h.magic.store(MAGIC_DEAD, Ordering::Release);
        drop(h);
    }));
}

/// Exports the schema of `stream` (a struct schema, one child per column)
/// through the Arrow C Data Interface into *out_schema; the caller releases
/// it. EDDY_ERR_NOT_FOUND for an unknown stream.
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_stream_schema(
    engine: *mut eddy_engine,
    stream: *const c_char,
    out_schema: *mut arrow::ffi::FFI_ArrowSchema,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| {
        let name = str_arg(stream, "stream")?;
        if out_schema.is_null() {
            return Err(null_arg("out_schema"));
        }
        let schema = e
            .stream_schema(name)
            .ok_or_else(|| Error::not_found(format!("unknown stream '{name}'")))?;
        let dt = arrow::datatypes::DataType::Struct(schema.fields().clone());
        let ffi = arrow::ffi::FFI_ArrowSchema::try_from(&dt)?;
        std::ptr::write(out_schema, ffi);
        Ok(())
    })
}
