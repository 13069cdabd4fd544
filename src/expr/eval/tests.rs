//! Unit tests for expression evaluation: every operator and function with
//! values, NULLs, edge cases, sliced input, scalar operands on either side and
//! empty batches.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMillisecondArray,
};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, TimeUnit,
    TimestampMillisecondType,
};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::like::Matcher;
use crate::error::Status;
use crate::expr::{BinaryOp, Expr, Func, Scalar, UnaryOp};

// ---------------------------------------------------------------- helpers

const TS: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);

fn batch(cols: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| Field::new(format!("c{i}"), c.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

/// A batch with no columns and `rows` rows (for literal-only expressions).
fn rows(n: usize) -> RecordBatch {
    RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(n)),
    )
    .unwrap()
}

fn i32s(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}
fn i64s(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}
fn f32s(v: &[Option<f32>]) -> ArrayRef {
    Arc::new(Float32Array::from(v.to_vec()))
}
fn f64s(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}
fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}
fn bools(v: &[Option<bool>]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}
fn tss(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(v.to_vec()))
}

fn col(index: usize, data_type: DataType) -> Expr {
    Expr::Column { index, data_type }
}
fn lit(s: Scalar) -> Expr {
    Expr::Literal(s)
}
fn int(v: i32) -> Expr {
    lit(Scalar::Int(v))
}
fn bigint(v: i64) -> Expr {
    lit(Scalar::BigInt(v))
}
fn double(v: f64) -> Expr {
    lit(Scalar::Double(v))
}
fn string(v: &str) -> Expr {
    lit(Scalar::String(v.to_string()))
}
fn null(dt: DataType) -> Expr {
    lit(Scalar::Null(dt))
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}
fn func(func: Func, args: Vec<Expr>, data_type: DataType) -> Expr {
    Expr::Function {
        func,
        args,
        data_type,
    }
}
fn cast(arg: Expr, to: DataType) -> Expr {
    Expr::Cast {
        arg: Box::new(arg),
        to,
    }
}
fn not(arg: Expr) -> Expr {
    Expr::Unary {
        op: UnaryOp::Not,
        arg: Box::new(arg),
    }
}
fn neg(arg: Expr) -> Expr {
    Expr::Unary {
        op: UnaryOp::Neg,
        arg: Box::new(arg),
    }
}
fn like(arg: Expr, pattern: Expr, negated: bool, ci: bool) -> Expr {
    Expr::Like {
        arg: Box::new(arg),
        pattern: Box::new(pattern),
        negated,
        case_insensitive: ci,
    }
}
fn in_list(arg: Expr, list: Vec<Expr>, negated: bool) -> Expr {
    Expr::InList {
        arg: Box::new(arg),
        list,
        negated,
    }
}

fn ev(e: &Expr, b: &RecordBatch) -> ArrayRef {
    let out = e.eval(b).unwrap();
    assert_eq!(out.len(), b.num_rows());
    assert_eq!(out.data_type(), &e.data_type());
    out
}
fn err(e: &Expr, b: &RecordBatch) -> String {
    let er = e.eval(b).unwrap_err();
    assert_eq!(er.status, Status::Internal);
    er.message
}

fn opt<T>(a: &dyn Array, i: usize, v: T) -> Option<T> {
    a.is_valid(i).then_some(v)
}
fn out_i32(a: &ArrayRef) -> Vec<Option<i32>> {
    let p = a.as_primitive::<Int32Type>();
    (0..p.len()).map(|i| opt(p, i, p.value(i))).collect()
}
fn out_i64(a: &ArrayRef) -> Vec<Option<i64>> {
    let p = a.as_primitive::<Int64Type>();
    (0..p.len()).map(|i| opt(p, i, p.value(i))).collect()
}
fn out_ts(a: &ArrayRef) -> Vec<Option<i64>> {
    let p = a.as_primitive::<TimestampMillisecondType>();
    (0..p.len()).map(|i| opt(p, i, p.value(i))).collect()
}
fn out_f32(a: &ArrayRef) -> Vec<Option<f32>> {
    let p = a.as_primitive::<Float32Type>();
    (0..p.len()).map(|i| opt(p, i, p.value(i))).collect()
}
fn out_f64(a: &ArrayRef) -> Vec<Option<f64>> {
    let p = a.as_primitive::<Float64Type>();
    (0..p.len()).map(|i| opt(p, i, p.value(i))).collect()
}
fn out_str(a: &ArrayRef) -> Vec<Option<String>> {
    let s = a.as_string::<i32>();
    (0..s.len()).map(|i| opt(s, i, s.value(i).to_string())).collect()
}
fn out_bool(a: &ArrayRef) -> Vec<Option<bool>> {
    let b = a.as_boolean();
    (0..b.len()).map(|i| opt(b, i, b.value(i))).collect()
}
fn some_strs(v: &[Option<&str>]) -> Vec<Option<String>> {
    v.iter().map(|s| s.map(str::to_string)).collect()
}

// Bit-exact float comparison that also accepts NaN == NaN.
fn same_f64(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            (None, None) => true,
            _ => false,
        })
}

// ---------------------------------------------------------------- columns and literals

#[test]
fn column_and_literal() {
    let b = batch(vec![
        i32s(&[Some(1), None, Some(3)]),
        strs(&[Some("a"), Some("b"), None]),
    ]);
    assert_eq!(
        out_i32(&ev(&col(0, DataType::Int32), &b)),
        vec![Some(1), None, Some(3)]
    );
    assert_eq!(
        out_str(&ev(&col(1, DataType::Utf8), &b)),
        some_strs(&[Some("a"), Some("b"), None])
    );
    assert_eq!(out_i64(&ev(&bigint(7), &b)), vec![Some(7); 3]);
    assert_eq!(out_str(&ev(&string("xy"), &b)), some_strs(&[Some("xy"); 3]));
    assert_eq!(out_bool(&ev(&lit(Scalar::Bool(true)), &b)), vec![Some(true); 3]);
    assert_eq!(out_ts(&ev(&lit(Scalar::Timestamp(5)), &b)), vec![Some(5); 3]);
    assert_eq!(out_f32(&ev(&lit(Scalar::Float(1.5)), &b)), vec![Some(1.5); 3]);
    assert_eq!(out_f64(&ev(&null(DataType::Float64), &b)), vec![None; 3]);
}

#[test]
fn column_errors() {
    let b = batch(vec![i32s(&[Some(1)])]);
    assert!(err(&col(3, DataType::Int32), &b).contains("out of range"));
    assert!(err(&col(0, DataType::Int64), &b).contains("column 0 is INT"));
}

#[test]
fn empty_batch() {
    let b = batch(vec![i32s(&[]), strs(&[])]);
    let exprs = [
        bin(BinaryOp::Add, col(0, DataType::Int32), int(1)),
        bin(BinaryOp::Gt, col(0, DataType::Int32), int(1)),
        int(5),
        like(col(1, DataType::Utf8), string("a%"), false, false),
        func(Func::Upper, vec![col(1, DataType::Utf8)], DataType::Utf8),
        func(
            Func::Substring,
            vec![col(1, DataType::Utf8), int(2)],
            DataType::Utf8,
        ),
        func(
            Func::Concat,
            vec![col(1, DataType::Utf8), string("x")],
            DataType::Utf8,
        ),
        in_list(col(0, DataType::Int32), vec![int(1), int(2)], false),
        Expr::Case {
            branches: vec![(bin(BinaryOp::Gt, col(0, DataType::Int32), int(0)), int(1))],
            else_expr: Some(Box::new(int(2))),
            data_type: DataType::Int32,
        },
        cast(col(1, DataType::Utf8), DataType::Boolean),
    ];
    for e in &exprs {
        assert_eq!(ev(e, &b).len(), 0, "{e:?}");
    }
    assert_eq!(
        bin(BinaryOp::Gt, col(0, DataType::Int32), int(1))
            .eval_predicate(&b)
            .unwrap()
            .len(),
        0
    );
    assert_eq!(ev(&string("abc"), &rows(0)).len(), 0);
}

// ---------------------------------------------------------------- arithmetic

#[test]
fn int32_add_sub_mul_with_nulls() {
    let b = batch(vec![
        i32s(&[Some(1), None, Some(-5), Some(7)]),
        i32s(&[Some(2), Some(3), None, Some(-3)]),
    ]);
    let (l, r) = (col(0, DataType::Int32), col(1, DataType::Int32));
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, l.clone(), r.clone()), &b)),
        vec![Some(3), None, None, Some(4)]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Sub, l.clone(), r.clone()), &b)),
        vec![Some(-1), None, None, Some(10)]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Mul, l, r), &b)),
        vec![Some(2), None, None, Some(-21)]
    );
}

#[test]
fn int_overflow_is_null() {
    let b = batch(vec![
        i32s(&[Some(i32::MAX), Some(i32::MIN), Some(1), Some(65536)]),
        i64s(&[Some(i64::MAX), Some(i64::MIN), Some(3), Some(i64::MAX / 2 + 1)]),
    ]);
    let c0 = col(0, DataType::Int32);
    let c1 = col(1, DataType::Int64);
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, c0.clone(), int(1)), &b)),
        vec![None, Some(i32::MIN + 1), Some(2), Some(65537)]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Sub, c0.clone(), int(1)), &b)),
        vec![Some(i32::MAX - 1), None, Some(0), Some(65535)]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Mul, c0.clone(), c0), &b)),
        vec![None, None, Some(1), None]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Add, c1.clone(), bigint(1)), &b)),
        vec![None, Some(i64::MIN + 1), Some(4), Some(i64::MAX / 2 + 2)]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Mul, c1.clone(), bigint(2)), &b)),
        vec![None, None, Some(6), None]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Sub, bigint(0), c1), &b)),
        vec![Some(-i64::MAX), None, Some(-3), Some(-(i64::MAX / 2 + 1))]
    );
}

#[test]
fn int_division_truncates_and_div_by_zero_is_null() {
    let b = batch(vec![
        i32s(&[
            Some(7),
            Some(-7),
            Some(7),
            Some(-7),
            Some(5),
            Some(i32::MIN),
            Some(i32::MIN),
            None,
        ]),
        i32s(&[
            Some(2),
            Some(2),
            Some(-2),
            Some(-2),
            Some(0),
            Some(-1),
            Some(1),
            Some(1),
        ]),
    ]);
    let (l, r) = (col(0, DataType::Int32), col(1, DataType::Int32));
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Div, l.clone(), r.clone()), &b)),
        vec![
            Some(3),
            Some(-3),
            Some(-3),
            Some(3),
            None,
            None,
            Some(i32::MIN),
            None
        ]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Mod, l, r), &b)),
        vec![Some(1), Some(-1), Some(1), Some(-1), None, Some(0), Some(0), None]
    );
}

