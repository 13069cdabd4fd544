//! Engine behaviour through the Rust API (the C ABI delegates to it; the C
//! tests under tests/c check the boundary itself).

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type, Schema};
use eddy::{Engine, Status};

/// EDDY_TEST_ENGINE_OPTIONS (e.g. `worker=caller`) is added to every
/// engine's options: the suite runs once per way of running the dataflow.
fn engine(opts: &str) -> Engine {
    let extra = std::env::var("EDDY_TEST_ENGINE_OPTIONS").unwrap_or_default();
    Engine::open(&format!("{opts};{extra}")).expect("engine opens")
}

/// Reads everything a subscription has right now (after a flush).
fn drain(sub: &eddy::Subscription) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    loop {
        match sub.next(Some(Duration::ZERO)) {
            Ok(b) => out.push(b),
            Err(e) if e.status == Status::Timeout || e.status == Status::EndOfStream => return out,
            Err(e) => panic!("next failed: {e}"),
        }
    }
}

fn concat(batches: &[RecordBatch]) -> Option<RecordBatch> {
    let first = batches.first()?;
    Some(arrow::compute::concat_batches(&first.schema(), batches).unwrap())
}

fn i64s(b: &RecordBatch, col: usize) -> Vec<Option<i64>> {
    b.column(col).as_primitive::<Int64Type>().iter().collect()
}

fn f64s(b: &RecordBatch, col: usize) -> Vec<Option<f64>> {
    b.column(col).as_primitive::<Float64Type>().iter().collect()
}

