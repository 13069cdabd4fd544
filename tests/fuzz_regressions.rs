//! Inputs the fuzz targets (fuzz/README.md) found to break eddy, replayed
//! through the same entry points so the fixes stay fixed. Each test names
//! the target, the input's shape and the fix.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int32Array, RecordBatch, StringArray, StructArray};
use arrow::datatypes::{Int64Type, TimestampMillisecondType};
use arrow::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use eddy::capi::engine::*;
use eddy::capi::input::*;
use eddy::capi::*;

/// The C Data Interface `struct ArrowArray`, to edit an exported one.
#[repr(C)]
struct RawArray {
    length: i64,
    null_count: i64,
    offset: i64,
    n_buffers: i64,
    n_children: i64,
    buffers: *mut *const c_void,
    children: *mut *mut RawArray,
    dictionary: *mut RawArray,
    release: Option<unsafe extern "C" fn(*mut RawArray)>,
    private_data: *mut c_void,
}

/// The C Data Interface `struct ArrowSchema`.
#[repr(C)]
struct RawSchema {
    format: *const c_char,
    name: *const c_char,
    metadata: *const c_char,
    flags: i64,
    n_children: i64,
    children: *mut *mut RawSchema,
    dictionary: *mut RawSchema,
    release: Option<unsafe extern "C" fn(*mut RawSchema)>,
    private_data: *mut c_void,
}

/// An engine with `S (i INT, s STRING)`, an input on it, and a second
/// input to prove the engine still works after a bad batch.
struct Fixture {
    e: *mut eddy_engine,
    input: *mut eddy_input,
}

impl Fixture {
    fn new() -> Fixture {
        unsafe {
            let mut e = ptr::null_mut();
            assert_eq!(
                eddy_engine_open(ptr::null(), &mut e, ptr::null_mut()),
                eddy_status::EDDY_OK
            );
            let sql = CString::new("CREATE STREAM S (i INT, s STRING)").unwrap();
            assert_eq!(
                eddy_engine_execute(e, sql.as_ptr(), ptr::null_mut()),
                eddy_status::EDDY_OK
            );
            let mut input = ptr::null_mut();
            let name = CString::new("S").unwrap();
            assert_eq!(
                eddy_input_open(e, name.as_ptr(), &mut input, ptr::null_mut()),
                eddy_status::EDDY_OK
            );
            Fixture { e, input }
        }
    }

    /// Pushes; returns the status and the error message.
    fn push(&self, array: &mut FFI_ArrowArray, schema: &FFI_ArrowSchema) -> (eddy_status, String) {
        unsafe {
            let mut err: *mut eddy_error = ptr::null_mut();
            let st = eddy_input_push_arrow(self.input, array, schema, &mut err);
            assert!(array.is_released(), "the batch must be released, even on error");
            let msg = if err.is_null() {
                String::new()
            } else {
                let m = CStr::from_ptr(eddy_error_message(err))
                    .to_string_lossy()
                    .into_owned();
                eddy_error_free(err);
                m
            };
            (st, msg)
        }
    }

    /// A good batch still goes through: the input was not poisoned.
    fn still_works(&self) {
        let (mut a, s) = batch(vec![1, 2], vec!["x", "y"]);
        assert_eq!(self.push(&mut a, &s).0, eddy_status::EDDY_OK);
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        unsafe {
            eddy_input_free(self.input);
            eddy_engine_free(self.e);
        }
    }
}

fn batch(i: Vec<i32>, s: Vec<&str>) -> (FFI_ArrowArray, FFI_ArrowSchema) {
    let b = RecordBatch::try_from_iter(vec![
        ("i", Arc::new(Int32Array::from(i)) as _),
        ("s", Arc::new(StringArray::from(s)) as _),
    ])
    .unwrap();
    arrow::ffi::to_ffi(&StructArray::from(b).into_data()).unwrap()
}

/// arrow_import: a column name that is not UTF-8 made arrow-rs panic while
/// reading the schema (`Field::try_from` expects UTF-8 names), which came
/// out as EDDY_ERR_PANIC and left the input unusable. Fix: the structural
/// check (src/capi/arrow_check.rs) refuses a non-UTF-8 name first.
#[test]
fn arrow_column_name_not_utf8_is_an_error() {
    let f = Fixture::new();
    let (mut a, s) = batch(vec![1], vec!["a"]);
    let bad = b"\xff\xfe\0";
    unsafe {
        let raw = &*(&s as *const FFI_ArrowSchema as *const RawSchema);
        let child = &mut **raw.children.add(1);
        let saved = child.name;
        child.name = bad.as_ptr() as *const c_char;
        let (st, msg) = f.push(&mut a, &s);
        child.name = saved; // the schema's release frees its own name
        assert_eq!(st, eddy_status::EDDY_ERR_INVALID_ARGUMENT, "{msg}");
        assert!(msg.contains("UTF-8"), "{msg}");
    }
    f.still_works();
}

