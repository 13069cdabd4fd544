//! Windows, time and aggregation: exact outputs for every window kind and
//! output kind, pinned to the worked examples of docs/semantics.md.

use std::time::Duration;

use arrow::array::RecordBatch;
use eddy::{Engine, Input, Status, Subscription};

mod common;
use common::{lines, open, stat, v};

/// A stream of (id BIGINT, v BIGINT, ts BIGINT) and helpers around it.
struct Run {
    e: Engine,
    input: Input,
    sub: Subscription,
}

const S: &str = "CREATE STREAM S (id BIGINT, v BIGINT, ts BIGINT)";

impl Run {
    /// `with`: the stream's WITH clause ("" for none); `query`: statements
    /// reading S and writing Out.
    fn new(opts: &str, with: &str, query: &str) -> Run {
        let e = open(opts);
        e.execute(&format!("{S} {with}; {query}")).unwrap();
        let sub = e.subscribe("Out").unwrap();
        let input = e.open_input("S").unwrap();
        Run { e, input, sub }
    }

    fn manual(with: &str, query: &str) -> Run {
        Run::new("clock=manual", with, query)
    }

    fn row(&mut self, id: i64, v: i64, ts: i64) -> &mut Run {
        self.input.begin_row().unwrap();
        self.input.set_i64(0, id).unwrap();
        self.input.set_i64(1, v).unwrap();
        self.input.set_i64(2, ts).unwrap();
        self.input.end_row().unwrap();
        self
    }

    /// Rows with id = v = ts = each value.
    fn ids(&mut self, ids: impl IntoIterator<Item = i64>) -> &mut Run {
        for i in ids {
            self.row(i, i, i);
        }
        self
    }

    fn at(&mut self, now: i64) -> &mut Run {
        self.e.advance_time(now).unwrap();
        self
    }

    /// Everything output so far, one string per row: values joined by ','.
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

    fn close_input(&mut self) -> &mut Run {
        self.input.close().unwrap();
        self
    }

    fn stats(&self) -> String {
        self.e.stats_json()
    }
}

// ---- count windows ----------------------------------------------------------

#[test]
fn length_batch_emits_only_full_batches_in_order() {
    let mut r = Run::manual("", "INSERT INTO Out SELECT id FROM S WINDOW('lengthBatch', 4)");
    r.ids(1..=2);
    assert!(r.out().is_empty(), "2 of 4 events: nothing");
    r.ids(3..=6);
    assert_eq!(r.out(), v(&["1", "2", "3", "4"]));
    // Closing the input does not flush a partial batch of a count window.
    r.close_input();
    assert!(r.out().is_empty());
}

#[test]
fn length_batch_all_events_expires_previous_batch_with_the_next() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id FROM S WINDOW('lengthBatch', 2)",
    );
    r.ids(1..=4);
    assert_eq!(
        r.out(),
        v(&["1,false", "2,false", "1,true", "2,true", "3,false", "4,false"])
    );
}

#[test]
fn length_expires_event_k_when_k_plus_n_arrives() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id FROM S WINDOW('length', 4)",
    );
    r.ids(1..=6);
    assert_eq!(
        r.out(),
        v(&["1,false", "2,false", "3,false", "4,false", "1,true", "5,false", "2,true", "6,false"])
    );
    let mut x = Run::manual(
        "",
        "INSERT EXPIRED EVENTS INTO Out SELECT id FROM S WINDOW('length', 4)",
    );
    x.ids(1..=6);
    assert_eq!(x.out(), v(&["1", "2"]));
}

// ---- processing-time windows (manual clock) ----------------------------------

#[test]
fn time_window_expires_after_its_duration() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id FROM S WINDOW('time', 1000)",
    );
    r.at(0).ids([1, 2]);
    r.at(500).ids([3]);
    assert_eq!(r.out(), v(&["1,false", "2,false", "3,false"]));
    r.at(999);
    assert!(r.out().is_empty());
    r.at(1000);
    assert_eq!(r.out(), v(&["1,true", "2,true"]));
    r.at(1600);
    assert_eq!(r.out(), v(&["3,true"]));
}