fn strs(b: &RecordBatch, col: usize) -> Vec<Option<String>> {
    b.column(col)
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn push_trade(input: &mut eddy::Input, sym: &str, price: f64, vol: i64) {
    input.begin_row().unwrap();
    input.set_str(0, sym.as_bytes()).unwrap();
    input.set_f64(1, price).unwrap();
    input.set_i64(2, vol).unwrap();
    input.end_row().unwrap();
}

const TRADES: &str = "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT);";

#[test]
fn filter_and_project_rows_in_order() {
    let e = engine("");
    e.execute(&format!(
        "{TRADES} INSERT INTO Big SELECT symbol, price * 2 AS doubled, volume FROM Trades WHERE price > 100.0"
    ))
    .unwrap();
    let sub = e.subscribe("Big").unwrap();
    let mut input = e.open_input("Trades").unwrap();
    for i in 0..1000 {
        push_trade(&mut input, &format!("S{i}"), 50.0 + i as f64 / 10.0, i);
    }
    e.flush(5000).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    // price > 100 ⇔ i > 500
    assert_eq!(b.num_rows(), 499);
    assert_eq!(b.schema().field(1).name(), "doubled");
    let vols = i64s(&b, 2);
    assert_eq!(vols.first(), Some(&Some(501)));
    assert_eq!(vols.last(), Some(&Some(999)));
    assert!(vols.windows(2).all(|w| w[0] < w[1]), "order kept");
    assert_eq!(strs(&b, 0)[0].as_deref(), Some("S501"));
    assert_eq!(f64s(&b, 1)[0], Some((50.0 + 50.1) * 2.0));
}

#[test]
fn unset_columns_are_null_and_all_types_round_trip() {
    let e = engine("");
    e.execute(
        "CREATE STREAM T (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, ts TIMESTAMP);
         INSERT INTO O SELECT * FROM T",
    )
    .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("T").unwrap();
    inp.begin_row().unwrap();
    inp.set_bool(0, true).unwrap();
    inp.set_i32(1, -7).unwrap();
    inp.set_i64(2, i64::MIN).unwrap();
    inp.set_f32(3, 1.5).unwrap();
    inp.set_f64(4, -2.25).unwrap();
    inp.set_str(5, "héllo".as_bytes()).unwrap();
    inp.set_i64(6, 1_700_000_000_123).unwrap();
    inp.end_row().unwrap();
    inp.begin_row().unwrap();
    inp.set_i32(1, 3).unwrap();
    inp.set_null(1).unwrap();
    inp.end_row().unwrap();
    e.flush(5000).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    assert_eq!(b.num_rows(), 2);
    assert!(b.column(0).as_boolean().value(0));
    assert_eq!(b.column(1).as_primitive::<Int32Type>().value(0), -7);
    assert_eq!(i64s(&b, 2)[0], Some(i64::MIN));
    assert_eq!(
        b.column(3)
            .as_primitive::<arrow::datatypes::Float32Type>()
            .value(0),
        1.5
    );
    assert_eq!(f64s(&b, 4)[0], Some(-2.25));
    assert_eq!(strs(&b, 5)[0].as_deref(), Some("héllo"));
    assert_eq!(
        b.column(6)
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .value(0),
        1_700_000_000_123
    );
    for c in 0..7 {
        assert!(b.column(c).is_null(1), "column {c} of the second row is NULL");
    }
}

#[test]
fn appender_misuse_is_reported_and_row_discarded() {
    let e = engine("");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT * FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    assert_eq!(inp.set_f64(1, 1.0).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(inp.end_row().unwrap_err().status, Status::InvalidArgument);
    inp.begin_row().unwrap();
    assert_eq!(inp.begin_row().unwrap_err().status, Status::InvalidArgument);
    let err = inp.set_i64(1, 5).unwrap_err();
    assert_eq!(err.status, Status::Schema);
    assert!(
        err.message.contains("'price'") && err.message.contains("set_f64"),
        "{}",
        err.message
    );
    let err = inp.set_i64(9, 5).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("out of range"));
    assert_eq!(
        inp.set_str(0, &[0xff, 0xfe]).unwrap_err().status,
        Status::InvalidArgument
    );
    inp.set_f64(1, 1.0).unwrap();
    inp.end_row().unwrap();
    e.flush(5000).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    assert_eq!(b.num_rows(), 1);
    assert!(b.column(0).is_null(0));
}

#[test]
fn aborted_row_ingests_nothing_and_reused_slots_start_null() {
    // A 4-slot ring: rows are written in place in slots the worker keeps
    // freeing, so each slot is reused many times.
    let e = engine("queue_capacity=4");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT * FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    // A row aborted after a setter failed ingests nothing.
    inp.begin_row().unwrap();
    inp.set_str(0, b"AAA").unwrap();
    inp.set_i64(2, 7).unwrap();
    assert_eq!(
        inp.set_str(0, &[b'a', 0xc3]).unwrap_err().status,
        Status::InvalidArgument
    );
    inp.abort_row();
    // Even rows set every column, odd rows none: an odd row must not show
    // what the row before it left in the slot.
    let sym = |i: i64| format!("s{i}").repeat(1 + (i % 5) as usize);
    for i in 0..200i64 {
        inp.begin_row().unwrap();
        if i % 2 == 0 {
            inp.set_str(0, sym(i).as_bytes()).unwrap();
            inp.set_f64(1, i as f64 + 0.5).unwrap();
            inp.set_i64(2, i).unwrap();
        }
        inp.end_row().unwrap();
    }
    e.flush(5000).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    assert_eq!(b.num_rows(), 200);
    let (s, p, v) = (strs(&b, 0), f64s(&b, 1), i64s(&b, 2));
    for i in 0..200i64 {
        let r = i as usize;
        if i % 2 == 0 {
            assert_eq!(
                (s[r].clone(), p[r], v[r]),
                (Some(sym(i)), Some(i as f64 + 0.5), Some(i))
            );
        } else {
            assert_eq!((s[r].clone(), p[r], v[r]), (None, None, None), "row {i}");
        }
    }
}

#[test]
fn rows_staged_while_the_ring_is_full_keep_their_values() {
    // The unread subscriber stalls the worker, so the 4-slot ring fills:
    // later rows find no free slot at begin_row, are built aside, and the
    // policy decides at end_row.
    for policy in ["block", "drop_newest", "drop_oldest"] {
        let e = engine(&format!(
            "queue_capacity=4;push_timeout_ms=10;subscriber_capacity=1;batch_rows=1;overflow={policy}"
        ));
        e.execute(&format!("{TRADES} INSERT INTO O SELECT * FROM Trades"))
            .unwrap();
        let sub = e.subscribe("O").unwrap();
        let mut inp = e.open_input("Trades").unwrap();
        let sym = |i: i64| format!("s{i}").repeat(1 + (i % 3) as usize);
        let price = |i: i64| (i % 4 != 1).then_some(i as f64 + 0.5);
        let pushed = 40i64;
        let mut accepted = Vec::new();
        for i in 0..pushed {
            inp.begin_row().unwrap();
            inp.set_str(0, sym(i).as_bytes()).unwrap();
            if let Some(p) = price(i) {
                inp.set_f64(1, p).unwrap();
            }
            inp.set_i64(2, i).unwrap();
            match inp.end_row() {
                Ok(()) => accepted.push(i),
                Err(err) => {
                    assert_eq!((policy, err.status), ("block", Status::Full));
                }
            }
        }
        // Close drains everything (it never waits on an unread subscriber).
        e.close().unwrap();
        let b = concat(&drain(&sub)).unwrap();
        let (s, p, v) = (strs(&b, 0), f64s(&b, 1), i64s(&b, 2));
        let got: Vec<i64> = v.iter().map(|x| x.unwrap()).collect();
        for (r, &i) in got.iter().enumerate() {
            assert_eq!((s[r].clone(), p[r]), (Some(sym(i)), price(i)), "{policy} row {i}");
        }
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{policy}: in order");
        let stats = e.stats_json();
        match policy {
            "block" => {
                assert!(accepted.len() < pushed as usize, "{policy}: the ring filled");
                assert_eq!(got, accepted);
                let rejected = pushed as usize - accepted.len();
                assert!(stats.contains(&format!("\"rejected\":{rejected}")), "{stats}");
            }
            _ => {
                // The policy applies to the subscriber too (see
                // drop_policies_count_every_row): count both.
                let num = |key: &str, stream: &str| -> usize {
                    let at = stats.find(&format!("\"name\":\"{stream}\"")).unwrap();
                    let s = &stats[at..];
                    let k = s.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
                    s[k..]
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap()
                };
                assert_eq!(accepted.len(), pushed as usize);
                let (tin, tdropped) = (num("events_in", "Trades"), num("dropped", "Trades"));
                if e.options().worker == eddy::runtime::WorkerKind::Caller {
                    // Each push ran to its end: a dropping subscriber
                    // never holds the ring up.
                    assert_eq!(tdropped, 0, "{policy}: {stats}");
                } else {
                    assert!(tdropped > 0, "{policy}: the ring filled: {stats}");
                }
                assert_eq!(tin + tdropped, pushed as usize, "{stats}");
                assert_eq!(got.len() + num("subscriber_dropped", "O"), tin, "{stats}");
                if policy == "drop_oldest" {
                    assert_eq!(*got.last().unwrap(), pushed - 1, "drop_oldest keeps the newest");
                }
            }
        }
    }
}

#[test]
fn wide_rows_keep_every_validity_word() {
    // 70 columns: the validity bitmap of a row spans two words.
    const N: usize = 70;
    let cols: Vec<String> = (0..N)
        .map(|c| format!("c{c} {}", if c % 7 == 3 { "STRING" } else { "BIGINT" }))
        .collect();
    let e = engine("queue_capacity=4");
    e.execute(&format!(
        "CREATE STREAM W ({}); INSERT INTO O SELECT * FROM W",
        cols.join(", ")
    ))
    .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("W").unwrap();
    let set = |r: usize, c: usize| (r + c) % 3 != 0;
    let rows = 50;
    for r in 0..rows {
        inp.begin_row().unwrap();
        for c in 0..N {
            if !set(r, c) {
                continue;
            }
            if c % 7 == 3 {
                inp.set_str(c as u32, format!("{r}:{c}").as_bytes()).unwrap();
            } else {
                inp.set_i64(c as u32, (r * 1000 + c) as i64).unwrap();
            }
        }
        inp.end_row().unwrap();
    }
    e.flush(5000).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    assert_eq!(b.num_rows(), rows);
    for r in 0..rows {
        for c in 0..N {
            let col = b.column(c);
            assert_eq!(col.is_valid(r), set(r, c), "row {r} column {c}");
            if !set(r, c) {
                continue;
            }
            if c % 7 == 3 {
                assert_eq!(col.as_string::<i32>().value(r), format!("{r}:{c}"));
            } else {
                assert_eq!(col.as_primitive::<Int64Type>().value(r), (r * 1000 + c) as i64);
            }
        }
    }
}

fn trades_batch(n: usize, start: i64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        // Deliberately not in the stream's column order.
        Field::new("volume", DataType::Int64, true),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("price", DataType::Float64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values((0..n as i64).map(|i| start + i))),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("S{}", i % 10)),
            )),
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64))),
        ],
    )
    .unwrap()
}