/// sql: an externalTimeBatch window whose first row (the anchor) is at
/// i64::MAX and a later row at i64::MIN. Placing a row computed
/// `anchor + floor((ts - anchor) / size) * size` in i64: here it overflowed,
/// a panic on the worker (debug builds) that stopped the engine; and with
/// the anchor at i64::MIN a row at i64::MAX went to a window starting at -8
/// (the difference saturated). Fix: the start is computed in i128 and
/// clamped to i64 (src/ops/window/batch.rs).
#[test]
fn window_anchor_far_from_row_time_does_not_overflow() {
    let run = |times: [i64; 2]| {
        let e = eddy::Engine::open("clock=manual").unwrap();
        e.execute(
            "CREATE STREAM S (id BIGINT, ts BIGINT);
             INSERT INTO Out SELECT id, window_start FROM S WINDOW('externalTimeBatch', ts, 100)",
        )
        .unwrap();
        let sub = e.subscribe("Out").unwrap();
        let mut input = e.open_input("S").unwrap();
        for (id, ts) in times.into_iter().enumerate() {
            input.begin_row().unwrap();
            input.set_i64(0, id as i64).unwrap();
            input.set_i64(1, ts).unwrap();
            input.end_row().unwrap();
        }
        e.flush(10_000).expect("the worker survives");
        e.close().expect("close");
        let mut starts = Vec::new();
        while let Ok(b) = sub.next(Some(std::time::Duration::ZERO)) {
            let c = b.column(1).as_primitive::<TimestampMillisecondType>();
            starts.extend(c.iter().map(Option::unwrap));
        }
        starts
    };
    // The row at MIN is late (behind the first window): dropped, no panic.
    run([i64::MAX, i64::MIN]);
    // Both rows placed in their own windows, the second at the last multiple
    // of 100 from i64::MIN at or below it (the old code said -8).
    assert_eq!(run([i64::MIN, i64::MAX - 50]), vec![i64::MIN, i64::MAX - 115]);
}

/// sql_grammar (session 9): `OUTPUT LAST EVERY INTERVAL '14' MINUTE` over a
/// stream whose event time sat far below zero. The period began at the
/// first output row's time; closing the stream moves time to the end
/// (i64::MAX), and the number of periods passed, `(now - end) / d`,
/// overflowed i64: a panic in the worker with overflow checks, a wrong
/// period end without. Fix: the periods are counted in i128 and the new end
/// clamped (src/ops/rate.rs).
#[test]
fn output_rate_period_far_below_end_of_time_does_not_overflow() {
    for ts in [i64::MIN / 2, -5_000_000] {
        let e = eddy::Engine::open("clock=manual").unwrap();
        e.execute(
            "CREATE STREAM S (id BIGINT, ts BIGINT) WITH (event_time = 'ts');
             INSERT INTO O SELECT id FROM S WINDOW('tumbling', 1000)
             OUTPUT LAST EVERY INTERVAL '14' MINUTE",
        )
        .unwrap();
        let sub = e.subscribe("O").unwrap();
        let mut input = e.open_input("S").unwrap();
        // Row 2 closes row 1's window, whose output starts the first
        // period; row 2's window closes when the stream ends.
        for id in [1, 2] {
            input.begin_row().unwrap();
            input.set_i64(0, id).unwrap();
            input.set_i64(1, ts + (id - 1) * 2_000).unwrap();
            input.end_row().unwrap();
        }
        e.flush(10_000).expect("the worker survives");
        drop(input);
        e.close().expect("close ends the period");
        let mut ids = Vec::new();
        while let Ok(b) = sub.next(Some(std::time::Duration::ZERO)) {
            let c = b.column(0).as_primitive::<Int64Type>();
            ids.extend(c.iter().map(Option::unwrap));
        }
        // Row 1 ends the first period (the end of time is past it), row 2
        // the last one, when the stream ends.
        assert_eq!(ids, vec![1, 2], "ts {ts}");
    }
}

