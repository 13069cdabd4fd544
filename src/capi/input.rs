//! eddy_input_*: the row appender and Arrow batch ingestion.

use std::ffi::c_char;

use arrow::array::{make_array, Array, StructArray};
use arrow::datatypes::DataType;
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};

use super::engine::{eddy_engine, engine_ref};
use super::*;
use crate::error::Error;
use crate::runtime::Input;

/// A producer handle on one stream. Use it from one thread at a time; open
/// one per producing thread.
pub struct eddy_input(InputFields);

/// The handle's fields; tag first (see eddy_engine).
#[repr(C)]
#[doc(hidden)]
pub struct InputFields {
    pub(crate) magic: u64,
    input: Input,
    poisoned: bool,
}
const _: () = assert!(std::mem::offset_of!(eddy_input, 0) == 0);

impl std::ops::Deref for eddy_input {
    type Target = InputFields;
    fn deref(&self) -> &InputFields {
        &self.0
    }
}

impl std::ops::DerefMut for eddy_input {
    fn deref_mut(&mut self) -> &mut InputFields {
        &mut self.0
    }
}

impl Handle for eddy_input {
    const MAGIC: u64 = MAGIC_INPUT;
    const NAME: &'static str = "input";
    fn tag(&self) -> u64 {
        self.magic
    }
    fn poisoned(&mut self) -> &mut bool {
        &mut self.poisoned
    }
}

#[inline(always)]
unsafe fn with_input(
    i: *mut eddy_input,
    err: *mut *mut eddy_error,
    f: impl FnOnce(&mut Input) -> Result<()>,
) -> eddy_status {
    with_handle(i, err, |h| f(&mut h.input))
}

/// Opens a producer on `stream`. *out receives the handle.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_open(
    engine: *mut eddy_engine,
    stream: *const c_char,
    out: *mut *mut eddy_input,
    err: *mut *mut eddy_error,
) -> eddy_status {
    let e = match engine_ref(engine) {
        Ok(e) => e,
        Err(x) => return fail(err, x),
    };
    guard(
        err,
        || {},
        || {
            if out.is_null() {
                return Err(null_arg("out"));
            }
            let input = e.engine.open_input(str_arg(stream, "stream")?)?;
            *out = Box::into_raw(Box::new(eddy_input(InputFields {
                magic: MAGIC_INPUT,
                input,
                poisoned: false,
            })));
            Ok(())
        },
    )
}

/// Number of columns of the input's stream (0 for an invalid handle).
#[no_mangle]
pub unsafe extern "C" fn eddy_input_num_columns(input: *const eddy_input) -> u32 {
    match input.as_ref() {
        Some(h) if h.magic == MAGIC_INPUT => h.input.schema().fields().len() as u32,
        _ => 0,
    }
}

/// Finds a column by name (case-insensitive); *out receives its index.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_column_index(
    input: *mut eddy_input,
    name: *const c_char,
    out: *mut u32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| {
        let name = str_arg(name, "name")?;
        if out.is_null() {
            return Err(null_arg("out"));
        }
        let schema = i.schema();
        let idx = schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::not_found(format!("stream has no column '{name}'")))?;
        *out = idx as u32;
        Ok(())
    })
}

/// Type of column `col` of the input's stream (EDDY_TYPE_INVALID for an
/// invalid handle or a column out of range).
#[no_mangle]
pub unsafe extern "C" fn eddy_input_column_type(input: *const eddy_input, col: u32) -> eddy_type {
    match input.as_ref() {
        Some(h) if h.magic == MAGIC_INPUT => {
            let schema = h.input.schema();
            match schema.fields().get(col as usize) {
                Some(f) => type_of(f.data_type()),
                None => eddy_type::EDDY_TYPE_INVALID,
            }
        }
        _ => eddy_type::EDDY_TYPE_INVALID,
    }
}

/// Starts a row. Columns not set before eddy_input_end_row are NULL.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_begin_row(
    input: *mut eddy_input,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.begin_row())
}

/// Discards the open row (after a setter failed, say): nothing of it is
/// ingested and the next eddy_input_begin_row starts afresh. No-op when no
/// row is open.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_abort_row(
    input: *mut eddy_input,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| {
        i.abort_row();
        Ok(())
    })
}

/// Sets column `col` of the open row to NULL.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_null(
    input: *mut eddy_input,
    col: u32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_null(col))
}

