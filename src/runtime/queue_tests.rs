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
use crate::error::{Result, Status};

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

/// Writes a row as Input does: in place in the free tail slot, or in the
/// stage when the ring is full. Returns whether it went in place, and what
/// the commit did.
fn put_row(
    p: &mut Producer,
    st: &mut Stage,
    n: i64,
    s: Option<&str>,
    policy: Overflow,
) -> (bool, Result<Pushed>) {
    let (cells, in_slot) = match p.free_slot() {
        Some(c) => (c, true),
        None => (st.cells(), false),
    };
    st.strs.clear();
    // SAFETY: a fresh target of a 2-column queue (one validity word).
    unsafe {
        cells.clear(1);
        cells.set(0, n as u64);
        if let Some(s) = s {
            cells.set(1, s.len() as u64);
        }
    }
    if let Some(s) = s {
        st.strs.extend_from_slice(s.as_bytes());
    }
    (in_slot, p.push_row_from(in_slot, st, policy, Duration::ZERO))
}

fn rows(batches: &[RecordBatch]) -> Vec<(i64, Option<String>)> {
    let mut out = Vec::new();
    for b in batches {
        let n = b.column(0).as_primitive::<Int64Type>();
        let s = b.column(1).as_string::<i32>();
        for i in 0..b.num_rows() {
            out.push((n.value(i), s.is_valid(i).then(|| s.value(i).to_string())));
        }
    }
    out
}

fn text(n: i64) -> Option<String> {
    (n % 3 != 1).then(|| format!("v{n}").repeat(1 + (n % 4) as usize))
}

#[test]
fn miri_rows_in_place_and_staged_under_each_policy() {
    for policy in [Overflow::Block, Overflow::DropNewest, Overflow::DropOldest] {
        let q = queue(4, 256);
        let mut p = Producer::new(q.clone());
        let mut st = Stage::new(2);
        // Four free slots: written in place.
        for n in 0..4 {
            let (in_slot, r) = put_row(&mut p, &mut st, n, text(n).as_deref(), policy);
            assert!(in_slot, "{policy:?} row {n}");
            assert_eq!(r.unwrap(), Pushed::Queued);
        }
        // Ring full at begin_row: staged, and the policy decides at commit.
        let (in_slot, r) = put_row(&mut p, &mut st, 4, text(4).as_deref(), policy);
        assert!(!in_slot);
        let want: Vec<i64> = match policy {
            Overflow::Block => {
                assert_eq!(r.unwrap_err().status, Status::Full);
                vec![0, 1, 2, 3]
            }
            Overflow::DropNewest => {
                assert_eq!(r.unwrap(), Pushed::Dropped);
                vec![0, 1, 2, 3]
            }
            Overflow::DropOldest => {
                assert_eq!(r.unwrap(), Pushed::Queued);
                vec![1, 2, 3, 4]
            }
        };
        let dropped = q.stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(dropped, (policy != Overflow::Block) as u64, "{policy:?}");
        let want: Vec<_> = want.into_iter().map(|n| (n, text(n))).collect();
        assert_eq!(rows(&drain_all(&q)), want, "{policy:?}");
        // Room again: in place, over several laps of ring and arena.
        let mut want = Vec::new();
        for n in 10..40 {
            let (in_slot, r) = put_row(&mut p, &mut st, n, text(n).as_deref(), policy);
            assert!(in_slot);
            assert_eq!(r.unwrap(), Pushed::Queued);
            want.push((n, text(n)));
            if n % 3 == 0 {
                assert_eq!(rows(&drain_all(&q)), want, "{policy:?}");
                want.clear();
            }
        }
        assert_eq!(rows(&drain_all(&q)), want, "{policy:?}");
    }
}

#[test]
fn miri_row_in_place_waits_for_arena_room_as_the_policy_says() {
    // Slots to spare, but the 32-byte arena takes three 10-byte strings.
    let s = |n: i64| Some(format!("{n:0>10}"));
    for policy in [Overflow::Block, Overflow::DropNewest, Overflow::DropOldest] {
        let q = queue(8, 32);
        let mut p = Producer::new(q.clone());
        let mut st = Stage::new(2);
        for n in 0..3 {
            let (in_slot, r) = put_row(&mut p, &mut st, n, s(n).as_deref(), policy);
            assert!(in_slot);
            assert_eq!(r.unwrap(), Pushed::Queued);
        }
        let (in_slot, r) = put_row(&mut p, &mut st, 3, s(3).as_deref(), policy);
        assert!(in_slot, "the slot is free; the arena is not");
        let want: Vec<i64> = match policy {
            Overflow::Block => {
                assert_eq!(r.unwrap_err().status, Status::Full);
                vec![0, 1, 2]
            }
            Overflow::DropNewest => {
                assert_eq!(r.unwrap(), Pushed::Dropped);
                vec![0, 1, 2]
            }
            Overflow::DropOldest => {
                assert_eq!(r.unwrap(), Pushed::Queued);
                vec![1, 2, 3]
            }
        };
        // A NULL string needs no arena: it goes in whatever the policy did.
        let (in_slot, r) = put_row(&mut p, &mut st, 4, None, policy);
        assert!(in_slot);
        assert_eq!(r.unwrap(), Pushed::Queued);
        let mut want: Vec<_> = want.into_iter().map(|n| (n, s(n))).collect();
        want.push((4, None));
        assert_eq!(rows(&drain_all(&q)), want, "{policy:?}");
    }
}