#[test]
fn time_batch_fires_each_period_from_the_first_event() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT id, window_start, window_end FROM S WINDOW('timeBatch', INTERVAL '1' SECOND)",
    );
    r.at(100).ids([1, 2]);
    r.at(900).ids([3]);
    assert!(r.out().is_empty());
    r.at(1100);
    assert_eq!(
        r.out(),
        v(&[
            "1,1970-01-01T00:00:00.100,1970-01-01T00:00:01.100",
            "2,1970-01-01T00:00:00.100,1970-01-01T00:00:01.100",
            "3,1970-01-01T00:00:00.100,1970-01-01T00:00:01.100",
        ])
    );
    r.ids([4]);
    r.at(2100);
    assert_eq!(r.out(), v(&["4,1970-01-01T00:00:01.100,1970-01-01T00:00:02.100"]));
}

#[test]
fn delay_releases_each_event_after_the_delay() {
    let mut r = Run::manual("", "INSERT INTO Out SELECT id FROM S WINDOW('delay', 100)");
    r.at(0).ids([1]);
    r.at(50).ids([2]);
    assert!(r.out().is_empty());
    r.at(100);
    assert_eq!(r.out(), v(&["1"]));
    r.at(149);
    assert!(r.out().is_empty());
    r.at(150);
    assert_eq!(r.out(), v(&["2"]));
}

// ---- event time -------------------------------------------------------------

const ET: &str = "WITH (event_time = 'ts', watermark_delay = INTERVAL '2' SECOND)";

#[test]
fn tumbling_event_time_out_of_order_late_and_close() {
    let mut r = Run::new(
        "",
        ET,
        "INSERT INTO Out SELECT id, window_start FROM S WINDOW('tumbling', INTERVAL '1' SECOND)",
    );
    // 500 and 1500 in order; 900 arrives after 1500 but within the delay.
    r.row(1, 0, 500).row(2, 0, 1500).row(3, 0, 900);
    assert!(r.out().is_empty(), "watermark is 1500 - 2000: nothing fires");
    // Watermark 3100 - 2000 = 1100: window [0, 1000) fires with rows 1 and 3.
    r.row(4, 0, 3100);
    assert_eq!(r.out(), v(&["1,1970-01-01T00:00:00", "3,1970-01-01T00:00:00"]));
    // 1050 < watermark 1100: late, dropped and counted.
    r.row(5, 0, 1050);
    assert!(r.out().is_empty());
    assert_eq!(stat(&r.stats(), "\"name\":\"S\"", "late"), 1);
    // Closing the input ends the stream: every open window fires.
    r.close_input();
    assert_eq!(r.out(), v(&["2,1970-01-01T00:00:01", "4,1970-01-01T00:00:03"]));
}

/// A stream read only by queries that need no time still keeps its clock:
/// late rows are refused and counted, NULL times too.
#[test]
fn late_rows_are_refused_before_a_query_without_time() {
    let mut r = Run::new("", ET, "INSERT INTO Out SELECT id, ts FROM S");
    r.row(1, 0, 500)
        .row(2, 0, 3100)
        .row(3, 0, 1200)
        .row(4, 0, 1000)
        .row(5, 0, 3000);
    // Watermark 3100 - 2000 = 1100: 1000 is late; 1200 and 3000 are not.
    assert_eq!(r.out(), v(&["1,500", "2,3100", "3,1200", "5,3000"]));
    assert_eq!(stat(&r.stats(), "\"name\":\"S\"", "late"), 1);
}

#[test]
fn host_watermark_fires_windows() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts', watermark_delay = 60000)",
        "INSERT INTO Out SELECT id FROM S WINDOW('tumbling', 1000)",
    );
    r.row(1, 0, 10).row(2, 0, 20).row(3, 0, 1010);
    assert!(r.out().is_empty());
    r.input.watermark(1000).unwrap();
    assert_eq!(r.out(), v(&["1", "2"]));
    // A watermark never moves back.
    r.input.watermark(5).unwrap();
    r.input.watermark(2000).unwrap();
    assert_eq!(r.out(), v(&["3"]));
}