#[test]
fn arrow_batches_and_rows_keep_one_order() {
    let e = engine("");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    push_trade(&mut inp, "A", 1.0, -1);
    inp.push_batch(&trades_batch(100, 0)).unwrap();
    push_trade(&mut inp, "B", 1.0, 1000);
    inp.push_batch(&trades_batch(50, 2000)).unwrap();
    e.flush(5000).unwrap();
    let got: Vec<i64> = i64s(&concat(&drain(&sub)).unwrap(), 0)
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let mut want = vec![-1];
    want.extend(0..100);
    want.push(1000);
    want.extend(2000..2050);
    assert_eq!(got, want);
}

#[test]
fn bad_batches_are_rejected_whole() {
    let e = engine("");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT * FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    let wrong_type = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, true),
            Field::new("price", DataType::Int32, true),
            Field::new("volume", DataType::Int64, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![1])),
        ],
    )
    .unwrap();
    let err = inp.push_batch(&wrong_type).unwrap_err();
    assert_eq!(err.status, Status::Schema);
    assert!(err.message.contains("'price'") && err.message.contains("INT") && err.message.contains("DOUBLE"));
    let missing = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("symbol", DataType::Utf8, true)])),
        vec![Arc::new(StringArray::from(vec!["a"]))],
    )
    .unwrap();
    let err = inp.push_batch(&missing).unwrap_err();
    assert_eq!(err.status, Status::Schema);
    assert!(err.message.contains("no column 'price'"), "{}", err.message);
    let extra = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("symbol", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
            Field::new("volume", DataType::Int64, true),
            Field::new("bogus", DataType::Boolean, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(Float64Array::from(vec![1.0])),
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(BooleanArray::from(vec![true])),
        ],
    )
    .unwrap();
    assert!(inp.push_batch(&extra).unwrap_err().message.contains("bogus"));
    e.flush(5000).unwrap();
    assert!(drain(&sub).is_empty(), "no row of a rejected batch was ingested");
    let stats = e.stats_json();
    assert!(stats.contains("\"rejected\":3"), "{stats}");
}

