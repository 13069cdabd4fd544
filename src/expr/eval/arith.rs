//! Arithmetic and numeric functions: tight loops over native value slices.
//!
//! Each kernel produces the value buffer in one pass; rows that overflow or
//! divide by zero get an unset bit in a validity bitmap built alongside (64
//! rows per word), which is then intersected with the inputs' null buffers.
//! Values computed for NULL input rows are garbage and masked out.

use std::ops::{Add, Div, Mul, Neg, Rem, Sub};
use std::sync::Arc;

use arrow::array::{Array, ArrowPrimitiveType, AsArray, PrimitiveArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use arrow::datatypes::{ArrowNativeType, DataType, Float32Type, Float64Type, Int32Type, Int64Type};

use super::Value;
use crate::error::{Error, Result};
use crate::expr::BinaryOp;
use crate::types::type_name;

/// Integer operations with SQL results: `ok == false` means the row is NULL.
pub(crate) trait IntOps: ArrowNativeType {
    fn add_ok(self, o: Self) -> (Self, bool);
    fn sub_ok(self, o: Self) -> (Self, bool);
    fn mul_ok(self, o: Self) -> (Self, bool);
    /// Truncating division; by zero and MIN / -1 are not ok.
    fn div_ok(self, o: Self) -> (Self, bool);
    /// Remainder with the sign of the dividend; by zero is not ok.
    fn rem_ok(self, o: Self) -> (Self, bool);
    fn neg_ok(self) -> (Self, bool);
    fn abs_ok(self) -> (Self, bool);
    /// Rounds half away from zero to `-digits` decimal places left of the
    /// point (digits < 0); unchanged when digits >= 0.
    fn round_ok(self, digits: i64) -> (Self, bool);
}

macro_rules! int_ops {
    ($t:ty) => {
        impl IntOps for $t {
            #[inline(always)]
            fn add_ok(self, o: Self) -> (Self, bool) {
                let (v, overflow) = self.overflowing_add(o);
                (v, !overflow)
            }
            #[inline(always)]
            fn sub_ok(self, o: Self) -> (Self, bool) {
                let (v, overflow) = self.overflowing_sub(o);
                (v, !overflow)
            }
            #[inline(always)]
            fn mul_ok(self, o: Self) -> (Self, bool) {
                let (v, overflow) = self.overflowing_mul(o);
                (v, !overflow)
            }
            #[inline(always)]
            fn div_ok(self, o: Self) -> (Self, bool) {
                let bad = o == 0 || (o == -1 && self == <$t>::MIN);
                let d = if bad { 1 } else { o };
                (self.wrapping_div(d), !bad)
            }
            #[inline(always)]
            fn rem_ok(self, o: Self) -> (Self, bool) {
                let bad = o == 0;
                // x % -1 is 0 for every x; wrapping_rem also covers MIN % -1.
                let d = if bad { 1 } else { o };
                (self.wrapping_rem(d), !bad)
            }
            #[inline(always)]
            fn neg_ok(self) -> (Self, bool) {
                let (v, overflow) = self.overflowing_neg();
                (v, !overflow)
            }
            #[inline(always)]
            fn abs_ok(self) -> (Self, bool) {
                let (v, overflow) = self.overflowing_abs();
                (v, !overflow)
            }
            #[inline]
            fn round_ok(self, digits: i64) -> (Self, bool) {
                if digits >= 0 {
                    return (self, true);
                }
                // Every i64 is below 10^20 / 2, so from 20 digits on all
                // values round to 0 (19 digits can still overflow).
                if digits < -19 {
                    return (0, true);
                }
                let p = 10i128.pow(digits.unsigned_abs() as u32);
                let x = i128::from(self);
                let mut q = x / p;
                let r = x % p;
                if 2 * r.abs() >= p {
                    q += x.signum();
                }
                match <$t>::try_from(q * p) {
                    Ok(v) => (v, true),
                    Err(_) => (0, false),
                }
            }
        }
    };
}
int_ops!(i32);
int_ops!(i64);

/// Float operations used by the kernels (implemented for f32 and f64).
pub(crate) trait FloatOps:
    ArrowNativeType
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Rem<Output = Self>
    + Neg<Output = Self>
    + PartialOrd
{
    const ZERO: Self;
    fn abs_(self) -> Self;
    fn floor_(self) -> Self;
    fn ceil_(self) -> Self;
    fn round_(self) -> Self;
    fn to_f64_(self) -> f64;
    fn from_f64_(v: f64) -> Self;
    fn is_nan_(self) -> bool;
}

macro_rules! float_ops {
    ($t:ty) => {
        impl FloatOps for $t {
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn abs_(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn floor_(self) -> Self {
                self.floor()
            }
            #[inline(always)]
            fn ceil_(self) -> Self {
                self.ceil()
            }
            #[inline(always)]
            fn round_(self) -> Self {
                self.round()
            }
            #[inline(always)]
            fn to_f64_(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64_(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn is_nan_(self) -> bool {
                self.is_nan()
            }
        }
    };
}
float_ops!(f32);
float_ops!(f64);

/// Runs `f` for rows `0..len`. With `CHECKED`, also builds a validity bitmap
/// of the rows where `f` returned ok (None when all were ok).
#[inline(always)]
fn run<T: ArrowNativeType, const CHECKED: bool>(
    len: usize,
    mut f: impl FnMut(usize) -> (T, bool),
) -> (Vec<T>, Option<BooleanBuffer>) {
    if !CHECKED {
        return ((0..len).map(|i| f(i).0).collect(), None);
    }
    let mut values: Vec<T> = Vec::with_capacity(len);
    let mut words: Vec<u64> = Vec::with_capacity(len.div_ceil(64));
    let mut all_ok = true;
    let mut start = 0;
    while start < len {
        let end = (start + 64).min(len);
        let mut word = 0u64;
        values.extend((start..end).map(|i| {
            let (v, ok) = f(i);
            word |= u64::from(ok) << (i - start);
            v
        }));
        let full = if end - start == 64 {
            u64::MAX
        } else {
            (1u64 << (end - start)) - 1
        };
        all_ok &= word == full;
        words.push(word.to_le());
        start = end;
    }
    let validity = (!all_ok).then(|| BooleanBuffer::new(Buffer::from_vec(words), 0, len));
    (values, validity)
}

fn merge_nulls(input: Option<NullBuffer>, validity: Option<BooleanBuffer>) -> Option<NullBuffer> {
    match validity {
        None => input,
        Some(v) => NullBuffer::union(input.as_ref(), Some(&NullBuffer::new(v))),
    }
}

pub(crate) fn prim<'a, T: ArrowPrimitiveType>(v: &'a Value, what: &str) -> Result<&'a PrimitiveArray<T>> {
    v.array().as_primitive_opt::<T>().ok_or_else(|| {
        Error::internal(format!(
            "{what}: expected a {} operand, got {}",
            type_name(&T::DATA_TYPE),
            type_name(v.data_type())
        ))
    })
}

pub(crate) fn scalar_native<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>) -> Result<T::Native> {
    a.values()
        .first()
        .copied()
        .ok_or_else(|| Error::internal("empty scalar value"))
}

fn finish<O: ArrowPrimitiveType>(
    scalar: bool,
    values: Vec<O::Native>,
    nulls: Option<NullBuffer>,
) -> Result<Value> {
    let array = PrimitiveArray::<O>::try_new(ScalarBuffer::from(values), nulls)?;
    let array: Arc<dyn Array> = Arc::new(array);
    Ok(if scalar {
        Value::Scalar(array)
    } else {
        Value::Array(array)
    })
}

/// Applies `f` row by row to a primitive value. With `CHECKED`, rows where
/// `f` returns `false` become NULL.
pub(crate) fn unary<A, O, const CHECKED: bool>(
    v: &Value,
    what: &str,
    f: impl Fn(A::Native) -> (O::Native, bool),
) -> Result<Value>
where
    A: ArrowPrimitiveType,
    O: ArrowPrimitiveType,
{
    let a = prim::<A>(v, what)?;
    if v.is_null_scalar() {
        return Ok(Value::null_like(true, &O::DATA_TYPE, 1));
    }
    let x = a.values().as_ref();
    let (values, validity) = run::<O::Native, CHECKED>(x.len(), |i| f(x[i]));
    finish::<O>(v.is_scalar(), values, merge_nulls(a.nulls().cloned(), validity))
}

/// Applies `f` row by row to two primitive values, either of which may be a
/// scalar. With `CHECKED`, rows where `f` returns `false` become NULL.
pub(crate) fn binary<A, B, O, const CHECKED: bool>(
    l: &Value,
    r: &Value,
    what: &str,
    f: impl Fn(A::Native, B::Native) -> (O::Native, bool),
) -> Result<Value>
where
    A: ArrowPrimitiveType,
    B: ArrowPrimitiveType,
    O: ArrowPrimitiveType,
{
    let la = prim::<A>(l, what)?;
    let ra = prim::<B>(r, what)?;
    if l.is_null_scalar() || r.is_null_scalar() {
        let rows = l.array_len().or(r.array_len()).unwrap_or(1);
        return Ok(Value::null_like(
            l.is_scalar() && r.is_scalar(),
            &O::DATA_TYPE,
            rows,
        ));
    }
    let (values, validity, nulls) = match (l.is_scalar(), r.is_scalar()) {
        (false, true) => {
            let x = la.values().as_ref();
            let y = scalar_native(ra)?;
            let (v, ok) = run::<O::Native, CHECKED>(x.len(), |i| f(x[i], y));
            (v, ok, la.nulls().cloned())
        }
        (true, false) => {
            let x = scalar_native(la)?;
            let y = ra.values().as_ref();
            let (v, ok) = run::<O::Native, CHECKED>(y.len(), |i| f(x, y[i]));
            (v, ok, ra.nulls().cloned())
        }
        _ => {
            let x = la.values().as_ref();
            let y = ra.values().as_ref();
            if x.len() != y.len() {
                return Err(Error::internal(format!("{what}: operands differ in length")));
            }
            let (v, ok) = run::<O::Native, CHECKED>(x.len(), |i| f(x[i], y[i]));
            (v, ok, NullBuffer::union(la.nulls(), ra.nulls()))
        }
    };
    finish::<O>(
        l.is_scalar() && r.is_scalar(),
        values,
        merge_nulls(nulls, validity),
    )
}

fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        _ => "arithmetic",
    }
}