#[test]
fn watermark_on_a_processing_time_stream_is_refused() {
    let mut r = Run::manual("", "INSERT INTO Out SELECT id FROM S");
    let err = r.input.watermark(10).unwrap_err();
    assert_eq!(err.status, Status::InvalidArgument);
    assert!(err.message.contains("event_time"), "{}", err.message);
}

#[test]
fn allowed_lateness_refires_the_window() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts', allowed_lateness = 1000)",
        "INSERT INTO Out SELECT id FROM S WINDOW('tumbling', 1000)",
    );
    r.row(1, 0, 100).row(2, 0, 1200);
    assert_eq!(r.out(), v(&["1"]));
    // 300 is below the watermark (1200) but within the lateness: the window
    // [0, 1000) fires again with both rows.
    r.row(3, 0, 300);
    assert_eq!(r.out(), v(&["1", "3"]));
    // 2100 moves the watermark past 1000 + 1000: [0,1000) is purged; 150 is
    // more than the lateness below the watermark: counted late.
    r.row(4, 0, 2100).row(5, 0, 150);
    assert_eq!(r.out(), v(&["2"]));
    assert_eq!(stat(&r.stats(), "\"name\":\"S\"", "late"), 1);
}

#[test]
fn session_windows_per_key_merge_when_bridged() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts', watermark_delay = 10000)",
        "INSERT INTO Out SELECT id, v, window_start, window_end FROM S WINDOW('session', 100, v)",
    );
    // key 1: 0 and 150 are two sessions until 80 bridges them.
    r.row(1, 1, 0).row(2, 1, 150).row(3, 2, 10).row(4, 1, 80);
    r.close_input();
    let out = r.out();
    assert_eq!(
        out,
        v(&[
            "3,2,1970-01-01T00:00:00.010,1970-01-01T00:00:00.110",
            "1,1,1970-01-01T00:00:00,1970-01-01T00:00:00.250",
            "2,1,1970-01-01T00:00:00,1970-01-01T00:00:00.250",
            "4,1,1970-01-01T00:00:00,1970-01-01T00:00:00.250",
        ])
    );
}

#[test]
fn sliding_windows_overlap() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts')",
        "INSERT INTO Out SELECT id, window_start FROM S WINDOW('sliding', 1000, 500)",
    );
    r.row(1, 0, 700).row(2, 0, 1200);
    r.close_input();
    assert_eq!(
        r.out(),
        v(&[
            "1,1970-01-01T00:00:00",
            "1,1970-01-01T00:00:00.500",
            "2,1970-01-01T00:00:00.500",
            "2,1970-01-01T00:00:01",
        ])
    );
}

#[test]
fn external_time_windows_follow_the_column() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id FROM S WINDOW('externalTime', ts, 100)",
    );
    r.row(1, 0, 1000).row(2, 0, 1050).row(3, 0, 1100).row(4, 0, 1160);
    assert_eq!(
        r.out(),
        v(&["1,false", "2,false", "1,true", "3,false", "2,true", "4,false"])
    );
    let mut b = Run::manual(
        "",
        "INSERT INTO Out SELECT id, window_start FROM S WINDOW('externalTimeBatch', ts, 100)",
    );
    b.row(1, 0, 1000).row(2, 0, 1050).row(3, 0, 1100);
    assert_eq!(b.out(), v(&["1,1970-01-01T00:00:01", "2,1970-01-01T00:00:01"]));
    b.close_input();
    assert_eq!(b.out(), v(&["3,1970-01-01T00:00:01.100"]));
}

// ---- sort, unique, firstUnique --------------------------------------------

