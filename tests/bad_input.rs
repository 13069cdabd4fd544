//! The bad-input matrix (issue 6): every kind of bad input gets a clear error
//! naming the problem, and leaves the engine usable with nothing half-applied.
//! Each case checks that a valid push and query still work after the error.
//! The C ABI side (invalid UTF-8 in Arrow arrays, NULL and wrong-type setters
//! from C) is in tests/c/test_bad_input.c.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type, Schema};
use eddy::limits::{MAX_COLUMNS, MAX_EXPR_DEPTH, MAX_SQL_BYTES};
use eddy::{Engine, Error, Status};

const S: &str = "CREATE STREAM S (a INT, d DOUBLE, s STRING); INSERT INTO Out SELECT a, d, s FROM S";

/// EDDY_TEST_ENGINE_OPTIONS (e.g. `worker=caller`) is added to every
/// engine's options: the suite runs once per way of running the dataflow.
fn engine(opts: &str, sql: &str) -> Engine {
    let extra = std::env::var("EDDY_TEST_ENGINE_OPTIONS").unwrap_or_default();
    let e = Engine::open(&format!("{opts};{extra}")).expect("engine opens");
    e.execute(sql).expect("setup SQL");
    e
}

fn drain(sub: &eddy::Subscription) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    loop {
        match sub.next(Some(Duration::ZERO)) {
            Ok(b) => out.push(b),
            Err(e) if e.status == Status::Timeout => return out,
            Err(e) => panic!("next failed: {e}"),
        }
    }
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

fn err_of(r: eddy::Result<()>) -> Error {
    r.expect_err("expected an error")
}

/// Checks status and the exact message.
#[track_caller]
fn assert_err(e: &Error, status: Status, message: &str) {
    assert_eq!(e.status, status, "{}", e.message);
    assert_eq!(e.message, message);
}

#[track_caller]
fn assert_err_starts(e: &Error, status: Status, prefix: &str) {
    assert_eq!(e.status, status, "{}", e.message);
    assert!(
        e.message.starts_with(prefix),
        "{:?} does not start with {prefix:?}",
        e.message
    );
}

/// The engine still takes a row on S and delivers it to Out.
#[track_caller]
fn assert_usable(e: &Engine) {
    let sub = e.subscribe("Out").unwrap();
    let mut i = e.open_input("S").unwrap();
    i.begin_row().unwrap();
    i.set_i32(0, 42).unwrap();
    i.set_f64(1, 4.2).unwrap();
    i.set_str(2, b"ok").unwrap();
    i.end_row().unwrap();
    e.flush(-1).unwrap();
    let got = drain(&sub);
    assert_eq!(rows(&got), 1);
    assert_eq!(got[0].column(0).as_primitive::<Int32Type>().value(0), 42);
    assert_eq!(got[0].column(2).as_string::<i32>().value(0), "ok");
}

fn stat(e: &Engine, stream: &str, key: &str) -> i64 {
    let json = e.stats_json();
    let obj = &json[json
        .find(&format!("{{\"name\":\"{stream}\","))
        .expect("stream in stats")..];
    let obj = &obj[..obj.find('}').unwrap()];
    let k = format!("\"{key}\":");
    let v = &obj[obj.find(&k).expect("key") + k.len()..];
    v[..v.find([',', '}']).unwrap_or(v.len())].parse().unwrap()
}

fn s_batch(a: ArrayRef, d: ArrayRef, s: ArrayRef) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("a", a.data_type().clone(), true),
        Field::new("d", d.data_type().clone(), true),
        Field::new("s", s.data_type().clone(), true),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![a, d, s]).unwrap()
}

// ---- wrong types and column counts ------------------------------------------