#[test]
fn chains_and_fan_out() {
    let e = engine("");
    e.execute(&format!(
        "{TRADES}
         INSERT INTO Mid SELECT symbol, volume * 10 AS v FROM Trades WHERE volume % 2 = 0;
         INSERT INTO Last SELECT v + 1 AS w FROM Mid;
         INSERT INTO Other SELECT volume FROM Trades WHERE volume < 3;"
    ))
    .unwrap();
    let last = e.subscribe("Last").unwrap();
    let other = e.subscribe("Other").unwrap();
    let mid = e.subscribe("Mid").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    for v in 0..6 {
        push_trade(&mut inp, "X", 1.0, v);
    }
    e.flush(5000).unwrap();
    assert_eq!(
        i64s(&concat(&drain(&last)).unwrap(), 0),
        vec![Some(1), Some(21), Some(41)]
    );
    assert_eq!(
        i64s(&concat(&drain(&mid)).unwrap(), 1),
        vec![Some(0), Some(20), Some(40)]
    );
    assert_eq!(
        i64s(&concat(&drain(&other)).unwrap(), 0),
        vec![Some(0), Some(1), Some(2)]
    );
}

#[test]
fn failing_statement_applies_nothing() {
    let e = engine("");
    let err = e
        .execute("CREATE STREAM A (x INT); INSERT INTO B SELECT nope FROM A")
        .unwrap_err();
    assert_eq!(err.status, Status::Sql);
    assert!(err.message.contains("nope"), "{}", err.message);
    assert_eq!(e.subscribe("A").err().unwrap().status, Status::NotFound);
    // Still usable afterwards.
    e.execute("CREATE STREAM A (x INT)").unwrap();
    assert!(e.subscribe("A").is_ok());
}

#[test]
fn cycles_are_rejected() {
    let e = engine("");
    e.execute("CREATE STREAM A (x INT); INSERT INTO B SELECT x FROM A;")
        .unwrap();
    let err = e.execute("INSERT INTO A SELECT x FROM B").unwrap_err();
    assert!(err.message.contains("cycle"), "{}", err.message);
}

