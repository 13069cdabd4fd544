//! String kernels: `||`, CONCAT, UPPER/LOWER, LENGTH, SUBSTRING.
//!
//! Results are written straight into one offsets vector and one byte vector
//! (no per-row allocation). When all the bytes of an input column are ASCII,
//! case mapping and character positions work on bytes directly.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanBufferBuilder, Int32Array, StringArray};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Int64Type};

use super::arith::{as_int64, prim, scalar_native};
use super::Value;
use crate::error::{Error, Result};
use crate::types::type_name;

/// Builds a Utf8 array from whole `&str` pieces, so the data stays valid
/// UTF-8 by construction (and is still validated once by `try_new`).
struct Utf8Out {
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Utf8Out {
    fn with_capacity(rows: usize, bytes: usize) -> Utf8Out {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Utf8Out {
            offsets,
            data: Vec::with_capacity(bytes),
        }
    }

    #[inline(always)]
    fn push_str(&mut self, s: &str) {
        self.data.extend_from_slice(s.as_bytes());
    }

    #[inline(always)]
    fn push_char(&mut self, c: char) {
        let mut buf = [0u8; 4];
        self.data.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    /// Ends the current row. Offsets wrap silently past 2 GiB; `finish`
    /// rejects that case.
    #[inline(always)]
    fn end_row(&mut self) {
        self.offsets.push(self.data.len() as i32);
    }

    fn finish(self, nulls: Option<NullBuffer>) -> Result<ArrayRef> {
        if i32::try_from(self.data.len()).is_err() {
            return Err(Error::internal("string result exceeds 2 GiB in one batch"));
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        Ok(Arc::new(StringArray::try_new(offsets, self.data.into(), nulls)?))
    }
}

fn strings<'a>(v: &'a Value, what: &str) -> Result<&'a StringArray> {
    v.array().as_string_opt::<i32>().ok_or_else(|| {
        Error::internal(format!(
            "{what} expects STRING arguments, got {}",
            type_name(v.data_type())
        ))
    })
}

/// The bytes of the rows of `a` (respecting a slice offset).
pub(crate) fn row_bytes(a: &StringArray) -> &[u8] {
    let offsets = a.value_offsets();
    let (Some(&first), Some(&last)) = (offsets.first(), offsets.last()) else {
        return &[];
    };
    a.value_data().get(first as usize..last as usize).unwrap_or(&[])
}

fn scalar_str(a: &StringArray) -> Result<&str> {
    if a.is_empty() {
        return Err(Error::internal("empty scalar value"));
    }
    Ok(a.value(0))
}

/// `l || r`: NULL if either side is NULL.
pub(crate) fn concat_op(l: &Value, r: &Value) -> Result<Value> {
    let la = strings(l, "||")?;
    let ra = strings(r, "||")?;
    let scalar = l.is_scalar() && r.is_scalar();
    if l.is_null_scalar() || r.is_null_scalar() {
        let rows = l.array_len().or(r.array_len()).unwrap_or(1);
        return Ok(Value::null_like(scalar, &DataType::Utf8, rows));
    }
    let (rows, nulls) = match (l.is_scalar(), r.is_scalar()) {
        (false, true) => (la.len(), la.nulls().cloned()),
        (true, false) => (ra.len(), ra.nulls().cloned()),
        _ => {
            if la.len() != ra.len() {
                return Err(Error::internal("|| operands differ in length"));
            }
            (la.len(), NullBuffer::union(la.nulls(), ra.nulls()))
        }
    };
    let bytes = |a: &StringArray, is_scalar: bool| {
        if is_scalar {
            row_bytes(a).len().saturating_mul(rows)
        } else {
            row_bytes(a).len()
        }
    };
    let mut out = Utf8Out::with_capacity(
        rows,
        bytes(la, l.is_scalar()).saturating_add(bytes(ra, r.is_scalar())),
    );
    let valid = |i: usize| nulls.as_ref().map_or(true, |n| n.is_valid(i));
    match (l.is_scalar(), r.is_scalar()) {
        (false, true) => {
            let s = scalar_str(ra)?;
            for i in 0..rows {
                if valid(i) {
                    out.push_str(la.value(i));
                    out.push_str(s);
                }
                out.end_row();
            }
        }
        (true, false) => {
            let s = scalar_str(la)?;
            for i in 0..rows {
                if valid(i) {
                    out.push_str(s);
                    out.push_str(ra.value(i));
                }
                out.end_row();
            }
        }
        _ => {
            for i in 0..rows {
                if valid(i) {
                    out.push_str(la.value(i));
                    out.push_str(ra.value(i));
                }
                out.end_row();
            }
        }
    }
    let array = out.finish(nulls)?;
    Ok(if scalar {
        Value::Scalar(array)
    } else {
        Value::Array(array)
    })
}

/// CONCAT(a, b, ...): NULL arguments count as empty strings; never NULL.
pub(crate) fn concat_fn(args: &[Value], rows: usize) -> Result<Value> {
    let arrays = args
        .iter()
        .map(|a| strings(a, "CONCAT"))
        .collect::<Result<Vec<_>>>()?;
    let scalar = args.iter().all(Value::is_scalar);
    let rows = if scalar { 1 } else { rows };
    for (v, a) in args.iter().zip(&arrays) {
        if !v.is_scalar() && a.len() != rows {
            return Err(Error::internal("CONCAT arguments differ in length"));
        }
    }
    // Per argument: a constant piece, or a column (None for a NULL scalar).
    enum Piece<'a> {
        Const(&'a str),
        Column(&'a StringArray),
    }
    let mut pieces = Vec::with_capacity(args.len());
    let mut bytes = 0usize;
    for (v, a) in args.iter().zip(&arrays) {
        if v.is_scalar() {
            if !v.is_null_scalar() {
                let s = scalar_str(a)?;
                bytes = bytes.saturating_add(s.len().saturating_mul(rows));
                pieces.push(Piece::Const(s));
            }
        } else {
            bytes = bytes.saturating_add(row_bytes(a).len());
            pieces.push(Piece::Column(a));
        }
    }
    let mut out = Utf8Out::with_capacity(rows, bytes);
    for i in 0..rows {
        for p in &pieces {
            match p {
                Piece::Const(s) => out.push_str(s),
                Piece::Column(a) => {
                    if a.is_valid(i) {
                        out.push_str(a.value(i));
                    }
                }
            }
        }
        out.end_row();
    }
    let array = out.finish(None)?;
    Ok(if scalar {
        Value::Scalar(array)
    } else {
        Value::Array(array)
    })
}

/// UPPER (`upper == true`) or LOWER, per character with Unicode mappings
/// (which may change the length, e.g. 'ß' -> 'SS').
pub(crate) fn change_case(v: &Value, upper: bool) -> Result<Value> {
    let what = if upper { "UPPER" } else { "LOWER" };
    let a = strings(v, what)?;
    let bytes = row_bytes(a);
    let nulls = a.nulls().cloned();
    if bytes.is_ascii() {
        let data: Vec<u8> = if upper {
            bytes.iter().map(u8::to_ascii_uppercase).collect()
        } else {
            bytes.iter().map(u8::to_ascii_lowercase).collect()
        };
        let offsets = a.value_offsets();
        let base = offsets.first().copied().unwrap_or(0);
        let offsets = if base == 0 {
            a.offsets().clone()
        } else {
            OffsetBuffer::new(ScalarBuffer::from(
                offsets.iter().map(|o| o - base).collect::<Vec<_>>(),
            ))
        };
        let out = StringArray::try_new(offsets, data.into(), nulls)?;
        return Ok(v.same_shape(Arc::new(out)));
    }
    let mut out = Utf8Out::with_capacity(a.len(), bytes.len() + bytes.len() / 8);
    for i in 0..a.len() {
        if a.is_valid(i) {
            let s = a.value(i);
            if s.is_ascii() {
                out.data.extend(s.bytes().map(|b| {
                    if upper {
                        b.to_ascii_uppercase()
                    } else {
                        b.to_ascii_lowercase()
                    }
                }));
            } else if upper {
                for c in s.chars() {
                    c.to_uppercase().for_each(|u| out.push_char(u));
                }
            } else {
                for c in s.chars() {
                    c.to_lowercase().for_each(|u| out.push_char(u));
                }
            }
        }
        out.end_row();
    }
    Ok(v.same_shape(out.finish(nulls)?))
}

/// LENGTH in characters (Unicode scalar values), as INT.
pub(crate) fn char_length(v: &Value) -> Result<Value> {
    let a = strings(v, "LENGTH")?;
    let offsets = a.value_offsets();
    let values: Vec<i32> = if row_bytes(a).is_ascii() {
        offsets.windows(2).map(|w| w[1] - w[0]).collect()
    } else {
        (0..a.len())
            .map(|i| {
                // Count the bytes that start a character.
                a.value(i).bytes().filter(|&b| (b as i8) >= -0x40).count() as i32
            })
            .collect()
    };
    let out = Int32Array::new(ScalarBuffer::from(values), a.nulls().cloned());
    Ok(v.same_shape(Arc::new(out)))
}

/// The (characters to skip, characters to take) of SUBSTRING(s, start, len)
/// with PostgreSQL semantics: the window [start, start + len) of 1-based
/// positions, clipped to the string. None (NULL) for a negative length.
#[inline]
fn window(start: i64, len: Option<i64>) -> Option<(usize, usize)> {
    let from = start.max(1);
    let to = match len {
        None => i64::MAX,
        Some(l) if l < 0 => return None,
        Some(l) => start.saturating_add(l),
    };
    if to <= from {
        return Some((0, 0));
    }
    let skip = usize::try_from(from - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(to - from).unwrap_or(usize::MAX);
    Some((skip, take))
}

/// Byte offset of character `k` of `s`, or `s.len()` if it has fewer.
#[inline]
fn char_offset(s: &str, k: usize) -> usize {
    if k == 0 {
        return 0;
    }
    if k >= s.len() {
        return s.len();
    }
    s.char_indices().nth(k).map_or(s.len(), |(i, _)| i)
}

#[inline]
fn substr(s: &str, skip: usize, take: usize, ascii: bool) -> &str {
    let (b, e) = if ascii {
        let b = skip.min(s.len());
        (b, b + take.min(s.len() - b))
    } else {
        let b = char_offset(s, skip);
        (b, b + char_offset(s.get(b..).unwrap_or(""), take))
    };
    s.get(b..e).unwrap_or("")
}

/// An INT/BIGINT argument: constant, or a BIGINT column.
enum IntArg<'a> {
    Const(i64),
    Column(&'a arrow::array::Int64Array),
}

impl IntArg<'_> {
    #[inline(always)]
    fn get(&self, i: usize) -> Option<i64> {
        match self {
            IntArg::Const(v) => Some(*v),
            IntArg::Column(a) => a.is_valid(i).then(|| a.value(i)),
        }
    }
}

fn int_arg(v: &Value, rows: usize) -> Result<IntArg<'_>> {
    let p = prim::<Int64Type>(v, "SUBSTRING")?;
    if v.is_scalar() {
        return Ok(IntArg::Const(scalar_native(p)?));
    }
    if p.len() != rows {
        return Err(Error::internal("SUBSTRING arguments differ in length"));
    }
    Ok(IntArg::Column(p))
}

/// SUBSTRING(s, start [, len]): 1-based, in characters.
pub(crate) fn substring(s: &Value, start: &Value, len: Option<&Value>, rows: usize) -> Result<Value> {
    strings(s, "SUBSTRING")?;
    let start = as_int64(start, "SUBSTRING start")?;
    let len = len.map(|l| as_int64(l, "SUBSTRING length")).transpose()?;
    let scalar = s.is_scalar() && start.is_scalar() && len.as_ref().map_or(true, Value::is_scalar);
    let any_null_scalar =
        s.is_null_scalar() || start.is_null_scalar() || len.as_ref().is_some_and(Value::is_null_scalar);
    let rows = if scalar { 1 } else { rows };
    if any_null_scalar {
        return Ok(Value::null_like(scalar, &DataType::Utf8, rows));
    }
    // The string as a column of `rows` rows (a scalar string with column
    // positions is rare enough to broadcast).
    let s_array = if s.is_scalar() && !scalar {
        s.clone().into_array(rows)?
    } else {
        s.array().clone()
    };
    let a = s_array.as_string::<i32>();
    let start_arg = int_arg(&start, rows)?;
    let len_arg = len.as_ref().map(|l| int_arg(l, rows)).transpose()?;
    if a.len() != rows {
        return Err(Error::internal("SUBSTRING arguments differ in length"));
    }
    let ascii = row_bytes(a).is_ascii();
    let mut out = Utf8Out::with_capacity(rows, row_bytes(a).len());
    let mut valid = BooleanBufferBuilder::new(rows);
    let mut all_valid = true;
    match (&start_arg, &len_arg) {
        // The common case: constant positions, one window for every row.
        (IntArg::Const(st), None | Some(IntArg::Const(_))) => {
            let l = len_arg.as_ref().and_then(|l| l.get(0));
            match window(*st, l) {
                None => return Ok(Value::null_like(scalar, &DataType::Utf8, rows)),
                Some((skip, take)) => {
                    for i in 0..rows {
                        out.push_str(substr(a.value(i), skip, take, ascii));
                        out.end_row();
                    }
                    let array = out.finish(a.nulls().cloned())?;
                    return Ok(if scalar {
                        Value::Scalar(array)
                    } else {
                        Value::Array(array)
                    });
                }
            }
        }
        _ => {
            for i in 0..rows {
                let w = if a.is_valid(i) {
                    start_arg.get(i).and_then(|st| match &len_arg {
                        None => window(st, None),
                        Some(l) => l.get(i).and_then(|l| window(st, Some(l))),
                    })
                } else {
                    None
                };
                match w {
                    Some((skip, take)) => {
                        out.push_str(substr(a.value(i), skip, take, ascii));
                        valid.append(true);
                    }
                    None => {
                        valid.append(false);
                        all_valid = false;
                    }
                }
                out.end_row();
            }
        }
    }
    let nulls = if all_valid {
        None
    } else {
        Some(NullBuffer::new(valid.finish()))
    };
    let array = out.finish(nulls)?;
    Ok(if scalar {
        Value::Scalar(array)
    } else {
        Value::Array(array)
    })
}
