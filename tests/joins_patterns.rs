//! Joins and patterns: exact outputs, pinned to docs/semantics.md ("Joins",
//! "Patterns"), and their errors.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use eddy::{Engine, Input, Status, Subscription};

mod common;
use common::{lines, open, stat, v};

/// Streams A (k STRING, v BIGINT, ts BIGINT) and B (k STRING, w BIGINT, ts
/// BIGINT), a query writing Out, one input on each.
struct Run {
    e: Engine,
    a: Input,
    b: Input,
    sub: Subscription,
}

impl Run {
    /// `with`: the WITH clause of both streams ("" for none).
    fn new(with: &str, query: &str) -> Run {
        let e = open("clock=manual");
        e.execute(&format!(
            "CREATE STREAM A (k STRING, v BIGINT, ts BIGINT) {with};
             CREATE STREAM B (k STRING, w BIGINT, ts BIGINT) {with}; {query}"
        ))
        .unwrap();
        let sub = e.subscribe("Out").unwrap();
        let a = e.open_input("A").unwrap();
        let b = e.open_input("B").unwrap();
        Run { e, a, b, sub }
    }

    fn event_time(query: &str) -> Run {
        Run::new("WITH (event_time = 'ts')", query)
    }

    fn push(input: &mut Input, k: &str, v: i64, ts: i64) {
        input.begin_row().unwrap();
        input.set_str(0, k.as_bytes()).unwrap();
        input.set_i64(1, v).unwrap();
        input.set_i64(2, ts).unwrap();
        input.end_row().unwrap();
    }

    fn a(&mut self, k: &str, v: i64, ts: i64) -> &mut Run {
        Run::push(&mut self.a, k, v, ts);
        self
    }

    fn b(&mut self, k: &str, w: i64, ts: i64) -> &mut Run {
        Run::push(&mut self.b, k, w, ts);
        self
    }

    fn out(&mut self) -> Vec<String> {
        self.e.flush(10_000).unwrap();
        let mut rows = Vec::new();
        loop {
            match self.sub.next(Some(Duration::ZERO)) {
                Ok(b) => rows.extend(lines(&b)),
                Err(e) if e.status == Status::Timeout || e.status == Status::EndOfStream => return rows,
                Err(e) => panic!("next failed: {e}"),
            }
        }
    }
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// A batch for A (`second` = "v") or B ("w").
fn batch_of(second: &str, rows: &[(&str, i64, i64)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, true),
        Field::new(second, DataType::Int64, true),
        Field::new("ts", DataType::Int64, true),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
    )
    .unwrap()
}

fn batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
    batch_of("v", rows)
}

/// Each query fails on streams `AB` with a message starting as given, and
/// leaves the engine taking a valid query.
fn assert_errors(cases: &[(&str, &str)]) {
    for (q, want) in cases {
        let e = open("");
        e.execute(AB).unwrap();
        let err = e.execute(q).unwrap_err();
        assert!(
            err.message.starts_with(want),
            "{q}\n  got:  {}\n  want: {want}",
            err.message
        );
        e.execute("INSERT INTO Ok1 SELECT k FROM A").unwrap();
    }
}

const AB: &str = "CREATE STREAM A (k STRING, v BIGINT, ts BIGINT) WITH (event_time = 'ts');
                  CREATE STREAM B (k STRING, w BIGINT, ts BIGINT) WITH (event_time = 'ts');
                  CREATE STREAM P (k STRING, v BIGINT, ts BIGINT);";

// ---- joins ----------------------------------------------------------------

const TIME_JOIN: &str =
    "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('time', INTERVAL '100' MILLISECOND) AS a \
                         JOIN B WINDOW('time', INTERVAL '100' MILLISECOND) AS b ON a.k = b.k";

#[test]
fn time_windows_join_rows_closer_than_the_windows_once_each() {
    let mut r = Run::event_time(TIME_JOIN);
    r.a("x", 1, 100);
    r.b("x", 10, 150); // 50 ms after a1: joins it
    assert_eq!(r.out(), v(&["1,10"]));
    r.a("x", 2, 240); // 90 ms after b10
    r.b("x", 20, 260); // 20 ms after a2; a1 is 160 ms before: out
    r.b("y", 30, 270);
    r.a("y", 3, 400); // 130 ms after b30: out
    assert_eq!(r.out(), v(&["2,10", "2,20"]));
}