/// sql_grammar: `CAST(ts AS BOOL)` (and BOOL to TIMESTAMP) was accepted by
/// the analyzer, but there is no such cast at run time: the query then
/// failed on every row, counting errors. Fix: the analyzer refuses it with
/// EDDY_ERR_SCHEMA (src/sql/analyze.rs).
#[test]
fn cast_between_bool_and_timestamp_is_refused_when_planned() {
    let e = eddy::Engine::open("").unwrap();
    e.execute("CREATE STREAM S (ok BOOL, ts TIMESTAMP)").unwrap();
    for q in [
        "INSERT INTO O SELECT CAST(ts AS BOOL) AS b FROM S",
        "INSERT INTO O SELECT ok::TIMESTAMP AS t FROM S",
        "INSERT INTO O SELECT COUNT(*) AS n FROM S HAVING CAST(MAX(ts) AS BOOL)",
    ] {
        let err = e.execute(q).expect_err(q);
        assert_eq!(err.status, eddy::Status::Schema, "{q}: {}", err.message);
        assert!(err.message.contains("cannot CAST"), "{q}: {}", err.message);
    }
    // The casts that exist still plan.
    e.execute("INSERT INTO O SELECT CAST(ts AS BIGINT) AS n, CAST(ok AS STRING) AS s FROM S")
        .unwrap();
}

/// arrow_import: a column with no validity bitmap and `null_count` -1 (the
/// C Data Interface's "not computed") is a valid array without nulls, but
/// the structural check refused it ("null_count is not 0 but there is no
/// validity buffer"). Fix: only a positive null_count needs a bitmap
/// (src/capi/arrow_check.rs).
#[test]
fn arrow_unknown_null_count_without_bitmap_is_accepted() {
    let f = Fixture::new();
    let (mut a, s) = batch(vec![1, 2, 3], vec!["a", "b", "c"]);
    unsafe {
        let raw = &mut *(&mut a as *mut FFI_ArrowArray as *mut RawArray);
        for c in 0..2 {
            let child = &mut **raw.children.add(c);
            assert!((*child.buffers).is_null(), "no bitmap without nulls");
            child.null_count = -1;
        }
    }
    let (st, msg) = f.push(&mut a, &s);
    assert_eq!(st, eddy_status::EDDY_OK, "{msg}");
    // A positive null_count with no bitmap is still refused.
    let (mut a, s) = batch(vec![1], vec!["a"]);
    unsafe {
        let raw = &mut *(&mut a as *mut FFI_ArrowArray as *mut RawArray);
        (**raw.children).null_count = 1;
    }
    let (st, msg) = f.push(&mut a, &s);
    assert_eq!(st, eddy_status::EDDY_ERR_INVALID_ARGUMENT, "{msg}");
    f.still_works();
}

/// A `vu` (string view) column as arrow-rs exports it: null, views, one
/// data buffer, variadic lengths.
fn view_batch() -> (FFI_ArrowArray, FFI_ArrowSchema) {
    let s = arrow::array::StringViewArray::from(vec!["a string longer than twelve bytes"]);
    let b = RecordBatch::try_from_iter(vec![
        ("i", Arc::new(Int32Array::from(vec![7])) as _),
        ("s", Arc::new(s) as _),
    ])
    .unwrap();
    arrow::ffi::to_ffi(&StructArray::from(b).to_data()).unwrap()
}

/// arrow_import (the line between producer and consumer duties): a view
/// array's variadic-lengths buffer gives the sizes of its data buffers.
/// A negative size is a lie a consumer can see; arrow-rs turned it into a
/// huge buffer length, against which views pointing anywhere validate. And
/// with length 0 the lengths buffer was read even when NULL. Fix: the
/// structural check requires the lengths buffer and refuses negative sizes
/// (src/capi/arrow_check.rs).
#[test]
fn arrow_view_lengths_buffer_is_checked() {
    let f = Fixture::new();
    // A NULL variadic-lengths buffer on an empty column.
    let (mut a, s) = view_batch();
    unsafe {
        let raw = &mut *(&mut a as *mut FFI_ArrowArray as *mut RawArray);
        raw.length = 0;
        let child = &mut **raw.children.add(1);
        assert_eq!(child.n_buffers, 4);
        child.length = 0;
        *child.buffers.add(3) = ptr::null();
        (**raw.children).length = 0;
    }
    let (st, msg) = f.push(&mut a, &s);
    assert_eq!(st, eddy_status::EDDY_ERR_INVALID_ARGUMENT, "{msg}");
    // A negative data buffer size.
    let (mut a, s) = view_batch();
    unsafe {
        let raw = &mut *(&mut a as *mut FFI_ArrowArray as *mut RawArray);
        let child = &mut **raw.children.add(1);
        let lengths = *child.buffers.add(3) as *mut i64;
        *lengths = -1;
    }
    let (st, msg) = f.push(&mut a, &s);
    assert_eq!(st, eddy_status::EDDY_ERR_INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("negative"), "{msg}");
    f.still_works();
}