fn int_arith<T>(op: BinaryOp, l: &Value, r: &Value) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: IntOps,
{
    let what = op_name(op);
    match op {
        BinaryOp::Add => binary::<T, T, T, true>(l, r, what, IntOps::add_ok),
        BinaryOp::Sub => binary::<T, T, T, true>(l, r, what, IntOps::sub_ok),
        BinaryOp::Mul => binary::<T, T, T, true>(l, r, what, IntOps::mul_ok),
        BinaryOp::Div => binary::<T, T, T, true>(l, r, what, IntOps::div_ok),
        BinaryOp::Mod => binary::<T, T, T, true>(l, r, what, IntOps::rem_ok),
        _ => Err(Error::internal(format!("{op:?} is not arithmetic"))),
    }
}

fn float_arith<T>(op: BinaryOp, l: &Value, r: &Value) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    let what = op_name(op);
    let zero = <T::Native as FloatOps>::ZERO;
    match op {
        BinaryOp::Add => binary::<T, T, T, false>(l, r, what, |a, b| (a + b, true)),
        BinaryOp::Sub => binary::<T, T, T, false>(l, r, what, |a, b| (a - b, true)),
        BinaryOp::Mul => binary::<T, T, T, false>(l, r, what, |a, b| (a * b, true)),
        // x / 0 and x % 0 are NULL, as for integers (the computed inf/NaN is
        // masked out).
        BinaryOp::Div => binary::<T, T, T, true>(l, r, what, |a, b| (a / b, b != zero)),
        BinaryOp::Mod => binary::<T, T, T, true>(l, r, what, |a, b| (a % b, b != zero)),
        _ => Err(Error::internal(format!("{op:?} is not arithmetic"))),
    }
}