#[test]
fn block_policy_reports_full_and_ingests_nothing() {
    // A subscriber that is never read stops the worker (block), the input
    // queue fills, and pushes fail with FULL after the timeout.
    let e = engine("queue_capacity=4;push_timeout_ms=20;subscriber_capacity=1;batch_rows=1");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    let mut ok = 0;
    let mut full = 0;
    for i in 0..40 {
        inp.begin_row().unwrap();
        inp.set_i64(2, i).unwrap();
        match inp.end_row() {
            Ok(()) => ok += 1,
            Err(err) => {
                assert_eq!(err.status, Status::Full);
                full += 1;
            }
        }
    }
    assert!(full > 0, "queue filled");
    let stats = e.stats_json();
    assert!(stats.contains(&format!("\"rejected\":{full}")), "{stats}");
    // Reading frees the pipeline: every accepted row arrives, in order.
    let mut got = Vec::new();
    while got.len() < ok {
        let b = sub.next(Some(Duration::from_secs(5))).unwrap();
        got.extend(i64s(&b, 0));
    }
    assert_eq!(got.len(), ok);
    assert!(got.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn drop_policies_count_every_row() {
    for policy in ["drop_newest", "drop_oldest"] {
        let e = engine(&format!(
            "queue_capacity=8;subscriber_capacity=4;overflow={policy}"
        ));
        e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
            .unwrap();
        let sub = e.subscribe("O").unwrap();
        let mut inp = e.open_input("Trades").unwrap();
        let pushed = 5000;
        for i in 0..pushed {
            push_trade(&mut inp, "S", 1.0, i);
        }
        e.flush(5000).unwrap();
        let got: Vec<i64> = drain(&sub)
            .iter()
            .flat_map(|b| i64s(b, 0))
            .map(Option::unwrap)
            .collect();
        let stats = e.stats_json();
        let num = |key: &str, stream: &str| -> u64 {
            let at = stats.find(&format!("\"name\":\"{stream}\"")).unwrap();
            let s = &stats[at..];
            let k = s.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
            s[k..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (tin, tdropped) = (num("events_in", "Trades"), num("dropped", "Trades"));
        assert_eq!(
            tin + tdropped,
            pushed as u64,
            "{policy}: every pushed row processed or dropped: {stats}"
        );
        let (oin, odropped) = (num("events_in", "O"), num("dropped", "O"));
        assert_eq!(oin, tin);
        assert_eq!(got.len() as u64 + odropped, oin, "{policy}: {stats}");
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "{policy}: survivors keep order"
        );
        if policy == "drop_oldest" && !got.is_empty() {
            assert_eq!(*got.last().unwrap(), pushed - 1, "drop_oldest keeps the newest");
        }
    }
}

#[test]
fn strings_wrap_around_the_arena() {
    let e = engine("queue_capacity=16;queue_bytes=1024");
    e.execute("CREATE STREAM S (s STRING, n BIGINT); INSERT INTO O SELECT s, n FROM S")
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("S").unwrap();
    let want: Vec<String> = (0..3000).map(|i| "x".repeat(i % 300) + &i.to_string()).collect();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while got.len() < 3000 {
            let b = sub.next(Some(Duration::from_secs(10))).unwrap();
            got.extend(strs(&b, 0).into_iter().map(Option::unwrap));
        }
        got
    });
    for (i, s) in want.iter().enumerate() {
        inp.begin_row().unwrap();
        inp.set_str(0, s.as_bytes()).unwrap();
        inp.set_i64(1, i as i64).unwrap();
        inp.end_row().unwrap();
    }
    assert_eq!(reader.join().unwrap(), want);
    // A row larger than the string arena can ever hold travels as a one-row
    // batch rather than failing (max_string_bytes bounds one value).
    inp.begin_row().unwrap();
    inp.set_str(0, "y".repeat(4096).as_bytes()).unwrap();
    inp.end_row().unwrap();
    e.flush(-1).unwrap();
    assert!(
        e.stats_json().contains("{\"name\":\"S\",\"events_in\":3001,"),
        "{}",
        e.stats_json()
    );
}

#[test]
fn producers_on_threads_keep_their_order() {
    let e = engine("queue_capacity=1024");
    e.execute(&format!(
        "{TRADES} INSERT INTO O SELECT symbol, volume FROM Trades"
    ))
    .unwrap();
    let sub = e.subscribe("O").unwrap();
    let n = 50_000i64;
    let handles: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|sym| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut inp = e.open_input("Trades").unwrap();
                for i in 0..n {
                    push_trade(&mut inp, sym, 1.0, i);
                }
            })
        })
        .collect();
    let mut seen = std::collections::HashMap::<String, Vec<i64>>::new();
    let mut total = 0;
    while total < 2 * n as usize {
        let b = sub.next(Some(Duration::from_secs(10))).unwrap();
        for (s, v) in strs(&b, 0).into_iter().zip(i64s(&b, 1)) {
            seen.entry(s.unwrap()).or_default().push(v.unwrap());
            total += 1;
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    for sym in ["A", "B"] {
        assert_eq!(seen[sym], (0..n).collect::<Vec<_>>(), "{sym} in order");
    }
}

#[test]
fn close_drains_then_ends() {
    let e = engine("");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    for i in 0..10 {
        push_trade(&mut inp, "S", 1.0, i);
    }
    e.close().unwrap();
    let mut got = Vec::new();
    loop {
        match sub.next(Some(Duration::from_secs(5))) {
            Ok(b) => got.extend(i64s(&b, 0)),
            Err(err) => {
                assert_eq!(err.status, Status::EndOfStream);
                break;
            }
        }
    }
    assert_eq!(got.len(), 10, "every row pushed before close was processed");
    assert_eq!(
        e.execute("CREATE STREAM Z (x INT)").unwrap_err().status,
        Status::Closed
    );
    assert_eq!(e.flush(0).unwrap_err().status, Status::Closed);
    assert_eq!(e.open_input("Trades").err().unwrap().status, Status::Closed);
    assert_eq!(inp.begin_row().unwrap_err().status, Status::Closed);
    assert_eq!(e.close().unwrap_err().status, Status::Closed);
}

#[test]
fn callbacks_run_only_inside_poll() {
    let e = engine("");
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let s2 = seen.clone();
    sub.set_callback(Box::new(move |b: &RecordBatch| {
        s2.lock()
            .unwrap()
            .extend(b.column(0).as_primitive::<Int64Type>().values().iter().copied())
    }))
    .unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    for i in 0..5 {
        push_trade(&mut inp, "S", 1.0, i);
    }
    e.flush(5000).unwrap();
    assert!(seen.lock().unwrap().is_empty(), "nothing runs outside poll");
    assert_eq!(
        sub.next(Some(Duration::ZERO)).unwrap_err().status,
        Status::InvalidArgument
    );
    let mut delivered = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "callbacks delivered within 10 s"
        );
        delivered += e.poll(1000).unwrap();
    }
    assert!(delivered >= 1);
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(e.poll(0).unwrap(), 0);
    e.close().unwrap();
    assert_eq!(e.poll(0).unwrap_err().status, Status::Closed);
}