#[test]
fn int64_division_and_modulo() {
    let b = batch(vec![i64s(&[Some(-9), Some(i64::MIN), Some(10), Some(0)])]);
    let c = col(0, DataType::Int64);
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Div, c.clone(), bigint(-1)), &b)),
        vec![Some(9), None, Some(-10), Some(0)]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Div, c.clone(), bigint(0)), &b)),
        vec![None; 4]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Mod, c.clone(), bigint(4)), &b)),
        vec![Some(-1), Some(0), Some(2), Some(0)]
    );
    assert_eq!(
        out_i64(&ev(&bin(BinaryOp::Mod, bigint(10), c), &b)),
        vec![Some(1), Some(10), Some(0), None]
    );
}

#[test]
fn literal_on_either_side() {
    let b = batch(vec![i32s(&[Some(1), Some(4), None])]);
    let c = col(0, DataType::Int32);
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Sub, int(10), c.clone()), &b)),
        vec![Some(9), Some(6), None]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Sub, c.clone(), int(10)), &b)),
        vec![Some(-9), Some(-6), None]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Div, int(12), c.clone()), &b)),
        vec![Some(12), Some(3), None]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, c.clone(), null(DataType::Int32)), &b)),
        vec![None; 3]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Mul, null(DataType::Int32), c), &b)),
        vec![None; 3]
    );
}

#[test]
fn constant_folding_broadcasts() {
    let b = rows(3);
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, int(2), int(3)), &b)),
        vec![Some(5); 3]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, int(i32::MAX), int(1)), &b)),
        vec![None; 3]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Div, int(1), int(0)), &b)),
        vec![None; 3]
    );
    let nested = bin(
        BinaryOp::Mul,
        bin(BinaryOp::Add, int(1), int(2)),
        bin(BinaryOp::Sub, int(10), int(4)),
    );
    assert_eq!(out_i32(&ev(&nested, &b)), vec![Some(18); 3]);
}

#[test]
fn float_arithmetic_ieee_and_zero_divisor_null() {
    let b = batch(vec![
        f64s(&[Some(1.5), Some(-7.5), Some(f64::MAX), Some(1.0), None, Some(0.0)]),
        f64s(&[
            Some(0.5),
            Some(2.0),
            Some(f64::MAX),
            Some(0.0),
            Some(1.0),
            Some(-0.0),
        ]),
    ]);
    let (l, r) = (col(0, DataType::Float64), col(1, DataType::Float64));
    assert!(same_f64(
        &out_f64(&ev(&bin(BinaryOp::Add, l.clone(), r.clone()), &b)),
        &[
            Some(2.0),
            Some(-5.5),
            Some(f64::INFINITY),
            Some(1.0),
            None,
            Some(0.0)
        ]
    ));
    assert!(same_f64(
        &out_f64(&ev(&bin(BinaryOp::Mul, l.clone(), r.clone()), &b)),
        &[
            Some(0.75),
            Some(-15.0),
            Some(f64::INFINITY),
            Some(0.0),
            None,
            Some(-0.0)
        ]
    ));
    assert!(same_f64(
        &out_f64(&ev(&bin(BinaryOp::Div, l.clone(), r.clone()), &b)),
        &[Some(3.0), Some(-3.75), Some(1.0), None, None, None]
    ));
    assert!(same_f64(
        &out_f64(&ev(&bin(BinaryOp::Mod, l.clone(), r.clone()), &b)),
        &[Some(0.0), Some(-1.5), Some(0.0), None, None, None]
    ));
    assert!(same_f64(
        &out_f64(&ev(&bin(BinaryOp::Sub, l, double(f64::NAN)), &b)),
        &[
            Some(f64::NAN),
            Some(f64::NAN),
            Some(f64::NAN),
            Some(f64::NAN),
            None,
            Some(f64::NAN)
        ]
    ));
}

#[test]
fn float32_arithmetic() {
    let b = batch(vec![f32s(&[Some(1.5), Some(-2.0), None])]);
    let c = col(0, DataType::Float32);
    let half = lit(Scalar::Float(0.5));
    assert_eq!(
        out_f32(&ev(&bin(BinaryOp::Add, c.clone(), half.clone()), &b)),
        vec![Some(2.0), Some(-1.5), None]
    );
    assert_eq!(
        out_f32(&ev(&bin(BinaryOp::Div, half, c.clone()), &b)),
        vec![Some(1.0 / 3.0), Some(-0.25), None]
    );
    assert_eq!(
        out_f32(&ev(&bin(BinaryOp::Div, c.clone(), lit(Scalar::Float(0.0))), &b)),
        vec![None; 3]
    );
    assert_eq!(
        out_f32(&ev(&bin(BinaryOp::Mod, c, lit(Scalar::Float(1.0))), &b)),
        vec![Some(0.5), Some(-0.0), None]
    );
}

#[test]
fn unary_negation() {
    let b = batch(vec![
        i32s(&[Some(5), Some(i32::MIN), None, Some(i32::MAX)]),
        i64s(&[Some(-5), Some(i64::MIN), None, Some(0)]),
        f64s(&[Some(1.5), Some(-0.0), None, Some(f64::INFINITY)]),
    ]);
    assert_eq!(
        out_i32(&ev(&neg(col(0, DataType::Int32)), &b)),
        vec![Some(-5), None, None, Some(-i32::MAX)]
    );
    assert_eq!(
        out_i64(&ev(&neg(col(1, DataType::Int64)), &b)),
        vec![Some(5), None, None, Some(0)]
    );
    assert!(same_f64(
        &out_f64(&ev(&neg(col(2, DataType::Float64)), &b)),
        &[Some(-1.5), Some(0.0), None, Some(f64::NEG_INFINITY)]
    ));
    assert_eq!(out_i32(&ev(&neg(int(i32::MIN)), &rows(2))), vec![None, None]);
    assert_eq!(
        out_f32(&ev(&neg(lit(Scalar::Float(2.0))), &rows(1))),
        vec![Some(-2.0)]
    );
}

#[test]
fn arithmetic_type_errors() {
    let b = batch(vec![i32s(&[Some(1)]), i64s(&[Some(1)]), strs(&[Some("x")])]);
    assert!(err(
        &bin(BinaryOp::Add, col(0, DataType::Int32), col(1, DataType::Int64)),
        &b
    )
    .contains("differ"));
    assert!(err(
        &bin(BinaryOp::Add, col(2, DataType::Utf8), col(2, DataType::Utf8)),
        &b
    )
    .contains("not defined"));
    assert!(err(&neg(col(2, DataType::Utf8)), &b).contains("numeric"));
    assert!(err(&not(col(0, DataType::Int32)), &b).contains("BOOL"));
}

#[test]
fn sliced_input_arithmetic() {
    let full = batch(vec![
        i32s(&[Some(100), Some(1), None, Some(i32::MAX), Some(4), Some(200)]),
        i32s(&[Some(0), Some(2), Some(3), Some(1), None, Some(0)]),
    ]);
    let b = full.slice(1, 4);
    let (l, r) = (col(0, DataType::Int32), col(1, DataType::Int32));
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Add, l.clone(), r.clone()), &b)),
        vec![Some(3), None, None, None]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Mul, l.clone(), int(2)), &b)),
        vec![Some(2), None, None, Some(8)]
    );
    assert_eq!(
        out_i32(&ev(&bin(BinaryOp::Div, int(12), r), &b)),
        vec![Some(6), Some(4), Some(12), None]
    );
    assert_eq!(
        out_i32(&ev(&neg(l), &b)),
        vec![Some(-1), None, Some(-i32::MAX), Some(-4)]
    );
}

#[test]
fn overflow_mask_across_word_boundaries() {
    // 200 rows: row i = i, except overflowing rows at 0, 63, 64, 127, 199,
    // and NULL rows at 5 and 130.
    let n = 200;
    let bad = [0usize, 63, 64, 127, 199];
    let vals: Vec<Option<i32>> = (0..n)
        .map(|i| match i {
            5 | 130 => None,
            i if bad.contains(&i) => Some(i32::MAX),
            i => Some(i as i32),
        })
        .collect();
    let full = batch(vec![i32s(&vals)]);
    let out = out_i32(&ev(&bin(BinaryOp::Add, col(0, DataType::Int32), int(1)), &full));
    assert_eq!(out.len(), n);
    for (i, v) in out.iter().enumerate() {
        let expected = if bad.contains(&i) || i == 5 || i == 130 {
            None
        } else {
            Some(i as i32 + 1)
        };
        assert_eq!(*v, expected, "row {i}");
    }
    // The same through a slice starting inside the first word.
    let b = full.slice(3, 190);
    let out = out_i32(&ev(&bin(BinaryOp::Add, col(0, DataType::Int32), int(1)), &b));
    for (k, v) in out.iter().enumerate() {
        let i = k + 3;
        let expected = if bad.contains(&i) || i == 5 || i == 130 {
            None
        } else {
            Some(i as i32 + 1)
        };
        assert_eq!(*v, expected, "row {i}");
    }
}

// ---------------------------------------------------------------- comparisons

#[test]
fn int_comparisons_with_nulls() {
    let b = batch(vec![
        i32s(&[Some(1), Some(2), Some(3), None]),
        i32s(&[Some(2), Some(2), Some(2), Some(2)]),
    ]);
    let (l, r) = (col(0, DataType::Int32), col(1, DataType::Int32));
    let cases = [
        (BinaryOp::Eq, [false, true, false]),
        (BinaryOp::NotEq, [true, false, true]),
        (BinaryOp::Lt, [true, false, false]),
        (BinaryOp::LtEq, [true, true, false]),
        (BinaryOp::Gt, [false, false, true]),
        (BinaryOp::GtEq, [false, true, true]),
    ];
    for (op, want) in cases {
        let got = out_bool(&ev(&bin(op, l.clone(), r.clone()), &b));
        assert_eq!(
            got,
            vec![Some(want[0]), Some(want[1]), Some(want[2]), None],
            "{op:?}"
        );
    }
}

#[test]
fn comparison_literal_on_either_side() {
    let b = batch(vec![i64s(&[Some(1), Some(5), Some(9), None])]);
    let c = col(0, DataType::Int64);
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Gt, c.clone(), bigint(5)), &b)),
        vec![Some(false), Some(false), Some(true), None]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Lt, bigint(5), c.clone()), &b)),
        vec![Some(false), Some(false), Some(true), None]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::LtEq, bigint(5), c.clone()), &b)),
        vec![Some(false), Some(true), Some(true), None]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Eq, c, null(DataType::Int64)), &b)),
        vec![None; 4]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Eq, bigint(1), bigint(1)), &rows(2))),
        vec![Some(true); 2]
    );
}