#[test]
fn sort_unique_first_unique() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id, v FROM S WINDOW('sort', 2, v, 'desc')",
    );
    r.row(1, 10, 0).row(2, 30, 0).row(3, 20, 0).row(4, 5, 0);
    assert_eq!(
        r.out(),
        v(&[
            "1,10,false",
            "2,30,false",
            "1,10,true",
            "3,20,false",
            "4,5,false",
            "4,5,true"
        ])
    );
    let mut u = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT id, v FROM S WINDOW('unique', v)",
    );
    u.row(1, 7, 0).row(2, 8, 0).row(3, 7, 0);
    assert_eq!(u.out(), v(&["1,7,false", "2,8,false", "1,7,true", "3,7,false"]));
    let mut f = Run::manual("", "INSERT INTO Out SELECT id, v FROM S WINDOW('firstUnique', v)");
    f.row(1, 7, 0).row(2, 8, 0).row(3, 7, 0);
    assert_eq!(f.out(), v(&["1,7", "2,8"]));
}

// ---- errors -----------------------------------------------------------------

#[test]
fn window_errors_name_the_problem() {
    let e = open("");
    e.execute(S).unwrap();
    let cases = [
        (
            "INSERT INTO O SELECT id FROM S WINDOW('nope', 1)",
            "unknown window kind 'nope'",
        ),
        (
            "INSERT INTO O SELECT id FROM S WINDOW('length')",
            "takes 1 argument",
        ),
        (
            "INSERT INTO O SELECT id FROM S WINDOW('length', 0)",
            "positive whole number",
        ),
        (
            "INSERT INTO O SELECT id FROM S WINDOW('time', 'x')",
            "positive duration",
        ),
        (
            "INSERT INTO O SELECT id FROM S WINDOW('session', 10, nope)",
            "unknown column 'nope'",
        ),
        (
            "INSERT INTO O SELECT window_start FROM S WINDOW('length', 2)",
            "window_start is defined only",
        ),
        ("INSERT EXPIRED EVENTS INTO O SELECT id FROM S", "needs a window"),
        (
            "INSERT INTO O SELECT id FROM S WINDOW('sliding', 10, 20)",
            "larger than its size",
        ),
    ];
    for (sql, want) in cases {
        let err = e.execute(sql).unwrap_err();
        assert!(err.message.contains(want), "{sql}: {}", err.message);
        assert!(err.message.starts_with("line 1:"), "{sql}: {}", err.message);
    }
    let err = e
        .execute("CREATE STREAM T (a BIGINT, b STRING) WITH (event_time = 'b')")
        .unwrap_err();
    assert_eq!(err.status, Status::Schema);
    let err = e
        .execute("CREATE STREAM T (a BIGINT) WITH (watermark_delay = 5)")
        .unwrap_err();
    assert!(err.message.contains("need event_time"), "{}", err.message);
    // Nothing was half-applied: the engine still works.
    e.execute("INSERT INTO O SELECT id FROM S WINDOW('length', 2)")
        .unwrap();
}

// ---- aggregation ------------------------------------------------------------

#[test]
fn sum_over_length_batch() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT SUM(v) AS total FROM S WINDOW('lengthBatch', 4)",
    );
    for (i, x) in [10, 20, 30, 40, 50, 60].into_iter().enumerate() {
        r.row(i as i64, x, 0);
    }
    assert_eq!(r.out(), v(&["100"]));
}

#[test]
fn avg_over_length() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT AVG(v) AS a FROM S WINDOW('length', 2)",
    );
    r.row(1, 10, 0).row(2, 20, 0).row(3, 30, 0);
    assert_eq!(r.out(), v(&["10.0", "15.0", "25.0"]));
    // All events: the departure of 10 yields its own row, after it left.
    let mut a = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT AVG(v) AS a FROM S WINDOW('length', 2)",
    );
    a.row(1, 10, 0).row(2, 20, 0).row(3, 30, 0);
    assert_eq!(
        a.out(),
        v(&["10.0,false", "15.0,false", "20.0,true", "25.0,false"])
    );
}

#[test]
fn batch_aggregates_with_expired_groups() {
    let mut r = Run::manual(
        "",
        "INSERT ALL EVENTS INTO Out SELECT SUM(v) AS s, COUNT(*) AS n FROM S WINDOW('lengthBatch', 2)",
    );
    r.row(1, 1, 0).row(2, 2, 0).row(3, 3, 0).row(4, 4, 0);
    assert_eq!(r.out(), v(&["3,2,false", "3,2,true", "7,2,false"]));
}