/// arrow_import: a string column whose last offset is negative. arrow-rs
/// takes the last offset as the data buffer's size before validating
/// anything, so -5 became a buffer longer than isize::MAX: undefined
/// behaviour (an abort in debug builds). Fix: the structural check reads
/// the last offset and refuses a negative one (src/capi/arrow_check.rs).
#[test]
fn arrow_negative_last_offset_is_an_error() {
    let f = Fixture::new();
    let (mut a, s) = batch(vec![1], vec!["a"]);
    unsafe {
        let raw = &mut *(&mut a as *mut FFI_ArrowArray as *mut RawArray);
        let child = &mut **raw.children.add(1);
        let offsets = *child.buffers.add(1) as *mut i32;
        assert_eq!(*offsets.add(1), 1);
        *offsets.add(1) = -5;
    }
    let (st, msg) = f.push(&mut a, &s);
    assert_eq!(st, eddy_status::EDDY_ERR_INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("negative"), "{msg}");
    f.still_works();
}

/// sql_grammar: `WINDOW('hopping', INTERVAL '2 DAYS', 1)` puts every event
/// in 172,800,000 windows: the first row made the worker allocate
/// gigabytes (an out-of-memory abort under the fuzzer's 4 GiB limit).
/// Fix: a sliding window may put an event in at most 10,000 windows
/// (src/sql/window.rs); more is EDDY_ERR_SQL naming the count.
#[test]
fn sliding_window_with_too_many_windows_per_event_is_refused() {
    let e = eddy::Engine::open("clock=manual").unwrap();
    e.execute("CREATE STREAM S (n INT)").unwrap();
    let err = e
        .execute("INSERT INTO O SELECT COUNT(*) AS c FROM S WINDOW('hopping', INTERVAL '2 DAYS', 1)")
        .expect_err("172,800,000 windows per event");
    assert_eq!(err.status, eddy::Status::Sql, "{}", err.message);
    assert!(err.message.contains("172800000 windows"), "{}", err.message);
    // At the limit it plans and runs.
    e.execute("INSERT INTO O SELECT COUNT(*) AS c FROM S WINDOW('sliding', 10000, 1)")
        .unwrap();
    let mut input = e.open_input("S").unwrap();
    input.begin_row().unwrap();
    input.end_row().unwrap();
    e.flush(10_000).unwrap();
}

/// sql: an input that plans against the target's catalog but fails on the
/// fresh engine left that engine dropped without `close`, and a Rust
/// `Engine` dropped without `close` kept its worker thread parked forever
/// (the fuzzer's process had gathered 2,000 of them after 2 million inputs,
/// each waking ten times a second). Fix: the last handle of an engine
/// closes it, as `eddy_engine_free` does (src/runtime/engine.rs).
#[test]
fn engine_dropped_without_close_stops_its_worker() {
    use std::time::Duration;
    let e = eddy::Engine::open("").unwrap();
    e.execute("CREATE STREAM S (x INT)").unwrap();
    let sub = e.subscribe("S").unwrap();
    let mut input = e.open_input("S").unwrap();
    let other = e.clone();
    drop(e);
    // Another handle is left: the engine still runs.
    input.begin_row().unwrap();
    input.set_i32(0, 7).unwrap();
    input.end_row().unwrap();
    other.flush(10_000).unwrap();
    drop(other);
    // The last one closed it: the row was delivered, then the stream
    // ended (the worker finished), and the input is refused.
    let b = sub.next(Some(Duration::from_secs(10))).expect("the row");
    assert_eq!(b.num_rows(), 1);
    let end = sub
        .next(Some(Duration::from_secs(10)))
        .expect_err("end of stream");
    assert_eq!(end.status, eddy::Status::EndOfStream, "{}", end.message);
    let err = input.begin_row().expect_err("engine closed");
    assert_eq!(err.status, eddy::Status::Closed, "{}", err.message);
}