#[test]
fn string_bool_timestamp_comparisons() {
    let b = batch(vec![
        strs(&[Some("apple"), Some("banana"), None, Some("Äpfel")]),
        bools(&[Some(true), Some(false), None, Some(true)]),
        tss(&[Some(1000), Some(2000), Some(3000), None]),
    ]);
    let s = col(0, DataType::Utf8);
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Lt, s.clone(), string("b")), &b)),
        vec![Some(true), Some(false), None, Some(false)]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Eq, string("banana"), s), &b)),
        vec![Some(false), Some(true), None, Some(false)]
    );
    let bo = col(1, DataType::Boolean);
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Gt, bo.clone(), lit(Scalar::Bool(false))), &b)),
        vec![Some(true), Some(false), None, Some(true)]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::NotEq, bo.clone(), bo), &b)),
        vec![Some(false), Some(false), None, Some(false)]
    );
    let t = col(2, TS);
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::GtEq, t, lit(Scalar::Timestamp(2000))), &b)),
        vec![Some(false), Some(true), Some(true), None]
    );
}

#[test]
fn float_comparisons_sql_semantics() {
    // -0.0 = 0.0; NaN = NaN; NaN is greater than everything else.
    let b = batch(vec![
        f64s(&[
            Some(-0.0),
            Some(f64::NAN),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(1.0),
            None,
        ]),
        f64s(&[
            Some(0.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NAN),
            Some(2.0),
            Some(1.0),
        ]),
    ]);
    let (l, r) = (col(0, DataType::Float64), col(1, DataType::Float64));
    let got = |op| out_bool(&ev(&bin(op, l.clone(), r.clone()), &b));
    assert_eq!(
        got(BinaryOp::Eq),
        vec![
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(false),
            None
        ]
    );
    assert_eq!(
        got(BinaryOp::NotEq),
        vec![Some(false), Some(false), Some(true), Some(true), Some(true), None]
    );
    assert_eq!(
        got(BinaryOp::Lt),
        vec![
            Some(false),
            Some(false),
            Some(false),
            Some(true),
            Some(true),
            None
        ]
    );
    assert_eq!(
        got(BinaryOp::LtEq),
        vec![Some(true), Some(true), Some(false), Some(true), Some(true), None]
    );
    assert_eq!(
        got(BinaryOp::Gt),
        vec![
            Some(false),
            Some(false),
            Some(true),
            Some(false),
            Some(false),
            None
        ]
    );
    assert_eq!(
        got(BinaryOp::GtEq),
        vec![Some(true), Some(true), Some(true), Some(false), Some(false), None]
    );
    // Float32 with a literal on the left.
    let b = batch(vec![f32s(&[Some(-0.0), Some(f32::NAN), Some(3.0)])]);
    let e = bin(BinaryOp::LtEq, lit(Scalar::Float(0.0)), col(0, DataType::Float32));
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(true), Some(true), Some(true)]);
    let e = bin(BinaryOp::Gt, col(0, DataType::Float32), lit(Scalar::Float(0.0)));
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(false), Some(true), Some(true)]);
}

#[test]
fn comparison_sliced_and_type_error() {
    let full = batch(vec![strs(&[Some("z"), Some("a"), None, Some("m")])]);
    let b = full.slice(1, 3);
    let e = bin(BinaryOp::Gt, col(0, DataType::Utf8), string("b"));
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(false), None, Some(true)]);
    let bad = bin(BinaryOp::Eq, col(0, DataType::Utf8), int(1));
    assert!(err(&bad, &b).contains("differ"));
}

// ---------------------------------------------------------------- logic

#[test]
fn kleene_and_or_truth_table() {
    let t = Some(true);
    let f = Some(false);
    let n = None;
    let b = batch(vec![
        bools(&[t, t, t, f, f, f, n, n, n]),
        bools(&[t, f, n, t, f, n, t, f, n]),
    ]);
    let (l, r) = (col(0, DataType::Boolean), col(1, DataType::Boolean));
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::And, l.clone(), r.clone()), &b)),
        vec![t, f, n, f, f, f, n, f, n]
    );
    assert_eq!(
        out_bool(&ev(&bin(BinaryOp::Or, l, r), &b)),
        vec![t, t, t, t, f, n, t, n, n]
    );
}

#[test]
fn kleene_with_scalar_operands() {
    let t = Some(true);
    let f = Some(false);
    let n = None;
    let b = batch(vec![bools(&[t, f, n])]);
    let c = col(0, DataType::Boolean);
    let bt = lit(Scalar::Bool(true));
    let bf = lit(Scalar::Bool(false));
    let bn = null(DataType::Boolean);
    let and = |x: &Expr, y: &Expr| out_bool(&ev(&bin(BinaryOp::And, x.clone(), y.clone()), &b));
    let or = |x: &Expr, y: &Expr| out_bool(&ev(&bin(BinaryOp::Or, x.clone(), y.clone()), &b));
    assert_eq!(and(&c, &bt), vec![t, f, n]);
    assert_eq!(and(&bf, &c), vec![f, f, f]);
    assert_eq!(and(&c, &bn), vec![n, f, n]);
    assert_eq!(and(&bn, &c), vec![n, f, n]);
    assert_eq!(or(&c, &bt), vec![t, t, t]);
    assert_eq!(or(&bf, &c), vec![t, f, n]);
    assert_eq!(or(&bn, &c), vec![t, n, n]);
    assert_eq!(and(&bn, &bf), vec![f, f, f]);
    assert_eq!(or(&bn, &bt), vec![t, t, t]);
    assert_eq!(and(&bn, &bt), vec![n, n, n]);
    assert_eq!(or(&bn, &bf), vec![n, n, n]);
}

#[test]
fn not_keeps_null() {
    let full = batch(vec![bools(&[Some(false), Some(true), Some(false), None])]);
    let b = full.slice(1, 3);
    assert_eq!(
        out_bool(&ev(&not(col(0, DataType::Boolean)), &b)),
        vec![Some(false), Some(true), None]
    );
    assert_eq!(out_bool(&ev(&not(null(DataType::Boolean)), &b)), vec![None; 3]);
}

#[test]
fn is_null_never_null() {
    let full = batch(vec![i32s(&[None, Some(1), None, Some(3)])]);
    let b = full.slice(1, 3);
    let c = || Box::new(col(0, DataType::Int32));
    assert_eq!(
        out_bool(&ev(
            &Expr::IsNull {
                arg: c(),
                negated: false
            },
            &b
        )),
        vec![Some(false), Some(true), Some(false)]
    );
    assert_eq!(
        out_bool(&ev(
            &Expr::IsNull {
                arg: c(),
                negated: true
            },
            &b
        )),
        vec![Some(true), Some(false), Some(true)]
    );
    let n = Expr::IsNull {
        arg: Box::new(null(DataType::Utf8)),
        negated: false,
    };
    assert_eq!(out_bool(&ev(&n, &b)), vec![Some(true); 3]);
    let nn = Expr::IsNull {
        arg: Box::new(string("x")),
        negated: false,
    };
    assert_eq!(out_bool(&ev(&nn, &b)), vec![Some(false); 3]);
    let nc = Expr::IsNull {
        arg: Box::new(bin(BinaryOp::Div, col(0, DataType::Int32), int(0))),
        negated: false,
    };
    assert_eq!(out_bool(&ev(&nc, &b)), vec![Some(true); 3]);
}

// ---------------------------------------------------------------- IN

#[test]
fn in_list_ints() {
    let b = batch(vec![i32s(&[Some(1), Some(2), Some(5), None])]);
    let c = col(0, DataType::Int32);
    let e = in_list(c.clone(), vec![int(1), int(5)], false);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(true), Some(false), Some(true), None]
    );
    let e = in_list(c, vec![int(1), int(5)], true);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(false), Some(true), Some(false), None]
    );
}

#[test]
fn in_list_with_null_item() {
    let b = batch(vec![i64s(&[Some(1), Some(2), None])]);
    let c = col(0, DataType::Int64);
    let list = vec![bigint(1), null(DataType::Int64)];
    assert_eq!(
        out_bool(&ev(&in_list(c.clone(), list.clone(), false), &b)),
        vec![Some(true), None, None]
    );
    assert_eq!(
        out_bool(&ev(&in_list(c, list, true), &b)),
        vec![Some(false), None, None]
    );
}

#[test]
fn in_list_large_uses_set() {
    let b = batch(vec![i32s(&[Some(3), Some(40), Some(-1), None, Some(19)])]);
    let c = col(0, DataType::Int32);
    let list: Vec<Expr> = (0..20).map(|i| int(i * 2 + 1)).collect(); // odd numbers 1..39
    assert_eq!(
        out_bool(&ev(&in_list(c.clone(), list.clone(), false), &b)),
        vec![Some(true), Some(false), Some(false), None, Some(true)]
    );
    let mut with_null = list;
    with_null.push(null(DataType::Int32));
    assert_eq!(
        out_bool(&ev(&in_list(c, with_null, true), &b)),
        vec![Some(false), None, None, None, Some(false)]
    );
}

#[test]
fn in_list_strings_small_and_large() {
    let full = batch(vec![strs(&[Some("zz"), Some("b"), Some("ü"), None, Some("x")])]);
    let b = full.slice(1, 4);
    let c = col(0, DataType::Utf8);
    let e = in_list(c.clone(), vec![string("a"), string("b"), string("ü")], false);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(true), Some(true), None, Some(false)]
    );
    let many: Vec<Expr> = (0..30)
        .map(|i| string(&format!("k{i}")))
        .chain([string("x")])
        .collect();
    let e = in_list(c, many, false);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(false), Some(false), None, Some(true)]
    );
}

#[test]
fn in_list_floats_and_timestamps() {
    let b = batch(vec![
        f64s(&[Some(-0.0), Some(f64::NAN), Some(1.5), Some(2.0)]),
        tss(&[Some(10), Some(20), None, Some(30)]),
    ]);
    let e = in_list(
        col(0, DataType::Float64),
        vec![double(0.0), double(f64::NAN), double(2.0)],
        false,
    );
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(true), Some(true), Some(false), Some(true)]
    );
    let e = in_list(
        col(1, TS),
        vec![lit(Scalar::Timestamp(30)), lit(Scalar::Timestamp(10))],
        false,
    );
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(true), Some(false), None, Some(true)]
    );
}