/// Sets a BOOL column.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_bool(
    input: *mut eddy_input,
    col: u32,
    value: bool,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_bool(col, value))
}

/// Sets an INT column.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_i32(
    input: *mut eddy_input,
    col: u32,
    value: i32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_i32(col, value))
}

/// Sets a BIGINT or TIMESTAMP (milliseconds) column.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_i64(
    input: *mut eddy_input,
    col: u32,
    value: i64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_i64(col, value))
}

/// Sets a FLOAT column.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_f32(
    input: *mut eddy_input,
    col: u32,
    value: f32,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_f32(col, value))
}

/// Sets a DOUBLE column.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_f64(
    input: *mut eddy_input,
    col: u32,
    value: f64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.set_f64(col, value))
}

/// Sets a STRING column from `len` bytes of UTF-8 at `ptr` (copied; need
/// not be NUL-terminated). ptr may be NULL only when len is 0.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_set_str(
    input: *mut eddy_input,
    col: u32,
    ptr: *const c_char,
    len: usize,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| {
        let bytes: &[u8] = if len == 0 {
            &[]
        } else if ptr.is_null() {
            return Err(null_arg("ptr"));
        } else {
            std::slice::from_raw_parts(ptr as *const u8, len)
        };
        i.set_str(col, bytes)
    })
}

/// Commits the open row. EDDY_ERR_FULL (overflow=block) when the queue had
/// no room within push_timeout_ms: the row was not ingested. Under a drop
/// policy a row that does not fit is counted as dropped and this returns
/// EDDY_OK.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_end_row(
    input: *mut eddy_input,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.end_row())
}

/// Pushes an Arrow record batch: `batch` is a struct array whose children
/// match the stream's columns by name (any order) and type, described by
/// `schema`. The batch is moved: eddy releases it, even on error (on return
/// batch->release is NULL). The schema is only borrowed. A rejected batch
/// ingests no row; imported data is fully validated first.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_push_arrow(
    input: *mut eddy_input,
    batch: *mut FFI_ArrowArray,
    schema: *const FFI_ArrowSchema,
    err: *mut *mut eddy_error,
) -> eddy_status {
    // Take ownership first so the batch is released whatever happens next.
    let owned = if batch.is_null() {
        None
    } else {
        Some(std::ptr::replace(batch, FFI_ArrowArray::empty()))
    };
    with_input(input, err, |i| {
        let Some(array) = owned else {
            return Err(null_arg("batch"));
        };
        let schema = schema.as_ref().ok_or_else(|| null_arg("schema"))?;
        super::arrow_check::check_batch(&array, schema)?;
        let data = arrow::ffi::from_ffi(array, schema)
            .map_err(|e| Error::invalid(format!("cannot import the Arrow batch: {e}")))?;
        if !matches!(data.data_type(), DataType::Struct(_)) {
            return Err(Error::invalid(format!(
                "the Arrow batch must be a struct array (a record batch), got {}",
                data.data_type()
            )));
        }
        data.validate_full()
            .map_err(|e| Error::invalid(format!("invalid Arrow batch: {e}")))?;
        let array = make_array(data);
        let s = array
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| Error::internal("struct downcast"))?;
        i.push_struct(s)
    })
}

/// Sets the watermark of the input's stream (an event-time stream, declared
/// `WITH (event_time = 'col')`) to `ts_ms`: no row with an earlier event time
/// is expected any more, so event-time windows ending at or before it fire.
/// It travels in order with the rows pushed before it on this input.
/// Watermarks only move forward: a lower value changes nothing. Rows that
/// arrive later with an event time below the watermark are late (see
/// `allowed_lateness` in docs/semantics.md). EDDY_ERR_INVALID on a stream
/// without event time or while a row is open.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_watermark(
    input: *mut eddy_input,
    ts_ms: i64,
    err: *mut *mut eddy_error,
) -> eddy_status {
    with_input(input, err, |i| i.watermark(ts_ms))
}

/// Ends the input: its stream sees end of input, later pushes fail with
/// EDDY_ERR_CLOSED. The handle must still be freed.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_close(input: *mut eddy_input, err: *mut *mut eddy_error) -> eddy_status {
    with_input(input, err, |i| i.close())
}

/// Frees an input (closing it if still open). NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn eddy_input_free(input: *mut eddy_input) {
    if input.is_null() || (*input).0.magic != MAGIC_INPUT {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut h = Box::from_raw(input);
        h.magic = MAGIC_DEAD;
        drop(h);
    }));
}
