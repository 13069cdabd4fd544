//! Safe wrappers over eddy's C ABI, as a C host would call it.
//!
//! Every call goes through [`call`], which checks the ABI's own promises
//! (an error object exactly when the status is not EDDY_OK, its status equal
//! to the returned one) and panics on EDDY_ERR_PANIC and EDDY_ERR_INTERNAL:
//! those statuses mean eddy hit a bug, whatever the input was. An ordinary
//! error comes back as `Err(Failure)` for the target to judge.

use std::ffi::{c_char, CStr, CString};
use std::ptr::null_mut;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StructArray};
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
pub use eddy::capi::eddy_status;
use eddy::capi::engine::*;
use eddy::capi::input::*;
use eddy::capi::subscription::*;
use eddy::capi::{eddy_error, eddy_error_free, eddy_error_message, eddy_error_status};

pub use eddy::capi::eddy_status::*;

/// A failed call: its status and message.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: eddy_status,
    pub message: String,
}

pub type Res<T = ()> = Result<T, Failure>;

/// Panics when a status says eddy hit a bug.
pub fn check_not_bug(status: eddy_status, message: &str) {
    if matches!(status, EDDY_ERR_PANIC | EDDY_ERR_INTERNAL) {
        panic!("eddy reported {status:?}: {message}");
    }
}

/// Runs one C call with an error out-parameter and checks the conventions.
pub fn call(f: impl FnOnce(*mut *mut eddy_error) -> eddy_status) -> Res {
    let mut err: *mut eddy_error = null_mut();
    let status = f(&mut err);
    if status == EDDY_OK {
        assert!(err.is_null(), "EDDY_OK but an error was written");
        return Ok(());
    }
    assert!(!err.is_null(), "{status:?} without an error object");
    // SAFETY: err was just produced by eddy and is freed once, here.
    let (st, message) = unsafe {
        let st = eddy_error_status(err);
        let m = CStr::from_ptr(eddy_error_message(err))
            .to_string_lossy()
            .into_owned();
        eddy_error_free(err);
        (st, m)
    };
    assert_eq!(
        st, status as i32,
        "error object status differs from the returned one: {message}"
    );
    check_not_bug(status, &message);
    Err(Failure { status, message })
}

/// A string with any NUL cut off at the first one (what C would see).
pub fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("no NUL left")
}

/// How long a flush may take before the target calls it a hang. Generous:
/// the machine may be loaded, and libFuzzer's own -timeout catches the rest.
pub const FLUSH_TIMEOUT_MS: i32 = 30_000;

/// A target's engine options, then `EDDY_FUZZ_OPTIONS` when set (later
/// keys win): a knob to try other settings without editing the targets.
pub fn options(base: &str) -> String {
    static EXTRA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let extra = EXTRA.get_or_init(|| std::env::var("EDDY_FUZZ_OPTIONS").unwrap_or_default());
    format!("{base};{extra}")
}

pub struct Engine(*mut eddy_engine);

impl Engine {
    pub fn open(options: &str) -> Engine {
        let opts = CString::new(self::options(options)).unwrap();
        let mut e = null_mut();
        call(|err| unsafe { eddy_engine_open(opts.as_ptr(), &mut e, err) }).expect("engine opens");
        Engine(e)
    }

    pub fn raw(&self) -> *mut eddy_engine {
        self.0
    }

    pub fn execute_c(&self, sql: &CStr) -> Res {
        call(|err| unsafe { eddy_engine_execute(self.0, sql.as_ptr(), err) })
    }

    pub fn execute(&self, sql: &str) -> Res {
        self.execute_c(&c_string(sql.as_bytes()))
    }

    /// Flushes; a timeout is a hang, and a hang is a bug.
    pub fn flush(&self) -> Res {
        let r = call(|err| unsafe { eddy_engine_flush(self.0, FLUSH_TIMEOUT_MS, err) });
        if let Err(f) = &r {
            assert_ne!(f.status, EDDY_ERR_TIMEOUT, "flush hung: {}", f.message);
        }
        r
    }

    pub fn advance_time(&self, now_ms: i64) -> Res {
        call(|err| unsafe { eddy_engine_advance_time(self.0, now_ms, err) })
    }

    pub fn close(&self) -> Res {
        call(|err| unsafe { eddy_engine_close(self.0, err) })
    }

    pub fn stats_json(&self) -> String {
        let mut p: *mut c_char = null_mut();
        call(|err| unsafe { eddy_engine_stats_json(self.0, &mut p, err) }).expect("stats");
        // SAFETY: an owned string from eddy, freed with eddy_string_free.
        unsafe {
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            eddy::capi::eddy_string_free(p);
            s
        }
    }

    pub fn input(&self, stream: &str) -> Res<Input> {
        let name = c_string(stream.as_bytes());
        let mut i = null_mut();
        call(|err| unsafe { eddy_input_open(self.0, name.as_ptr(), &mut i, err) })?;
        Ok(Input(i))
    }

    pub fn subscribe(&self, stream: &str) -> Res<Sub> {
        let name = c_string(stream.as_bytes());
        let mut s = null_mut();
        call(|err| unsafe { eddy_subscribe(self.0, name.as_ptr(), &mut s, err) })?;
        Ok(Sub(s))
    }