#[test]
fn every_aggregate_over_a_sliding_group() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT id % 2 AS k, COUNT(*) AS n, COUNT(v) AS nv, COUNT(DISTINCT v) AS d, \
         SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(v) AS hi, STDDEV_POP(v) AS sp, STDDEV(v) AS ss, \
         FIRST(v) AS f, LAST(v) AS l FROM S WINDOW('length', 4) GROUP BY id % 2",
    );
    // ids 1..6, v = 10, 20, 10, 40, 30, 60: odd ids 1,3,5 and even 2,4,6.
    for (i, x) in [10, 20, 10, 40, 30, 60].into_iter().enumerate() {
        r.row(i as i64 + 1, x, 0);
    }
    assert_eq!(
        r.out(),
        v(&[
            "1,1,1,1,10,10.0,10,10,0.0,NULL,10,10",
            "0,1,1,1,20,20.0,20,20,0.0,NULL,20,20",
            "1,2,2,1,20,10.0,10,10,0.0,0.0,10,10",
            "0,2,2,2,60,30.0,20,40,10.0,14.142135623730951,20,40",
            // id 5 arrives, id 1 (v 10) leaves: odd = {10 (id 3), 30}
            "1,2,2,2,40,20.0,10,30,10.0,14.142135623730951,10,30",
            // id 6 arrives, id 2 (v 20) leaves: even = {40, 60}
            "0,2,2,2,100,50.0,40,60,10.0,14.142135623730951,40,60",
        ])
    );
}

#[test]
fn tumbling_group_by_window_start_having_order_limit() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts')",
        "INSERT INTO Out SELECT v AS k, window_start, COUNT(*) AS n, SUM(id) AS s FROM S \
         WINDOW('tumbling', 1000) GROUP BY v, window_start HAVING COUNT(*) > 1 ORDER BY s DESC LIMIT 2",
    );
    // Window [0,1000): key 1 x3 (ids 1,2,3), key 2 x2 (4,5), key 3 x1 (6).
    r.row(1, 1, 10)
        .row(4, 2, 20)
        .row(2, 1, 30)
        .row(6, 3, 40)
        .row(5, 2, 50)
        .row(3, 1, 60);
    r.row(7, 1, 1500);
    assert_eq!(
        r.out(),
        v(&["2,1970-01-01T00:00:00,2,9", "1,1970-01-01T00:00:00,3,6"])
    );
    r.close_input();
    assert!(
        r.out().is_empty(),
        "the last window has one row per key: HAVING drops it"
    );
}

#[test]
fn running_aggregate_without_window() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT v, COUNT(*) AS n, MAX(id) AS m FROM S GROUP BY v",
    );
    r.row(1, 7, 0).row(2, 8, 0).row(3, 7, 0);
    assert_eq!(r.out(), v(&["7,1,1", "8,1,2", "7,2,3"]));
}

#[test]
fn group_state_is_freed_when_its_events_leave() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT id, COUNT(*) AS n FROM S WINDOW('length', 1) GROUP BY id",
    );
    r.ids(0..100_000);
    assert_eq!(r.out().len(), 100_000);
    // 100,000 groups would take megabytes; one live group (plus the input
    // batch its row arrived in, which the window references) takes little.
    let bytes = stat(&r.stats(), "\"queries\"", "state_bytes");
    assert!(bytes < 1 << 20, "one live group, state {bytes} bytes");
}

// ---- output rate limiting ---------------------------------------------------

#[test]
fn output_every_n_events() {
    let q = |mode: &str| {
        format!("INSERT INTO Out SELECT id FROM S WINDOW('length', 10) OUTPUT {mode} EVERY 3 EVENTS")
    };
    let mut all = Run::manual("", &q("ALL"));
    all.ids(1..=7);
    assert_eq!(all.out(), v(&["1", "2", "3", "4", "5", "6"]));
    all.close_input();
    assert_eq!(all.out(), v(&["7"]), "the partial block goes out at the end");
    let mut first = Run::manual("", &q("FIRST"));
    first.ids(1..=7);
    assert_eq!(first.out(), v(&["1", "4", "7"]));
    let mut last = Run::manual("", &q("LAST"));
    last.ids(1..=7);
    assert_eq!(last.out(), v(&["3", "6"]));
    last.close_input();
    assert_eq!(last.out(), v(&["7"]));
}