/// `l op r` for + - * / % over two values of the same numeric type.
pub(crate) fn binary_op(op: BinaryOp, l: &Value, r: &Value) -> Result<Value> {
    if l.data_type() != r.data_type() {
        return Err(Error::internal(format!(
            "operator {}: operand types differ ({} and {})",
            op_name(op),
            type_name(l.data_type()),
            type_name(r.data_type())
        )));
    }
    match l.data_type() {
        DataType::Int32 => int_arith::<Int32Type>(op, l, r),
        DataType::Int64 => int_arith::<Int64Type>(op, l, r),
        DataType::Float32 => float_arith::<Float32Type>(op, l, r),
        DataType::Float64 => float_arith::<Float64Type>(op, l, r),
        other => Err(Error::internal(format!(
            "operator {} is not defined for {}",
            op_name(op),
            type_name(other)
        ))),
    }
}

fn numeric_error(what: &str, dt: &DataType) -> Error {
    Error::internal(format!(
        "{what} expects a numeric argument, got {}",
        type_name(dt)
    ))
}

/// Unary minus: integer MIN gives NULL.
pub(crate) fn negate(v: &Value) -> Result<Value> {
    match v.data_type() {
        DataType::Int32 => unary::<Int32Type, Int32Type, true>(v, "-", IntOps::neg_ok),
        DataType::Int64 => unary::<Int64Type, Int64Type, true>(v, "-", IntOps::neg_ok),
        DataType::Float32 => unary::<Float32Type, Float32Type, false>(v, "-", |x| (-x, true)),
        DataType::Float64 => unary::<Float64Type, Float64Type, false>(v, "-", |x| (-x, true)),
        other => Err(numeric_error("unary -", other)),
    }
}

