//! Throughput check for the evaluator (ignored by default; numbers only mean
//! something in release mode):
//!
//! ```text
//! cargo test --release --lib bench_throughput -- --ignored --nocapture
//! BENCH_ONLY=like cargo test --release --lib bench_throughput -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::expr::{BinaryOp, Expr, Func, Scalar};

fn bin(op: BinaryOp, l: &Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l.clone()),
        right: Box::new(r),
    }
}

fn like(s: &Expr, pattern: &str, case_insensitive: bool) -> Expr {
    Expr::Like {
        arg: Box::new(s.clone()),
        pattern: Box::new(Expr::Literal(Scalar::String(pattern.into()))),
        negated: false,
        case_insensitive,
    }
}

fn func(func: Func, args: Vec<Expr>, data_type: DataType) -> Expr {
    Expr::Function {
        func,
        args,
        data_type,
    }
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_throughput() {
    let n: usize = 8192;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter(
            (0..n as i64).map(|i| (i % 50 != 0).then_some(i * 37)),
        )),
        Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| i % 13 - 6))),
        Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.5))),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|i| format!("user_{:06}_abc", i * 7)),
        )),
        Arc::new(Int32Array::from_iter_values(0..n as i32)),
    ];
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("i", DataType::Int32, true),
    ]));
    let batch = RecordBatch::try_new(schema, cols).unwrap();
    let a = Expr::Column {
        index: 0,
        data_type: DataType::Int64,
    };
    let b = Expr::Column {
        index: 1,
        data_type: DataType::Int64,
    };
    let f = Expr::Column {
        index: 2,
        data_type: DataType::Float64,
    };
    let s = Expr::Column {
        index: 3,
        data_type: DataType::Utf8,
    };
    let i = Expr::Column {
        index: 4,
        data_type: DataType::Int32,
    };
    let big = |v| Expr::Literal(Scalar::BigInt(v));
    let dbl = |v| Expr::Literal(Scalar::Double(v));
    let cases: Vec<(&str, Expr)> = vec![
        ("a > 100", bin(BinaryOp::Gt, &a, big(100))),
        ("f > 100.0", bin(BinaryOp::Gt, &f, dbl(100.0))),
        ("a + 1", bin(BinaryOp::Add, &a, big(1))),
        ("a + b", bin(BinaryOp::Add, &a, b.clone())),
        ("a * b", bin(BinaryOp::Mul, &a, b.clone())),
        ("a / b", bin(BinaryOp::Div, &a, b.clone())),
        ("f * f", bin(BinaryOp::Mul, &f, f.clone())),
        ("f / 3.0", bin(BinaryOp::Div, &f, dbl(3.0))),
        (
            "i in (1, 2, 3)",
            Expr::InList {
                arg: Box::new(i.clone()),
                list: (1..=3).map(|v| Expr::Literal(Scalar::Int(v))).collect(),
                negated: false,
            },
        ),
        ("s like 'user%'", like(&s, "user%", false)),
        ("s like '%07\\_%'", like(&s, "%07\\_%", false)),
        ("s like 'user_0%'", like(&s, "user_0%", false)),
        ("s like '%_1%c'", like(&s, "%_1%c", false)),
        ("s ilike 'USER%ABC'", like(&s, "USER%ABC", true)),
        ("upper(s)", func(Func::Upper, vec![s.clone()], DataType::Utf8)),
        (
            "substring(s, 2, 5)",
            func(
                Func::Substring,
                vec![
                    s.clone(),
                    Expr::Literal(Scalar::Int(2)),
                    Expr::Literal(Scalar::Int(5)),
                ],
                DataType::Utf8,
            ),
        ),
        ("length(s)", func(Func::Length, vec![s.clone()], DataType::Int32)),
        (
            "s || 'x'",
            bin(BinaryOp::Concat, &s, Expr::Literal(Scalar::String("x".into()))),
        ),
        (
            "round(f, 1)",
            func(
                Func::Round,
                vec![f.clone(), Expr::Literal(Scalar::Int(1))],
                DataType::Float64,
            ),
        ),
        (
            "case when a < 1000 then 0 else a end",
            Expr::Case {
                branches: vec![(bin(BinaryOp::Lt, &a, big(1000)), big(0))],
                else_expr: Some(Box::new(a.clone())),
                data_type: DataType::Int64,
            },
        ),
        (
            "cast(a as double)",
            Expr::Cast {
                arg: Box::new(a.clone()),
                to: DataType::Float64,
            },
        ),
    ];
    let only = std::env::var("BENCH_ONLY").ok();
    for (name, e) in &cases {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let iters = 100;
        let mut best = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(e.eval(&batch).unwrap());
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{name:40} {:8.1} Mrows/s", (iters * n) as f64 / best / 1e6);
    }
    if only.is_some() {
        return;
    }
    let one = batch.slice(5, 1);
    let p = Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(bin(BinaryOp::Gt, &a, big(100))),
        right: Box::new(like(&s, "%_1%c", false)),
    };
    let reps = 100_000;
    let t = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(p.eval_predicate(&one).unwrap());
    }
    println!(
        "one-row batch predicate: {:.2} us/batch",
        t.elapsed().as_secs_f64() / reps as f64 * 1e6
    );
}