#[test]
fn in_list_general_path() {
    // A column in the list, and a BOOL list, take the comparison path.
    let b = batch(vec![
        i32s(&[Some(1), Some(2), Some(3)]),
        i32s(&[Some(9), Some(2), None]),
        bools(&[Some(true), Some(false), None]),
    ]);
    let e = in_list(
        col(0, DataType::Int32),
        vec![col(1, DataType::Int32), int(1)],
        false,
    );
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(true), Some(true), None]);
    let e = in_list(col(2, DataType::Boolean), vec![lit(Scalar::Bool(true))], true);
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(false), Some(true), None]);
    // Scalar argument.
    let e = in_list(int(2), vec![col(0, DataType::Int32)], false);
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(false), Some(true), Some(false)]);
    let e = in_list(int(2), vec![int(1), int(2)], false);
    assert_eq!(out_bool(&ev(&e, &b)), vec![Some(true); 3]);
    let e = in_list(int(2), vec![int(1), null(DataType::Int32)], false);
    assert_eq!(out_bool(&ev(&e, &b)), vec![None; 3]);
    let bad = in_list(col(0, DataType::Int32), vec![bigint(1)], false);
    assert!(err(&bad, &b).contains("IN list item"));
}

// ---------------------------------------------------------------- LIKE

fn m(pattern: &str, s: &str) -> bool {
    let mut mm = Matcher::new(false);
    mm.compile(pattern);
    mm.matches(s)
}
fn mi(pattern: &str, s: &str) -> bool {
    let mut mm = Matcher::new(true);
    mm.compile(pattern);
    mm.matches(s)
}

#[test]
fn like_matcher_wildcards() {
    assert!(m("abc", "abc"));
    assert!(!m("abc", "abcd"));
    assert!(!m("abc", "ab"));
    assert!(m("", ""));
    assert!(!m("", "a"));
    assert!(m("%", ""));
    assert!(m("%", "anything"));
    assert!(m("%%", "x"));
    assert!(m("a%", "abc"));
    assert!(!m("a%", "bac"));
    assert!(m("%c", "abc"));
    assert!(!m("%c", "abcd"));
    assert!(m("%b%", "abc"));
    assert!(!m("%x%", "abc"));
    assert!(m("a_c", "abc"));
    assert!(!m("a_c", "ac"));
    assert!(!m("a_c", "abbc"));
    assert!(m("___", "abc"));
    assert!(!m("___", "ab"));
    assert!(m("a%b%c", "aXXbYYc"));
    assert!(m("a%b%c", "abc"));
    assert!(!m("a%b%c", "acb"));
    assert!(m("%a%a%", "banana"));
    assert!(!m("%a%a", "ab"));
    assert!(m("%ana", "banana"));
    assert!(!m("ab%ba", "aba")); // prefix and suffix may not overlap
    assert!(m("ab%ba", "abba"));
    assert!(m("%_b_%", "xaby"));
    assert!(!m("%_b_%", "ab"));
    assert!(m("a%_", "ab"));
    assert!(!m("a%_", "a"));
    assert!(m("%.*%", "x.*y")); // regex metacharacters are literal
    assert!(!m(".*", "abc"));
}

#[test]
fn like_matcher_escapes() {
    assert!(m(r"100\%", "100%"));
    assert!(!m(r"100\%", "1000"));
    assert!(m(r"a\_b", "a_b"));
    assert!(!m(r"a\_b", "axb"));
    assert!(m(r"a\\b", r"a\b"));
    assert!(m(r"a\\%", r"a\xyz"));
    assert!(m(r"%\%%", "50% off"));
    assert!(!m(r"%\%%", "50 off"));
    assert!(m(r"\a", "a")); // escaped ordinary character
    assert!(m(r"ab\", r"ab\")); // trailing backslash is literal
    assert!(!m(r"ab\", "ab"));
}

#[test]
fn like_matcher_unicode_and_ilike() {
    assert!(m("_", "é"));
    assert!(m("h_llo", "héllo"));
    assert!(!m("h_llo", "hélllo"));
    assert!(m("%ö_", "schön"));
    assert!(!m("%ö_", "schöne"));
    assert!(m("日本%", "日本語"));
    assert!(m("%本_", "日本語"));
    assert!(mi("ABC", "abc"));
    assert!(mi("a%C", "AxYc"));
    assert!(mi("straße", "STRAßE"));
    assert!(mi("ÉCOLE", "école"));
    assert!(mi("%Ü_", "xüy"));
    assert!(!mi("abc", "abd"));
    assert!(!m("ABC", "abc"));
}

#[test]
fn like_on_columns_with_nulls_and_negation() {
    let full = batch(vec![strs(&[
        Some("skip"),
        Some("apple"),
        Some("banana"),
        None,
        Some("Apricot"),
    ])]);
    let b = full.slice(1, 4);
    let c = col(0, DataType::Utf8);
    assert_eq!(
        out_bool(&ev(&like(c.clone(), string("ap%"), false, false), &b)),
        vec![Some(true), Some(false), None, Some(false)]
    );
    assert_eq!(
        out_bool(&ev(&like(c.clone(), string("ap%"), true, false), &b)),
        vec![Some(false), Some(true), None, Some(true)]
    );
    assert_eq!(
        out_bool(&ev(&like(c.clone(), string("ap%"), false, true), &b)),
        vec![Some(true), Some(false), None, Some(true)]
    );
    assert_eq!(
        out_bool(&ev(&like(c.clone(), string("%an%"), true, true), &b)),
        vec![Some(true), Some(false), None, Some(true)]
    );
    assert_eq!(
        out_bool(&ev(&like(c, null(DataType::Utf8), false, false), &b)),
        vec![None; 4]
    );
}

#[test]
fn like_pattern_column() {
    let b = batch(vec![
        strs(&[
            Some("abc"),
            Some("abc"),
            Some("a%c"),
            None,
            Some("xyz"),
            Some("XYZ"),
        ]),
        strs(&[
            Some("a%"),
            Some("b%"),
            Some(r"a\%c"),
            Some("%"),
            None,
            Some("x_z"),
        ]),
    ]);
    let e = like(col(0, DataType::Utf8), col(1, DataType::Utf8), false, false);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(true), Some(false), Some(true), None, None, Some(false)]
    );
    let e = like(col(0, DataType::Utf8), col(1, DataType::Utf8), true, true);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![Some(false), Some(true), Some(false), None, None, Some(false)]
    );
    // Literal argument, pattern column.
    let e = like(string("abc"), col(1, DataType::Utf8), false, false);
    assert_eq!(
        out_bool(&ev(&e, &b)),
        vec![
            Some(true),
            Some(false),
            Some(false),
            Some(true),
            None,
            Some(false)
        ]
    );
    // Both literal.
    let e = like(string("hello"), string("h_l%"), false, false);
    assert_eq!(out_bool(&ev(&e, &rows(2))), vec![Some(true); 2]);
    let bad = like(col(0, DataType::Utf8), int(1), false, false);
    assert!(err(&bad, &b).contains("STRING"));
}

// ---------------------------------------------------------------- CASE

fn case(branches: Vec<(Expr, Expr)>, else_expr: Option<Expr>, dt: DataType) -> Expr {
    Expr::Case {
        branches,
        else_expr: else_expr.map(Box::new),
        data_type: dt,
    }
}

#[test]
fn case_first_true_branch_wins() {
    let b = batch(vec![i32s(&[Some(-5), Some(0), Some(5), Some(50), None])]);
    let c = col(0, DataType::Int32);
    let e = case(
        vec![
            (bin(BinaryOp::Lt, c.clone(), int(0)), string("neg")),
            (bin(BinaryOp::Lt, c.clone(), int(10)), string("small")),
            (bin(BinaryOp::Lt, c.clone(), int(100)), string("big")),
        ],
        Some(string("other")),
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[
            Some("neg"),
            Some("small"),
            Some("small"),
            Some("big"),
            Some("other")
        ])
    );
}

#[test]
fn case_without_else_falls_through_to_null() {
    let b = batch(vec![i32s(&[Some(1), Some(2), None])]);
    let c = col(0, DataType::Int32);
    let e = case(
        vec![(
            bin(BinaryOp::Eq, c.clone(), int(1)),
            bin(BinaryOp::Mul, c, int(10)),
        )],
        None,
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![Some(10), None, None]);
    let none_taken = case(vec![(lit(Scalar::Bool(false)), int(1))], None, DataType::Int32);
    assert_eq!(out_i32(&ev(&none_taken, &b)), vec![None; 3]);
}

#[test]
fn case_guards_division() {
    let b = batch(vec![i32s(&[Some(0), Some(2), Some(5), None])]);
    let x = col(0, DataType::Int32);
    let e = case(
        vec![(bin(BinaryOp::Eq, x.clone(), int(0)), null(DataType::Int32))],
        Some(bin(BinaryOp::Div, int(10), x)),
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![None, Some(5), Some(2), None]);
}

#[test]
fn case_all_rows_decided_and_scalar_conditions() {
    let full = batch(vec![f64s(&[Some(9.0), Some(1.0), Some(2.0), Some(3.0)])]);
    let b = full.slice(1, 3);
    let c = col(0, DataType::Float64);
    // The first branch takes every row; the else branch is never needed.
    let e = case(
        vec![(lit(Scalar::Bool(true)), c.clone())],
        Some(double(-1.0)),
        DataType::Float64,
    );
    assert_eq!(out_f64(&ev(&e, &b)), vec![Some(1.0), Some(2.0), Some(3.0)]);
    // NULL condition is not taken.
    let e = case(
        vec![
            (null(DataType::Boolean), double(1.0)),
            (bin(BinaryOp::Gt, c.clone(), double(1.5)), c),
        ],
        Some(double(0.0)),
        DataType::Float64,
    );
    assert_eq!(out_f64(&ev(&e, &b)), vec![Some(0.0), Some(2.0), Some(3.0)]);
    // Everything literal.
    let e = case(
        vec![
            (lit(Scalar::Bool(false)), int(1)),
            (lit(Scalar::Bool(true)), int(2)),
        ],
        Some(int(3)),
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![Some(2); 3]);
}

#[test]
fn case_type_errors() {
    let b = batch(vec![i32s(&[Some(1)])]);
    let e = case(
        vec![(lit(Scalar::Bool(true)), string("x"))],
        None,
        DataType::Int32,
    );
    assert!(err(&e, &b).contains("CASE branch"));
    let e = case(vec![(int(1), int(1))], None, DataType::Int32);
    assert!(err(&e, &b).contains("BOOL"));
}