#[test]
fn setter_of_the_wrong_type_names_the_right_one() {
    let e = engine("", S);
    let mut i = e.open_input("S").unwrap();
    i.begin_row().unwrap();
    assert_err(
        &err_of(i.set_i64(1, 5)),
        Status::Schema,
        "column 1 'd' is DOUBLE; set_i64 cannot set it (use set_f64)",
    );
    assert_err(
        &err_of(i.set_f64(0, 5.0)),
        Status::Schema,
        "column 0 'a' is INT; set_f64 cannot set it (use set_i32)",
    );
    assert_err(
        &err_of(i.set_str(0, b"x")),
        Status::Schema,
        "column 0 'a' is INT; set_str cannot set it (use set_i32)",
    );
    assert_err(
        &err_of(i.set_i32(3, 1)),
        Status::InvalidArgument,
        "column index 3 is out of range: stream has 3 columns",
    );
    // The row stays open and good values still go in.
    i.set_i32(0, 1).unwrap();
    i.end_row().unwrap();
    e.flush(-1).unwrap();
    assert_eq!(stat(&e, "S", "events_in"), 1);
    assert_usable(&e);
}

#[test]
fn arrow_batches_with_wrong_types_or_columns_are_rejected_whole() {
    let e = engine("", S);
    let mut i = e.open_input("S").unwrap();
    let a: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
    let d: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
    let s: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
    let a64: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));

    // Wrong type.
    let b = s_batch(a64, d.clone(), s.clone());
    assert_err(
        &err_of(i.push_batch(&b)),
        Status::Schema,
        "batch column 'a' is BIGINT, stream column is INT",
    );
    // Missing column.
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("d", DataType::Float64, true),
    ]);
    let b = RecordBatch::try_new(Arc::new(schema), vec![a.clone(), d.clone()]).unwrap();
    assert_err(
        &err_of(i.push_batch(&b)),
        Status::Schema,
        "batch has no column 's' (stream columns: a, d, s; batch columns: a, d)",
    );
    // An extra column.
    let schema = Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("d", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("zz", DataType::Int32, true),
    ]);
    let b = RecordBatch::try_new(Arc::new(schema), vec![a.clone(), d.clone(), s.clone(), a.clone()]).unwrap();
    assert_err(
        &err_of(i.push_batch(&b)),
        Status::Schema,
        "batch has columns the stream does not: zz (or a column twice)",
    );
    // No columns at all (a zero-column record batch with rows).
    let b = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    assert_err_starts(
        &err_of(i.push_batch(&b)),
        Status::Schema,
        "batch has no column 'a'",
    );
    // Nothing of any of them went in; each rejected row is counted.
    e.flush(-1).unwrap();
    assert_eq!(stat(&e, "S", "events_in"), 0);
    assert_eq!(stat(&e, "S", "rejected"), 2 + 2 + 2 + 3);
    // Columns in another order and names in another case are fine.
    let schema = Schema::new(vec![
        Field::new("S", DataType::Utf8, true),
        Field::new("A", DataType::Int32, true),
        Field::new("D", DataType::Float64, true),
    ]);
    let b = RecordBatch::try_new(Arc::new(schema), vec![s, a, d]).unwrap();
    i.push_batch(&b).unwrap();
    e.flush(-1).unwrap();
    assert_eq!(stat(&e, "S", "events_in"), 2);
    assert_usable(&e);
}

#[test]
fn invalid_utf8_from_the_row_appender_is_refused() {
    let e = engine("", S);
    let sub = e.subscribe("Out").unwrap();
    let mut i = e.open_input("S").unwrap();
    i.begin_row().unwrap();
    for bad in [
        &b"\xff"[..],
        b"ab\xc3",
        b"\xed\xa0\x80", /* a surrogate */
        b"\xc0\x80",
    ] {
        assert_err_starts(
            &err_of(i.set_str(2, bad)),
            Status::InvalidArgument,
            "column 2: value is not valid UTF-8",
        );
    }
    // NUL bytes are valid UTF-8 and kept.
    i.set_str(2, b"a\0b").unwrap();
    i.end_row().unwrap();
    i.begin_row().unwrap();
    i.set_str(2, "é€😀".as_bytes()).unwrap();
    i.end_row().unwrap();
    e.flush(-1).unwrap();
    let got = drain(&sub);
    let b = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
    let s: Vec<&str> = b
        .column(2)
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(s, ["a\0b", "é€😀"]);
    drop(sub);
    assert_usable(&e);
}

