use crate::expr::{BinaryOp, Expr, Func, Scalar};
use arrow::array::*;
use arrow::datatypes::*;
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::Instant;

fn b(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}

#[test]
#[ignore]
fn bench_throughput() {
    let n = 8192;
    let i64s: ArrayRef = Arc::new(Int64Array::from(
        (0..n)
            .map(|i| if i % 50 == 0 { None } else { Some(i as i64 * 37) })
            .collect::<Vec<_>>(),
    ));
    let i64b: ArrayRef = Arc::new(Int64Array::from(
        (0..n).map(|i| Some(i as i64 % 13 - 6)).collect::<Vec<_>>(),
    ));
    let f64s: ArrayRef = Arc::new(Float64Array::from(
        (0..n).map(|i| Some(i as f64 * 0.5)).collect::<Vec<_>>(),
    ));
    let strs: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|i| Some(format!("user_{:06}_abc", i * 7)))
            .collect::<Vec<_>>(),
    ));
    let i32s: ArrayRef = Arc::new(Int32Array::from(
        (0..n).map(|i| Some(i as i32)).collect::<Vec<_>>(),
    ));
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Int64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("i", DataType::Int32, true),
    ]));
    let batch = RecordBatch::try_new(schema, vec![i64s, i64b, f64s, strs, i32s]).unwrap();
    let a = Expr::Column {
        index: 0,
        data_type: DataType::Int64,
    };
    let bb = Expr::Column {
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
    let cases: Vec<(&str, Expr)> = vec![
        (
            "s like 'user%'",
            Expr::Like {
                arg: Box::new(s.clone()),
                pattern: Box::new(Expr::Literal(Scalar::String("user%".into()))),
                negated: false,
                case_insensitive: false,
            },
        ),
        (
            "s like '%07_%'",
            Expr::Like {
                arg: Box::new(s.clone()),
                pattern: Box::new(Expr::Literal(Scalar::String("%07\\_%".into()))),
                negated: false,
                case_insensitive: false,
            },
        ),
        (
            "a > 100",
            b(BinaryOp::Gt, a.clone(), Expr::Literal(Scalar::BigInt(100))),
        ),
        (
            "f > 100.0",
            b(BinaryOp::Gt, f.clone(), Expr::Literal(Scalar::Double(100.0))),
        ),
        (
            "a + 1",
            b(BinaryOp::Add, a.clone(), Expr::Literal(Scalar::BigInt(1))),
        ),
        ("a + b", b(BinaryOp::Add, a.clone(), bb.clone())),
        ("a * b", b(BinaryOp::Mul, a.clone(), bb.clone())),
        ("a / b", b(BinaryOp::Div, a.clone(), bb.clone())),
        ("f * f", b(BinaryOp::Mul, f.clone(), f.clone())),
        (
            "f / 3.0",
            b(BinaryOp::Div, f.clone(), Expr::Literal(Scalar::Double(3.0))),
        ),
        (
            "i in (1,2,3)",
            Expr::InList {
                arg: Box::new(i.clone()),
                list: vec![
                    Expr::Literal(Scalar::Int(1)),
                    Expr::Literal(Scalar::Int(2)),
                    Expr::Literal(Scalar::Int(3)),
                ],
                negated: false,
            },
        ),
        (
            "s like 'user_0%'",
            Expr::Like {
                arg: Box::new(s.clone()),
                pattern: Box::new(Expr::Literal(Scalar::String("user_0%".into()))),
                negated: false,
                case_insensitive: false,
            },
        ),
        (
            "s like '%_1%c'",
            Expr::Like {
                arg: Box::new(s.clone()),
                pattern: Box::new(Expr::Literal(Scalar::String("%_1%c".into()))),
                negated: false,
                case_insensitive: false,
            },
        ),
        (
            "s ilike 'USER%ABC'",
            Expr::Like {
                arg: Box::new(s.clone()),
                pattern: Box::new(Expr::Literal(Scalar::String("USER%ABC".into()))),
                negated: false,
                case_insensitive: true,
            },
        ),
        (
            "upper(s)",
            Expr::Function {
                func: Func::Upper,
                args: vec![s.clone()],
                data_type: DataType::Utf8,
            },
        ),
        (
            "substring(s,2,5)",
            Expr::Function {
                func: Func::Substring,
                args: vec![
                    s.clone(),
                    Expr::Literal(Scalar::Int(2)),
                    Expr::Literal(Scalar::Int(5)),
                ],
                data_type: DataType::Utf8,
            },
        ),
        (
            "length(s)",
            Expr::Function {
                func: Func::Length,
                args: vec![s.clone()],
                data_type: DataType::Int32,
            },
        ),
        (
            "s || 'x'",
            b(
                BinaryOp::Concat,
                s.clone(),
                Expr::Literal(Scalar::String("x".into())),
            ),
        ),
        (
            "round(f, 1)",
            Expr::Function {
                func: Func::Round,
                args: vec![f.clone(), Expr::Literal(Scalar::Int(1))],
                data_type: DataType::Float64,
            },
        ),
        (
            "case",
            Expr::Case {
                branches: vec![(
                    b(BinaryOp::Lt, a.clone(), Expr::Literal(Scalar::BigInt(1000))),
                    Expr::Literal(Scalar::BigInt(0)),
                )],
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
        let mut el = f64::MAX;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..iters {
                std::hint::black_box(e.eval(&batch).unwrap());
            }
            el = el.min(t.elapsed().as_secs_f64());
        }
        println!("{name:24} {:8.1} Mrows/s", (iters * n) as f64 / el / 1e6);
    }
    if only.is_some() {
        return;
    }
    // one-row batches
    let one = batch.slice(5, 1);
    let e = b(
        BinaryOp::And,
        b(BinaryOp::Gt, a.clone(), Expr::Literal(Scalar::BigInt(100))),
        Expr::Like {
            arg: Box::new(s.clone()),
            pattern: Box::new(Expr::Literal(Scalar::String("%_1%c".into()))),
            negated: false,
            case_insensitive: false,
        },
    );
    let t = Instant::now();
    for _ in 0..100_000 {
        std::hint::black_box(e.eval_predicate(&one).unwrap());
    }
    println!(
        "1-row predicate {:8.2} us/batch",
        t.elapsed().as_secs_f64() / 100_000.0 * 1e6
    );
}
