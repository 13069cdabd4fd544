//! Comparisons and `IN` lists.
//!
//! Non-float types use Arrow's comparison kernels (with a literal side passed
//! as an Arrow `Scalar`, so it is never expanded). Floats get their own kernel
//! because Arrow orders them by IEEE totalOrder, where `-0.0 < 0.0`; SQL wants
//! `-0.0 = 0.0`. Like PostgreSQL, NaN equals NaN and sorts above every other
//! value, so the comparisons stay a total order.

use std::hash::Hash;
use std::sync::Arc;

use ahash::AHashSet;
use arrow::array::{Array, ArrowPrimitiveType, AsArray, BooleanArray};
use arrow::buffer::{BooleanBuffer, NullBuffer};
use arrow::compute::kernels::cmp;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType,
};

use super::arith::{prim, scalar_native, FloatOps};
use super::{logical_and_or, Value};
use crate::error::{Error, Result};
use crate::expr::BinaryOp;
use crate::types::type_name;

#[inline(always)]
fn f_eq<T: FloatOps>(a: T, b: T) -> bool {
    a == b || (a.is_nan_() && b.is_nan_())
}

#[inline(always)]
fn f_lt<T: FloatOps>(a: T, b: T) -> bool {
    a < b || (!a.is_nan_() && b.is_nan_())
}

#[inline(always)]
fn f_le<T: FloatOps>(a: T, b: T) -> bool {
    a <= b || b.is_nan_()
}

fn float_kernel<T>(l: &Value, r: &Value, f: impl Fn(T::Native, T::Native) -> bool) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    let la = prim::<T>(l, "comparison")?;
    let ra = prim::<T>(r, "comparison")?;
    let scalar = l.is_scalar() && r.is_scalar();
    if l.is_null_scalar() || r.is_null_scalar() {
        let rows = l.array_len().or(r.array_len()).unwrap_or(1);
        return Ok(Value::null_like(scalar, &DataType::Boolean, rows));
    }
    let (bits, nulls) = match (l.is_scalar(), r.is_scalar()) {
        (false, true) => {
            let x = la.values().as_ref();
            let y = scalar_native(ra)?;
            (
                BooleanBuffer::collect_bool(x.len(), |i| f(x[i], y)),
                la.nulls().cloned(),
            )
        }
        (true, false) => {
            let x = scalar_native(la)?;
            let y = ra.values().as_ref();
            (
                BooleanBuffer::collect_bool(y.len(), |i| f(x, y[i])),
                ra.nulls().cloned(),
            )
        }
        _ => {
            let x = la.values().as_ref();
            let y = ra.values().as_ref();
            if x.len() != y.len() {
                return Err(Error::internal("comparison operands differ in length"));
            }
            (
                BooleanBuffer::collect_bool(x.len(), |i| f(x[i], y[i])),
                NullBuffer::union(la.nulls(), ra.nulls()),
            )
        }
    };
    let out: Arc<dyn Array> = Arc::new(BooleanArray::new(bits, nulls));
    Ok(if scalar {
        Value::Scalar(out)
    } else {
        Value::Array(out)
    })
}

/// A column against a literal that is not NaN (the common `price > 100.0`):
/// the SQL order then needs one IEEE comparison per value, which compiles
/// to vector code. NaN values: above every number, as `f_lt` has it.
// `!(v <= y)` is meant: it is true for a NaN `v`, as SQL's order wants.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
fn float_vs_number<T>(op: BinaryOp, l: &Value, r: &Value) -> Result<Option<Value>>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    let (col, lit, op) = match (l.is_scalar(), r.is_scalar()) {
        (false, true) => (l, r, op),
        // `lit op col` is `col op' lit` with the operator mirrored.
        (true, false) => (
            r,
            l,
            match op {
                BinaryOp::Lt => BinaryOp::Gt,
                BinaryOp::LtEq => BinaryOp::GtEq,
                BinaryOp::Gt => BinaryOp::Lt,
                BinaryOp::GtEq => BinaryOp::LtEq,
                other => other,
            },
        ),
        _ => return Ok(None),
    };
    if lit.is_null_scalar() {
        return Ok(None);
    }
    let a = prim::<T>(col, "comparison")?;
    let y = scalar_native(prim::<T>(lit, "comparison")?)?;
    if y.is_nan_() {
        return Ok(None);
    }
    let x = a.values().as_ref();
    // For y not NaN: a > y is !(a <= y) (true for a NaN), a >= y is
    // !(a < y); a < y, a <= y and a = y are false for a NaN as they are.
    let bits = match op {
        BinaryOp::Eq => pack(x, |v| v == y),
        BinaryOp::NotEq => pack(x, |v| v != y),
        BinaryOp::Lt => pack(x, |v| v < y),
        BinaryOp::LtEq => pack(x, |v| v <= y),
        BinaryOp::Gt => pack(x, |v| !(v <= y)),
        BinaryOp::GtEq => pack(x, |v| !(v < y)),
        _ => return Err(Error::internal(format!("{op:?} is not a comparison"))),
    };
    Ok(Some(Value::Array(Arc::new(BooleanArray::new(
        bits,
        a.nulls().cloned(),
    )))))
}