// ---- NaN and infinities --------------------------------------------------------

#[test]
fn nan_and_infinities_in_filters_and_aggregates() {
    let e = engine(
        "",
        "CREATE STREAM F (k STRING, x DOUBLE);
         INSERT INTO Eq SELECT k, x FROM F WHERE x = x;
         INSERT INTO Agg SELECT k, COUNT(*) AS n, SUM(x) AS s, AVG(x) AS a, MIN(x) AS lo, MAX(x) AS hi
             FROM F WINDOW('lengthBatch', 4) GROUP BY k",
    );
    let eq = e.subscribe("Eq").unwrap();
    let agg = e.subscribe("Agg").unwrap();
    let mut i = e.open_input("F").unwrap();
    let rows: [(&str, f64); 8] = [
        ("nan", f64::NAN),
        ("nan", 2.0),
        ("inf", f64::INFINITY),
        ("inf", 1.0),
        ("mixed", f64::INFINITY),
        ("mixed", f64::NEG_INFINITY),
        ("neg", f64::NEG_INFINITY),
        ("neg", -0.0),
    ];
    for (k, x) in rows {
        i.begin_row().unwrap();
        i.set_str(0, k.as_bytes()).unwrap();
        i.set_f64(1, x).unwrap();
        i.end_row().unwrap();
    }
    e.flush(-1).unwrap();
    // NaN equals itself (as in PostgreSQL), so `x = x` keeps every row.
    let got: Vec<f64> = drain(&eq)
        .iter()
        .flat_map(|b| b.column(1).as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert_eq!(got.len(), 8, "x = x holds for every value, NaN included");

    let out = drain(&agg);
    let b = arrow::compute::concat_batches(&out[0].schema(), &out).unwrap();
    let keys: Vec<&str> = b
        .column(0)
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(keys, ["nan", "inf", "mixed", "neg"]);
    let col = |c: usize| b.column(c).as_primitive::<Float64Type>().values().to_vec();
    let (sum, avg, lo, hi) = (col(2), col(3), col(4), col(5));
    // nan: SUM and AVG are NaN; MIN is the number, MAX is NaN.
    assert!(sum[0].is_nan() && avg[0].is_nan());
    assert_eq!((lo[0], hi[0].is_nan()), (2.0, true));
    // inf + 1 = inf (the compensated sum keeps infinities apart).
    assert_eq!(
        (sum[1], avg[1], lo[1], hi[1]),
        (f64::INFINITY, f64::INFINITY, 1.0, f64::INFINITY)
    );
    // inf + -inf = NaN.
    assert!(sum[2].is_nan() && avg[2].is_nan());
    assert_eq!((lo[2], hi[2]), (f64::NEG_INFINITY, f64::INFINITY));
    // -inf with -0.0.
    assert_eq!(
        (sum[3], lo[3], hi[3]),
        (f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0)
    );
    assert_eq!(
        b.column(1).as_primitive::<Int64Type>().values().to_vec(),
        [2, 2, 2, 2]
    );
}

#[test]
fn nan_passes_greater_than_filters_and_infinity_arithmetic_is_ieee() {
    let e = engine(
        "",
        "CREATE STREAM F (x DOUBLE);
         INSERT INTO Big SELECT x, x * 0.0 AS z, x - x AS d, 1.0 / x AS r FROM F WHERE x > 1.0",
    );
    let big = e.subscribe("Big").unwrap();
    let mut i = e.open_input("F").unwrap();
    for x in [f64::NAN, 2.0, f64::INFINITY, f64::NEG_INFINITY, 0.5] {
        i.begin_row().unwrap();
        i.set_f64(0, x).unwrap();
        i.end_row().unwrap();
    }
    e.flush(-1).unwrap();
    let out = drain(&big);
    let b = arrow::compute::concat_batches(&out[0].schema(), &out).unwrap();
    let xs = b.column(0).as_primitive::<Float64Type>().values().to_vec();
    assert_eq!(xs.len(), 3);
    assert!(xs[0].is_nan());
    assert_eq!(&xs[1..], [2.0, f64::INFINITY]);
    let z = b.column(1).as_primitive::<Float64Type>().values().to_vec();
    assert!(z[0].is_nan() && z[2].is_nan()); // NaN * 0, inf * 0
    assert_eq!(z[1], 0.0);
    let d = b.column(2).as_primitive::<Float64Type>().values().to_vec();
    assert!(d[2].is_nan()); // inf - inf
    let r = b.column(3).as_primitive::<Float64Type>().values().to_vec();
    assert_eq!((r[1], r[2]), (0.5, 0.0));
}

// ---- huge strings --------------------------------------------------------------

#[test]
fn strings_up_to_max_string_bytes_then_a_clear_error() {
    // The default limit, 16 MiB, through both paths: far above what the
    // default input queue's string arena (4 MiB) takes in one row, so the row
    // travels as a one-row batch, in order with its neighbours.
    let e = engine("", S);
    let sub = e.subscribe("Out").unwrap();
    let mut i = e.open_input("S").unwrap();
    let max = eddy::limits::DEFAULT_MAX_STRING_BYTES;
    assert_eq!(e.options().max_string_bytes, max);
    let big = vec![b'x'; max];
    for (n, len) in [(1, 3), (2, max), (3, 5)] {
        i.begin_row().unwrap();
        i.set_i32(0, n).unwrap();
        i.set_str(2, &big[..len]).unwrap();
        i.end_row().unwrap();
    }
    let too_big = vec![b'y'; max + 1];
    i.begin_row().unwrap();
    assert_err(
        &err_of(i.set_str(2, &too_big)),
        Status::InvalidArgument,
        &format!(
            "column 2: string of {} bytes is longer than max_string_bytes ({max})",
            max + 1
        ),
    );
    i.abort_row();
    // Arrow: the same limit.
    let b = s_batch(
        Arc::new(Int32Array::from(vec![9, 9])),
        Arc::new(Float64Array::from(vec![0.0, 0.0])),
        Arc::new(StringArray::from(vec![
            "short",
            std::str::from_utf8(&too_big).unwrap(),
        ])),
    );
    assert_err(
        &err_of(i.push_batch(&b)),
        Status::InvalidArgument,
        &format!(
            "batch column 's' row 1: string of {} bytes is longer than max_string_bytes ({max})",
            max + 1
        ),
    );
    let b = s_batch(
        Arc::new(Int32Array::from(vec![4])),
        Arc::new(Float64Array::from(vec![0.0])),
        Arc::new(StringArray::from(vec![std::str::from_utf8(&big).unwrap()])),
    );
    i.push_batch(&b).unwrap();
    e.flush(-1).unwrap();
    let out = drain(&sub);
    let b = arrow::compute::concat_batches(&out[0].schema(), &out).unwrap();
    let a: Vec<i32> = b.column(0).as_primitive::<Int32Type>().values().to_vec();
    assert_eq!(a, [1, 2, 3, 4], "in push order");
    let lens: Vec<usize> = b
        .column(2)
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap().len())
        .collect();
    assert_eq!(lens, [3, max, 5, max]);
    assert!(b.column(2).as_string::<i32>().value(1).bytes().all(|c| c == b'x'));
    assert_eq!(stat(&e, "S", "rejected"), 2);
    drop(sub);
    assert_usable(&e);

    // The option moves the limit.
    let e = engine("max_string_bytes=10", S);
    let mut i = e.open_input("S").unwrap();
    i.begin_row().unwrap();
    i.set_str(2, b"0123456789").unwrap();
    assert_err(
        &err_of(i.set_str(2, b"0123456789a")),
        Status::InvalidArgument,
        "column 2: string of 11 bytes is longer than max_string_bytes (10)",
    );
    i.end_row().unwrap();
    let e = Engine::open("max_string_bytes=0").map(|_| ()).unwrap_err();
    assert_err(
        &e,
        Status::InvalidArgument,
        "option 'max_string_bytes': bad value '0' (expected an integer from 1 to 1073741824)",
    );
}

