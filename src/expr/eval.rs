//! Column-at-a-time evaluation of [`Expr`] trees over Arrow record batches.
//!
//! Every node evaluates to a [`Value`]: either a full column of
//! `batch.num_rows()` rows or a one-row "scalar" (literals and anything computed
//! only from literals). Kernels take the scalar side as a constant, so
//! `col > 100.0` or `price * 2` never materializes a column of literals; only
//! the final result of [`Expr::eval`] is broadcast to the batch length.
//!
//! Result rules (docs/sql.md): integer overflow, integer or float division or
//! modulo by zero, and failed casts give NULL for that row; evaluation never
//! fails on data. An `Err` (always `Status::Internal`) means the tree itself is
//! malformed: operand types the analyzer should have coerced, a column index
//! outside the batch, or a wrong argument count.
//!
//! Layout: this file holds the dispatch, [`Value`], boolean logic, `IS NULL`,
//! `CASE` and `COALESCE`; the kernels live in `eval/`: `arith` (arithmetic and
//! math functions), `cmp` (comparisons and `IN`), `like`, `strings` and `cast`.

mod arith;
#[cfg(test)]
mod bench;
mod cast;
mod cmp;
mod like;
mod strings;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Datum, Float32Array, Float64Array, Int32Array,
    Int64Array, PrimitiveArray, StringArray, TimestampMillisecondArray,
};
use arrow::buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::compute::kernels::boolean::{and_kleene, not, or_kleene};
use arrow::compute::kernels::zip::zip;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType,
};
use arrow::record_batch::RecordBatch;

use super::{BinaryOp, Expr, Func, Scalar, UnaryOp};
use crate::error::{Error, Result};
use crate::types::type_name;

impl Expr {
    /// Evaluates the expression over `batch`, returning exactly
    /// `batch.num_rows()` rows of type [`Expr::data_type`].
    pub fn eval(&self, batch: &RecordBatch) -> Result<ArrayRef> {
        let rows = batch.num_rows();
        let array = self.eval_value(batch)?.into_array(rows)?;
        let expected = self.data_type();
        if array.data_type() != &expected {
            return Err(Error::internal(format!(
                "expression evaluated to {} but its type is {}",
                type_name(array.data_type()),
                type_name(&expected)
            )));
        }
        if array.len() != rows {
            return Err(Error::internal(format!(
                "expression evaluated to {} rows for a batch of {rows}",
                array.len()
            )));
        }
        Ok(array)
    }

    /// Evaluates a BOOL expression as a filter mask for `batch`: one entry per
    /// row, `true` only where the expression is TRUE (NULL counts as false).
    /// The result has no null buffer, so it can go straight to
    /// `arrow::compute::filter_record_batch`.
    pub fn eval_predicate(&self, batch: &RecordBatch) -> Result<BooleanArray> {
        let rows = batch.num_rows();
        let value = self.eval_value(batch)?;
        let truth = value.truth_bits(rows)?;
        if truth.len() != rows {
            return Err(Error::internal(format!(
                "predicate evaluated to {} rows for a batch of {rows}",
                truth.len()
            )));
        }
        Ok(BooleanArray::new(truth, None))
    }

