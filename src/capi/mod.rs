//! The C ABI: the only `extern "C"` in the crate. Each function checks its
//! pointers, converts C types, delegates to the engine, and converts the
//! result back; a panic never crosses this boundary.
//!
//! Conventions (docs/c-api.md): every fallible function returns
//! `eddy_status` and takes `eddy_error **err` last (NULL allowed); on failure
//! `*err` receives an error the caller frees with `eddy_error_free`; on
//! success `*err` and other outputs are untouched except the ones documented
//! as written. Every `_free` accepts NULL.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod arrow_check;
pub mod batch;
pub mod engine;
pub mod input;
pub mod subscription;

use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, Result, Status};

/// Status of a call. The values are frozen.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum eddy_status {
    EDDY_OK = 0,
    EDDY_ERR_INVALID_ARGUMENT = 1,
    EDDY_ERR_SQL = 2,
    EDDY_ERR_SCHEMA = 3,
    EDDY_ERR_NOT_FOUND = 4,
    EDDY_ERR_FULL = 5,
    EDDY_ERR_TIMEOUT = 6,
    EDDY_ERR_CLOSED = 7,
    EDDY_ERR_END_OF_STREAM = 8,
    EDDY_ERR_IO = 9,
    EDDY_ERR_CORRUPT = 10,
    EDDY_ERR_INTERNAL = 11,
    EDDY_ERR_PANIC = 12,
}

impl From<Status> for eddy_status {
    fn from(s: Status) -> eddy_status {
        use eddy_status::*;
        match s {
            Status::Ok => EDDY_OK,
            Status::InvalidArgument => EDDY_ERR_INVALID_ARGUMENT,
            Status::Sql => EDDY_ERR_SQL,
            Status::Schema => EDDY_ERR_SCHEMA,
            Status::NotFound => EDDY_ERR_NOT_FOUND,
            Status::Full => EDDY_ERR_FULL,
            Status::Timeout => EDDY_ERR_TIMEOUT,
            Status::Closed => EDDY_ERR_CLOSED,
            Status::EndOfStream => EDDY_ERR_END_OF_STREAM,
            Status::Io => EDDY_ERR_IO,
            Status::Corrupt => EDDY_ERR_CORRUPT,
            Status::Internal => EDDY_ERR_INTERNAL,
            Status::Panic => EDDY_ERR_PANIC,
        }
    }
}

/// Column types as the C API names them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum eddy_type {
    EDDY_TYPE_INVALID = 0,
    EDDY_TYPE_BOOL = 1,
    EDDY_TYPE_INT = 2,
    EDDY_TYPE_BIGINT = 3,
    EDDY_TYPE_FLOAT = 4,
    EDDY_TYPE_DOUBLE = 5,
    EDDY_TYPE_STRING = 6,
    EDDY_TYPE_TIMESTAMP = 7,
}

pub(crate) fn type_of(dt: &arrow::datatypes::DataType) -> eddy_type {
    use crate::types::SqlType;
    match SqlType::from_arrow(dt) {
        Some(SqlType::Bool) => eddy_type::EDDY_TYPE_BOOL,
        Some(SqlType::Int) => eddy_type::EDDY_TYPE_INT,
        Some(SqlType::BigInt) => eddy_type::EDDY_TYPE_BIGINT,
        Some(SqlType::Float) => eddy_type::EDDY_TYPE_FLOAT,
        Some(SqlType::Double) => eddy_type::EDDY_TYPE_DOUBLE,
        Some(SqlType::String) => eddy_type::EDDY_TYPE_STRING,
        Some(SqlType::Timestamp) => eddy_type::EDDY_TYPE_TIMESTAMP,
        None => eddy_type::EDDY_TYPE_INVALID,
    }
}

/// An error: status plus message. Owned by the caller once returned.
pub struct eddy_error {
    status: Status,
    message: CString,
}

