//! eddy_batch: a borrowed, typed view of one result batch, valid only
//! during the callback that received it.

use std::ffi::{c_char, CString};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int32Type, Int64Type, TimestampMillisecondType};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::subscription::export_batch;
use super::*;
use crate::error::Error;
use crate::types::type_name;

/// A result batch lent to a callback.
pub struct eddy_batch {
    batch: *const RecordBatch,
    names: *const Vec<CString>,
}

impl eddy_batch {
    pub(crate) fn new(batch: &RecordBatch, names: &Vec<CString>) -> eddy_batch {
        eddy_batch { batch, names }
    }

    /// Marks this view live for as long as the returned guard (the
    /// callback's duration). Debug builds check every accessor against the
    /// live views, so a view kept past its callback is reported instead of
    /// read; release builds skip the check (the guard is empty).
    pub(crate) fn lend(&self) -> Lent {
        #[cfg(debug_assertions)]
        live::add(self as *const eddy_batch as usize);
        Lent {
            #[cfg(debug_assertions)]
            addr: self as *const eddy_batch as usize,
        }
    }
}

/// See `eddy_batch::lend`; unregisters the view on drop (also on unwind).
pub(crate) struct Lent {
    #[cfg(debug_assertions)]
    addr: usize,
}

impl Drop for Lent {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        live::remove(self.addr);
    }
}

/// Debug builds: the addresses of the views lent to callbacks right now.
/// Checking an address never dereferences it, so a stale view (its stack
/// frame long gone) is detected safely. An address reused by a later live
/// view reads that view: wrong data, but never freed memory.
#[cfg(debug_assertions)]
mod live {
    use std::sync::Mutex;

    static LIVE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    fn with<T>(f: impl FnOnce(&mut Vec<usize>) -> T) -> T {
        f(&mut LIVE.lock().unwrap_or_else(|p| p.into_inner()))
    }
    pub(super) fn add(addr: usize) {
        with(|v| v.push(addr));
    }
    pub(super) fn remove(addr: usize) {
        with(|v| {
            if let Some(i) = v.iter().rposition(|a| *a == addr) {
                v.swap_remove(i);
            }
        });
    }
    pub(super) fn contains(addr: usize) -> bool {
        with(|v| v.contains(&addr))
    }
}

/// The message for a view used outside its callback (debug builds).
#[cfg(debug_assertions)]
const STALE: &str = "batch is not a live eddy_batch: a batch is valid only inside the callback that received it (use eddy_batch_export_arrow to keep it)";

/// Checks a view pointer: NULL, and in debug builds, a view whose callback
/// has returned.
unsafe fn checked<'a>(b: *const eddy_batch) -> Result<&'a eddy_batch> {
    if b.is_null() {
        return Err(null_arg("batch"));
    }
    #[cfg(debug_assertions)]
    if !live::contains(b as usize) {
        return Err(Error::invalid(STALE));
    }
    Ok(&*b)
}

unsafe fn view<'a>(b: *const eddy_batch) -> Result<&'a RecordBatch> {
    checked(b)?.batch.as_ref().ok_or_else(|| null_arg("batch"))
}

/// For the accessors without a status: a stale view gives their "invalid"
/// value, and debug builds say why on stderr (there is no error to carry it).
unsafe fn view_or_report<'a>(b: *const eddy_batch, func: &str) -> Option<&'a RecordBatch> {
    match view(b) {
        Ok(v) => Some(v),
        Err(e) => {
            if !b.is_null() {
                // Not eprintln!, which panics when stderr is gone (and these
                // accessors have no panic guard).
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "eddy: {func}: {}", e.message);
            }
            None
        }
    }
}

/// Number of rows (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_num_rows(batch: *const eddy_batch) -> usize {
    view_or_report(batch, "eddy_batch_num_rows").map_or(0, |b| b.num_rows())
}

/// Number of columns (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_num_columns(batch: *const eddy_batch) -> u32 {
    view_or_report(batch, "eddy_batch_num_columns").map_or(0, |b| b.num_columns() as u32)
}