#[test]
fn options_are_validated() {
    let err = Engine::open("overflow=maybe").err().unwrap();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("overflow"));
    let err = Engine::open("colour=blue").err().unwrap();
    assert!(err.message.contains("colour"));
}

#[test]
fn stream_options_in_with_clause() {
    let e = engine("");
    e.execute("CREATE STREAM A (x INT) WITH (overflow = 'drop_newest', queue_capacity = 16)")
        .unwrap();
    let err = e
        .execute("CREATE STREAM B (x INT) WITH (colour = 'red')")
        .unwrap_err();
    assert!(
        err.message.contains("colour") && err.message.contains("line 1:"),
        "{}",
        err.message
    );
    assert_eq!(e.subscribe("B").err().unwrap().status, Status::NotFound);
}

#[test]
fn event_time_option_names_a_time_column() {
    let e = engine("");
    e.execute("CREATE STREAM A (x INT, ts TIMESTAMP) WITH (event_time = 'TS')")
        .unwrap();
    e.execute("CREATE STREAM B (x INT, at BIGINT) WITH (event_time = at)")
        .unwrap();
    let cases = [
        (
            "CREATE STREAM C (x INT) WITH (event_time = 'ts')",
            Status::Sql,
            "line 1:31: event_time names unknown column 'ts' (columns: x)",
        ),
        (
            "CREATE STREAM C (x INT, ts STRING)\n WITH (event_time = 'ts')",
            Status::Schema,
            "line 2:8: event_time column 'ts' must be BIGINT (milliseconds) or TIMESTAMP, not STRING",
        ),
        (
            "CREATE STREAM C (ts TIMESTAMP) WITH (event_time = 5)",
            Status::Sql,
            "line 1:38: option 'event_time' expects a column name",
        ),
    ];
    for (sql, status, want) in cases {
        let err = e.execute(sql).unwrap_err();
        assert_eq!(err.status, status, "{sql}");
        assert!(err.message.starts_with(want), "{sql}: {}", err.message);
    }
    assert!(e.stream_schema("C").is_none());
}

#[test]
fn manual_clock() {
    let e = engine("clock=manual");
    e.advance_time(1000).unwrap();
    assert_eq!(e.advance_time(10).unwrap_err().status, Status::InvalidArgument);
    assert_eq!(
        engine("").advance_time(5).unwrap_err().status,
        Status::InvalidArgument
    );
}

// ---- worker=caller: the pushing thread runs the queries ---------------------