/// ABS: integer MIN gives NULL.
pub(crate) fn abs(v: &Value) -> Result<Value> {
    match v.data_type() {
        DataType::Int32 => unary::<Int32Type, Int32Type, true>(v, "ABS", IntOps::abs_ok),
        DataType::Int64 => unary::<Int64Type, Int64Type, true>(v, "ABS", IntOps::abs_ok),
        DataType::Float32 => unary::<Float32Type, Float32Type, false>(v, "ABS", |x| (x.abs_(), true)),
        DataType::Float64 => unary::<Float64Type, Float64Type, false>(v, "ABS", |x| (x.abs_(), true)),
        other => Err(numeric_error("ABS", other)),
    }
}

/// FLOOR (`floor == true`) or CEIL: integers are returned unchanged.
pub(crate) fn floor_ceil(v: &Value, floor: bool) -> Result<Value> {
    let what = if floor { "FLOOR" } else { "CEIL" };
    match v.data_type() {
        DataType::Int32 | DataType::Int64 => Ok(v.clone()),
        DataType::Float32 if floor => {
            unary::<Float32Type, Float32Type, false>(v, what, |x| (x.floor_(), true))
        }
        DataType::Float32 => unary::<Float32Type, Float32Type, false>(v, what, |x| (x.ceil_(), true)),
        DataType::Float64 if floor => {
            unary::<Float64Type, Float64Type, false>(v, what, |x| (x.floor_(), true))
        }
        DataType::Float64 => unary::<Float64Type, Float64Type, false>(v, what, |x| (x.ceil_(), true)),
        other => Err(numeric_error(what, other)),
    }
}

/// Rounding of an f64 to a fixed number of decimal digits, half away from
/// zero, with the scale factor computed once.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rounder {
    /// More digits than a double holds: unchanged.
    Identity,
    /// `digits` so negative that every finite value rounds to zero.
    Zero,
    /// digits >= 0: round(x * m) / m.
    Mul(f64),
    /// digits < 0: round(x / m) * m.
    Div(f64),
}

impl Rounder {
    pub(crate) fn new(digits: i64) -> Rounder {
        if digits > 308 {
            Rounder::Identity
        } else if digits >= 0 {
            Rounder::Mul(10f64.powi(digits as i32))
        } else if digits >= -308 {
            Rounder::Div(10f64.powi(digits.unsigned_abs() as i32))
        } else {
            Rounder::Zero
        }
    }

    #[inline(always)]
    pub(crate) fn apply(self, x: f64) -> f64 {
        // 2^52: from here on every double is an integer.
        const INTEGRAL: f64 = 4_503_599_627_370_496.0;
        match self {
            Rounder::Identity => x,
            Rounder::Zero => {
                if x.is_finite() {
                    0.0f64.copysign(x)
                } else {
                    x
                }
            }
            Rounder::Mul(m) => {
                let y = x * m;
                if y.is_finite() && y.abs() < INTEGRAL {
                    y.round() / m
                } else {
                    x
                }
            }
            Rounder::Div(m) => {
                if x.is_finite() {
                    (x / m).round() * m
                } else {
                    x
                }
            }
        }
    }
}