#[test]
fn miri_wide_rows_keep_every_validity_word() {
    // 70 columns: the validity bitmap spans two words; strings on both sides
    // of the word boundary.
    const N: usize = 70;
    let str_col = |c: usize| c == 3 || c == 65;
    let fields: Vec<Field> = (0..N)
        .map(|c| {
            let t = if str_col(c) {
                DataType::Utf8
            } else {
                DataType::Int64
            };
            Field::new(format!("c{c}"), t, true)
        })
        .collect();
    let q = InputQueue::new(
        0,
        Arc::new(Schema::new(fields)),
        Arc::new(StreamStats::default()),
        2,
        256,
    );
    let mut p = Producer::new(q.clone());
    let mut st = Stage::new(N);
    // Row r sets column c when (r + c) % 3 != 0; strings are "r:c".
    let set = |r: usize, c: usize| (r + c) % 3 != 0;
    let mut pushed = Vec::new();
    for r in 0..6 {
        let (cells, in_slot) = match p.free_slot() {
            Some(c) => (c, true),
            None => (st.cells(), false),
        };
        st.strs.clear();
        // SAFETY: a fresh target of a 70-column queue (two validity words).
        unsafe {
            cells.clear(2);
            for c in 0..N {
                if str_col(c) {
                    // Set, then NULL again when the row leaves it unset.
                    let v = format!("{r}:{c}");
                    cells.set(c, ((st.strs.len() as u64) << 32) | v.len() as u64);
                    st.strs.extend_from_slice(v.as_bytes());
                    if !set(r, c) {
                        cells.set_null(c);
                    }
                } else if set(r, c) {
                    cells.set(c, (r * 1000 + c) as u64);
                }
            }
        }
        let res = p.push_row_from(in_slot, &st, Overflow::DropOldest, Duration::ZERO);
        assert_eq!(res.unwrap(), Pushed::Queued);
        pushed.push(r);
        if r == 3 {
            // Rows 0 and 1 went in place; 2 and 3 found the ring full, were
            // staged and evicted them. Rows 4 and 5 reuse the slots in place.
            let b = drain_all(&q);
            assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
            check_wide(&b, &pushed[pushed.len() - 2..], set, str_col);
        }
    }
    let b = drain_all(&q);
    check_wide(&b, &[4, 5], set, str_col);
    assert_eq!(q.stats.dropped.load(std::sync::atomic::Ordering::Relaxed), 2);
}

fn check_wide(
    batches: &[RecordBatch],
    want_rows: &[usize],
    set: impl Fn(usize, usize) -> bool,
    str_col: impl Fn(usize) -> bool,
) {
    let b = arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap();
    assert_eq!(b.num_rows(), want_rows.len());
    for (i, &r) in want_rows.iter().enumerate() {
        for c in 0..b.num_columns() {
            let col = b.column(c);
            assert_eq!(col.is_valid(i), set(r, c), "row {r} column {c}");
            if !set(r, c) {
                continue;
            }
            if str_col(c) {
                assert_eq!(col.as_string::<i32>().value(i), format!("{r}:{c}"));
            } else {
                assert_eq!(col.as_primitive::<Int64Type>().value(i), (r * 1000 + c) as i64);
            }
        }
    }
}

#[test]
fn miri_copy_bytes_copies_every_length() {
    let src: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37).wrapping_add(1)).collect();
    for n in 0..=40 {
        for at in [0, 1, 3] {
            let mut dst = vec![0xAAu8; 48];
            // SAFETY: n + at <= 43 < 48 bytes of dst, n <= 40 of src.
            unsafe { super::queue::copy_bytes(src.as_ptr(), dst.as_mut_ptr().add(at), n) };
            assert_eq!(&dst[at..at + n], &src[..n], "n={n} at={at}");
            assert!(
                dst[..at].iter().chain(&dst[at + n..]).all(|&b| b == 0xAA),
                "n={n} at={at}"
            );
        }
    }
}

#[test]
fn miri_push_order_numbers_items_and_drain_before_stops_at_another_inputs_item() {
    let order = Arc::new(super::queue::PushOrder::default());
    let (a, b) = (queue(8, 64), queue(8, 64));
    a.set_order(order.clone());
    b.set_order(order.clone());
    let (mut pa, mut pb) = (Producer::new(a.clone()), Producer::new(b.clone()));
    let mut st = Stage::new(2);
    let mut push = |p: &mut Producer, n: i64| {
        row(&mut st, n, None);
        p.push_row(&st, Overflow::Block, Duration::from_secs(5)).unwrap();
    };
    // Before the order is enabled items carry no number.
    push(&mut pa, 0);
    assert_eq!(a.next_seq(), Some(0));
    assert_eq!(ns(&drain_all(&a)), vec![0]);
    order.enabled.store(true, std::sync::atomic::Ordering::Relaxed);
    // a: 1, 2 | b: 3 | a: 4 — numbered in push order.
    push(&mut pa, 1);
    push(&mut pa, 2);
    push(&mut pb, 3);
    push(&mut pa, 4);
    assert_eq!((a.next_seq(), b.next_seq()), (Some(1), Some(3)));
    let mut got = Vec::new();
    let n = a.drain_before(100, 3, &mut |it| {
        if let Item::Batch(x) = it {
            got.push(x)
        }
    });
    assert_eq!((n, ns(&got)), (2, vec![1, 2]), "stops before the item numbered 3");
    assert_eq!(a.next_seq(), Some(4));
    assert_eq!(ns(&drain_all(&b)), vec![3]);
    assert_eq!(ns(&drain_all(&a)), vec![4]);
    assert_eq!(a.next_seq(), None);
}