// ---- empty and zero-column ------------------------------------------------------

#[test]
fn empty_batches_are_accepted_and_count_nothing() {
    let e = engine("", S);
    let mut i = e.open_input("S").unwrap();
    let b = s_batch(
        Arc::new(Int32Array::from(Vec::<i32>::new())),
        Arc::new(Float64Array::from(Vec::<f64>::new())),
        Arc::new(StringArray::from(Vec::<&str>::new())),
    );
    for _ in 0..3 {
        i.push_batch(&b).unwrap();
    }
    e.flush(-1).unwrap();
    assert_eq!(stat(&e, "S", "events_in"), 0);
    assert_eq!(stat(&e, "S", "rejected"), 0);
    assert_usable(&e);
}

#[test]
fn zero_column_streams_are_refused() {
    let e = engine("", S);
    assert_err(
        &err_of(e.execute("CREATE STREAM Z ()")),
        Status::Sql,
        "line 1:15: stream 'Z' needs at least one column",
    );
    assert_err(
        &err_of(e.execute("INSERT INTO Z SELECT FROM S")),
        Status::Sql,
        "line 1:22: expected an expression, found 'FROM'",
    );
    assert!(e.stream_schema("Z").is_none());
    assert_usable(&e);
}

// ---- wide schemas ----------------------------------------------------------------