/// The truth of `f` for each value, 64 to a word.
#[inline(always)]
fn pack<N: Copy>(x: &[N], f: impl Fn(N) -> bool) -> BooleanBuffer {
    let chunks = x.chunks_exact(64);
    let tail = chunks.remainder();
    let mut words: Vec<u64> = Vec::with_capacity(x.len().div_ceil(64));
    for c in chunks {
        let mut w = 0u64;
        for (j, &v) in c.iter().enumerate() {
            w |= (f(v) as u64) << j;
        }
        words.push(w);
    }
    if !tail.is_empty() {
        let mut w = 0u64;
        for (j, &v) in tail.iter().enumerate() {
            w |= (f(v) as u64) << j;
        }
        words.push(w);
    }
    BooleanBuffer::new(arrow::buffer::Buffer::from_vec(words), 0, x.len())
}

fn float_compare<T>(op: BinaryOp, l: &Value, r: &Value) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    if let Some(v) = float_vs_number::<T>(op, l, r)? {
        return Ok(v);
    }
    float_compare_general::<T>(op, l, r)
}

/// Any two float operands, one value at a time.
fn float_compare_general<T>(op: BinaryOp, l: &Value, r: &Value) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    match op {
        BinaryOp::Eq => float_kernel::<T>(l, r, f_eq),
        BinaryOp::NotEq => float_kernel::<T>(l, r, |a, b| !f_eq(a, b)),
        BinaryOp::Lt => float_kernel::<T>(l, r, f_lt),
        BinaryOp::LtEq => float_kernel::<T>(l, r, f_le),
        BinaryOp::Gt => float_kernel::<T>(l, r, |a, b| f_lt(b, a)),
        BinaryOp::GtEq => float_kernel::<T>(l, r, |a, b| f_le(b, a)),
        _ => Err(Error::internal(format!("{op:?} is not a comparison"))),
    }
}

/// `l op r` for = <> < <= > >=; NULL if either side is NULL.
pub(crate) fn compare(op: BinaryOp, l: &Value, r: &Value) -> Result<Value> {
    if l.data_type() != r.data_type() {
        return Err(Error::internal(format!(
            "comparison operand types differ ({} and {})",
            type_name(l.data_type()),
            type_name(r.data_type())
        )));
    }
    match l.data_type() {
        DataType::Float32 => return float_compare::<Float32Type>(op, l, r),
        DataType::Float64 => return float_compare::<Float64Type>(op, l, r),
        DataType::Boolean
        | DataType::Int32
        | DataType::Int64
        | DataType::Utf8
        | DataType::Timestamp(TimeUnit::Millisecond, _) => {}
        other => {
            return Err(Error::internal(format!(
                "comparison is not defined for {}",
                type_name(other)
            )))
        }
    }
    let out = match op {
        BinaryOp::Eq => cmp::eq(l, r)?,
        BinaryOp::NotEq => cmp::neq(l, r)?,
        BinaryOp::Lt => cmp::lt(l, r)?,
        BinaryOp::LtEq => cmp::lt_eq(l, r)?,
        BinaryOp::Gt => cmp::gt(l, r)?,
        BinaryOp::GtEq => cmp::gt_eq(l, r)?,
        _ => return Err(Error::internal(format!("{op:?} is not a comparison"))),
    };
    let out: Arc<dyn Array> = Arc::new(out);
    Ok(if l.is_scalar() && r.is_scalar() {
        Value::Scalar(out)
    } else {
        Value::Array(out)
    })
}