#[test]
fn time_join_does_not_depend_on_how_the_streams_interleave() {
    // All of A first, then all of B: the same pairs (event time decides).
    let mut r = Run::event_time(TIME_JOIN);
    r.a("x", 1, 100).a("x", 2, 240).a("y", 3, 400);
    assert!(r.out().is_empty());
    r.b("x", 10, 150).b("x", 20, 260).b("y", 30, 270);
    assert_eq!(sorted(r.out()), v(&["1,10", "2,10", "2,20"]));
    // Exactly 100 ms apart is outside a 100 ms window.
    r.a("z", 4, 1000).b("z", 40, 1100);
    assert!(r.out().is_empty());
    r.b("z", 41, 1099);
    assert_eq!(
        r.out(),
        Vec::<String>::new(),
        "b41 is late: B's watermark is 1100"
    );
}

#[test]
fn time_join_as_arrow_batches_equals_row_by_row() {
    let rows_a = [("x", 1, 100), ("x", 2, 240), ("y", 3, 400), ("x", 4, 420)];
    let rows_b = [("x", 10, 150), ("x", 20, 260), ("y", 30, 380), ("x", 40, 500)];
    let mut by_row = Run::event_time(TIME_JOIN);
    for (ra, rb) in rows_a.iter().zip(&rows_b) {
        by_row.a(ra.0, ra.1, ra.2).b(rb.0, rb.1, rb.2);
    }
    let want = by_row.out();
    assert_eq!(sorted(want.clone()), v(&["1,10", "2,10", "2,20", "3,30", "4,40"]));
    let mut by_batch = Run::event_time(TIME_JOIN);
    by_batch.a.push_batch(&batch(&rows_a)).unwrap();
    by_batch.b.push_batch(&batch_of("w", &rows_b)).unwrap();
    assert_eq!(sorted(by_batch.out()), sorted(want));
}

#[test]
fn kept_rows_are_dropped_once_the_other_side_has_moved_past_them() {
    let mut r = Run::event_time(TIME_JOIN);
    for i in 0..1000 {
        r.a("x", i, i * 10).b("y", i, i * 10);
    }
    assert!(r.out().is_empty());
    let stats = r.e.stats_json();
    let bytes = stat(&stats, "\"queries\"", "state_bytes");
    // Each side keeps only its last 100 ms (10 rows), not 1000 rows.
    assert!(bytes < 64 * 1024, "join state {bytes} bytes: {stats}");
}

#[test]
fn length_window_and_a_side_without_window() {
    // A keeps nothing: only its arrivals join, with the latest B row.
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A AS a JOIN B WINDOW('length', 1) AS b ON a.k = b.k",
    );
    // Rows of the two streams are taken in the order they were pushed,
    // without a flush between them.
    r.b("x", 10, 0).a("x", 1, 0);
    r.b("x", 20, 0); // A kept nothing: no pair
    r.a("x", 2, 0).a("y", 3, 0);
    r.b("y", 30, 0).b("x", 40, 0); // the window now holds only x40
    r.a("y", 4, 0).a("x", 5, 0);
    assert_eq!(r.out(), v(&["1,10", "2,20", "5,40"]));
}

#[test]
fn on_with_more_than_keys_where_and_expressions() {
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.k, a.v + b.w AS total FROM A WINDOW('length', 10) AS a \
         JOIN B WINDOW('length', 10) AS b ON a.k = b.k AND a.v < b.w AND b.w <> 99 AND a.v > 0 \
         WHERE a.v + b.w > 12",
    );
    r.a("x", 1, 0).a("x", 5, 0).a("x", -1, 0);
    r.b("x", 10, 0); // 1+10 fails WHERE; 5+10 passes; -1 fails a.v > 0
    r.b("x", 3, 0); // 1 < 3 but 4 fails WHERE; 5 < 3 no
    r.b("x", 99, 0); // excluded by b.w <> 99
    r.a("x", 2, 0); // joins 10 (12: fails WHERE), 3 (5: fails)
    r.a("x", 4, 0); // joins 10: 14
    assert_eq!(r.out(), v(&["x,15", "x,14"]));
}