fn wide_sql(name: &str, n: usize) -> String {
    let cols: Vec<String> = (0..n).map(|c| format!("c{c} BIGINT")).collect();
    format!("CREATE STREAM {name} ({})", cols.join(", "))
}

#[test]
fn ten_thousand_columns_work_and_more_than_the_limit_is_refused() {
    let n = 10_000;
    let e = engine("", S);
    e.execute(&wide_sql("W", n)).unwrap();
    e.execute("INSERT INTO Narrow SELECT c0, c5000, c9999 FROM W; INSERT INTO Copy SELECT * FROM W")
        .unwrap();
    assert_eq!(e.stream_schema("Copy").unwrap().fields().len(), n);
    let narrow = e.subscribe("Narrow").unwrap();
    let copy = e.subscribe("Copy").unwrap();
    let mut i = e.open_input("W").unwrap();
    for r in 0..3i64 {
        i.begin_row().unwrap();
        for c in (0..n as u32).step_by(1000).chain([5000, 9999]) {
            i.set_i64(c, r * 100_000 + c as i64).unwrap();
        }
        i.end_row().unwrap();
    }
    // And an Arrow batch with every column.
    let fields: Vec<Field> = (0..n)
        .map(|c| Field::new(format!("c{c}"), DataType::Int64, true))
        .collect();
    let cols: Vec<ArrayRef> = (0..n)
        .map(|c| Arc::new(Int64Array::from(vec![c as i64 * 7])) as ArrayRef)
        .collect();
    let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    i.push_batch(&b).unwrap();
    e.flush(-1).unwrap();
    let out = drain(&narrow);
    let b = arrow::compute::concat_batches(&out[0].schema(), &out).unwrap();
    let col = |c: usize| b.column(c).as_primitive::<Int64Type>().iter().collect::<Vec<_>>();
    assert_eq!(col(0), [Some(0), Some(100_000), Some(200_000), Some(0)]);
    assert_eq!(col(1), [Some(5000), Some(105_000), Some(205_000), Some(35_000)]);
    assert_eq!(col(2), [Some(9999), Some(109_999), Some(209_999), Some(69_993)]);
    assert_eq!(rows(&drain(&copy)), 4);
    assert_eq!(stat(&e, "W", "events_in"), 4);

    // The limit itself, and one past it: the error points at the column.
    e.execute(&wide_sql("AtLimit", MAX_COLUMNS)).unwrap();
    let sql = wide_sql("TooWide", MAX_COLUMNS + 1);
    let e2 = err_of(e.execute(&sql));
    let at = sql.find(&format!("c{MAX_COLUMNS} ")).unwrap() + 1;
    assert_err(
        &e2,
        Status::Sql,
        &format!(
            "line 1:{at}: stream 'TooWide' has {} columns; a stream has at most {MAX_COLUMNS}",
            MAX_COLUMNS + 1
        ),
    );
    // A query whose output would be wider than the limit.
    let e3 = err_of(e.execute("INSERT INTO Twice SELECT *, * FROM W"));
    assert_err(
        &e3,
        Status::Sql,
        &format!(
            "line 1:29: the query has {} output columns; a stream has at most {MAX_COLUMNS}",
            2 * n
        ),
    );
    assert!(e.stream_schema("Twice").is_none());
    assert_usable(&e);
}