// ---------------------------------------------------------------- CAST

fn cast_col(a: ArrayRef, to: DataType) -> ArrayRef {
    let dt = a.data_type().clone();
    ev(&cast(col(0, dt), to), &batch(vec![a]))
}

#[test]
fn cast_between_integers() {
    let out = cast_col(i32s(&[Some(1), Some(-7), None]), DataType::Int64);
    assert_eq!(out_i64(&out), vec![Some(1), Some(-7), None]);
    let out = cast_col(
        i64s(&[
            Some(5),
            Some(i64::from(i32::MAX) + 1),
            Some(i64::from(i32::MIN)),
            None,
        ]),
        DataType::Int32,
    );
    assert_eq!(out_i32(&out), vec![Some(5), None, Some(i32::MIN), None]);
}

#[test]
fn cast_float_to_int_truncates_out_of_range_null() {
    let vals = [
        Some(2.7),
        Some(-2.7),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(1e20),
        Some(2147483647.9),
        Some(2147483648.0),
        Some(-2147483648.9),
        None,
    ];
    let out = cast_col(f64s(&vals), DataType::Int32);
    assert_eq!(
        out_i32(&out),
        vec![
            Some(2),
            Some(-2),
            None,
            None,
            None,
            Some(i32::MAX),
            None,
            Some(i32::MIN),
            None
        ]
    );
    let out = cast_col(
        f64s(&[
            Some(9.223372036854776e18),
            Some(-9.223372036854776e18),
            Some(1e15 + 0.5),
        ]),
        DataType::Int64,
    );
    assert_eq!(
        out_i64(&out),
        vec![None, Some(i64::MIN), Some(1_000_000_000_000_000)]
    );
    let out = cast_col(
        f32s(&[Some(-0.9), Some(16777216.0), Some(f32::NAN)]),
        DataType::Int64,
    );
    assert_eq!(out_i64(&out), vec![Some(0), Some(16777216), None]);
}

#[test]
fn cast_int_to_float() {
    let out = cast_col(i64s(&[Some(3), Some(i64::MAX), None]), DataType::Float64);
    assert_eq!(out_f64(&out), vec![Some(3.0), Some(9.223372036854776e18), None]);
    let out = cast_col(i32s(&[Some(16777217), Some(-1)]), DataType::Float32);
    assert_eq!(out_f32(&out), vec![Some(16777216.0), Some(-1.0)]);
    let out = cast_col(f64s(&[Some(0.1), Some(1e300)]), DataType::Float32);
    assert_eq!(out_f32(&out), vec![Some(0.1), Some(f32::INFINITY)]);
}

#[test]
fn cast_string_to_numbers() {
    let s = strs(&[
        Some("12"),
        Some(" 12 "),
        Some("+5"),
        Some("-0"),
        Some("12.5"),
        Some("abc"),
        Some(""),
        Some("99999999999"),
        None,
    ]);
    assert_eq!(
        out_i32(&cast_col(s.clone(), DataType::Int32)),
        vec![Some(12), Some(12), Some(5), Some(0), None, None, None, None, None]
    );
    assert_eq!(
        out_i64(&cast_col(s.clone(), DataType::Int64)),
        vec![
            Some(12),
            Some(12),
            Some(5),
            Some(0),
            None,
            None,
            None,
            Some(99999999999),
            None
        ]
    );
    let out = out_f64(&cast_col(s, DataType::Float64));
    assert!(same_f64(
        &out,
        &[
            Some(12.0),
            Some(12.0),
            Some(5.0),
            Some(-0.0),
            Some(12.5),
            None,
            None,
            Some(99999999999.0),
            None
        ]
    ));
    let out = out_f64(&cast_col(
        strs(&[Some("1e3"), Some("NaN"), Some("-inf"), Some("Infinity")]),
        DataType::Float64,
    ));
    assert!(same_f64(
        &out,
        &[
            Some(1000.0),
            Some(f64::NAN),
            Some(f64::NEG_INFINITY),
            Some(f64::INFINITY)
        ]
    ));
}

#[test]
fn cast_string_to_bool() {
    let s = strs(&[
        Some("true"),
        Some("TRUE"),
        Some("t"),
        Some("F"),
        Some("false"),
        Some("1"),
        Some("0"),
        Some(" True "),
        Some("yes"),
        Some("on"),
        Some("2"),
        Some(""),
        Some("tru"),
        None,
    ]);
    assert_eq!(
        out_bool(&cast_col(s, DataType::Boolean)),
        vec![
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(true),
            Some(false),
            Some(true),
            None,
            None,
            None,
            None,
            None,
            None
        ]
    );
}

#[test]
fn cast_bool_to_others() {
    let b = bools(&[Some(true), Some(false), None]);
    assert_eq!(
        out_str(&cast_col(b.clone(), DataType::Utf8)),
        some_strs(&[Some("true"), Some("false"), None])
    );
    assert_eq!(
        out_i32(&cast_col(b.clone(), DataType::Int32)),
        vec![Some(1), Some(0), None]
    );
    assert_eq!(
        out_i64(&cast_col(b.clone(), DataType::Int64)),
        vec![Some(1), Some(0), None]
    );
    assert_eq!(
        out_f64(&cast_col(b, DataType::Float64)),
        vec![Some(1.0), Some(0.0), None]
    );
    assert_eq!(
        out_bool(&cast_col(i32s(&[Some(0), Some(-3), None]), DataType::Boolean)),
        vec![Some(false), Some(true), None]
    );
    assert_eq!(
        out_bool(&cast_col(
            f64s(&[Some(0.0), Some(0.5), Some(-0.0)]),
            DataType::Boolean
        )),
        vec![Some(false), Some(true), Some(false)]
    );
}

#[test]
fn cast_numbers_to_string() {
    let f = f64s(&[
        Some(0.1),
        Some(1.0),
        Some(-2.5),
        Some(1e20),
        Some(1.5e-7),
        Some(123456789.125),
        Some(f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(-0.0),
        None,
    ]);
    assert_eq!(
        out_str(&cast_col(f, DataType::Utf8)),
        some_strs(&[
            Some("0.1"),
            Some("1.0"),
            Some("-2.5"),
            Some("1e20"),
            Some("1.5e-7"),
            Some("123456789.125"),
            Some("NaN"),
            Some("inf"),
            Some("-inf"),
            Some("-0.0"),
            None
        ])
    );
    assert_eq!(
        out_str(&cast_col(f32s(&[Some(0.1), Some(16777216.0)]), DataType::Utf8)),
        some_strs(&[Some("0.1"), Some("16777216.0")])
    );
    assert_eq!(
        out_str(&cast_col(i64s(&[Some(-42), Some(i64::MIN)]), DataType::Utf8)),
        some_strs(&[Some("-42"), Some("-9223372036854775808")])
    );
    // And back: the text reads back to the same double.
    let back = cast(cast(col(0, DataType::Float64), DataType::Utf8), DataType::Float64);
    let vals = [Some(0.1), Some(1.0 / 3.0), Some(6.02214076e23), Some(-1e-300)];
    assert_eq!(out_f64(&ev(&back, &batch(vec![f64s(&vals)]))), vals.to_vec());
}

#[test]
fn cast_timestamps() {
    // BIGINT <-> TIMESTAMP reinterprets milliseconds, for any value.
    let out = cast_col(
        i64s(&[Some(0), Some(1_700_000_000_123), Some(i64::MAX), None]),
        TS,
    );
    assert_eq!(
        out_ts(&out),
        vec![Some(0), Some(1_700_000_000_123), Some(i64::MAX), None]
    );
    let out = cast_col(tss(&[Some(-1), Some(i64::MIN), None]), DataType::Int64);
    assert_eq!(out_i64(&out), vec![Some(-1), Some(i64::MIN), None]);
    assert_eq!(
        out_ts(&cast_col(i32s(&[Some(-7), None]), TS)),
        vec![Some(-7), None]
    );
    assert_eq!(
        out_i32(&cast_col(
            tss(&[Some(5), Some(1_700_000_000_000)]),
            DataType::Int32
        )),
        vec![Some(5), None]
    );
    assert_eq!(
        out_f64(&cast_col(tss(&[Some(1500)]), DataType::Float64)),
        vec![Some(1500.0)]
    );
    assert_eq!(
        out_ts(&cast_col(
            f64s(&[Some(1500.9), Some(-1.5), Some(f64::NAN), Some(1e16)]),
            TS
        )),
        vec![Some(1500), Some(-1), None, Some(10_000_000_000_000_000)]
    );
}

#[test]
fn cast_timestamp_strings() {
    let out = cast_col(
        tss(&[Some(0), Some(1_700_000_000_123), Some(-1), Some(i64::MAX), None]),
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&out),
        some_strs(&[
            Some("1970-01-01T00:00:00"),
            Some("2023-11-14T22:13:20.123"),
            Some("1969-12-31T23:59:59.999"),
            None,
            None
        ])
    );
    let s = strs(&[
        Some("2024-01-02 03:04:05"),
        Some("2024-01-02T03:04:05.123"),
        Some("2024-01-02"),
        Some("not a time"),
        None,
    ]);
    assert_eq!(
        out_ts(&cast_col(s, TS)),
        vec![
            Some(1_704_164_645_000),
            Some(1_704_164_645_123),
            Some(1_704_153_600_000),
            None,
            None
        ]
    );
}

#[test]
fn cast_unsupported_and_scalar() {
    let b = batch(vec![bools(&[Some(true)]), tss(&[Some(1)])]);
    assert!(err(&cast(col(0, DataType::Boolean), TS), &b).contains("cannot cast"));
    assert!(err(&cast(col(1, TS), DataType::Boolean), &b).contains("cannot cast"));
    assert!(err(&cast(col(0, DataType::Boolean), DataType::Int8), &b).contains("cannot cast"));
    assert_eq!(
        out_i32(&ev(&cast(string("42"), DataType::Int32), &rows(2))),
        vec![Some(42); 2]
    );
    assert_eq!(
        out_i64(&ev(&cast(null(DataType::Utf8), DataType::Int64), &rows(2))),
        vec![None; 2]
    );
    assert_eq!(
        out_i32(&ev(&cast(int(3), DataType::Int32), &rows(1))),
        vec![Some(3)]
    );
}

// ---------------------------------------------------------------- functions