/// Column name, valid as long as the batch; NULL when out of range.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_column_name(batch: *const eddy_batch, col: u32) -> *const c_char {
    if view_or_report(batch, "eddy_batch_column_name").is_none() {
        return std::ptr::null();
    }
    match (*batch).names.as_ref().and_then(|n| n.get(col as usize)) {
        Some(s) => s.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Column type; EDDY_TYPE_INVALID when out of range.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_column_type(batch: *const eddy_batch, col: u32) -> eddy_type {
    match view_or_report(batch, "eddy_batch_column_type") {
        Some(b) if (col as usize) < b.num_columns() => type_of(b.schema().field(col as usize).data_type()),
        _ => eddy_type::EDDY_TYPE_INVALID,
    }
}

fn cell(b: &RecordBatch, row: usize, col: u32) -> Result<&dyn Array> {
    if col as usize >= b.num_columns() {
        return Err(Error::invalid(format!(
            "column {col} is out of range: batch has {} columns",
            b.num_columns()
        )));
    }
    if row >= b.num_rows() {
        return Err(Error::invalid(format!(
            "row {row} is out of range: batch has {} rows",
            b.num_rows()
        )));
    }
    Ok(b.column(col as usize).as_ref())
}

/// Typed read of a non-NULL value of the expected type.
fn typed<'a>(
    b: &'a RecordBatch,
    row: usize,
    col: u32,
    want: &[DataType],
    getter: &str,
) -> Result<&'a dyn Array> {
    let a = cell(b, row, col)?;
    if !want.contains(a.data_type()) {
        return Err(Error::schema(format!(
            "column {col} '{}' is {}; {getter} cannot read it",
            b.schema().field(col as usize).name(),
            type_name(a.data_type())
        )));
    }
    if a.is_null(row) {
        return Err(Error::invalid(format!(
            "row {row} column {col} is NULL (check eddy_batch_is_null)"
        )));
    }
    Ok(a)
}

unsafe fn write<T>(out: *mut T, v: T) -> Result<()> {
    if out.is_null() {
        return Err(null_arg("out"));
    }
    *out = v;
    Ok(())
}

/// *out = whether the value at (row, col) is NULL.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_is_null(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut bool,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = cell(view(batch)?, row, col)?;
            write(out, a.is_null(row))
        },
    )
}

/// Reads a BOOL value.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_bool(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut bool,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = typed(
                view(batch)?,
                row,
                col,
                &[DataType::Boolean],
                "eddy_batch_get_bool",
            )?;
            write(out, a.as_boolean().value(row))
        },
    )
}

/// Reads an INT value.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_i32(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut i32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = typed(view(batch)?, row, col, &[DataType::Int32], "eddy_batch_get_i32")?;
            write(out, a.as_primitive::<Int32Type>().value(row))
        },
    )
}

/// Reads a BIGINT or TIMESTAMP (milliseconds) value.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_i64(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut i64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let ts = crate::types::SqlType::Timestamp.to_arrow();
            let a = typed(
                view(batch)?,
                row,
                col,
                &[DataType::Int64, ts.clone()],
                "eddy_batch_get_i64",
            )?;
            let v = if *a.data_type() == ts {
                a.as_primitive::<TimestampMillisecondType>().value(row)
            } else {
                a.as_primitive::<Int64Type>().value(row)
            };
            write(out, v)
        },
    )
}

/// Reads a FLOAT value.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_f32(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut f32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = typed(view(batch)?, row, col, &[DataType::Float32], "eddy_batch_get_f32")?;
            write(out, a.as_primitive::<Float32Type>().value(row))
        },
    )
}

/// Reads a DOUBLE value.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_f64(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    out: *mut f64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = typed(view(batch)?, row, col, &[DataType::Float64], "eddy_batch_get_f64")?;
            write(out, a.as_primitive::<Float64Type>().value(row))
        },
    )
}

/// Reads a STRING value: *ptr receives its UTF-8 bytes (not NUL-terminated,
/// valid as long as the batch) and *len their count.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_get_str(
    batch: *const eddy_batch,
    row: usize,
    col: u32,
    ptr: *mut *const c_char,
    len: *mut usize,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(
        err,
        || {},
        || {
            let a = typed(view(batch)?, row, col, &[DataType::Utf8], "eddy_batch_get_str")?;
            if ptr.is_null() || len.is_null() {
                return Err(null_arg(if ptr.is_null() { "ptr" } else { "len" }));
            }
            let s = a.as_string::<i32>().value(row);
            *ptr = s.as_ptr() as *const c_char;
            *len = s.len();
            Ok(())
        },
    )
}

/// Exports the batch through the Arrow C Data Interface (a struct array and
/// its schema) so it can outlive the callback; the caller releases both.
#[no_mangle]
pub unsafe extern "C" fn eddy_batch_export_arrow(
    batch: *const eddy_batch,
    out_batch: *mut FFI_ArrowArray,
    out_schema: *mut FFI_ArrowSchema,
    err: *mut *mut eddy_error,
) -> eddy_status {
    guard(err, || {}, || export_batch(view(batch)?, out_batch, out_schema))
}