#[test]
fn join_without_equality_keys_and_null_keys() {
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('length', 5) AS a JOIN B WINDOW('length', 5) AS b \
         ON a.v * 10 = b.w OR b.w = 0",
    );
    r.a("x", 1, 0).a("y", 2, 0);
    r.b("z", 20, 0).b("q", 0, 0);
    assert_eq!(r.out(), v(&["2,20", "1,0", "2,0"]));
    // A NULL key joins nothing.
    let mut n = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('length', 5) AS a JOIN B WINDOW('length', 5) AS b ON a.k = b.k",
    );
    n.a.begin_row().unwrap();
    n.a.set_null(0).unwrap();
    n.a.set_i64(1, 7).unwrap();
    n.a.set_i64(2, 0).unwrap();
    n.a.end_row().unwrap();
    n.b.begin_row().unwrap();
    n.b.set_null(0).unwrap();
    n.b.set_i64(1, 70).unwrap();
    n.b.set_i64(2, 0).unwrap();
    n.b.end_row().unwrap();
    n.b("x", 1, 0).a("x", 2, 0);
    assert_eq!(n.out(), v(&["2,1"]));
}

#[test]
fn select_star_of_a_side_and_aggregates_over_a_join() {
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT b.*, a.v FROM A WINDOW('length', 3) AS a JOIN B WINDOW('length', 3) AS b ON a.k = b.k",
    );
    r.a("x", 1, 5).b("x", 2, 6);
    assert_eq!(r.out(), v(&["x,2,6,1"]));
    let mut g = Run::new(
        "",
        "INSERT INTO Out SELECT a.k, COUNT(*) AS n, SUM(b.w) AS s FROM A WINDOW('length', 3) AS a \
         JOIN B WINDOW('length', 3) AS b ON a.k = b.k GROUP BY a.k",
    );
    g.a("x", 1, 0)
        .b("x", 10, 0)
        .b("x", 20, 0)
        .a("y", 1, 0)
        .b("y", 5, 0);
    assert_eq!(g.out(), v(&["x,1,10", "x,2,30", "y,1,5"]));
}

#[test]
fn processing_time_join_expires_by_the_clock() {
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('time', INTERVAL '1' SECOND) AS a \
         JOIN B WINDOW('time', INTERVAL '1' SECOND) AS b ON a.k = b.k",
    );
    r.e.advance_time(1_000).unwrap();
    r.a("x", 1, 0);
    r.e.advance_time(1_500).unwrap();
    r.b("x", 10, 0);
    r.e.advance_time(2_600).unwrap();
    r.b("x", 20, 0); // a1 arrived 1.6 s ago: gone
    assert_eq!(r.out(), v(&["1,10"]));
}

#[test]
fn join_errors_name_the_problem_and_change_nothing() {
    let cases = [
        (
            "INSERT INTO O SELECT a.v FROM A AS a JOIN A AS b ON a.k = b.k",
            "line 1:43: a stream joined with itself is not supported yet",
        ),
        (
            "INSERT INTO O SELECT k FROM A AS a JOIN B AS b ON a.k = b.k",
            "line 1:22: column 'k' is ambiguous: 'a' and 'b' all have it; qualify it (as in a.k)",
        ),
        (
            "INSERT INTO O SELECT c.v FROM A AS a JOIN B AS b ON a.k = b.k",
            "line 1:22: unknown stream or alias 'c'; the query reads 'a' and 'b'",
        ),
        (
            "INSERT INTO O SELECT a.v FROM A WINDOW('tumbling', INTERVAL '1' SECOND) AS a JOIN B AS b ON a.k = b.k",
            "line 1:40: a join side takes WINDOW('time', duration), WINDOW('length', n) or WINDOW('unique', column); 'tumbling' is not supported in joins yet",
        ),
        (
            "INSERT INTO O SELECT a.v FROM A AS a JOIN B AS b ON a.v + b.w",
            "line 1:53: ON condition must be BOOL, got BIGINT",
        ),
        (
            "INSERT INTO O SELECT a.v FROM A AS a JOIN P AS p ON a.k = p.k",
            "line 1:43: query reads 'A' in event time and 'P' in processing time",
        ),
        (
            "INSERT INTO O SELECT a.v FROM A AS a JOIN B AS b",
            "line 1:49: expected ON and a join condition, found end of input",
        ),
        (
            "INSERT INTO A SELECT a.k, a.v, a.ts FROM A AS a JOIN B AS b ON a.k = b.k",
            "line 1:13: query reads and writes stream 'A'",
        ),
    ];
    assert_errors(&cases);
}