    /// Evaluates to a [`Value`], keeping literal-only subtrees as one-row scalars.
    pub(crate) fn eval_value(&self, batch: &RecordBatch) -> Result<Value> {
        let rows = batch.num_rows();
        match self {
            Expr::Column { index, data_type } => {
                let column = batch.columns().get(*index).ok_or_else(|| {
                    Error::internal(format!(
                        "column index {index} out of range for a batch of {} columns",
                        batch.num_columns()
                    ))
                })?;
                if column.data_type() != data_type {
                    return Err(Error::internal(format!(
                        "column {index} is {} in the batch but {} in the expression",
                        type_name(column.data_type()),
                        type_name(data_type)
                    )));
                }
                Ok(Value::Array(Arc::clone(column)))
            }
            Expr::Literal(s) => Ok(Value::Scalar(scalar_to_array(s))),
            Expr::Unary {
                op: UnaryOp::Neg,
                arg,
            } => arith::negate(&arg.eval_value(batch)?),
            Expr::Unary {
                op: UnaryOp::Not,
                arg,
            } => logical_not(arg.eval_value(batch)?),
            Expr::Binary { op, left, right } => {
                let l = left.eval_value(batch)?;
                let r = right.eval_value(batch)?;
                match op {
                    BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                        arith::binary_op(*op, &l, &r)
                    }
                    BinaryOp::Eq
                    | BinaryOp::NotEq
                    | BinaryOp::Lt
                    | BinaryOp::LtEq
                    | BinaryOp::Gt
                    | BinaryOp::GtEq => cmp::compare(*op, &l, &r),
                    BinaryOp::And => logical_and_or(true, l, r),
                    BinaryOp::Or => logical_and_or(false, l, r),
                    BinaryOp::Concat => strings::concat_op(&l, &r),
                }
            }
            Expr::IsNull { arg, negated } => Ok(is_null(&arg.eval_value(batch)?, *negated)),
            Expr::InList { arg, list, negated } => {
                let arg = arg.eval_value(batch)?;
                let items = list
                    .iter()
                    .map(|e| e.eval_value(batch))
                    .collect::<Result<Vec<_>>>()?;
                let found = cmp::in_list(&arg, &items, rows)?;
                if *negated {
                    logical_not(found)
                } else {
                    Ok(found)
                }
            }
            Expr::Like {
                arg,
                pattern,
                negated,
                case_insensitive,
            } => {
                let arg = arg.eval_value(batch)?;
                let pattern = pattern.eval_value(batch)?;
                like::like(&arg, &pattern, *negated, *case_insensitive, rows)
            }
            Expr::Case {
                branches,
                else_expr,
                data_type,
            } => eval_case(branches, else_expr.as_deref(), data_type, batch),
            Expr::Cast { arg, to } => cast::cast_value(&arg.eval_value(batch)?, to),
            Expr::Function {
                func,
                args,
                data_type,
            } => {
                let value = eval_function(*func, args, data_type, batch)?;
                if value.data_type() != data_type {
                    return Err(Error::internal(format!(
                        "{func:?} evaluated to {} but the expression says {}",
                        type_name(value.data_type()),
                        type_name(data_type)
                    )));
                }
                Ok(value)
            }
        }
    }
}

/// An evaluated expression: a column with one entry per batch row, or a
/// one-row array standing for the same value in every row.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Array(ArrayRef),
    Scalar(ArrayRef),
}

impl Datum for Value {
    fn get(&self) -> (&dyn Array, bool) {
        match self {
            Value::Array(a) => (a.as_ref(), false),
            Value::Scalar(a) => (a.as_ref(), true),
        }
    }
}

impl Value {
    pub(crate) fn array(&self) -> &ArrayRef {
        match self {
            Value::Array(a) | Value::Scalar(a) => a,
        }
    }

    pub(crate) fn data_type(&self) -> &DataType {
        self.array().data_type()
    }

    pub(crate) fn is_scalar(&self) -> bool {
        matches!(self, Value::Scalar(_))
    }

    /// A scalar whose value is NULL.
    pub(crate) fn is_null_scalar(&self) -> bool {
        match self {
            Value::Scalar(a) => a.logical_null_count() > 0,
            Value::Array(_) => false,
        }
    }

    /// The same kind of value (scalar or column) as `self`, from a new array.
    pub(crate) fn same_shape(&self, array: ArrayRef) -> Value {
        match self {
            Value::Array(_) => Value::Array(array),
            Value::Scalar(_) => Value::Scalar(array),
        }
    }

    /// An all-NULL value of type `dt`: a scalar when every input was one.
    pub(crate) fn null_like(scalar: bool, dt: &DataType, rows: usize) -> Value {
        if scalar {
            Value::Scalar(new_null_array(dt, 1))
        } else {
            Value::Array(new_null_array(dt, rows))
        }
    }

    /// The number of rows of the batch, for a column.
    pub(crate) fn array_len(&self) -> Option<usize> {
        match self {
            Value::Array(a) => Some(a.len()),
            Value::Scalar(_) => None,
        }
    }

    /// Materializes the value as `rows` rows.
    pub(crate) fn into_array(self, rows: usize) -> Result<ArrayRef> {
        match self {
            Value::Array(a) => Ok(a),
            Value::Scalar(a) => broadcast(&a, rows),
        }
    }

