//! A quick figure for one benchmark workload (../shared/bench/WORKLOADS.md)
//! on one ingestion path, through the Rust API (the calls the C ABI
//! delegates to): for profiling the engine (`perf record`, callgrind). The
//! benchmark suite proper, through the C ABI and beside LaminarDB, is
//! bench/ (see docs/performance.md).
//!
//!     cargo run --release --no-default-features --example workload -- w2 arrow 10000000 [options]
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

const W1: &str = "INSERT INTO Out SELECT symbol, price, volume FROM Trades WHERE price > 100.0;";
const W2: &str = "INSERT INTO Out SELECT symbol, window_start, COUNT(*) AS n, SUM(volume) AS vol, \
    AVG(price) AS avg_price, MIN(price) AS lo, MAX(price) AS hi FROM Trades \
    WINDOW('tumbling', INTERVAL '1' SECOND) GROUP BY symbol, window_start;";
const W3: &str = "INSERT INTO Out SELECT symbol, AVG(price) AS avg100, MAX(price) AS max100 \
    FROM Trades WINDOW('length', 100);";

fn symbol(i: i64) -> String {
    format!("S{:03}", (i * 37) % 100)
}
fn price(i: i64) -> f64 {
    50.0 + ((i * 7919) % 10000) as f64 / 100.0
}
fn volume(i: i64) -> i64 {
    1 + (i * 104729) % 1000
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let w = args.get(1).map_or("w1", |s| s.as_str());
    let path = args.get(2).map_or("arrow", |s| s.as_str());
    let n: i64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let query = match w {
        "w1" => W1,
        "w2" => W2,
        "w3" => W3,
        _ => panic!("workload is w1, w2 or w3"),
    };
    // Engine options, e.g. "worker=caller" (profile the pushing thread).
    let options = args.get(4).map_or("", |s| s.as_str());
    let e = eddy::Engine::open(options).unwrap();
    e.execute(&format!(
        "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT) \
         WITH (event_time = 'ts'); {query}"
    ))
    .unwrap();
    let sub = e.subscribe("Out").unwrap();
    let reader = std::thread::spawn(move || {
        let mut rows = 0usize;
        while let Ok(b) = sub.next(Some(Duration::from_secs(60))) {
            rows += b.num_rows();
        }
        (rows, Instant::now())
    });
    let mut inp = e.open_input("Trades").unwrap();
    let t = match path {
        "rows" => {
            let syms: Vec<String> = (0..100).map(|i| format!("S{i:03}")).collect();
            let t = Instant::now();
            for i in 0..n {
                inp.begin_row().unwrap();
                inp.set_str(0, syms[((i * 37) % 100) as usize].as_bytes())
                    .unwrap();
                inp.set_f64(1, price(i)).unwrap();
                inp.set_i64(2, volume(i)).unwrap();
                inp.set_i64(3, 1_700_000_000_000 + i).unwrap();
                inp.end_row().unwrap();
            }
            t
        }
        "arrow" => {
            let schema = Arc::new(Schema::new(vec![
                Field::new("symbol", DataType::Utf8, true),
                Field::new("price", DataType::Float64, true),
                Field::new("volume", DataType::Int64, true),
                Field::new("ts", DataType::Int64, true),
            ]));
            let batches: Vec<RecordBatch> = (0..n)
                .step_by(8192)
                .map(|s| {
                    let r = s..(s + 8192).min(n);
                    RecordBatch::try_new(
                        schema.clone(),
                        vec![
                            Arc::new(StringArray::from_iter_values(r.clone().map(symbol))),
                            Arc::new(Float64Array::from_iter_values(r.clone().map(price))),
                            Arc::new(Int64Array::from_iter_values(r.clone().map(volume))),
                            Arc::new(Int64Array::from_iter_values(r.map(|i| 1_700_000_000_000 + i))),
                        ],
                    )
                    .unwrap()
                })
                .collect();
            let t = Instant::now();
            for b in &batches {
                inp.push_batch(b).unwrap();
            }
            t
        }
        _ => panic!("path is rows or arrow"),
    };
    inp.close().unwrap();
    if std::env::var_os("EDDY_STATS").is_some() {
        e.flush(-1).unwrap();
        println!("{}", e.stats_json());
    }
    e.close().unwrap();
    let (rows, done) = reader.join().unwrap();
    let secs = (done - t).as_secs_f64();
    println!(
        "{w} {path} N={n}: {:.2} M events/s ({secs:.3} s, {rows} rows out)",
        n as f64 / secs / 1e6
    );
}