#[test]
fn coalesce_fills_nulls_in_order() {
    let b = batch(vec![
        i32s(&[Some(1), None, None, None]),
        i32s(&[Some(9), Some(2), None, None]),
        i32s(&[Some(8), Some(8), Some(3), None]),
    ]);
    let e = func(
        Func::Coalesce,
        vec![
            col(0, DataType::Int32),
            col(1, DataType::Int32),
            col(2, DataType::Int32),
        ],
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![Some(1), Some(2), Some(3), None]);
    let e = func(
        Func::Coalesce,
        vec![col(0, DataType::Int32), col(2, DataType::Int32), int(0)],
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![Some(1), Some(8), Some(3), Some(0)]);
    let e = func(
        Func::Coalesce,
        vec![null(DataType::Int32), col(1, DataType::Int32)],
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b)), vec![Some(9), Some(2), None, None]);
    let e = func(
        Func::Coalesce,
        vec![null(DataType::Utf8), string("d"), col(0, DataType::Int32)],
        DataType::Utf8,
    );
    // The third argument is never evaluated (its type would be rejected).
    assert_eq!(out_str(&ev(&e, &b)), some_strs(&[Some("d"); 4]));
    let e = func(
        Func::Coalesce,
        vec![col(0, DataType::Int32), string("x")],
        DataType::Int32,
    );
    assert!(err(&e, &b).contains("COALESCE"));
}

#[test]
fn upper_lower() {
    let full = batch(vec![strs(&[
        Some("skip"),
        Some("Hello"),
        None,
        Some("straße"),
        Some("ÉCOLE Ω"),
        Some(""),
    ])]);
    let b = full.slice(1, 5);
    let c = col(0, DataType::Utf8);
    assert_eq!(
        out_str(&ev(&func(Func::Upper, vec![c.clone()], DataType::Utf8), &b)),
        some_strs(&[Some("HELLO"), None, Some("STRASSE"), Some("ÉCOLE Ω"), Some("")])
    );
    assert_eq!(
        out_str(&ev(&func(Func::Lower, vec![c], DataType::Utf8), &b)),
        some_strs(&[Some("hello"), None, Some("straße"), Some("école ω"), Some("")])
    );
    // ASCII fast path on a slice whose offsets do not start at zero.
    let ascii = batch(vec![strs(&[Some("xx"), Some("aBc"), None, Some("D1-e")])]).slice(1, 3);
    let e = func(Func::Upper, vec![col(0, DataType::Utf8)], DataType::Utf8);
    assert_eq!(
        out_str(&ev(&e, &ascii)),
        some_strs(&[Some("ABC"), None, Some("D1-E")])
    );
    let e = func(Func::Lower, vec![string("MiXeD")], DataType::Utf8);
    assert_eq!(out_str(&ev(&e, &rows(2))), some_strs(&[Some("mixed"); 2]));
}

#[test]
fn length_in_characters() {
    let full = batch(vec![strs(&[
        Some("zzzz"),
        Some("héllo"),
        Some(""),
        None,
        Some("日本語"),
        Some("abc"),
    ])]);
    let b = full.slice(1, 5);
    let e = func(Func::Length, vec![col(0, DataType::Utf8)], DataType::Int32);
    assert_eq!(
        out_i32(&ev(&e, &b)),
        vec![Some(5), Some(0), None, Some(3), Some(3)]
    );
    let ascii = batch(vec![strs(&[Some("ab"), None, Some("abcd")])]);
    assert_eq!(out_i32(&ev(&e, &ascii)), vec![Some(2), None, Some(4)]);
    let e = func(Func::Length, vec![string("ñu")], DataType::Int32);
    assert_eq!(out_i32(&ev(&e, &rows(1))), vec![Some(2)]);
}

#[test]
fn concat_function_treats_null_as_empty() {
    let b = batch(vec![
        strs(&[Some("a"), None, Some("ü"), None]),
        strs(&[Some("1"), Some("2"), None, None]),
    ]);
    let e = func(
        Func::Concat,
        vec![
            col(0, DataType::Utf8),
            string("-"),
            col(1, DataType::Utf8),
            null(DataType::Utf8),
        ],
        DataType::Utf8,
    );
    let out = ev(&e, &b);
    assert_eq!(out.null_count(), 0);
    assert_eq!(
        out_str(&out),
        some_strs(&[Some("a-1"), Some("-2"), Some("ü-"), Some("-")])
    );
    let e = func(
        Func::Concat,
        vec![col(0, DataType::Utf8), col(1, DataType::Utf8)],
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("a1"), Some("2"), Some("ü"), Some("")])
    );
    let e = func(Func::Concat, vec![string("x"), string("y")], DataType::Utf8);
    assert_eq!(out_str(&ev(&e, &rows(2))), some_strs(&[Some("xy"); 2]));
    let e = func(Func::Concat, vec![col(0, DataType::Utf8), int(1)], DataType::Utf8);
    assert!(err(&e, &b).contains("STRING"));
}

#[test]
fn concat_operator_null_propagates() {
    let full = batch(vec![
        strs(&[Some("q"), Some("a"), None, Some("ü")]),
        strs(&[Some("q"), Some("1"), Some("2"), None]),
    ]);
    let b = full.slice(1, 3);
    let (l, r) = (col(0, DataType::Utf8), col(1, DataType::Utf8));
    assert_eq!(
        out_str(&ev(&bin(BinaryOp::Concat, l.clone(), r), &b)),
        some_strs(&[Some("a1"), None, None])
    );
    assert_eq!(
        out_str(&ev(&bin(BinaryOp::Concat, l.clone(), string("!")), &b)),
        some_strs(&[Some("a!"), None, Some("ü!")])
    );
    assert_eq!(
        out_str(&ev(&bin(BinaryOp::Concat, string(">"), l.clone()), &b)),
        some_strs(&[Some(">a"), None, Some(">ü")])
    );
    assert_eq!(
        out_str(&ev(&bin(BinaryOp::Concat, l, null(DataType::Utf8)), &b)),
        vec![None; 3]
    );
    assert_eq!(
        out_str(&ev(&bin(BinaryOp::Concat, string("a"), string("b")), &b)),
        some_strs(&[Some("ab"); 3])
    );
}

fn substr_of(s: &str, start: i64, len: Option<i64>) -> Option<String> {
    let mut args = vec![string(s), bigint(start)];
    if let Some(l) = len {
        args.push(bigint(l));
    }
    out_str(&ev(&func(Func::Substring, args, DataType::Utf8), &rows(1))).remove(0)
}

#[test]
fn substring_postgres_semantics() {
    let s = |v: &str| Some(v.to_string());
    assert_eq!(substr_of("hello", 2, Some(3)), s("ell"));
    assert_eq!(substr_of("hello", 1, None), s("hello"));
    assert_eq!(substr_of("hello", 3, None), s("llo"));
    assert_eq!(substr_of("hello", 0, Some(3)), s("he"));
    assert_eq!(substr_of("hello", -2, Some(5)), s("he"));
    assert_eq!(substr_of("hello", -2, Some(3)), s(""));
    assert_eq!(substr_of("hello", 0, None), s("hello"));
    assert_eq!(substr_of("hello", 10, Some(2)), s(""));
    assert_eq!(substr_of("hello", 4, Some(100)), s("lo"));
    assert_eq!(substr_of("hello", 2, Some(0)), s(""));
    assert_eq!(substr_of("hello", 2, Some(-1)), None);
    assert_eq!(substr_of("hello", i64::MIN, Some(i64::MAX)), s(""));
    assert_eq!(substr_of("hello", i64::MAX, Some(i64::MAX)), s(""));
    assert_eq!(substr_of("hello", 2, Some(i64::MAX)), s("ello"));
    assert_eq!(substr_of("héllo wörld", 2, Some(4)), s("éllo"));
    assert_eq!(substr_of("日本語テキスト", 3, Some(2)), s("語テ"));
    assert_eq!(substr_of("日本語", 3, None), s("語"));
    assert_eq!(substr_of("日本語", 4, None), s(""));
    assert_eq!(substr_of("", 1, Some(1)), s(""));
}

#[test]
fn substring_columns_and_nulls() {
    let b = batch(vec![
        strs(&[Some("abcdef"), None, Some("héllo"), Some("xyz"), Some("qrs")]),
        i32s(&[Some(2), Some(1), Some(2), None, Some(-1)]),
        i64s(&[Some(3), Some(1), None, Some(1), Some(3)]),
    ]);
    let c = col(0, DataType::Utf8);
    let e = func(
        Func::Substring,
        vec![c.clone(), col(1, DataType::Int32), col(2, DataType::Int64)],
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("bcd"), None, None, None, Some("q")])
    );
    let e = func(
        Func::Substring,
        vec![c.clone(), col(1, DataType::Int32)],
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("bcdef"), None, Some("éllo"), None, Some("qrs")])
    );
    let e = func(Func::Substring, vec![c.clone(), int(2), int(2)], DataType::Utf8);
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("bc"), None, Some("él"), Some("yz"), Some("rs")])
    );
    let e = func(
        Func::Substring,
        vec![c.clone(), int(2), null(DataType::Int32)],
        DataType::Utf8,
    );
    assert_eq!(out_str(&ev(&e, &b)), vec![None; 5]);
    let e = func(Func::Substring, vec![c.clone(), int(1), int(-1)], DataType::Utf8);
    assert_eq!(out_str(&ev(&e, &b)), vec![None; 5]);
    let e = func(
        Func::Substring,
        vec![string("literal"), col(1, DataType::Int32), int(3)],
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("ite"), Some("lit"), Some("ite"), None, Some("l")])
    );
    let sliced = b.slice(2, 3);
    let e = func(Func::Substring, vec![c.clone(), int(2)], DataType::Utf8);
    assert_eq!(
        out_str(&ev(&e, &sliced)),
        some_strs(&[Some("éllo"), Some("yz"), Some("rs")])
    );
    let bad = func(Func::Substring, vec![c.clone(), string("1")], DataType::Utf8);
    assert!(err(&bad, &b).contains("INT or BIGINT"));
    let bad = func(Func::Substring, vec![c], DataType::Utf8);
    assert!(err(&bad, &b).contains("takes 2 to 3 arguments"));
}

#[test]
fn abs_function() {
    let b = batch(vec![
        i32s(&[Some(-3), Some(i32::MIN), None, Some(4)]),
        f64s(&[Some(-0.0), Some(-2.5), None, Some(f64::NEG_INFINITY)]),
    ]);
    assert_eq!(
        out_i32(&ev(
            &func(Func::Abs, vec![col(0, DataType::Int32)], DataType::Int32),
            &b
        )),
        vec![Some(3), None, None, Some(4)]
    );
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Abs, vec![col(1, DataType::Float64)], DataType::Float64),
            &b
        )),
        &[Some(0.0), Some(2.5), None, Some(f64::INFINITY)]
    ));
    assert_eq!(
        out_i64(&ev(
            &func(Func::Abs, vec![bigint(i64::MIN)], DataType::Int64),
            &rows(1)
        )),
        vec![None]
    );
    let bad = func(Func::Abs, vec![col(0, DataType::Int32)], DataType::Int64);
    assert!(err(&bad, &b).contains("Abs evaluated to INT"));
}

