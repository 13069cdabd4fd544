//! Unit tests of the input queue's unsafe code (the ring cells, the string
//! arena, drop_oldest eviction) small enough for Miri:
//! `cargo +nightly miri test --lib miri_` (scripts/miri.sh). Kept apart from
//! queue.rs so they stay out of the hot path's way.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};

use super::options::Overflow;
use super::queue::{InputQueue, Item, Producer, Pushed, Stage};
use super::stats::StreamStats;

fn queue(cap: usize, arena: usize) -> Arc<InputQueue> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    InputQueue::new(0, schema, Arc::new(StreamStats::default()), cap, arena)
}

fn row(stage: &mut Stage, n: i64, s: Option<&str>) {
    stage.clear();
    stage.set(0, n as u64);
    if let Some(s) = s {
        let off = stage.strs.len() as u64;
        stage.strs.extend_from_slice(s.as_bytes());
        stage.set(1, (off << 32) | s.len() as u64);
    }
}

fn drain_all(q: &InputQueue) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    q.drain(1 << 20, &mut |it| {
        if let Item::Batch(b) = it {
            out.push(b)
        }
    });
    out
}

fn ns(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

#[test]
fn miri_rows_and_strings_round_trip_through_the_ring() {
    let q = queue(4, 64);
    let mut p = Producer::new(q.clone());
    let mut st = Stage::new(2);
    // Several laps of the 4-slot ring and the 64-byte arena, with strings
    // that make the arena wrap.
    let mut want = Vec::new();
    for lap in 0..5 {
        for k in 0..3 {
            let n = lap * 10 + k;
            let s = "x".repeat((n % 17) as usize);
            row(&mut st, n, if k == 1 { None } else { Some(&s) });
            assert_eq!(
                p.push_row(&st, Overflow::Block, Duration::from_secs(5)).unwrap(),
                Pushed::Queued
            );
            want.push((n, (k != 1).then_some(s)));
        }
        let got = drain_all(&q);
        let b = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
        let strs: Vec<Option<String>> = b
            .column(1)
            .as_string::<i32>()
            .iter()
            .map(|s| s.map(String::from))
            .collect();
        let nums = ns(&got);
        for (i, (n, s)) in want.drain(..).enumerate() {
            assert_eq!((nums[i], &strs[i]), (n, &s));
        }
    }
}

#[test]
fn miri_drop_oldest_evicts_and_counts() {
    let q = queue(4, 64);
    let mut p = Producer::new(q.clone());
    let mut st = Stage::new(2);
    for n in 0..10 {
        row(&mut st, n, Some("ab"));
        p.push_row(&st, Overflow::DropOldest, Duration::ZERO).unwrap();
    }
    assert_eq!(ns(&drain_all(&q)), [6, 7, 8, 9]);
    assert_eq!(q.stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 6);
    // drop_newest keeps the first four instead.
    let q = queue(4, 64);
    let mut p = Producer::new(q.clone());
    for n in 0..10 {
        row(&mut st, n, None);
        p.push_row(&st, Overflow::DropNewest, Duration::ZERO).unwrap();
    }
    assert_eq!(ns(&drain_all(&q)), [0, 1, 2, 3]);
}

#[test]
fn miri_producer_and_consumer_on_two_threads() {
    let q = queue(8, 128);
    let mut p = Producer::new(q.clone());
    let total = 200i64;
    let t = std::thread::spawn(move || {
        let mut st = Stage::new(2);
        for n in 0..total {
            row(&mut st, n, Some(if n % 2 == 0 { "even" } else { "odd!" }));
            p.push_row(&st, Overflow::Block, Duration::from_secs(60)).unwrap();
        }
    });
    let mut seen = Vec::new();
    while (seen.len() as i64) < total {
        for b in drain_all(&q) {
            for (i, n) in b
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .enumerate()
            {
                let s = b.column(1).as_string::<i32>().value(i);
                assert_eq!(s, if n % 2 == 0 { "even" } else { "odd!" });
                seen.push(*n);
            }
        }
        std::thread::yield_now();
    }
    t.join().unwrap();
    assert_eq!(seen, (0..total).collect::<Vec<_>>());
}

#[test]
fn miri_arrow_c_data_interface_round_trip() {
    // What eddy_input_push_arrow and eddy_subscription_next do with a batch.
    use arrow::array::{Int64Array, StringArray, StructArray};
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(StringArray::from(vec![Some("a"), Some("bc"), None])),
        ],
    )
    .unwrap();
    let data = StructArray::from(b.clone()).into_data();
    let (array, schema) = arrow::ffi::to_ffi(&data).unwrap();
    let back = unsafe { arrow::ffi::from_ffi(array, &schema) }.unwrap();
    back.validate_full().unwrap();
    let back = RecordBatch::from(StructArray::from(back));
    assert_eq!(back, b);
}
