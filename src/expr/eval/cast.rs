//! CAST between the SQL types (BOOL, INT, BIGINT, FLOAT, DOUBLE, STRING,
//! TIMESTAMP). A value that does not convert gives NULL, never an error.
//!
//! Mostly Arrow's cast kernel in safe mode, which already gives: float to
//! integer truncates toward zero, and out-of-range or NaN gives NULL; integer
//! narrowing out of range gives NULL; numbers to BOOL are `<> 0`; BOOL to
//! numbers is 1/0 and to STRING 'true'/'false'; STRING to numbers trims
//! surrounding whitespace; floats print as the shortest string that reads
//! back to the same value (`0.1`, `1e20`, `1.5e-7`, `100.0`, `NaN`, `inf`,
//! `-inf`, `-0.0`). Own code where Arrow differs from SQL:
//!   * STRING to BOOL accepts exactly true/false/t/f/1/0 (any case, with
//!     surrounding whitespace); Arrow also takes yes/no/on/off.
//!   * BIGINT/INT/float to TIMESTAMP reinterprets the number as milliseconds
//!     since the epoch (floats truncated first); Arrow errors, even in safe
//!     mode, on values outside the calendar range its formatter supports.
//!   * TIMESTAMP to STRING gives NULL for such out-of-range values instead of
//!     an error. In range, the format is ISO 8601 `2024-01-02T03:04:05` with
//!     `.123` milliseconds when non-zero.
//!
//! BOOL <-> TIMESTAMP is not a cast (an internal error if it arrives).

use std::sync::Arc;

use arrow::array::temporal_conversions::as_datetime;
use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, Int64Array,
    TimestampMillisecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::compute::kernels::cast::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType};

use super::Value;
use crate::error::{Error, Result};
use crate::types::type_name;

const TS: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);

fn castable(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Boolean
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Utf8
    ) || *dt == TS
}

/// CAST of a value (a scalar stays a scalar).
pub(crate) fn cast_value(v: &Value, to: &DataType) -> Result<Value> {
    if v.data_type() == to {
        return Ok(v.clone());
    }
    Ok(v.same_shape(cast_array(v.array(), to)?))
}

fn unsupported(from: &DataType, to: &DataType) -> Error {
    Error::internal(format!("cannot cast {} to {}", type_name(from), type_name(to)))
}

fn arrow_cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let options = CastOptions {
        safe: true,
        ..Default::default()
    };
    Ok(cast_with_options(a, to, &options)?)
}

pub(crate) fn cast_array(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let from = a.data_type();
    if from == to {
        return Ok(Arc::clone(a));
    }
    if *from == DataType::Null && castable(to) {
        return Ok(new_null_array(to, a.len()));
    }
    if !castable(from) || !castable(to) {
        return Err(unsupported(from, to));
    }
    match (from, to) {
        (DataType::Utf8, DataType::Boolean) => Ok(utf8_to_bool(a)),
        (DataType::Boolean, _) if *to == TS => Err(unsupported(from, to)),
        (_, DataType::Boolean) if *from == TS => Err(unsupported(from, to)),
        (DataType::Int64, _) if *to == TS => Ok(Arc::new(int64_to_ts(a.as_primitive::<Int64Type>()))),
        (DataType::Int32, _) if *to == TS => {
            let wide: Int64Array = a.as_primitive::<Int32Type>().unary(i64::from);
            Ok(Arc::new(int64_to_ts(&wide)))
        }
        (DataType::Float32 | DataType::Float64, _) if *to == TS => {
            let ints = arrow_cast(a, &DataType::Int64)?;
            Ok(Arc::new(int64_to_ts(ints.as_primitive::<Int64Type>())))
        }
        (_, DataType::Utf8) if *from == TS => ts_to_utf8(a),
        (_, DataType::Int64 | DataType::Int32 | DataType::Float32 | DataType::Float64) if *from == TS => {
            let ms: ArrayRef = Arc::new(ts_to_int64(a.as_primitive::<TimestampMillisecondType>()));
            arrow_cast(&ms, to)
        }
        _ => arrow_cast(a, to),
    }
}

fn int64_to_ts(a: &Int64Array) -> TimestampMillisecondArray {
    TimestampMillisecondArray::new(a.values().clone(), a.nulls().cloned())
}

fn ts_to_int64(a: &TimestampMillisecondArray) -> Int64Array {
    Int64Array::new(a.values().clone(), a.nulls().cloned())
}

fn ts_to_utf8(a: &ArrayRef) -> Result<ArrayRef> {
    if let Ok(out) = arrow_cast(a, &DataType::Utf8) {
        return Ok(out);
    }
    // Some value is outside the range the formatter handles: NULL it.
    let ts = a.as_primitive::<TimestampMillisecondType>();
    let in_range = NullBuffer::new(arrow::buffer::BooleanBuffer::collect_bool(ts.len(), |i| {
        as_datetime::<TimestampMillisecondType>(ts.value(i)).is_some()
    }));
    let nulls = NullBuffer::union(ts.nulls(), Some(&in_range));
    let masked: ArrayRef = Arc::new(TimestampMillisecondArray::new(ts.values().clone(), nulls));
    arrow_cast(&masked, &DataType::Utf8)
}

/// SQL spelling of booleans: true/false/t/f/1/0, case-insensitive, with
/// surrounding whitespace ignored.
fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim_ascii();
    match t.as_bytes() {
        [b't' | b'T' | b'1'] => Some(true),
        [b'f' | b'F' | b'0'] => Some(false),
        _ if t.eq_ignore_ascii_case("true") => Some(true),
        _ if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn utf8_to_bool(a: &ArrayRef) -> ArrayRef {
    let s = a.as_string::<i32>();
    let mut values = BooleanBufferBuilder::new(s.len());
    let mut valid = BooleanBufferBuilder::new(s.len());
    for i in 0..s.len() {
        let v = if s.is_valid(i) {
            parse_bool(s.value(i))
        } else {
            None
        };
        values.append(v.unwrap_or(false));
        valid.append(v.is_some());
    }
    let valid = NullBuffer::new(valid.finish());
    let nulls = (valid.null_count() > 0).then_some(valid);
    Arc::new(BooleanArray::new(values.finish(), nulls))
}