#[test]
fn round_floats_half_away_from_zero() {
    let b = batch(vec![f64s(&[
        Some(2.5),
        Some(-2.5),
        Some(0.4),
        Some(-0.5),
        Some(1234.5678),
        Some(f64::NAN),
        None,
    ])]);
    let c = col(0, DataType::Float64);
    assert!(same_f64(
        &out_f64(&ev(&func(Func::Round, vec![c.clone()], DataType::Float64), &b)),
        &[
            Some(3.0),
            Some(-3.0),
            Some(0.0),
            Some(-1.0),
            Some(1235.0),
            Some(f64::NAN),
            None
        ]
    ));
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Round, vec![c.clone(), int(2)], DataType::Float64),
            &b
        )),
        &[
            Some(2.5),
            Some(-2.5),
            Some(0.4),
            Some(-0.5),
            Some(1234.57),
            Some(f64::NAN),
            None
        ]
    ));
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Round, vec![c.clone(), int(-2)], DataType::Float64),
            &b
        )),
        &[
            Some(0.0),
            Some(-0.0),
            Some(0.0),
            Some(-0.0),
            Some(1200.0),
            Some(f64::NAN),
            None
        ]
    ));
    let huge = batch(vec![f64s(&[Some(1.5e300), Some(0.125), Some(-0.125)])]);
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Round, vec![c.clone(), int(400)], DataType::Float64),
            &huge
        )),
        &[Some(1.5e300), Some(0.125), Some(-0.125)]
    ));
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Round, vec![c.clone(), bigint(-400)], DataType::Float64),
            &huge
        )),
        &[Some(0.0), Some(0.0), Some(-0.0)]
    ));
    assert!(same_f64(
        &out_f64(&ev(
            &func(Func::Round, vec![c.clone(), int(10)], DataType::Float64),
            &huge
        )),
        &[Some(1.5e300), Some(0.125), Some(-0.125)]
    ));
    // Digits from a column, with a NULL.
    let b2 = batch(vec![
        f64s(&[Some(1.25), Some(1.25), Some(15.0)]),
        i32s(&[Some(1), None, Some(-1)]),
    ]);
    let e = func(Func::Round, vec![c, col(1, DataType::Int32)], DataType::Float64);
    assert_eq!(out_f64(&ev(&e, &b2)), vec![Some(1.3), None, Some(20.0)]);
    // FLOAT stays FLOAT.
    // 1.005f32 is 1.00499999..., so it rounds down; -7.25 is exact.
    let b3 = batch(vec![f32s(&[Some(1.005), Some(-7.25)])]);
    let e = func(
        Func::Round,
        vec![col(0, DataType::Float32), int(1)],
        DataType::Float32,
    );
    assert_eq!(out_f32(&ev(&e, &b3)), vec![Some(1.0), Some(-7.3)]);
}

#[test]
fn round_integers() {
    let b = batch(vec![
        i32s(&[Some(1234), Some(-1250), Some(1249), Some(i32::MAX), None]),
        i64s(&[
            Some(i64::MAX),
            Some(-15),
            Some(5_000_000_000_000_000_000),
            Some(0),
            None,
        ]),
    ]);
    let c = col(0, DataType::Int32);
    assert_eq!(
        out_i32(&ev(&func(Func::Round, vec![c.clone()], DataType::Int32), &b)),
        vec![Some(1234), Some(-1250), Some(1249), Some(i32::MAX), None]
    );
    assert_eq!(
        out_i32(&ev(
            &func(Func::Round, vec![c.clone(), int(3)], DataType::Int32),
            &b
        )),
        vec![Some(1234), Some(-1250), Some(1249), Some(i32::MAX), None]
    );
    assert_eq!(
        out_i32(&ev(
            &func(Func::Round, vec![c.clone(), int(-2)], DataType::Int32),
            &b
        )),
        vec![Some(1200), Some(-1300), Some(1200), Some(2147483600), None]
    );
    assert_eq!(
        out_i32(&ev(
            &func(Func::Round, vec![c.clone(), int(-1)], DataType::Int32),
            &b
        )),
        vec![Some(1230), Some(-1250), Some(1250), None, None]
    );
    assert_eq!(
        out_i32(&ev(
            &func(Func::Round, vec![c.clone(), int(-10)], DataType::Int32),
            &b
        )),
        vec![Some(0), Some(0), Some(0), Some(0), None]
    );
    let c1 = col(1, DataType::Int64);
    assert_eq!(
        out_i64(&ev(
            &func(Func::Round, vec![c1.clone(), int(-1)], DataType::Int64),
            &b
        )),
        vec![None, Some(-20), Some(5_000_000_000_000_000_000), Some(0), None]
    );
    assert_eq!(
        out_i64(&ev(
            &func(Func::Round, vec![c1.clone(), int(-19)], DataType::Int64),
            &b
        )),
        vec![None, Some(0), None, Some(0), None]
    );
    assert_eq!(
        out_i64(&ev(
            &func(Func::Round, vec![c1, bigint(-25)], DataType::Int64),
            &b
        )),
        vec![Some(0), Some(0), Some(0), Some(0), None]
    );
    // Digits per row.
    let b2 = batch(vec![
        i32s(&[Some(155), Some(155), Some(155)]),
        i64s(&[Some(-1), Some(2), None]),
    ]);
    let e = func(
        Func::Round,
        vec![col(0, DataType::Int32), col(1, DataType::Int64)],
        DataType::Int32,
    );
    assert_eq!(out_i32(&ev(&e, &b2)), vec![Some(160), Some(155), None]);
}

#[test]
fn floor_ceil() {
    let b = batch(vec![
        f64s(&[Some(1.5), Some(-1.5), Some(2.0), None]),
        i64s(&[Some(7), Some(-7), None, Some(0)]),
    ]);
    let c = col(0, DataType::Float64);
    assert_eq!(
        out_f64(&ev(&func(Func::Floor, vec![c.clone()], DataType::Float64), &b)),
        vec![Some(1.0), Some(-2.0), Some(2.0), None]
    );
    assert_eq!(
        out_f64(&ev(&func(Func::Ceil, vec![c], DataType::Float64), &b)),
        vec![Some(2.0), Some(-1.0), Some(2.0), None]
    );
    let i = col(1, DataType::Int64);
    assert_eq!(
        out_i64(&ev(&func(Func::Floor, vec![i.clone()], DataType::Int64), &b)),
        vec![Some(7), Some(-7), None, Some(0)]
    );
    assert_eq!(
        out_i64(&ev(&func(Func::Ceil, vec![i], DataType::Int64), &b)),
        vec![Some(7), Some(-7), None, Some(0)]
    );
    let e = func(Func::Ceil, vec![lit(Scalar::Float(-0.5))], DataType::Float32);
    assert_eq!(out_f32(&ev(&e, &rows(1))), vec![Some(-0.0)]);
}

#[test]
fn sqrt_and_power() {
    let b = batch(vec![
        f64s(&[Some(4.0), Some(-1.0), Some(0.0), None, Some(f64::NAN)]),
        i32s(&[Some(9), Some(-9), None, Some(2), Some(0)]),
    ]);
    let e = func(Func::Sqrt, vec![col(0, DataType::Float64)], DataType::Float64);
    assert!(same_f64(
        &out_f64(&ev(&e, &b)),
        &[Some(2.0), None, Some(0.0), None, Some(f64::NAN)]
    ));
    let e = func(Func::Sqrt, vec![col(1, DataType::Int32)], DataType::Float64);
    assert_eq!(
        out_f64(&ev(&e, &b)),
        vec![Some(3.0), None, None, Some(2f64.sqrt()), Some(0.0)]
    );
    let e = func(
        Func::Power,
        vec![col(0, DataType::Float64), double(2.0)],
        DataType::Float64,
    );
    assert_eq!(
        out_f64(&ev(&e, &b)),
        vec![Some(16.0), Some(1.0), Some(0.0), None, None]
    );
    let e = func(
        Func::Power,
        vec![col(0, DataType::Float64), double(0.5)],
        DataType::Float64,
    );
    assert_eq!(out_f64(&ev(&e, &b)), vec![Some(2.0), None, Some(0.0), None, None]);
    let e = func(
        Func::Power,
        vec![double(2.0), col(1, DataType::Int32)],
        DataType::Float64,
    );
    assert_eq!(
        out_f64(&ev(&e, &b)),
        vec![Some(512.0), Some(1.0 / 512.0), None, Some(4.0), Some(1.0)]
    );
    let e = func(Func::Power, vec![double(0.0), double(-1.0)], DataType::Float64);
    assert_eq!(out_f64(&ev(&e, &rows(1))), vec![Some(f64::INFINITY)]);
    let bad = func(Func::Power, vec![double(1.0)], DataType::Float64);
    assert!(err(&bad, &b).contains("takes 2 arguments"));
}

// ---------------------------------------------------------------- predicates

#[test]
fn predicate_folds_null_to_false() {
    let full = batch(vec![
        i32s(&[Some(100), Some(1), None, Some(3), Some(5)]),
        strs(&[Some("x"), Some("a"), Some("b"), Some("c"), Some("d")]),
    ]);
    let b = full.slice(1, 4);
    let p = bin(BinaryOp::Gt, col(0, DataType::Int32), int(2));
    let mask = p.eval_predicate(&b).unwrap();
    assert!(mask.nulls().is_none());
    assert_eq!(mask, BooleanArray::from(vec![false, false, true, true]));
    let filtered = filter_record_batch(&b, &mask).unwrap();
    assert_eq!(out_str(filtered.column(1)), some_strs(&[Some("c"), Some("d")]));
    // Kleene: NULL OR TRUE is TRUE and passes.
    let p = bin(
        BinaryOp::Or,
        bin(BinaryOp::Gt, col(0, DataType::Int32), int(2)),
        bin(BinaryOp::Eq, col(1, DataType::Utf8), string("b")),
    );
    assert_eq!(
        p.eval_predicate(&b).unwrap(),
        BooleanArray::from(vec![false, true, true, true])
    );
}