#[test]
fn output_every_interval_and_snapshot() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT id FROM S WINDOW('length', 10) OUTPUT LAST EVERY INTERVAL '1' SECOND",
    );
    r.at(0).ids([1, 2]);
    r.at(500).ids([3]);
    assert!(r.out().is_empty());
    r.at(1000);
    assert_eq!(r.out(), v(&["3"]));
    let mut s = Run::manual(
        "",
        "INSERT INTO Out SELECT v, COUNT(*) AS n FROM S WINDOW('length', 3) GROUP BY v \
         OUTPUT SNAPSHOT EVERY INTERVAL '1' SECOND",
    );
    s.at(0).row(1, 7, 0).row(2, 8, 0).row(3, 7, 0).row(4, 9, 0);
    assert!(s.out().is_empty());
    // Window holds ids 2, 3, 4: v 8, 7, 9.
    s.at(1000);
    assert_eq!(s.out(), v(&["7,1", "8,1", "9,1"]));
}

#[test]
fn processing_time_tumbling_fires_on_the_clock() {
    let mut r = Run::manual(
        "",
        "INSERT INTO Out SELECT COUNT(*) AS n, window_start FROM S WINDOW('tumbling', INTERVAL '1' SECOND)",
    );
    r.at(10).ids([1, 2]);
    r.at(999);
    assert!(r.out().is_empty());
    r.at(1000).ids([3]);
    assert_eq!(r.out(), v(&["2,1970-01-01T00:00:00"]));
    r.at(5000);
    assert_eq!(r.out(), v(&["1,1970-01-01T00:00:01"]));
}

// ---- bounded state ----------------------------------------------------------

/// 10 million events through sliding windows (count and event time) with
/// grouped aggregates: the state the engine reports stays bounded (it does
/// not grow with the number of events).
#[test]
fn state_stays_bounded_over_ten_million_events() {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    let e = open("");
    e.execute(
        "CREATE STREAM S (k BIGINT, v BIGINT, ts BIGINT) WITH (event_time = 'ts');
         INSERT INTO A SELECT k, AVG(v) AS a, MAX(v) AS m FROM S WINDOW('length', 1000) GROUP BY k;
         INSERT INTO B SELECT k, COUNT(*) AS n, MIN(v) AS m FROM S WINDOW('time', 500) GROUP BY k;",
    )
    .unwrap();
    // Results are consumed by counting: keep the subscription queues short.
    let subs = [e.subscribe("A").unwrap(), e.subscribe("B").unwrap()];
    let mut input = e.open_input("S").unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new("v", DataType::Int64, true),
        Field::new("ts", DataType::Int64, true),
    ]));
    let n: i64 = 10_000_000;
    let chunk: i64 = 8192;
    let mut rows_out = 0usize;
    let mut sampled: Vec<i64> = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + chunk).min(n);
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values((start..end).map(|i| (i * 37) % 100))),
                Arc::new(Int64Array::from_iter_values(
                    (start..end).map(|i| (i * 7919) % 10_000),
                )),
                Arc::new(Int64Array::from_iter_values(start..end)),
            ],
        )
        .unwrap();
        input.push_batch(&b).unwrap();
        start = end;
        if (start / chunk) % 100 == 0 || start == n {
            e.flush(60_000).unwrap();
            for s in &subs {
                while let Ok(b) = s.next(Some(Duration::ZERO)) {
                    rows_out += b.num_rows();
                }
            }
            let st = e.stats_json();
            let total: i64 = st
                .match_indices("\"state_bytes\":")
                .map(|(i, k)| {
                    let rest = &st[i + k.len()..];
                    rest.chars()
                        .take_while(|c| c.is_ascii_digit())
                        .collect::<String>()
                        .parse::<i64>()
                        .unwrap()
                })
                .sum();
            sampled.push(total);
        }
    }
    assert_eq!(rows_out as i64, 2 * n, "one row per event from each query");
    let first = sampled[1];
    let max = *sampled.iter().max().unwrap();
    // Windows of 1000 events / 500 ms (500 events) over 100 keys, plus the
    // input batches they reference: a few MiB at most, never growing.
    assert!(max < 8 << 20, "state peaked at {max} bytes: {sampled:?}");
    assert!(*sampled.last().unwrap() <= first * 2, "state grew: {sampled:?}");
}