    /// Rows where this BOOL value is TRUE (NULL and FALSE give unset bits).
    pub(crate) fn truth_bits(&self, rows: usize) -> Result<BooleanBuffer> {
        let b = self.array().as_boolean_opt().ok_or_else(|| {
            Error::internal(format!(
                "expected a BOOL condition, got {}",
                type_name(self.data_type())
            ))
        })?;
        if !self.is_scalar() && b.len() != rows {
            return Err(Error::internal(format!(
                "condition has {} rows for a batch of {rows}",
                b.len()
            )));
        }
        Ok(match self {
            Value::Scalar(_) => {
                if bool_of(b) == Some(true) {
                    BooleanBuffer::new_set(rows)
                } else {
                    BooleanBuffer::new_unset(rows)
                }
            }
            Value::Array(_) => match b.nulls() {
                Some(n) if n.null_count() > 0 => b.values() & n.inner(),
                _ => b.values().clone(),
            },
        })
    }
}

/// The one-row array for a literal.
pub(crate) fn scalar_to_array(s: &Scalar) -> ArrayRef {
    match s {
        Scalar::Null(dt) => new_null_array(dt, 1),
        Scalar::Bool(v) => Arc::new(BooleanArray::from(vec![*v])),
        Scalar::Int(v) => Arc::new(Int32Array::from_value(*v, 1)),
        Scalar::BigInt(v) => Arc::new(Int64Array::from_value(*v, 1)),
        Scalar::Float(v) => Arc::new(Float32Array::from_value(*v, 1)),
        Scalar::Double(v) => Arc::new(Float64Array::from_value(*v, 1)),
        Scalar::String(v) => Arc::new(StringArray::from(vec![v.as_str()])),
        Scalar::Timestamp(v) => Arc::new(TimestampMillisecondArray::from_value(*v, 1)),
    }
}

/// Repeats the single row of `a` `rows` times.
fn broadcast(a: &ArrayRef, rows: usize) -> Result<ArrayRef> {
    if a.len() != 1 {
        return Err(Error::internal(format!("scalar value has {} rows", a.len())));
    }
    if a.logical_null_count() > 0 {
        return Ok(new_null_array(a.data_type(), rows));
    }
    fn repeat<T: arrow::datatypes::ArrowPrimitiveType>(a: &ArrayRef, rows: usize) -> ArrayRef {
        let p = a.as_primitive::<T>();
        Arc::new(PrimitiveArray::<T>::from_value(p.value(0), rows).with_data_type(a.data_type().clone()))
    }
    Ok(match a.data_type() {
        DataType::Boolean => {
            let bits = if a.as_boolean().value(0) {
                BooleanBuffer::new_set(rows)
            } else {
                BooleanBuffer::new_unset(rows)
            };
            Arc::new(BooleanArray::new(bits, None))
        }
        DataType::Int32 => repeat::<Int32Type>(a, rows),
        DataType::Int64 => repeat::<Int64Type>(a, rows),
        DataType::Float32 => repeat::<Float32Type>(a, rows),
        DataType::Float64 => repeat::<Float64Type>(a, rows),
        DataType::Timestamp(TimeUnit::Millisecond, _) => repeat::<TimestampMillisecondType>(a, rows),
        DataType::Utf8 => {
            let s = a.as_string::<i32>().value(0);
            let total = s
                .len()
                .checked_mul(rows)
                .filter(|&t| t <= i32::MAX as usize)
                .ok_or_else(|| Error::internal("repeated string literal exceeds 2 GiB in one batch"))?;
            let mut offsets = Vec::with_capacity(rows + 1);
            // Every running total is <= `total`, which fits in i32.
            offsets.extend((0..=rows).map(|i| (i * s.len()) as i32));
            let mut data = Vec::with_capacity(total);
            for _ in 0..rows {
                data.extend_from_slice(s.as_bytes());
            }
            Arc::new(StringArray::try_new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                data.into(),
                None,
            )?)
        }
        other => {
            return Err(Error::internal(format!(
                "cannot broadcast a {} literal",
                type_name(other)
            )))
        }
    })
}

pub(crate) fn expect_boolean<'a>(v: &'a Value, what: &str) -> Result<&'a BooleanArray> {
    v.array().as_boolean_opt().ok_or_else(|| {
        Error::internal(format!(
            "{what} expects BOOL operands, got {}",
            type_name(v.data_type())
        ))
    })
}