// ---- deep expressions --------------------------------------------------------------

/// Each shape at the deepest accepted nesting and one level past it. Runs
/// on a thread with a 1 MiB stack (a JVM thread's default), and pushes a
/// row through the accepted query so evaluation is exercised too.
#[test]
fn expression_depth_is_limited_with_a_clear_error() {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(depth_cases)
        .unwrap()
        .join()
        .unwrap();
}

fn depth_cases() {
    // (shape at depth n, depth of the tree it builds for n).
    type Shape = fn(usize) -> String;
    let shapes: [(&str, Shape, usize); 6] = [
        ("a + 1 + ...", |n| format!("a{}", " + 1".repeat(n)), 1),
        ("(((a)))", |n| format!("{}a{}", "(".repeat(n), ")".repeat(n)), 1),
        ("NOT NOT ...", |n| format!("{}a > 0", "NOT ".repeat(n)), 2),
        ("a::INT::INT...", |n| format!("a{}", "::INT".repeat(n)), 1),
        ("s || 'x' || ...", |n| format!("s{}", " || 'x'".repeat(n)), 1),
        (
            "ABS(ABS(...))",
            |n| format!("{}a{}", "ABS(".repeat(n), ")".repeat(n)),
            1,
        ),
    ];
    let e = engine("", S);
    for (k, (name, shape, extra)) in shapes.into_iter().enumerate() {
        // The deepest accepted: MAX_EXPR_DEPTH levels in all.
        let mut n = MAX_EXPR_DEPTH - extra;
        // `(a)` nests Nested nodes: one per parenthesis.
        if name == "(((a)))" {
            n = MAX_EXPR_DEPTH - 1;
        }
        let ok = format!("INSERT INTO D{k} SELECT {} AS x FROM S", shape(n));
        if let Err(err) = e.execute(&ok) {
            panic!("{name} at depth {n}: {err}");
        }
        let bad = format!("INSERT INTO D2 SELECT {} AS x FROM S", shape(n + 1));
        assert_err(
            &err_of(e.execute(&bad)),
            Status::Sql,
            &format!("line 1:23: expression is nested too deeply (more than {MAX_EXPR_DEPTH} levels)"),
        );
        // Far past it: the same error, quickly, no overflow (SQL text bound).
        let far = format!("INSERT INTO D2 SELECT {} AS x FROM S", shape(50_000));
        let err = err_of(e.execute(&far));
        assert_eq!(err.status, Status::Sql, "{name}: {}", err.message);
        assert!(
            err.message.contains("nested too deeply"),
            "{name}: {}",
            err.message
        );
    }
    // In a WHERE on the third line: the position is the expression's.
    let bad = format!(
        "CREATE STREAM T (a INT);\nINSERT INTO U SELECT a FROM T\n  WHERE a = 1{}",
        " + 1".repeat(200)
    );
    assert_err(
        &err_of(e.execute(&bad)),
        Status::Sql,
        &format!("line 3:9: expression is nested too deeply (more than {MAX_EXPR_DEPTH} levels)"),
    );
    // Nothing of that script was applied (T came first in it).
    assert!(e.stream_schema("T").is_none());
    // The accepted deep queries evaluate (on the worker, whose stack is 2 MiB).
    let subs: Vec<_> = (0..6).map(|k| e.subscribe(&format!("D{k}")).unwrap()).collect();
    assert_usable(&e);
    for d in &subs {
        assert_eq!(rows(&drain(d)), 1);
    }
}