/// Regression: in event time a time window expires rows in time order, which
/// is not arrival order; MAX (and FIRST/LAST) must not assume it is.
#[test]
fn event_time_window_expires_out_of_arrival_order() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts', watermark_delay = 100)",
        "INSERT ALL EVENTS INTO Out SELECT id, MAX(v) AS m, FIRST(v) AS f FROM S WINDOW('time', 50)",
    );
    // 30 arrives after 40 (within the delay); both expire before 200.
    r.row(1, 7, 40).row(2, 9, 30);
    r.row(3, 1, 200);
    assert_eq!(
        r.out(),
        v(&[
            "1,7,7,false",
            "2,9,7,false",
            // Watermark 100 expires 30 (due at 80) then 40 (due at 90).
            "2,7,7,true",
            "1,NULL,NULL,true",
            "3,1,1,false"
        ])
    );
}

/// Regression (found by the sql_grammar fuzz target): a delay window in
/// event time releases rows in time order; a late row within the allowed
/// lateness is released before rows that arrived earlier, and FIRST/LAST
/// see the rows in release order.
#[test]
fn delay_window_releases_in_time_order_to_aggregates() {
    let mut r = Run::new(
        "",
        "WITH (event_time = 'ts', watermark_delay = 0, allowed_lateness = 1000)",
        "INSERT INTO Out SELECT id, FIRST(v) AS f, LAST(v) AS l, COUNT(*) AS n FROM S WINDOW('delay', 10)",
    );
    // 100 arrives, then 50 (late, within the lateness): at watermark 200
    // both are due; 50 is released first.
    r.row(1, 1, 100).row(2, 2, 50).row(3, 3, 200);
    assert_eq!(r.out(), v(&["2,2,2,1", "1,2,1,2"]));
}