    /// A stream's schema as eddy exports it through the C Data Interface.
    pub fn stream_schema(&self, stream: &str) -> Res<SchemaRef> {
        let name = c_string(stream.as_bytes());
        let mut s = FFI_ArrowSchema::empty();
        call(|err| unsafe { eddy_engine_stream_schema(self.0, name.as_ptr(), &mut s, err) })?;
        let schema = Schema::try_from(&s).expect("eddy exports a schema arrow-rs can read");
        Ok(Arc::new(schema))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        unsafe { eddy_engine_free(self.0) }
    }
}

pub struct Input(*mut eddy_input);

impl Input {
    pub fn raw(&self) -> *mut eddy_input {
        self.0
    }
    pub fn num_columns(&self) -> u32 {
        unsafe { eddy_input_num_columns(self.0) }
    }
    pub fn column_type(&self, col: u32) -> eddy::capi::eddy_type {
        unsafe { eddy_input_column_type(self.0, col) }
    }
    pub fn column_index(&self, name: &CStr) -> Res<u32> {
        let mut out = u32::MAX;
        call(|err| unsafe { eddy_input_column_index(self.0, name.as_ptr(), &mut out, err) })?;
        Ok(out)
    }
    pub fn begin_row(&self) -> Res {
        call(|err| unsafe { eddy_input_begin_row(self.0, err) })
    }
    pub fn abort_row(&self) -> Res {
        call(|err| unsafe { eddy_input_abort_row(self.0, err) })
    }
    pub fn end_row(&self) -> Res {
        call(|err| unsafe { eddy_input_end_row(self.0, err) })
    }
    pub fn set_null(&self, col: u32) -> Res {
        call(|err| unsafe { eddy_input_set_null(self.0, col, err) })
    }
    pub fn set_bool(&self, col: u32, v: bool) -> Res {
        call(|err| unsafe { eddy_input_set_bool(self.0, col, v, err) })
    }
    pub fn set_i32(&self, col: u32, v: i32) -> Res {
        call(|err| unsafe { eddy_input_set_i32(self.0, col, v, err) })
    }
    pub fn set_i64(&self, col: u32, v: i64) -> Res {
        call(|err| unsafe { eddy_input_set_i64(self.0, col, v, err) })
    }
    pub fn set_f32(&self, col: u32, v: f32) -> Res {
        call(|err| unsafe { eddy_input_set_f32(self.0, col, v, err) })
    }
    pub fn set_f64(&self, col: u32, v: f64) -> Res {
        call(|err| unsafe { eddy_input_set_f64(self.0, col, v, err) })
    }
    pub fn set_str(&self, col: u32, v: &[u8]) -> Res {
        call(|err| unsafe { eddy_input_set_str(self.0, col, v.as_ptr() as *const c_char, v.len(), err) })
    }
    pub fn watermark(&self, ts: i64) -> Res {
        call(|err| unsafe { eddy_input_watermark(self.0, ts, err) })
    }
    pub fn close(&self) -> Res {
        call(|err| unsafe { eddy_input_close(self.0, err) })
    }
    /// Pushes a C Data Interface batch. eddy must release `batch` whatever
    /// happens (checked here: `release` is NULL on return).
    ///
    /// # Safety
    /// `batch` and `schema` must be structs a consumer may read as far as
    /// their declared counts say (see fuzz/README.md for the line drawn).
    pub unsafe fn push_arrow(&self, batch: *mut FFI_ArrowArray, schema: *const FFI_ArrowSchema) -> Res {
        let r = call(|err| eddy_input_push_arrow(self.0, batch, schema, err));
        if !batch.is_null() {
            // FFI_ArrowArray::is_released is the check of `release == NULL`.
            assert!((*batch).is_released(), "push_arrow left the batch unreleased");
        }
        r
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        unsafe { eddy_input_free(self.0) }
    }
}

pub struct Sub(*mut eddy_subscription);

impl Sub {
    /// The next result batch, waiting up to `timeout_ms`.
    pub fn next(&self, timeout_ms: i32) -> Res<RecordBatch> {
        let mut a = FFI_ArrowArray::empty();
        let mut s = FFI_ArrowSchema::empty();
        call(|err| unsafe { eddy_subscription_next(self.0, timeout_ms, &mut a, &mut s, err) })?;
        // SAFETY: eddy exported a valid struct array with its schema.
        let data = unsafe { arrow::ffi::from_ffi(a, &s) }.expect("eddy exports importable batches");
        data.validate_full().expect("eddy exports valid batches");
        let st = StructArray::from(data);
        assert_eq!(st.null_count(), 0, "exported batch has null rows");
        Ok(RecordBatch::from(st))
    }

    /// Everything queued now (call after a flush).
    pub fn drain(&self) -> Vec<RecordBatch> {
        let mut out = Vec::new();
        loop {
            match self.next(0) {
                Ok(b) => out.push(b),
                Err(f) if matches!(f.status, EDDY_ERR_TIMEOUT | EDDY_ERR_END_OF_STREAM) => return out,
                Err(f) => panic!("subscription_next failed: {f:?}"),
            }
        }
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        unsafe { eddy_subscription_free(self.0) }
    }
}

/// A per-stream counter from eddy_engine_stats_json (e.g. "late",
/// "events_in"); None if the stream is not listed.
pub fn stream_stat(json: &str, stream: &str, key: &str) -> Option<u64> {
    let at = json.find(&format!("{{\"name\":\"{stream}\","))?;
    let rest = &json[at..];
    let rest = &rest[..rest.find('}')?];
    let k = rest.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = rest[k..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}