/// `arg IN (items)`: TRUE if some item equals arg; otherwise NULL if arg or
/// some item is NULL; otherwise FALSE. (NOT IN is the NOT of this.)
pub(crate) fn in_list(arg: &Value, items: &[Value], rows: usize) -> Result<Value> {
    for item in items {
        if item.data_type() != arg.data_type() {
            return Err(Error::internal(format!(
                "IN list item is {} but the tested value is {}",
                type_name(item.data_type()),
                type_name(arg.data_type())
            )));
        }
    }
    if items.is_empty() {
        // Not valid SQL, but defined: FALSE, or NULL for a NULL arg.
        let a = arg.array();
        let out = BooleanArray::new(BooleanBuffer::new_unset(a.len()), a.logical_nulls());
        return Ok(arg.same_shape(Arc::new(out)));
    }
    if !arg.is_scalar() && items.iter().all(Value::is_scalar) {
        let a = arg.array();
        let out = match a.data_type() {
            DataType::Int32 => Some(in_set_primitive::<Int32Type, _>(arg, items, i64::from)?),
            DataType::Int64 => Some(in_set_primitive::<Int64Type, _>(arg, items, |v| v)?),
            DataType::Timestamp(TimeUnit::Millisecond, _) => Some(in_set_primitive::<
                TimestampMillisecondType,
                _,
            >(arg, items, |v| v)?),
            DataType::Float32 => Some(in_set_primitive::<Float32Type, _>(arg, items, |v| {
                float_key(f64::from(v))
            })?),
            DataType::Float64 => Some(in_set_primitive::<Float64Type, _>(arg, items, float_key)?),
            DataType::Utf8 => Some(in_set_utf8(arg, items)?),
            _ => None,
        };
        if let Some(out) = out {
            return Ok(Value::Array(Arc::new(out)));
        }
    }
    // General case: OR (Kleene) of arg = item over the items.
    let mut acc: Option<Value> = None;
    for item in items {
        let eq = compare(BinaryOp::Eq, arg, item)?;
        acc = Some(match acc {
            None => eq,
            Some(a) => logical_and_or(false, a, eq)?,
        });
    }
    acc.ok_or_else(|| Error::internal(format!("empty IN list over {rows} rows")))
}

/// Equality key for a float: NaN equals NaN and -0.0 equals 0.0.
#[inline(always)]
fn float_key(x: f64) -> u64 {
    if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        // -0.0 + 0.0 is +0.0.
        (x + 0.0).to_bits()
    }
}

/// Up to this many distinct keys, a linear scan beats hashing.
const LINEAR_SCAN_MAX: usize = 8;

fn in_result(found: BooleanBuffer, arg_nulls: Option<&NullBuffer>, list_has_null: bool) -> BooleanArray {
    let nulls = if list_has_null {
        // Rows without a match are NULL.
        let valid = match arg_nulls {
            Some(n) => &found & n.inner(),
            None => found.clone(),
        };
        Some(NullBuffer::new(valid))
    } else {
        arg_nulls.cloned()
    };
    BooleanArray::new(found, nulls)
}