// ---- patterns -------------------------------------------------------------

const W4_LIKE: &str = "INSERT INTO Out SELECT e1.k, e1.v AS v1, e2.v AS v2 \
                       FROM PATTERN (EVERY e1=A[v > 90] -> e2=A[k = e1.k AND v < e1.v - 50]) \
                       WITHIN INTERVAL '1' SECOND";

#[test]
fn every_start_takes_the_first_later_match_within_the_bound() {
    let mut r = Run::event_time(W4_LIKE);
    r.a("a", 95, 0).a("b", 99, 10);
    r.a("a", 40, 20); // completes a95 (40 < 45)
    r.a("b", 60, 30); // 60 < 49? no
    assert_eq!(r.out(), v(&["a,95,40"]));
    r.a("b", 10, 1011); // 1001 ms after b99: out of time
    assert!(r.out().is_empty());
    // Two partials completed by the same row come out in start order; the
    // next row of the key does not match them again.
    r.a("a", 91, 2100)
        .a("a", 92, 2150)
        .a("a", 30, 2200)
        .a("a", 20, 2300);
    assert_eq!(r.out(), v(&["a,91,30", "a,92,30"]));
    // WITHIN is inclusive: exactly 1 s later still matches.
    r.a("c", 100, 5000).a("c", 1, 6000);
    assert_eq!(r.out(), v(&["c,100,1"]));
}

#[test]
fn pattern_as_one_arrow_batch_equals_row_by_row() {
    let rows: Vec<(&str, i64, i64)> = (0..600)
        .map(|i| {
            let k = ["a", "b", "c"][(i * 7 % 3) as usize];
            (k, (i * 37) % 100, i * 5)
        })
        .collect();
    let mut by_row = Run::event_time(W4_LIKE);
    for r in &rows {
        by_row.a(r.0, r.1, r.2);
    }
    let want = by_row.out();
    assert!(want.len() > 10, "the data makes matches: {}", want.len());
    // The oracle: a forward scan from every start.
    let mut expect = Vec::new();
    for (i, s) in rows.iter().enumerate() {
        if s.1 <= 90 {
            continue;
        }
        if let Some(e) = rows[i + 1..]
            .iter()
            .take_while(|e| e.2 - s.2 <= 1000)
            .find(|e| e.0 == s.0 && e.1 < s.1 - 50)
        {
            expect.push((e.2, format!("{},{},{}", s.0, s.1, e.1)));
        }
    }
    expect.sort_by_key(|x| x.0); // completion order (stable: start order)
    assert_eq!(want, expect.into_iter().map(|x| x.1).collect::<Vec<_>>());
    let mut by_batch = Run::event_time(W4_LIKE);
    by_batch.a.push_batch(&batch(&rows[..250])).unwrap();
    by_batch.a.push_batch(&batch(&rows[250..])).unwrap();
    assert_eq!(by_batch.out(), want);
}

#[test]
fn three_events_over_two_streams() {
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT e1.v AS a1, e2.w AS b2, e3.v AS a3 \
         FROM PATTERN (EVERY e1=A[v > 10] -> e2=B[k = e1.k] -> e3=A[v > e2.w AND k = e2.k])",
    );
    // Rows of the two streams are taken in the order they were pushed.
    r.a("x", 11, 0).a("x", 12, 0); // two partials
    r.a("x", 100, 0); // a third start; no B yet, so it cannot be e3
    r.b("y", 1, 0); // other key
    r.b("x", 50, 0); // all three x partials take it as e2
    r.a("x", 40, 0); // 40 > 50? no (a start, though: a fourth partial)
    r.a("x", 60, 0); // completes the three at e3 (and starts a fifth)
    r.b("x", 5, 0); // the 40 and 60 partials take it
    r.a("x", 6, 0); // 6 > 5: completes both
    assert_eq!(
        r.out(),
        v(&["11,50,60", "12,50,60", "100,50,60", "40,5,6", "60,5,6"])
    );
}