#[test]
fn predicate_of_literals_and_errors() {
    let b = rows(3);
    assert_eq!(
        lit(Scalar::Bool(true)).eval_predicate(&b).unwrap(),
        BooleanArray::from(vec![true; 3])
    );
    assert_eq!(
        lit(Scalar::Bool(false)).eval_predicate(&b).unwrap(),
        BooleanArray::from(vec![false; 3])
    );
    assert_eq!(
        null(DataType::Boolean).eval_predicate(&b).unwrap(),
        BooleanArray::from(vec![false; 3])
    );
    let er = int(1).eval_predicate(&b).unwrap_err();
    assert_eq!(er.status, Status::Internal);
    assert!(er.message.contains("BOOL"));
}

#[test]
fn large_batch_mixed_expression() {
    // 10_000 rows through a nested expression; checks against a scalar
    // re-computation of the same SQL semantics.
    let n = 10_000;
    let a: Vec<Option<i64>> = (0..n)
        .map(|i| {
            if i % 97 == 0 {
                None
            } else {
                Some((i as i64 - 5000) * 1_000_003)
            }
        })
        .collect();
    let d: Vec<Option<i64>> = (0..n).map(|i| Some((i as i64 % 7) - 3)).collect();
    let b = batch(vec![i64s(&a), i64s(&d)]);
    let e = bin(
        BinaryOp::Add,
        bin(BinaryOp::Div, col(0, DataType::Int64), col(1, DataType::Int64)),
        bin(BinaryOp::Mod, col(0, DataType::Int64), bigint(10)),
    );
    let out = out_i64(&ev(&e, &b));
    for i in 0..n {
        let want = match (a[i], d[i]) {
            (Some(x), Some(y)) if y != 0 => Some(x / y + x % 10),
            _ => None,
        };
        assert_eq!(out[i], want, "row {i}");
    }
    let p = bin(BinaryOp::Gt, e, bigint(0));
    let mask = p.eval_predicate(&b).unwrap();
    let expected = (0..n)
        .filter(|&i| matches!((a[i], d[i]), (Some(x), Some(y)) if y != 0 && x / y + x % 10 > 0))
        .count();
    assert_eq!(mask.true_count(), expected);
}

/// Reference LIKE: tokenize, then dynamic programming over characters.
fn like_reference(pattern: &str, s: &str, ci: bool) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        Lit(char),
        One,
        Many,
    }
    let lower = |c: char| -> char {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    };
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '\\' => T::Lit(it.next().unwrap_or('\\')),
            '%' => T::Many,
            '_' => T::One,
            c => T::Lit(c),
        });
    }
    let chars: Vec<char> = s.chars().collect();
    // dp[j] = pattern prefix of length i matches text prefix of length j.
    let mut dp = vec![false; chars.len() + 1];
    dp[0] = true;
    for t in &toks {
        let mut next = vec![false; chars.len() + 1];
        for j in 0..=chars.len() {
            next[j] = match *t {
                T::Many => dp[j] || (j > 0 && next[j - 1]),
                T::One => j > 0 && dp[j - 1],
                T::Lit(p) => {
                    j > 0 && dp[j - 1] && {
                        let c = chars[j - 1];
                        if ci {
                            lower(c) == lower(p)
                        } else {
                            c == p
                        }
                    }
                }
            };
        }
        dp = next;
    }
    dp[chars.len()]
}

#[test]
fn like_matches_reference_on_random_inputs() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pat_alphabet = ['a', 'b', 'A', 'é', 'É', 'k', '%', '%', '_', '_', '\\'];
    let text_alphabet = [
        'a', 'b', 'A', 'B', 'é', 'É', '%', '_', '\\', '日', 'K', '\u{212A}',
    ];
    let mut gen = |alphabet: &[char], max: u64| -> String {
        let n = next() % (max + 1);
        (0..n)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect()
    };
    let mut cs = Matcher::new(false);
    let mut ci = Matcher::new(true);
    let mut checked = 0;
    let mut matched = 0;
    for _ in 0..3000 {
        let p = gen(&pat_alphabet, 7);
        cs.compile(&p);
        ci.compile(&p);
        for _ in 0..10 {
            let s = gen(&text_alphabet, 9);
            let want = like_reference(&p, &s, false);
            assert_eq!(cs.matches(&s), want, "{s:?} LIKE {p:?}");
            let want_ci = like_reference(&p, &s, true);
            assert_eq!(ci.matches(&s), want_ci, "{s:?} ILIKE {p:?}");
            checked += 1;
            matched += usize::from(want) + usize::from(want_ci);
        }
    }
    assert_eq!(checked, 30_000);
    // Enough positives for the comparison to mean something.
    assert!(matched > 2_000, "{matched}");
}

#[test]
fn like_column_paths_match_reference() {
    // Through Expr::Like on columns (ASCII-only and mixed), so the shape
    // shortcuts and the lowercased-column ILIKE path are covered too.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut gen = |alphabet: &[char], max: u64| -> String {
        let n = next() % (max + 1);
        (0..n)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect()
    };
    let patterns: Vec<String> = (0..300)
        .map(|_| gen(&['a', 'B', 'k', '\u{212A}', 'é', '%', '%', '_', '\\'], 6))
        .collect();
    for alphabet in [
        &['a', 'b', 'A', 'K', 'k', '_', '%'][..],
        &['a', 'B', 'é', 'É', '\u{212A}', 'k'][..],
    ] {
        let texts: Vec<String> = (0..64).map(|_| gen(alphabet, 8)).collect();
        let texts_ref: Vec<Option<&str>> = texts.iter().map(|s| Some(s.as_str())).collect();
        let b = batch(vec![strs(&texts_ref)]).slice(3, 60);
        for p in &patterns {
            for ci in [false, true] {
                for negated in [false, true] {
                    let e = like(col(0, DataType::Utf8), string(p), negated, ci);
                    let got = out_bool(&ev(&e, &b));
                    for (k, g) in got.iter().enumerate() {
                        let s = &texts[k + 3];
                        let want = like_reference(p, s, ci) != negated;
                        assert_eq!(*g, Some(want), "{s:?} LIKE {p:?} ci={ci} negated={negated}");
                    }
                }
            }
        }
    }
}
#[test]
fn cast_float_to_string_notation_thresholds() {
    // Plain decimal from 1e-5 up to (not including) 1e16, else exponent form.
    let f = f64s(&[
        Some(0.00001),
        Some(1234567890123456.0),
        Some(12345678901234567.0),
        Some(1e15),
        Some(5e-324),
        Some(f64::MAX),
    ]);
    assert_eq!(
        out_str(&cast_col(f, DataType::Utf8)),
        some_strs(&[
            Some("0.00001"),
            Some("1234567890123456.0"),
            Some("1.2345678901234568e16"),
            Some("1000000000000000.0"),
            Some("5e-324"),
            Some("1.7976931348623157e308"),
        ])
    );
    let f = f32s(&[Some(0.0001), Some(1e8), Some(3.4e38)]);
    assert_eq!(
        out_str(&cast_col(f, DataType::Utf8)),
        some_strs(&[Some("0.0001"), Some("100000000.0"), Some("3.4e38")])
    );
}

#[test]
fn null_literal_arguments_propagate() {
    let b = batch(vec![f64s(&[Some(1.5), None]), strs(&[Some("ab"), None])]);
    let s = col(1, DataType::Utf8);
    let f = col(0, DataType::Float64);
    let cases: Vec<Expr> = vec![
        func(Func::Upper, vec![null(DataType::Utf8)], DataType::Utf8),
        func(Func::Length, vec![null(DataType::Utf8)], DataType::Int32),
        func(Func::Abs, vec![null(DataType::Int64)], DataType::Int64),
        func(
            Func::Round,
            vec![f.clone(), null(DataType::Int32)],
            DataType::Float64,
        ),
        func(
            Func::Round,
            vec![null(DataType::Float64), int(1)],
            DataType::Float64,
        ),
        func(Func::Sqrt, vec![null(DataType::Float64)], DataType::Float64),
        func(
            Func::Power,
            vec![f.clone(), null(DataType::Float64)],
            DataType::Float64,
        ),
        func(
            Func::Substring,
            vec![null(DataType::Utf8), int(1)],
            DataType::Utf8,
        ),
        func(
            Func::Substring,
            vec![s.clone(), null(DataType::Int64)],
            DataType::Utf8,
        ),
        like(null(DataType::Utf8), string("%"), false, false),
        bin(BinaryOp::Concat, null(DataType::Utf8), s.clone()),
        cast(null(DataType::Float64), DataType::Utf8),
        neg(null(DataType::Float32)),
        bin(BinaryOp::Lt, null(DataType::Utf8), s),
    ];
    for e in &cases {
        let out = ev(e, &b);
        assert_eq!(out.null_count(), 2, "{e:?}");
    }
    let e = func(Func::Upper, vec![string("a"), string("b")], DataType::Utf8);
    assert!(err(&e, &b).contains("takes 1 arguments"));
}

#[test]
fn nested_mixed_expression() {
    // CASE WHEN s IS NULL THEN 'none' ELSE UPPER(s) || '!' END, and
    // COALESCE(SUBSTRING(s, 2), 'x') = 'B' OR x % 2 = 1.
    let b = batch(vec![
        strs(&[Some("ab"), None, Some("éb"), Some("b")]),
        i32s(&[Some(2), Some(3), None, Some(4)]),
    ]);
    let s = col(0, DataType::Utf8);
    let x = col(1, DataType::Int32);
    let e = case(
        vec![(
            Expr::IsNull {
                arg: Box::new(s.clone()),
                negated: false,
            },
            string("none"),
        )],
        Some(bin(
            BinaryOp::Concat,
            func(Func::Upper, vec![s.clone()], DataType::Utf8),
            string("!"),
        )),
        DataType::Utf8,
    );
    assert_eq!(
        out_str(&ev(&e, &b)),
        some_strs(&[Some("AB!"), Some("none"), Some("ÉB!"), Some("B!")])
    );
    let p = bin(
        BinaryOp::Or,
        bin(
            BinaryOp::Eq,
            func(
                Func::Upper,
                vec![func(
                    Func::Coalesce,
                    vec![
                        func(Func::Substring, vec![s, int(2)], DataType::Utf8),
                        string("x"),
                    ],
                    DataType::Utf8,
                )],
                DataType::Utf8,
            ),
            string("B"),
        ),
        bin(BinaryOp::Eq, bin(BinaryOp::Mod, x, int(2)), int(1)),
    );
    assert_eq!(
        out_bool(&ev(&p, &b)),
        vec![Some(true), Some(true), Some(true), Some(false)]
    );
    assert_eq!(
        p.eval_predicate(&b).unwrap(),
        BooleanArray::from(vec![true, true, true, false])
    );
}