/// Number after `"key":` in the stats of `name` (a stream or a query's SQL).
fn stat(stats: &str, name: &str, key: &str) -> i64 {
    let at = stats.find(name).unwrap_or_else(|| panic!("{name} in {stats}"));
    let s = &stats[at..];
    let k = s.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    s[k..]
        .split(|c: char| c != '-' && !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn caller_has_each_result_queued_when_its_push_returns() {
    let e = Engine::open("worker=caller").unwrap();
    e.execute(&format!(
        "{TRADES} INSERT INTO Big SELECT symbol, volume * 2 AS v2 FROM Trades WHERE volume > 10"
    ))
    .unwrap();
    let sub = e.subscribe("Big").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    for i in 0..200i64 {
        push_trade(&mut inp, &format!("s{i}"), 1.0, i);
        // No flush, no wait: the row ran before end_row returned.
        let got = drain(&sub);
        if i > 10 {
            let b = concat(&got).expect("the row is there at once");
            assert_eq!(
                (strs(&b, 0), i64s(&b, 1)),
                (vec![Some(format!("s{i}"))], vec![Some(2 * i)])
            );
        } else {
            assert!(got.is_empty(), "row {i} is filtered out");
        }
    }
    // An Arrow batch, the same.
    let schema = e.stream_schema("Trades").unwrap();
    let b = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
            Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])),
            Arc::new(Int64Array::from(vec![5, 50, 500])),
        ],
    )
    .unwrap();
    inp.push_batch(&b).unwrap();
    let b = concat(&drain(&sub)).unwrap();
    assert_eq!(i64s(&b, 1), vec![Some(100), Some(1000)]);
    // Nothing waits in the input queue for a thread to take it.
    let stats = e.stats_json();
    assert_eq!(stat(&stats, "\"name\":\"Trades\"", "queue_depth"), 0);
    e.close().unwrap();
}

/// Several producers at once, each on its own input: whichever thread holds
/// the runner runs the others' rows too, and none is left behind when the
/// pushes stop. Rounds of one row per thread, started together, each
/// checked before any flush, poll or close could run a forgotten row.
#[test]
fn caller_runs_every_producers_rows_before_the_last_push_returns() {
    let e = Engine::open("worker=caller").unwrap();
    e.execute("CREATE STREAM S (p BIGINT, i BIGINT); INSERT INTO O SELECT p, i FROM S WHERE i % 3 <> 0")
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    const THREADS: i64 = 4;
    const ROUNDS: i64 = 3000;
    let go = Arc::new(std::sync::Barrier::new(THREADS as usize + 1));
    let producers: Vec<_> = (0..THREADS)
        .map(|p| {
            let mut inp = e.open_input("S").unwrap();
            let go = go.clone();
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    go.wait();
                    inp.begin_row().unwrap();
                    inp.set_i64(0, p).unwrap();
                    inp.set_i64(1, i).unwrap();
                    inp.end_row().unwrap();
                    go.wait();
                }
                inp
            })
        })
        .collect();
    let mut sums = vec![0i64; THREADS as usize];
    let mut n = 0i64;
    for r in 0..ROUNDS {
        go.wait();
        go.wait();
        // Every push of the round returned: the query saw every row.
        let stats = e.stats_json();
        assert_eq!(
            stat(&stats, "\"sql\":", "rows_in"),
            (r + 1) * THREADS,
            "round {r}: {stats}"
        );
        if r % 100 == 99 {
            for b in drain(&sub) {
                n += b.num_rows() as i64;
                for (p, i) in i64s(&b, 0).into_iter().zip(i64s(&b, 1)) {
                    sums[p.unwrap() as usize] += i.unwrap();
                }
            }
        }
    }
    let inputs: Vec<_> = producers.into_iter().map(|h| h.join().unwrap()).collect();
    let want: i64 = (0..ROUNDS).filter(|i| i % 3 != 0).sum();
    assert_eq!(n, THREADS * (ROUNDS - ROUNDS / 3));
    assert_eq!(sums, vec![want; THREADS as usize]);
    drop(inputs);
    e.close().unwrap();
}

/// A full `block` subscriber read by the very thread that pushes: the
/// runner stops instead of waiting on it, rows wait in the input queue
/// until that fills and the push fails with Full, nothing half-ingested;
/// reading lets the held rows run. Nothing is lost, nothing reordered.
#[test]
fn caller_full_subscriber_read_by_the_pushing_thread_never_deadlocks() {
    let e = Engine::open("worker=caller;queue_capacity=16;subscriber_capacity=8;push_timeout_ms=5").unwrap();
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    let mut got: Vec<i64> = Vec::new();
    let mut fulls = 0;
    let mut most_queued = 0i64;
    for i in 0..1000i64 {
        loop {
            inp.begin_row().unwrap();
            inp.set_i64(2, i).unwrap();
            match inp.end_row() {
                Ok(()) => break,
                Err(err) => {
                    assert_eq!(err.status, Status::Full, "{err}");
                    fulls += 1;
                    let st = e.stats_json();
                    most_queued = most_queued.max(stat(&st, "\"name\":\"O\"", "subscriber_queued"));
                    // Reading frees the subscriber and the held rows run.
                    for b in drain(&sub) {
                        got.extend(i64s(&b, 0).into_iter().map(Option::unwrap));
                    }
                }
            }
        }
    }
    for b in drain(&sub) {
        got.extend(i64s(&b, 0).into_iter().map(Option::unwrap));
    }
    assert!(fulls > 0, "the input queue filled behind the full subscriber");
    // The subscriber holds at most its capacity plus one run's results.
    assert!(most_queued <= 8 + 16, "{most_queued}");
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    let st = e.stats_json();
    assert_eq!(stat(&st, "\"name\":\"Trades\"", "dropped"), 0);
    e.close().unwrap();
}