#[test]
fn without_every_the_pattern_matches_once() {
    let mut r = Run::event_time(
        "INSERT INTO Out SELECT e1.v AS v1, e2.v AS v2 FROM PATTERN (e1=A[v > 90] -> e2=A[v < 10]) \
         WITHIN INTERVAL '100' MILLISECOND",
    );
    r.a("x", 95, 0).a("x", 96, 10); // only the first starts
    r.a("x", 50, 200); // the partial is out of time; 50 does not start
    r.a("x", 97, 300).a("x", 5, 350); // a new start, completed
    r.a("x", 98, 400).a("x", 1, 410); // no more matches
    assert_eq!(r.out(), v(&["97,5"]));
}

#[test]
fn pattern_errors_name_the_problem() {
    let cases = [
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A[v > e2.v] -> e2=A[v > 1])",
            "line 1:56: 'e2' is matched after this element of the pattern",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A -> EVERY e2=A)",
            "line 1:55: EVERY is supported only on the pattern's first event",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A -> e1=A)",
            "line 1:55: event alias 'e1' is used twice in the pattern",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=Nope)",
            "line 1:50: unknown stream 'Nope'",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A, e2=A)",
            "line 1:51: strict sequences (',') are not supported",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A[v > 1)",
            "line 1:57: expected ']' after the event condition, found ')'",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A -> e2=P)",
            "line 1:58: query reads 'A' in event time and 'P' in processing time",
        ),
        (
            "INSERT INTO O SELECT e1.v FROM PATTERN (EVERY e1=A) WITHIN INTERVAL '0' SECOND",
            "line 1:60: WITHIN needs a positive interval",
        ),
        (
            "INSERT INTO O SELECT v FROM PATTERN (EVERY e1=A -> e2=A)",
            "line 1:22: column 'v' is ambiguous",
        ),
    ];
    assert_errors(&cases);
}

#[test]
fn rows_that_join_nothing_still_hold_their_place_in_a_length_window() {
    // A NULL key, or failing A's own part of ON, joins nothing, but the row
    // is still one of A's last 2.
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('length', 2) AS a JOIN B AS b ON a.k = b.k AND a.v > 0",
    );
    r.a("x", 1, 0);
    r.a.begin_row().unwrap();
    r.a.set_null(0).unwrap();
    r.a.set_i64(1, 2).unwrap();
    r.a.set_i64(2, 0).unwrap();
    r.a.end_row().unwrap();
    r.a("x", 3, 0);
    r.out();
    r.b("x", 10, 0); // A's last 2: NULL and x3
    assert_eq!(r.out(), v(&["3,10"]));
    r.a("x", -4, 0); // fails a.v > 0; A's last 2: x3 and x-4
    r.out();
    r.b("x", 20, 0);
    assert_eq!(r.out(), v(&["3,20"]));
    r.a("x", -5, 0); // A's last 2: x-4, x-5: nothing joins
    r.out();
    r.b("x", 30, 0);
    assert!(r.out().is_empty());
    // Without keys: the same.
    let mut t = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('length', 2) AS a JOIN B AS b ON a.v > 0",
    );
    t.a("x", 1, 0).a("x", -2, 0).a("x", 3, 0);
    t.out();
    t.b("y", 7, 0);
    assert_eq!(t.out(), v(&["3,7"]));
}

