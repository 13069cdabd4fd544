//! eddy_engine_*: open, execute, flush, poll, stats, close, free.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::error::Error;
use crate::runtime::Engine;

/// An engine handle. Thread-safe: any thread may call any eddy_engine_*
/// function on it at any time.
pub struct eddy_engine {
    magic: u64,
    pub(crate) engine: Engine,
    poisoned: AtomicBool,
}

/// Checks an engine handle and returns the engine, or the error to report.
pub(crate) unsafe fn engine_ref<'a>(e: *const eddy_engine) -> Result<&'a eddy_engine> {
    let e = e.as_ref().ok_or_else(|| null_arg("engine"))?;
    if e.magic != MAGIC_ENGINE {
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
/// docs/c-api.md). On success *out receives the handle.
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
            let h = Box::new(eddy_engine {
                magic: MAGIC_ENGINE,
                engine,
                poisoned: AtomicBool::new(false),
            });
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
#[no_mangle]
pub unsafe extern "C" fn eddy_engine_poll(
    engine: *mut eddy_engine,
    timeout_ms: i32,
    delivered: *mut usize,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_engine(engine, err, |e| {
        let n = e.poll(timeout_ms)?;
        if !delivered.is_null() {
            *delivered = n;
        }
        Ok(())
    })
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
    if engine.is_null() || (*engine).magic != MAGIC_ENGINE {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut h = Box::from_raw(engine);
        if !h.engine.is_closed() {
            let _ = h.engine.close();
        }
        h.magic = MAGIC_DEAD;
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
