//! Quick figure for the per-event path: workload W1 of
//! ../shared/bench/WORKLOADS.md (filter + project) through the row
//! appender, via the Rust API (the same calls the C ABI delegates to).
//! The full benchmark suite (both paths, every workload, beside LaminarDB)
//! is issue #5's.
//!
//!     cargo run --release --example bench_w1_rows -- [N]
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Float64Type;

fn main() {
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let e = eddy::Engine::open("").unwrap();
    e.execute(
        "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts BIGINT);
         INSERT INTO Out SELECT symbol, price, volume FROM Trades WHERE price > 100.0;",
    )
    .unwrap();
    let sub = e.subscribe("Out").unwrap();
    let reader = std::thread::spawn(move || {
        let (mut rows, mut sum) = (0usize, 0.0f64);
        while let Ok(b) = sub.next(Some(Duration::from_secs(30))) {
            rows += b.num_rows();
            sum += b
                .column(1)
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .sum::<f64>();
        }
        (rows, sum)
    });
    let syms: Vec<String> = (0..100).map(|i| format!("S{i:03}")).collect();
    let mut inp = e.open_input("Trades").unwrap();
    let t = Instant::now();
    for i in 0..n {
        inp.begin_row().unwrap();
        inp.set_str(0, syms[((i * 37) % 100) as usize].as_bytes())
            .unwrap();
        inp.set_f64(1, 50.0 + ((i * 7919) % 10000) as f64 / 100.0)
            .unwrap();
        inp.set_i64(2, 1 + (i * 104729) % 1000).unwrap();
        inp.set_i64(3, 1_700_000_000_000 + i).unwrap();
        inp.end_row().unwrap();
    }
    e.flush(-1).unwrap();
    let secs = t.elapsed().as_secs_f64();
    e.close().unwrap();
    let (rows, sum) = reader.join().unwrap();
    // Expected: price > 100 ⇔ (i*7919) % 10000 > 5000.
    let want: usize = (0..n).filter(|i| (i * 7919) % 10000 > 5000).count();
    assert_eq!(rows, want, "output row count");
    println!(
        "W1 per-event N={n}: {:.2} M events/s (push to flushed), {rows} rows out, price sum {sum:.2}",
        n as f64 / secs / 1e6
    );
}