// ---- long SQL and many statements -----------------------------------------------

#[test]
fn sql_text_length_is_limited() {
    let e = engine("", S);
    // Exactly at the limit: a long IN list, padded with spaces.
    let mut sql = String::from("INSERT INTO L SELECT a FROM S WHERE a IN (0");
    let mut k = 1;
    while sql.len() < MAX_SQL_BYTES - 64 {
        sql.push_str(&format!(",{k}"));
        k += 1;
    }
    sql.push(')');
    while sql.len() < MAX_SQL_BYTES {
        sql.push(' ');
    }
    assert_eq!(sql.len(), MAX_SQL_BYTES);
    e.execute(&sql).unwrap();
    sql.push(' ');
    assert_err(
        &err_of(e.execute(&sql)),
        Status::Sql,
        &format!(
            "line 1:1: SQL text is {} bytes; one call takes at most {MAX_SQL_BYTES} (split it into several calls)",
            MAX_SQL_BYTES + 1
        ),
    );
    assert_usable(&e);
}

#[test]
fn many_statements_apply_all_or_none() {
    let e = engine("", S);
    let mut sql = String::new();
    for k in 0..2000 {
        sql.push_str(&format!(
            "CREATE STREAM M{k} (x INT); INSERT INTO N{k} SELECT x FROM M{k};\n"
        ));
    }
    // One bad statement at the very end: nothing of the 4000 before applies.
    let bad = format!("{sql}INSERT INTO Q SELECT nope FROM M0");
    assert_err(
        &err_of(e.execute(&bad)),
        Status::Sql,
        "line 2001:22: unknown column 'nope' in stream 'M0' (columns: x)",
    );
    assert!(e.stream_schema("M0").is_none());
    assert!(e.stream_schema("N1999").is_none());
    // The same when the bad part is only found when the plans are installed
    // (a stream option's value).
    let bad = format!("{sql}CREATE STREAM Late (x INT) WITH (overflow = 'sometimes')");
    assert_err_starts(&err_of(e.execute(&bad)), Status::Sql, "line 2001:");
    assert!(e.stream_schema("M0").is_none());
    e.execute(&sql).unwrap();
    assert_eq!(e.streams().len(), 2 + 4000);
    let n = e.subscribe("N1999").unwrap();
    let mut i = e.open_input("M1999").unwrap();
    i.begin_row().unwrap();
    i.set_i32(0, 7).unwrap();
    i.end_row().unwrap();
    e.flush(-1).unwrap();
    assert_eq!(rows(&drain(&n)), 1);
    // Empty statements and a lone ';' are fine; garbage is a positioned error.
    e.execute(";;  ;\n;").unwrap();
    assert_err_starts(&err_of(e.execute("\u{0}")), Status::Sql, "line 1:1:");
    assert_usable(&e);
}