#[test]
fn unique_window_joins_the_latest_row_per_value() {
    // The latest B row per k: "each trade with the latest quote of its
    // symbol".
    let mut r = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.w FROM A AS a JOIN B WINDOW('unique', k) AS b ON a.k = b.k",
    );
    r.b("x", 10, 0).b("y", 20, 0).b("x", 11, 0); // x11 replaces x10
    r.out();
    r.a("x", 1, 0).a("y", 2, 0);
    assert_eq!(r.out(), v(&["1,11", "2,20"]));
    r.b("y", 21, 0);
    r.out();
    r.a("y", 3, 0);
    assert_eq!(r.out(), v(&["3,21"]));
    // Many replacements of one value: the store is compacted, the answer
    // and the state stay small.
    for i in 0..5000 {
        r.b("z", 100 + i, 0);
    }
    r.out();
    r.a("z", 4, 0).a("x", 5, 0);
    assert_eq!(r.out(), v(&["4,5099", "5,11"]));
    let stats = r.e.stats_json();
    let bytes = stat(&stats, "\"queries\"", "state_bytes");
    assert!(bytes < 256 * 1024, "unique join state {bytes} bytes: {stats}");
    // Unique on another column than the key: a newer row with the same w
    // replaces an older one of another k.
    let mut u = Run::new(
        "",
        "INSERT INTO Out SELECT a.v, b.k FROM A AS a JOIN B WINDOW('unique', w) AS b ON a.k = b.k",
    );
    u.b("x", 5, 0).b("y", 5, 0);
    u.out();
    u.a("x", 1, 0).a("y", 2, 0);
    assert_eq!(u.out(), v(&["2,y"]));
}

#[test]
fn push_order_across_streams_holds_for_arrow_batches_too() {
    // Batches and rows of two streams, pushed in turn without a flush: the
    // pattern sees them in that order, whatever the worker's timing.
    for round in 0..20 {
        let mut r = Run::new(
            "",
            "INSERT INTO Out SELECT e1.v AS a1, e2.w AS b2 FROM PATTERN (EVERY e1=A[v > 0] -> e2=B[k = e1.k])",
        );
        let mut want = Vec::new();
        for i in 0..50i64 {
            if i % 2 == 0 {
                r.a.push_batch(&batch(&[("x", i + 1, 0), ("y", i + 1, 0)]))
                    .unwrap();
            } else {
                r.a("x", i + 1, 0);
            }
            r.b.push_batch(&batch_of("w", &[("x", 1000 + i, 0)])).unwrap();
            want.push(format!("{},{}", i + 1, 1000 + i));
        }
        assert_eq!(r.out(), want, "round {round}");
    }
}

#[test]
fn outer_joins_emit_unmatched_arrivals_with_the_other_side_null() {
    let q = |kind: &str| {
        format!(
            "INSERT INTO Out SELECT a.v, b.w FROM A WINDOW('length', 5) AS a {kind} JOIN \
             B WINDOW('length', 5) AS b ON a.k = b.k AND b.w > 0"
        )
    };
    let feed = |r: &mut Run| {
        r.a("x", 1, 0).a("y", 2, 0); // no B yet: unmatched
        r.b("x", 10, 0); // pairs with a1
        r.b("z", 20, 0); // nothing on A
        r.b("x", -5, 0); // fails b.w > 0: joins nothing
        r.a("x", 3, 0).a("q", 4, 0); // a3 pairs with b10; a4 unmatched
        r.out()
    };
    let mut left = Run::new("", &q("LEFT"));
    assert_eq!(
        feed(&mut left),
        v(&["1,NULL", "2,NULL", "1,10", "3,10", "4,NULL"])
    );
    let mut right = Run::new("", &q("RIGHT OUTER"));
    assert_eq!(feed(&mut right), v(&["1,10", "NULL,20", "NULL,-5", "3,10"]));
    let mut full = Run::new("", &q("FULL"));
    assert_eq!(
        feed(&mut full),
        v(&["1,NULL", "2,NULL", "1,10", "NULL,20", "NULL,-5", "3,10", "4,NULL"])
    );
    // WHERE sees the NULLs.
    let mut w = Run::new(
        "",
        "INSERT INTO Out SELECT a.v FROM A AS a LEFT JOIN B WINDOW('length', 5) AS b ON a.k = b.k WHERE b.w IS NULL",
    );
    w.b("x", 1, 0).a("x", 1, 0).a("y", 2, 0).a("x", 3, 0).a("z", 4, 0);
    assert_eq!(w.out(), v(&["2", "4"]));
}