fn message_cstring(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

/// Writes `e` to `*err` (when err is not NULL) and returns its status.
#[cold]
#[inline(never)]
pub(crate) fn fail(err: *mut *mut eddy_error, e: Error) -> eddy_status {
    if !err.is_null() {
        let boxed = Box::new(eddy_error {
            status: e.status,
            message: message_cstring(&e.message),
        });
        // SAFETY: err is a valid out-pointer per the API contract.
        unsafe { *err = Box::into_raw(boxed) };
    }
    e.status.into()
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` at the boundary: Ok → EDDY_OK, Err → status + error, panic →
/// EDDY_ERR_PANIC (and `on_panic` marks the handle unusable).
pub(crate) fn guard(
    err: *mut *mut eddy_error,
    on_panic: impl FnOnce(),
    f: impl FnOnce() -> Result<()>,
) -> eddy_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => eddy_status::EDDY_OK,
        Ok(Err(e)) => fail(err, e),
        Err(p) => {
            on_panic();
            fail(
                err,
                Error::new(Status::Panic, format!("internal panic: {}", panic_message(&*p))),
            )
        }
    }
}

/// A handle owned by one thread at a time (input, subscription): tagged so a
/// wrong or stale pointer is refused, and poisoned by a panic.
pub(crate) trait Handle {
    const MAGIC: u64;
    /// "input", "subscription": names the parameter and the C type.
    const NAME: &'static str;
    fn tag(&self) -> u64;
    fn poisoned(&mut self) -> &mut bool;
}

/// Checks a handle and runs `f` on it at the boundary. Inlined so that the
/// per-event setters pay only the checks and the call on success; every
/// failure is out of line.
#[inline(always)]
pub(crate) unsafe fn with_handle<H: Handle>(
    h: *mut H,
    err: *mut *mut eddy_error,
    f: impl FnOnce(&mut H) -> Result<()>,
) -> eddy_status {
    let Some(h) = h.as_mut() else {
        return null_handle::<H>(err);
    };
    if h.tag() != H::MAGIC || *h.poisoned() {
        return unusable_handle(h, err);
    }
    match catch_unwind(AssertUnwindSafe(|| f(&mut *h))) {
        Ok(Ok(())) => eddy_status::EDDY_OK,
        Ok(Err(e)) => fail(err, e),
        Err(p) => panicked(h.poisoned(), err, p),
    }
}

#[cold]
#[inline(never)]
fn null_handle<H: Handle>(err: *mut *mut eddy_error) -> eddy_status {
    fail(err, null_arg(H::NAME))
}

/// The handle is of another kind (or freed), or poisoned by a panic.
#[cold]
#[inline(never)]
fn unusable_handle<H: Handle>(h: &mut H, err: *mut *mut eddy_error) -> eddy_status {
    if h.tag() != H::MAGIC {
        return fail(
            err,
            Error::invalid(format!("{0} handle is not a live eddy_{0}", H::NAME)),
        );
    }
    fail(
        err,
        Error::new(
            Status::Panic,
            format!("{} handle is unusable after an internal panic", H::NAME),
        ),
    )
}

/// A panic was caught: the handle is unusable from now on.
#[cold]
#[inline(never)]
fn panicked(poisoned: &mut bool, err: *mut *mut eddy_error, p: Box<dyn std::any::Any + Send>) -> eddy_status {
    *poisoned = true;
    fail(
        err,
        Error::new(Status::Panic, format!("internal panic: {}", panic_message(&*p))),
    )
}

/// Borrows a NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

pub(crate) fn null_arg(what: &str) -> Error {
    Error::invalid(format!("{what} is NULL"))
}

/// Handle tags: catch a handle of the wrong kind (or a freed one, when the
/// memory was not reused) instead of misreading it.
pub(crate) const MAGIC_ENGINE: u64 = 0x6564_6479_656e_6731;
pub(crate) const MAGIC_INPUT: u64 = 0x6564_6479_696e_7031;
pub(crate) const MAGIC_SUB: u64 = 0x6564_6479_7375_6231;
pub(crate) const MAGIC_DEAD: u64 = 0x6465_6164_6465_6164;

// ---------------------------------------------------------------------------
// Limits (src/limits.rs), as the header publishes them

/// Longest SQL text eddy_engine_execute takes, in bytes.
pub const EDDY_MAX_SQL_BYTES: usize = 1048576;
/// Deepest expression nesting accepted in SQL.
pub const EDDY_MAX_EXPR_DEPTH: usize = 128;
/// Most columns a stream may have.
pub const EDDY_MAX_COLUMNS: usize = 16384;
/// Default of the engine option max_string_bytes: the longest STRING value
/// accepted from a host, in bytes.
pub const EDDY_DEFAULT_MAX_STRING_BYTES: usize = 16777216;

// ---------------------------------------------------------------------------
// Versions, statuses, errors

/// Major version of this header.
pub const EDDY_VERSION_MAJOR: u32 = 0;
/// Minor version of this header.
pub const EDDY_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const EDDY_VERSION_PATCH: u32 = 0;

/// MAJOR*1000000 + MINOR*1000 + PATCH of the linked library.
#[no_mangle]
pub extern "C" fn eddy_version_number() -> u32 {
    EDDY_VERSION_MAJOR * 1_000_000 + EDDY_VERSION_MINOR * 1000 + EDDY_VERSION_PATCH
}

/// "MAJOR.MINOR.PATCH" of the linked library; static, never freed.
#[no_mangle]
pub extern "C" fn eddy_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The enumerator name of a status ("EDDY_ERR_SQL"); "EDDY_UNKNOWN_STATUS"
/// for a value that is not one. Static, never freed.
#[no_mangle]
pub extern "C" fn eddy_status_name(status: c_int) -> *const c_char {
    let name: &'static str = match Status::from_i32(status) {
        Some(Status::Ok) => "EDDY_OK\0",
        Some(Status::InvalidArgument) => "EDDY_ERR_INVALID_ARGUMENT\0",
        Some(Status::Sql) => "EDDY_ERR_SQL\0",
        Some(Status::Schema) => "EDDY_ERR_SCHEMA\0",
        Some(Status::NotFound) => "EDDY_ERR_NOT_FOUND\0",
        Some(Status::Full) => "EDDY_ERR_FULL\0",
        Some(Status::Timeout) => "EDDY_ERR_TIMEOUT\0",
        Some(Status::Closed) => "EDDY_ERR_CLOSED\0",
        Some(Status::EndOfStream) => "EDDY_ERR_END_OF_STREAM\0",
        Some(Status::Io) => "EDDY_ERR_IO\0",
        Some(Status::Corrupt) => "EDDY_ERR_CORRUPT\0",
        Some(Status::Internal) => "EDDY_ERR_INTERNAL\0",
        Some(Status::Panic) => "EDDY_ERR_PANIC\0",
        None => "EDDY_UNKNOWN_STATUS\0",
    };
    name.as_ptr() as *const c_char
}

/// The status an error carries; EDDY_ERR_INVALID_ARGUMENT for NULL.
#[no_mangle]
pub unsafe extern "C" fn eddy_error_status(err: *const eddy_error) -> c_int {
    match err.as_ref() {
        Some(e) => e.status as c_int,
        None => Status::InvalidArgument as c_int,
    }
}

/// The error's message, valid until eddy_error_free; "" for NULL.
#[no_mangle]
pub unsafe extern "C" fn eddy_error_message(err: *const eddy_error) -> *const c_char {
    match err.as_ref() {
        Some(e) => e.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Frees an error. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn eddy_error_free(err: *mut eddy_error) {
    if !err.is_null() {
        drop(Box::from_raw(err));
    }
}

/// Frees a string the library returned (eddy_engine_stats_json). NULL is
/// accepted.
#[no_mangle]
pub unsafe extern "C" fn eddy_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_a_panic_into_a_status_and_marks_the_handle() {
        let mut err: *mut eddy_error = std::ptr::null_mut();
        let mut marked = false;
        let st = guard(&mut err, || marked = true, || panic!("boom {}", 7));
        assert_eq!(st, eddy_status::EDDY_ERR_PANIC);
        assert!(marked);
        unsafe {
            assert_eq!(eddy_error_status(err), 12);
            let msg = CStr::from_ptr(eddy_error_message(err)).to_str().unwrap();
            assert!(msg.contains("boom 7"), "{msg}");
            eddy_error_free(err);
        }
    }

    #[test]
    fn guard_passes_errors_and_success_through() {
        let mut err: *mut eddy_error = std::ptr::null_mut();
        assert_eq!(guard(&mut err, || {}, || Ok(())), eddy_status::EDDY_OK);
        assert!(err.is_null(), "untouched on success");
        let st = guard(&mut err, || {}, || Err(Error::sql("line 1:2: nope")));
        assert_eq!(st, eddy_status::EDDY_ERR_SQL);
        unsafe {
            assert_eq!(
                CStr::from_ptr(eddy_error_message(err)).to_str().unwrap(),
                "line 1:2: nope"
            );
            eddy_error_free(err);
        }
        // A NULL err is allowed: only the status comes back.
        assert_eq!(
            guard(std::ptr::null_mut(), || {}, || Err(Error::invalid("x"))),
            eddy_status::EDDY_ERR_INVALID_ARGUMENT
        );
    }

    struct Dummy {
        tag: u64,
        poisoned: bool,
        calls: u32,
    }

    impl Handle for Dummy {
        const MAGIC: u64 = 0x1234;
        const NAME: &'static str = "dummy";
        fn tag(&self) -> u64 {
            self.tag
        }
        fn poisoned(&mut self) -> &mut bool {
            &mut self.poisoned
        }
    }

    /// The status and message of one with_handle call on `h`.
    fn call(h: *mut Dummy, f: impl FnOnce(&mut Dummy) -> Result<()>) -> (eddy_status, Option<String>) {
        let mut err: *mut eddy_error = std::ptr::null_mut();
        let st = unsafe { with_handle(h, &mut err, f) };
        let msg = (!err.is_null()).then(|| unsafe {
            let m = CStr::from_ptr(eddy_error_message(err))
                .to_str()
                .unwrap()
                .to_string();
            assert_eq!(eddy_error_status(err), st as c_int);
            eddy_error_free(err);
            m
        });
        (st, msg)
    }

    #[test]
    fn with_handle_checks_the_handle_then_runs_the_call() {
        use eddy_status::*;
        let mut d = Dummy {
            tag: Dummy::MAGIC,
            poisoned: false,
            calls: 0,
        };
        let h: *mut Dummy = &mut d;
        let count = |d: &mut Dummy| {
            d.calls += 1;
            Ok(())
        };
        // Success leaves err untouched.
        assert_eq!(call(h, count), (EDDY_OK, None));
        assert_eq!(
            call(h, |_| Err(Error::schema("nope"))),
            (EDDY_ERR_SCHEMA, Some("nope".into()))
        );
        assert_eq!(
            call(std::ptr::null_mut(), count),
            (EDDY_ERR_INVALID_ARGUMENT, Some("dummy is NULL".into()))
        );
        unsafe { (*h).tag = MAGIC_DEAD };
        assert_eq!(
            call(h, count),
            (
                EDDY_ERR_INVALID_ARGUMENT,
                Some("dummy handle is not a live eddy_dummy".into())
            )
        );
        unsafe { (*h).tag = Dummy::MAGIC };
        let (st, msg) = call(h, |_| panic!("boom {}", 3));
        assert_eq!(st, EDDY_ERR_PANIC);
        assert!(msg.unwrap().contains("internal panic: boom 3"));
        assert_eq!(
            call(h, count),
            (
                EDDY_ERR_PANIC,
                Some("dummy handle is unusable after an internal panic".into())
            )
        );
        // A wrong tag is reported before the poison.
        unsafe { (*h).tag = MAGIC_DEAD };
        assert_eq!(call(h, count).0, EDDY_ERR_INVALID_ARGUMENT);
        // A NULL err gets the status alone.
        let st = unsafe { with_handle(h, std::ptr::null_mut(), count) };
        assert_eq!(st, EDDY_ERR_INVALID_ARGUMENT);
        assert_eq!(d.calls, 1, "only the first call ran");
    }

    #[test]
    fn published_limits_match_the_enforced_ones() {
        use crate::limits::*;
        assert_eq!(EDDY_MAX_SQL_BYTES, MAX_SQL_BYTES);
        assert_eq!(EDDY_MAX_EXPR_DEPTH, MAX_EXPR_DEPTH);
        assert_eq!(EDDY_MAX_COLUMNS, MAX_COLUMNS);
        assert_eq!(EDDY_DEFAULT_MAX_STRING_BYTES, DEFAULT_MAX_STRING_BYTES);
    }

    #[test]
    fn status_names_cover_every_value() {
        for v in 0..=12 {
            let name = unsafe { CStr::from_ptr(eddy_status_name(v)) }.to_str().unwrap();
            assert_eq!(name, Status::from_i32(v).unwrap().name());
        }
        assert_eq!(
            unsafe { CStr::from_ptr(eddy_status_name(99)) }.to_str().unwrap(),
            "EDDY_UNKNOWN_STATUS"
        );
        assert_eq!(eddy_version_number(), 1000);
        assert_eq!(
            unsafe { CStr::from_ptr(eddy_version_string()) }.to_str().unwrap(),
            env!("CARGO_PKG_VERSION")
        );
        let v: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(
            v,
            vec![EDDY_VERSION_MAJOR, EDDY_VERSION_MINOR, EDDY_VERSION_PATCH]
        );
    }
}