fn in_set_primitive<T, K>(arg: &Value, items: &[Value], key: impl Fn(T::Native) -> K) -> Result<BooleanArray>
where
    T: ArrowPrimitiveType,
    K: Hash + Eq + Copy,
{
    let a = prim::<T>(arg, "IN")?;
    let mut has_null = false;
    let mut keys: Vec<K> = Vec::with_capacity(items.len());
    for item in items {
        let p = prim::<T>(item, "IN")?;
        if item.is_null_scalar() {
            has_null = true;
        } else {
            let k = key(scalar_native(p)?);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let x = a.values().as_ref();
    let found = if keys.len() <= LINEAR_SCAN_MAX {
        BooleanBuffer::collect_bool(x.len(), |i| keys.contains(&key(x[i])))
    } else {
        let set: AHashSet<K> = keys.iter().copied().collect();
        BooleanBuffer::collect_bool(x.len(), |i| set.contains(&key(x[i])))
    };
    Ok(in_result(found, a.nulls(), has_null))
}

fn in_set_utf8(arg: &Value, items: &[Value]) -> Result<BooleanArray> {
    let a = arg.array().as_string::<i32>();
    let mut has_null = false;
    let mut keys: Vec<&str> = Vec::with_capacity(items.len());
    for item in items {
        if item.is_null_scalar() {
            has_null = true;
            continue;
        }
        let s = item
            .array()
            .as_string_opt::<i32>()
            .ok_or_else(|| Error::internal("IN: expected STRING items"))?;
        if s.is_empty() {
            return Err(Error::internal("empty scalar value"));
        }
        let k = s.value(0);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let found = if keys.len() <= LINEAR_SCAN_MAX {
        BooleanBuffer::collect_bool(a.len(), |i| keys.contains(&a.value(i)))
    } else {
        let set: AHashSet<&str> = keys.iter().copied().collect();
        BooleanBuffer::collect_bool(a.len(), |i| set.contains(a.value(i)))
    };
    Ok(in_result(found, a.nulls(), has_null))
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, Float32Array, Float64Array};

    use super::*;

    /// The packed comparison against a literal agrees with the general
    /// float kernel on NaN, signed zeros, infinities and NULLs, across
    /// word boundaries, in both operand orders, for f32 and f64.
    #[test]
    fn column_against_a_number_agrees_with_the_general_kernel() {
        let special = [f64::NAN, -0.0, 0.0, 1.5, -1.5, f64::INFINITY, f64::NEG_INFINITY];
        let vals: Vec<Option<f64>> = (0..200)
            .map(|i| (i % 11 != 3).then(|| special[i % special.len()] * if i % 2 == 0 { 1.0 } else { 3.0 }))
            .collect();
        /// Both paths over a column and a literal, each operator, each order.
        fn check<T: ArrowPrimitiveType>(col: ArrayRef, lit: ArrayRef, what: &str) -> usize
        where
            T::Native: FloatOps,
        {
            let (c, l) = (Value::Array(col), Value::Scalar(lit));
            let mut checked = 0;
            for op in [
                BinaryOp::Eq,
                BinaryOp::NotEq,
                BinaryOp::Lt,
                BinaryOp::LtEq,
                BinaryOp::Gt,
                BinaryOp::GtEq,
            ] {
                for (a, b) in [(&c, &l), (&l, &c)] {
                    let fast = float_vs_number::<T>(op, a, b).unwrap().expect("taken");
                    let general = float_compare_general::<T>(op, a, b).unwrap();
                    assert_eq!(fast.array(), general.array(), "{op:?} {what}");
                    checked += 1;
                }
            }
            checked
        }
        let mut checked = 0;
        for lit in [0.0, -0.0, 1.5, 4.5, f64::INFINITY, f64::NEG_INFINITY] {
            for len in [0, 1, 63, 64, 65, 200] {
                let what = format!("{lit} {len}");
                let c64: Vec<Option<f64>> = vals[..len].to_vec();
                let c32: Vec<Option<f32>> = c64.iter().map(|v| v.map(|x| x as f32)).collect();
                checked += check::<Float64Type>(
                    Arc::new(Float64Array::from(c64)),
                    Arc::new(Float64Array::from(vec![lit])),
                    &what,
                );
                checked += check::<Float32Type>(
                    Arc::new(Float32Array::from(c32)),
                    Arc::new(Float32Array::from(vec![lit as f32])),
                    &what,
                );
            }
        }
        assert_eq!(checked, 6 * 6 * 6 * 4);
        // A NaN or NULL literal takes the general path.
        let c = Value::Array(Arc::new(Float64Array::from(vec![1.0])));
        let nan = Value::Scalar(Arc::new(Float64Array::from(vec![f64::NAN])));
        assert!(float_vs_number::<Float64Type>(BinaryOp::Lt, &c, &nan)
            .unwrap()
            .is_none());
    }
}