fn logical_not(v: Value) -> Result<Value> {
    let b = expect_boolean(&v, "NOT")?;
    Ok(v.same_shape(Arc::new(not(b)?)))
}

/// The value of a one-row BOOL scalar (None for NULL).
fn bool_of(b: &BooleanArray) -> Option<bool> {
    (b.len() == 1 && b.is_valid(0)).then(|| b.value(0))
}

/// Kleene AND (`and == true`) or OR of two BOOL values.
pub(crate) fn logical_and_or(and: bool, l: Value, r: Value) -> Result<Value> {
    let what = if and { "AND" } else { "OR" };
    let lb = expect_boolean(&l, what)?;
    let rb = expect_boolean(&r, what)?;
    match (&l, &r) {
        (Value::Array(_), Value::Array(_)) => {
            if lb.len() != rb.len() {
                return Err(Error::internal(format!("{what} operands differ in length")));
            }
            let out = if and {
                and_kleene(lb, rb)?
            } else {
                or_kleene(lb, rb)?
            };
            Ok(Value::Array(Arc::new(out)))
        }
        (Value::Scalar(_), Value::Scalar(_)) => {
            let out = match (bool_of(lb), bool_of(rb)) {
                (Some(a), Some(b)) => Some(if and { a && b } else { a || b }),
                (Some(x), None) | (None, Some(x)) if x != and => Some(x),
                _ => None,
            };
            Ok(Value::Scalar(Arc::new(BooleanArray::from(vec![out]))))
        }
        (Value::Scalar(_), Value::Array(_)) | (Value::Array(_), Value::Scalar(_)) => {
            let (s, col, col_value) = if l.is_scalar() { (lb, rb, &r) } else { (rb, lb, &l) };
            let rows = col.len();
            let out = match bool_of(s) {
                // TRUE AND x = x; FALSE OR x = x.
                Some(x) if x == and => return Ok(col_value.clone()),
                // FALSE AND x = FALSE; TRUE OR x = TRUE.
                Some(x) => BooleanArray::new(
                    if x {
                        BooleanBuffer::new_set(rows)
                    } else {
                        BooleanBuffer::new_unset(rows)
                    },
                    None,
                ),
                // NULL AND x is FALSE where x is FALSE, else NULL; NULL OR x
                // is TRUE where x is TRUE, else NULL.
                None => {
                    let decided = if and { !col.values() } else { col.values().clone() };
                    let valid = match col.nulls() {
                        Some(n) => &decided & n.inner(),
                        None => decided,
                    };
                    let values = if and {
                        BooleanBuffer::new_unset(rows)
                    } else {
                        BooleanBuffer::new_set(rows)
                    };
                    BooleanArray::new(values, Some(NullBuffer::new(valid)))
                }
            };
            Ok(Value::Array(Arc::new(out)))
        }
    }
}

fn is_null(v: &Value, negated: bool) -> Value {
    let a = v.array();
    let bits = match a.logical_nulls() {
        Some(n) => {
            if negated {
                n.inner().clone()
            } else {
                !n.inner()
            }
        }
        None => {
            if negated {
                BooleanBuffer::new_set(a.len())
            } else {
                BooleanBuffer::new_unset(a.len())
            }
        }
    };
    v.same_shape(Arc::new(BooleanArray::new(bits, None)))
}

/// Searched CASE: the first branch whose condition is TRUE; else `else_expr`
/// or NULL. A branch's result is only evaluated when some row takes it, and
/// the else branch only when some row falls through.
fn eval_case(
    branches: &[(Expr, Expr)],
    else_expr: Option<&Expr>,
    data_type: &DataType,
    batch: &RecordBatch,
) -> Result<Value> {
    let rows = batch.num_rows();
    // Rows no earlier branch has taken; None = all rows.
    let mut remaining: Option<BooleanBuffer> = None;
    let mut taken: Vec<(BooleanBuffer, Value)> = Vec::with_capacity(branches.len());
    let mut all_decided = rows == 0;
    for (cond, result) in branches {
        if all_decided {
            break;
        }
        let c = cond.eval_value(batch)?;
        let truth = c.truth_bits(rows)?;
        let take = match &remaining {
            None => truth,
            Some(r) => &truth & r,
        };
        if take.count_set_bits() == 0 {
            continue;
        }
        let v = result.eval_value(batch)?;
        check_type(&v, data_type, "CASE branch")?;
        let rest = match &remaining {
            None => !&take,
            Some(r) => r & &!&take,
        };
        all_decided = rest.count_set_bits() == 0;
        remaining = Some(rest);
        taken.push((take, v));
    }
    let mut out = match else_expr {
        Some(e) if !all_decided => {
            let v = e.eval_value(batch)?;
            check_type(&v, data_type, "CASE else branch")?;
            v
        }
        _ => Value::Scalar(new_null_array(data_type, 1)),
    };
    if taken.len() == 1 && taken[0].0.count_set_bits() == rows {
        return Ok(taken.pop().map(|(_, v)| v).unwrap_or(out));
    }
    while let Some((take, v)) = taken.pop() {
        let mask = BooleanArray::new(take, None);
        out = Value::Array(zip(&mask, &v, &out)?);
    }
    Ok(out)
}