/// Nothing else fires processing-time windows with worker=caller: a host
/// waiting in `next` or `poll` does, on time, with no further push.
#[test]
fn caller_fires_processing_time_windows_while_the_host_waits() {
    let e = Engine::open("worker=caller").unwrap();
    e.execute(&format!(
        "{TRADES} INSERT INTO P SELECT COUNT(*) AS n FROM Trades WINDOW('tumbling', INTERVAL '100' MILLISECOND);
         INSERT INTO Q SELECT SUM(volume) AS v FROM Trades WINDOW('tumbling', INTERVAL '100' MILLISECOND)"
    ))
    .unwrap();
    let pull = e.subscribe("P").unwrap();
    let cb = e.subscribe("Q").unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let s2 = seen.clone();
    cb.set_callback(Box::new(move |b: &RecordBatch| {
        s2.lock()
            .unwrap()
            .extend(i64s(b, 0).into_iter().map(Option::unwrap));
    }))
    .unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    for v in [1, 2, 3] {
        push_trade(&mut inp, "a", 1.0, v);
    }
    // Neither call returns before the window closes, without another push.
    let t = std::time::Instant::now();
    let b = pull.next(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(i64s(&b, 0), vec![Some(3)]);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let mut delivered = 0;
    while delivered == 0 {
        delivered = e.poll(5000).unwrap();
    }
    assert_eq!(*seen.lock().unwrap(), vec![6]);
    e.close().unwrap();
}

/// A manual clock with worker=caller: advance_time runs what was pushed,
/// then fires what the new time closes, before it returns.
#[test]
fn caller_advance_time_fires_before_it_returns() {
    let e = Engine::open("worker=caller;clock=manual").unwrap();
    e.execute(&format!(
        "{TRADES} INSERT INTO P SELECT COUNT(*) AS n FROM Trades WINDOW('tumbling', INTERVAL '1' SECOND)"
    ))
    .unwrap();
    let sub = e.subscribe("P").unwrap();
    let mut inp = e.open_input("Trades").unwrap();
    e.advance_time(10).unwrap();
    push_trade(&mut inp, "a", 1.0, 1);
    push_trade(&mut inp, "b", 1.0, 2);
    e.advance_time(999).unwrap();
    assert!(drain(&sub).is_empty());
    e.advance_time(1000).unwrap();
    assert_eq!(i64s(&concat(&drain(&sub)).unwrap(), 0), vec![Some(2)]);
    // Close emits nothing more (the next window is empty) and ends the stream.
    e.close().unwrap();
    assert_eq!(
        sub.next(Some(Duration::ZERO)).unwrap_err().status,
        Status::EndOfStream
    );
}

/// A consumer thread reading while a producer pushes without pause: the
/// reader gets results as they come, it is never the one left running the
/// producer's rows for as long as the producer goes on.
#[test]
fn caller_reader_gets_results_while_the_producer_keeps_pushing() {
    let e = Engine::open("worker=caller").unwrap();
    e.execute(&format!("{TRADES} INSERT INTO O SELECT volume FROM Trades"))
        .unwrap();
    let sub = e.subscribe("O").unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut before, mut all) = (0usize, 0usize);
            while all < 300_000 {
                if let Ok(b) = sub.next(Some(Duration::from_millis(100))) {
                    all += b.num_rows();
                    if !done.load(std::sync::atomic::Ordering::SeqCst) {
                        before += b.num_rows();
                    }
                }
            }
            before
        })
    };
    let mut inp = e.open_input("Trades").unwrap();
    for i in 0..300_000i64 {
        inp.begin_row().unwrap();
        inp.set_i64(2, i).unwrap();
        inp.end_row().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let before = reader.join().unwrap();
    assert!(
        before >= 100_000,
        "the reader got only {before} rows while the pushes went on"
    );
    e.close().unwrap();
}