/// Aggregating panes place the rows of a batch in runs (consecutive rows
/// bound for the same panes), one loop per key representation: no GROUP BY
/// key, a nullable BIGINT, a BOOLEAN, a nullable STRING (empty, short and
/// longer than 8 bytes) and two columns. Each query's output, pushed as one
/// Arrow batch and as single rows, equals a brute-force computation: per
/// window in time order, groups in order of first arrival, with COUNT,
/// SUM, MAX, LAST and the first time.
#[test]
fn panes_group_every_key_shape_alike_in_bulk_and_row_by_row() {
    use arrow::array::{BooleanArray, Int64Array, StringArray};
    use std::sync::Arc;
    const N: i64 = 3000;
    let k = |i: i64| (i % 11 != 0).then_some((i * 7) % 5);
    let s = |i: i64| (i % 13 != 0).then_some(["a", "bb", "a-key-over-8-bytes", ""][((i * 3) % 4) as usize]);
    let b = |i: i64| i % 3 == 0;
    let val = |i: i64| (i * 37) % 101 - 50;
    let show = |x: Option<String>| x.unwrap_or_else(|| "NULL".into());
    type KeyOf = Box<dyn Fn(i64) -> String>;
    let keys: [(&str, KeyOf); 5] = [
        ("", Box::new(|_| String::new())),
        ("k", Box::new(move |i| show(k(i).map(|x| x.to_string())))),
        ("b", Box::new(move |i| b(i).to_string())),
        ("s", Box::new(move |i| show(s(i).map(String::from)))),
        (
            "k, s",
            Box::new(move |i| {
                format!(
                    "{},{}",
                    show(k(i).map(|x| x.to_string())),
                    show(s(i).map(String::from))
                )
            }),
        ),
    ];
    // Tumbling (one pane per row) and hopping (two panes per row).
    for (window, size, slide) in [("'tumbling', 500", 500, 500), ("'sliding', 500, 250", 500, 250)] {
        let mut want: Vec<Vec<String>> = vec![Vec::new(); keys.len()];
        let mut start = -size + slide;
        while start < N {
            for (q, (_, key)) in keys.iter().enumerate() {
                let mut groups: Vec<(String, Vec<i64>)> = Vec::new();
                for i in start.max(0)..(start + size).min(N) {
                    match groups.iter_mut().find(|g| g.0 == key(i)) {
                        Some(g) => g.1.push(i),
                        None => groups.push((key(i), vec![i])),
                    }
                }
                for (kv, rows) in groups {
                    let vals: Vec<i64> = rows.iter().map(|&i| val(i)).collect();
                    let agg = format!(
                        "{},{},{},{},{}",
                        rows.len(),
                        vals.iter().sum::<i64>(),
                        vals.iter().max().unwrap(),
                        vals.last().unwrap(),
                        rows[0]
                    );
                    want[q].push(if keys[q].0.is_empty() {
                        agg
                    } else {
                        format!("{kv},{agg}")
                    });
                }
            }
            start += slide;
        }
        for bulk in [true, false] {
            let e = open("");
            let mut sql = "CREATE STREAM T (k BIGINT, s STRING, b BOOLEAN, v BIGINT, ts BIGINT) \
                           WITH (event_time = 'ts', watermark_delay = 0);"
                .to_string();
            for (q, (by, _)) in keys.iter().enumerate() {
                let sel = if by.is_empty() {
                    String::new()
                } else {
                    format!("{by}, ")
                };
                sql += &format!(
                    "INSERT INTO O{q} SELECT {sel}COUNT(*) AS n, SUM(v) AS sv, MAX(v) AS hi, LAST(v) AS l, \
                     MIN(ts) AS t0 FROM T WINDOW({window}) GROUP BY {sel}window_start;"
                );
            }
            e.execute(&sql).unwrap();
            let subs: Vec<Subscription> = (0..keys.len())
                .map(|q| e.subscribe(&format!("O{q}")).unwrap())
                .collect();
            let mut input = e.open_input("T").unwrap();
            if bulk {
                let batch = RecordBatch::try_from_iter([
                    ("k", Arc::new((0..N).map(k).collect::<Int64Array>()) as _),
                    ("s", Arc::new((0..N).map(s).collect::<StringArray>()) as _),
                    (
                        "b",
                        Arc::new((0..N).map(|i| Some(b(i))).collect::<BooleanArray>()) as _,
                    ),
                    ("v", Arc::new((0..N).map(val).collect::<Int64Array>()) as _),
                    ("ts", Arc::new((0..N).collect::<Int64Array>()) as _),
                ])
                .unwrap();
                input.push_batch(&batch).unwrap();
            } else {
                for i in 0..N {
                    input.begin_row().unwrap();
                    match k(i) {
                        Some(x) => input.set_i64(0, x).unwrap(),
                        None => input.set_null(0).unwrap(),
                    }
                    match s(i) {
                        Some(x) => input.set_str(1, x.as_bytes()).unwrap(),
                        None => input.set_null(1).unwrap(),
                    }
                    input.set_bool(2, b(i)).unwrap();
                    input.set_i64(3, val(i)).unwrap();
                    input.set_i64(4, i).unwrap();
                    input.end_row().unwrap();
                }
            }
            input.close().unwrap();
            e.flush(10_000).unwrap();
            for (q, sub) in subs.iter().enumerate() {
                let mut got = Vec::new();
                while let Ok(batch) = sub.next(Some(Duration::ZERO)) {
                    got.extend(lines(&batch));
                }
                assert_eq!(got, want[q], "{window}, GROUP BY {:?}, bulk {bulk}", keys[q].0);
            }
        }
    }
}