fn check_type(v: &Value, dt: &DataType, what: &str) -> Result<()> {
    if v.data_type() != dt {
        return Err(Error::internal(format!(
            "{what} is {} but the expression is {}",
            type_name(v.data_type()),
            type_name(dt)
        )));
    }
    Ok(())
}

fn check_arity(func: Func, args: &[Expr], min: usize, max: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        return Err(Error::internal(format!(
            "{func:?} takes {min}{} arguments, got {}",
            if max == usize::MAX {
                " or more".to_string()
            } else if max != min {
                format!(" to {max}")
            } else {
                String::new()
            },
            args.len()
        )));
    }
    Ok(())
}

fn eval_function(func: Func, args: &[Expr], data_type: &DataType, batch: &RecordBatch) -> Result<Value> {
    let rows = batch.num_rows();
    let arity = match func {
        Func::Coalesce | Func::Concat => (1, usize::MAX),
        Func::Upper | Func::Lower | Func::Length => (1, 1),
        Func::Abs | Func::Floor | Func::Ceil | Func::Sqrt => (1, 1),
        Func::Substring => (2, 3),
        Func::Round => (1, 2),
        Func::Power => (2, 2),
    };
    check_arity(func, args, arity.0, arity.1)?;
    // COALESCE evaluates its arguments lazily; everything else takes them all.
    let values = if func == Func::Coalesce {
        Vec::new()
    } else {
        args.iter()
            .map(|a| a.eval_value(batch))
            .collect::<Result<Vec<_>>>()?
    };
    match func {
        Func::Coalesce => eval_coalesce(args, data_type, batch),
        Func::Upper => strings::change_case(&values[0], true),
        Func::Lower => strings::change_case(&values[0], false),
        Func::Length => strings::char_length(&values[0]),
        Func::Concat => strings::concat_fn(&values, rows),
        Func::Substring => strings::substring(&values[0], &values[1], values.get(2), rows),
        Func::Abs => arith::abs(&values[0]),
        Func::Round => arith::round(&values[0], values.get(1)),
        Func::Floor => arith::floor_ceil(&values[0], true),
        Func::Ceil => arith::floor_ceil(&values[0], false),
        Func::Sqrt => arith::sqrt(&values[0]),
        Func::Power => arith::power(&values[0], &values[1]),
    }
}

/// COALESCE: fills the NULL rows of each argument from the next one, and
/// stops evaluating arguments once no NULL is left.
fn eval_coalesce(args: &[Expr], data_type: &DataType, batch: &RecordBatch) -> Result<Value> {
    let mut acc: Option<Value> = None;
    for arg in args {
        let next = arg.eval_value(batch)?;
        check_type(&next, data_type, "COALESCE argument")?;
        acc = Some(match acc {
            None => next,
            // A NULL scalar (a non-NULL one ends the loop below).
            Some(Value::Scalar(_)) => next,
            Some(Value::Array(a)) => {
                let mask = match a.nulls() {
                    Some(n) => BooleanArray::new(n.inner().clone(), None),
                    None => BooleanArray::new(BooleanBuffer::new_set(a.len()), None),
                };
                Value::Array(zip(&mask, &a, &next)?)
            }
        });
        let done = match &acc {
            Some(v @ Value::Scalar(_)) => !v.is_null_scalar(),
            Some(Value::Array(a)) => a.null_count() == 0,
            None => false,
        };
        if done {
            break;
        }
    }
    acc.ok_or_else(|| Error::internal("COALESCE without arguments"))
}