/// A digits argument (INT or BIGINT) as BIGINT.
pub(crate) fn as_int64(v: &Value, what: &str) -> Result<Value> {
    match v.data_type() {
        DataType::Int64 => Ok(v.clone()),
        DataType::Int32 => unary::<Int32Type, Int64Type, false>(v, what, |x| (i64::from(x), true)),
        other => Err(Error::internal(format!(
            "{what} expects an INT or BIGINT argument, got {}",
            type_name(other)
        ))),
    }
}

fn round_float<T>(x: &Value, digits: Option<&Value>) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: FloatOps,
{
    let Some(d) = digits else {
        return unary::<T, T, false>(x, "ROUND", |v| (v.round_(), true));
    };
    if let (Value::Scalar(_), false) = (d, d.is_null_scalar()) {
        let k = scalar_native(prim::<Int64Type>(d, "ROUND")?)?;
        let rounder = Rounder::new(k);
        return unary::<T, T, false>(x, "ROUND", |v| {
            (T::Native::from_f64_(rounder.apply(v.to_f64_())), true)
        });
    }
    binary::<T, Int64Type, T, false>(x, d, "ROUND", |v, k| {
        (T::Native::from_f64_(Rounder::new(k).apply(v.to_f64_())), true)
    })
}

fn round_int<T>(x: &Value, digits: Option<&Value>) -> Result<Value>
where
    T: ArrowPrimitiveType,
    T::Native: IntOps,
{
    let Some(d) = digits else {
        return Ok(x.clone());
    };
    if let (Value::Scalar(_), false) = (d, d.is_null_scalar()) {
        let k = scalar_native(prim::<Int64Type>(d, "ROUND")?)?;
        if k >= 0 {
            return Ok(x.clone());
        }
        return unary::<T, T, true>(x, "ROUND", |v| v.round_ok(k));
    }
    binary::<T, Int64Type, T, true>(x, d, "ROUND", IntOps::round_ok)
}

/// ROUND(x [, digits]), half away from zero; same type as x.
pub(crate) fn round(x: &Value, digits: Option<&Value>) -> Result<Value> {
    let digits = digits.map(|d| as_int64(d, "ROUND digits")).transpose()?;
    let digits = digits.as_ref();
    match x.data_type() {
        DataType::Int32 => round_int::<Int32Type>(x, digits),
        DataType::Int64 => round_int::<Int64Type>(x, digits),
        DataType::Float32 => round_float::<Float32Type>(x, digits),
        DataType::Float64 => round_float::<Float64Type>(x, digits),
        other => Err(numeric_error("ROUND", other)),
    }
}

/// Any numeric value as DOUBLE.
pub(crate) fn as_float64(v: &Value, what: &str) -> Result<Value> {
    match v.data_type() {
        DataType::Float64 => Ok(v.clone()),
        DataType::Float32 => unary::<Float32Type, Float64Type, false>(v, what, |x| (f64::from(x), true)),
        DataType::Int32 => unary::<Int32Type, Float64Type, false>(v, what, |x| (f64::from(x), true)),
        DataType::Int64 => unary::<Int64Type, Float64Type, false>(v, what, |x| (x as f64, true)),
        other => Err(numeric_error(what, other)),
    }
}

/// SQRT as DOUBLE; negative input gives NULL (NaN input stays NaN).
pub(crate) fn sqrt(v: &Value) -> Result<Value> {
    let v = as_float64(v, "SQRT")?;
    unary::<Float64Type, Float64Type, true>(&v, "SQRT", |x| (x.sqrt(), x >= 0.0 || x.is_nan()))
}

/// POWER(x, y) as DOUBLE; a NaN result gives NULL.
pub(crate) fn power(x: &Value, y: &Value) -> Result<Value> {
    let x = as_float64(x, "POWER")?;
    let y = as_float64(y, "POWER")?;
    binary::<Float64Type, Float64Type, Float64Type, true>(&x, &y, "POWER", |a, b| {
        let p = a.powf(b);
        (p, !p.is_nan())
    })
}
