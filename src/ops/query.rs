//! A query with state: WHERE, then a window (or none), then the selector,
//! then output rate limiting. Runs in its input stream's time.

use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;

use super::rate::RateLimiter;
use super::select::Selector;
use super::window::{self, Chunk, RowTimes, Window};
use super::Operator;
use crate::error::Result;
use crate::expr::Expr;
use crate::sql::plan::{OutputEvents, QueryPlan};
use crate::state::{corrupt, put_bool, put_bytes, put_var, seal, unseal, Reader};

const SNAPSHOT_MAGIC: &[u8; 4] = b"EDQ1";

pub(crate) struct StatefulQuery {
    /// What it was built from: `restore` builds a fresh query from it and
    /// replaces this one only when the whole snapshot restored.
    built: (QueryPlan, SchemaRef, SchemaRef, TimeSettings, bool),
    filter: Option<Expr>,
    window: Option<Box<dyn Window>>,
    selector: Selector,
    rate: Option<RateLimiter>,
    /// Arrival numbers for queries without a window.
    seq: u64,
    chunks: Vec<Chunk>,
    selected: Vec<RecordBatch>,
    /// Tests: chunks reach the selector in event order (`Chunk::order`
    /// undone), and how many came in stored order.
    #[cfg(test)]
    event_order: Option<usize>,
}

/// Time settings of the stream a query reads.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimeSettings {
    /// The stream has an event-time column.
    pub event_time: bool,
    /// How late (below the watermark) a row may be and still be applied.
    pub lateness: i64,
}

impl StatefulQuery {
    pub fn new(
        plan: &QueryPlan,
        in_schema: &SchemaRef,
        out_schema: SchemaRef,
        time: TimeSettings,
    ) -> Result<StatefulQuery> {
        Self::build(plan, in_schema, out_schema, time, true)
    }

    /// `pane_agg`: windows may aggregate as rows arrive (always, but for the
    /// tests that compare it with aggregating the window's events).
    fn build(
        plan: &QueryPlan,
        in_schema: &SchemaRef,
        out_schema: SchemaRef,
        time: TimeSettings,
        pane_agg: bool,
    ) -> Result<StatefulQuery> {
        let aggregates = plan.aggregate.is_some();
        let batch = plan.window.as_ref().is_some_and(|w| w.is_batch());
        // Expired events matter when they are output, or when they leave
        // running aggregates.
        let keep_expired = plan.events != OutputEvents::Current || (aggregates && !batch);
        // Event time is out of order within the watermark delay (and the
        // allowed lateness), so windows that expire (or release) by event
        // time do not do so in arrival order; nor do external-time windows.
        // Count windows expire in arrival order whatever the time.
        use crate::sql::plan::WindowPlan as W;
        let out_of_order = match plan.window {
            Some(W::Time(_) | W::Delay(_)) => time.event_time,
            Some(W::ExternalTime { .. }) => true,
            _ => false,
        };
        let fifo = plan.window.as_ref().map_or(true, |w| w.expires_fifo()) && !out_of_order;
        let in_panes = match &plan.aggregate {
            Some(a) if pane_agg => window::PaneAgg::new(a, in_schema.fields().len())?,
            _ => None,
        };
        // A length window feeding aggregates, current events out: the
        // selector keeps the aggregates as events arrive and leave, and no
        // window is needed (count_agg.rs). OUTPUT SNAPSHOT repeats each
        // group's last row, which only the per-event path keeps.
        let snapshot = plan
            .output_rate
            .is_some_and(|r| r.mode == crate::sql::plan::OutputMode::Snapshot);
        let count_window = match (&plan.window, &plan.aggregate) {
            (Some(W::Length(n)), Some(_))
                if pane_agg && plan.events == OutputEvents::Current && !snapshot =>
            {
                Some(usize::try_from(*n).unwrap_or(usize::MAX))
            }
            _ => None,
        };
        let window = plan
            .window
            .as_ref()
            .filter(|_| count_window.is_none())
            .map(|w| window::build(w, in_schema, keep_expired, time.lateness, in_panes));
        Ok(StatefulQuery {
            built: (
                plan.clone(),
                in_schema.clone(),
                out_schema.clone(),
                time,
                pane_agg,
            ),
            filter: plan.filter.clone(),
            window,
            selector: Selector::new(plan, in_schema, out_schema.clone(), fifo, count_window)?,
            rate: plan.output_rate.map(|r| RateLimiter::new(r, out_schema)),
            seq: 0,
            chunks: Vec::new(),
            selected: Vec::new(),
            #[cfg(test)]
            event_order: None,
        })
    }

    /// The column types in and out, as text: what a snapshot must match.
    fn shape(&self) -> String {
        let (_, i, o, _, _) = &self.built;
        let types = |s: &SchemaRef| {
            s.fields()
                .iter()
                .map(|f| f.data_type().to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        format!("{} -> {}", types(i), types(o))
    }

    /// Chunks → selector → rate limiter → `out`, at time `now`.
    fn emit(&mut self, now: i64, out: &mut Vec<RecordBatch>) -> Result<()> {
        for c in self.chunks.drain(..) {
            #[cfg(test)]
            let c = match &mut self.event_order {
                Some(n) => {
                    *n += c.order.is_some() as usize;
                    c.in_event_order()?
                }
                None => c,
            };
            self.selector.select(&c, &mut self.selected)?;
        }
        match &mut self.rate {
            None => out.append(&mut self.selected),
            Some(r) => {
                let mut snap = false;
                for b in self.selected.drain(..) {
                    snap |= r.rows(b, now, out)?;
                }
                if snap {
                    self.emit_snapshot(out)?;
                }
            }
        }
        Ok(())
    }

    fn emit_snapshot(&mut self, out: &mut Vec<RecordBatch>) -> Result<()> {
        if let Some(b) = self.selector.current_values()? {
            out.push(b);
        } else if let Some(w) = &self.window {
            if let Some(rows) = w.contents()? {
                out.push(self.selector.project_rows(&rows)?);
            }
        }
        Ok(())
    }
}

impl Operator for StatefulQuery {
    fn process(&mut self, batch: &RecordBatch, out: &mut Vec<RecordBatch>) -> Result<()> {
        let n = batch.num_rows();
        let zeros = vec![0i64; n];
        self.process_at(
            batch,
            RowTimes {
                ts: &zeros,
                wm: &zeros,
            },
            out,
        )
    }

    fn process_at(
        &mut self,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        let (rows, ts, wm);
        let (rows, times) = match &self.filter {
            None => (batch, times),
            Some(f) => {
                let mask: BooleanArray = f.eval_predicate(batch)?;
                if mask.true_count() == batch.num_rows() {
                    (batch, times)
                } else {
                    rows = filter_record_batch(batch, &mask)?;
                    let keep = |v: &[i64]| -> Vec<i64> {
                        v.iter()
                            .enumerate()
                            .filter(|(i, _)| mask.value(*i))
                            .map(|(_, x)| *x)
                            .collect()
                    };
                    ts = keep(times.ts);
                    wm = keep(times.wm);
                    (&rows, RowTimes { ts: &ts, wm: &wm })
                }
            }
        };
        let now = times.wm.last().copied().unwrap_or(i64::MIN);
        if rows.num_rows() > 0 {
            match &mut self.window {
                Some(w) => w.process(rows, times, &mut self.chunks)?,
                None => {
                    let n = rows.num_rows();
                    self.chunks.push(Chunk {
                        rows: rows.clone(),
                        expired: vec![false; n],
                        seq: (self.seq..self.seq + n as u64).collect(),
                        order: None,
                        bounds: None,
                        triggers: (1..=n).collect(),
                        batch: false,
                        aggregates: None,
                    });
                    self.seq += n as u64;
                }
            }
        }
        self.emit(now, out)
    }

    fn advance(&mut self, t: i64, out: &mut Vec<RecordBatch>) -> Result<()> {
        if let Some(w) = &mut self.window {
            w.advance(t, &mut self.chunks)?;
        }
        self.emit(t, out)?;
        if let Some(r) = &mut self.rate {
            if r.advance(t, out)? {
                self.emit_snapshot(out)?;
            }
        }
        Ok(())
    }

    fn next_deadline(&self) -> Option<i64> {
        let w = self.window.as_ref().and_then(|w| w.next_deadline());
        let r = self.rate.as_ref().and_then(|r| r.next_deadline());
        match (w, r) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn finish(&mut self, out: &mut Vec<RecordBatch>) -> Result<()> {
        if let Some(w) = &mut self.window {
            w.advance(i64::MAX, &mut self.chunks)?;
        }
        self.emit(i64::MAX, out)?;
        if self.rate.as_ref().is_some_and(|r| r.is_snapshot()) {
            self.emit_snapshot(out)?;
        }
        if let Some(r) = &mut self.rate {
            r.finish(out)?;
        }
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.window.as_ref().map_or(0, |w| w.state_bytes())
            + self.selector.state_bytes()
            + self.rate.as_ref().map_or(0, |r| r.state_bytes())
    }

    fn late(&self) -> u64 {
        self.window.as_ref().map_or(0, |w| w.late())
    }

    // Layout (sealed with a checksum): the schemas' column types (a snapshot restores only
    // into the query it came from), the arrival counter, then the window,
    // selector and rate limiter, each checking its own part.
    fn snapshot(&self) -> Result<Vec<u8>> {
        let mut w = Vec::new();
        put_bytes(&mut w, self.shape().as_bytes());
        put_var(&mut w, self.seq);
        put_bool(&mut w, self.window.is_some());
        if let Some(win) = &self.window {
            win.snapshot(&mut w)?;
        }
        self.selector.write_state(&mut w)?;
        put_bool(&mut w, self.rate.is_some());
        if let Some(r) = &self.rate {
            r.write_state(&mut w)?;
        }
        Ok(seal(SNAPSHOT_MAGIC, &w))
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let (plan, in_schema, out_schema, time, panes) = &self.built;
        let mut q = StatefulQuery::build(plan, in_schema, out_schema.clone(), *time, *panes)?;
        let mut r = Reader::new(unseal(SNAPSHOT_MAGIC, snapshot)?);
        if r.blob()? != q.shape().as_bytes() {
            return Err(corrupt("taken of a query with other columns"));
        }
        q.seq = r.count()?;
        if r.bool()? != q.window.is_some() {
            return Err(corrupt("window does not match the query"));
        }
        if let Some(win) = &mut q.window {
            win.restore(&mut r)?;
        }
        q.selector.read_state(&mut r)?;
        if r.bool()? != q.rate.is_some() {
            return Err(corrupt("output rate does not match the query"));
        }
        if let Some(rate) = &mut q.rate {
            rate.read_state(&mut r)?;
        }
        r.end()?;
        *self = q;
        Ok(())
    }

    fn uses_time(&self) -> bool {
        true
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Snapshot, restore into a fresh query, go on: the output must be the
    //! output of a run that never stopped, for every window kind.

    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::compute::concat_batches;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::sql::{plan_statements, Catalog, Plan};
    use crate::Status;

    struct NoStreams;
    impl Catalog for NoStreams {
        fn stream(&self, _: &str) -> Option<(String, SchemaRef)> {
            None
        }
    }

    /// The plan of `query` over `T (sym STRING, price DOUBLE, vol BIGINT,
    /// ts BIGINT)`.
    pub(crate) fn plan(query: &str) -> QueryPlan {
        let sql = format!("CREATE STREAM T (sym STRING, price DOUBLE, vol BIGINT, ts BIGINT); {query}");
        let plans = plan_statements(&sql, &NoStreams).unwrap_or_else(|e| panic!("{query}: {e}"));
        match plans.into_iter().last() {
            Some(Plan::Insert(q)) => q,
            _ => panic!("not a query"),
        }
    }

    /// Input batches (random sizes) with per-row times: event time out of
    /// order by up to 25 ms, watermark = largest time - 20; rows below
    /// watermark - lateness are dropped as the stream would.
    fn input(lateness: i64) -> Vec<(RecordBatch, Vec<i64>, Vec<i64>)> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("sym", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
            Field::new("vol", DataType::Int64, true),
            Field::new("ts", DataType::Int64, true),
        ]));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut out, mut i, mut max_ts) = (Vec::new(), 0i64, i64::MIN);
        while i < 700 {
            let n = 1 + rnd(40) as i64;
            let (mut sym, mut price, mut vol, mut ts, mut wms) = (vec![], vec![], vec![], vec![], vec![]);
            for k in i..i + n {
                let t = k * 7 - rnd(26) as i64;
                let wm = max_ts.saturating_sub(20);
                if t < wm.saturating_sub(lateness) {
                    continue;
                }
                max_ts = max_ts.max(t);
                sym.push(format!("s{}", rnd(4)));
                price.push(rnd(1000) as f64 / 10.0);
                vol.push(rnd(100) as i64);
                ts.push(t);
                wms.push(wm);
            }
            i += n;
            if ts.is_empty() {
                continue;
            }
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(sym)),
                    Arc::new(Float64Array::from(price)),
                    Arc::new(Int64Array::from(vol)),
                    Arc::new(Int64Array::from(ts.clone())),
                ],
            )
            .unwrap();
            out.push((b, ts, wms));
        }
        out
    }

    fn query(p: &QueryPlan, lateness: i64) -> StatefulQuery {
        let time = TimeSettings {
            event_time: true,
            lateness,
        };
        StatefulQuery::new(p, &p.input_schema, p.output_schema.clone(), time).unwrap()
    }

    /// Runs batches `from..to`; after each, time advances to its last
    /// watermark (as the engine's timers would).
    fn run(q: &mut StatefulQuery, data: &[(RecordBatch, Vec<i64>, Vec<i64>)], out: &mut Vec<RecordBatch>) {
        for (b, ts, wm) in data {
            q.process_at(b, RowTimes { ts, wm }, out)
                .unwrap_or_else(|e| panic!("{}: {e}", q.built.0.sql));
            q.advance(*wm.last().unwrap(), out).unwrap();
        }
    }

    const QUERIES: &[&str] = &[
        "INSERT INTO O SELECT sym, SUM(vol) AS s, AVG(price) AS a, MIN(price) AS lo, MAX(price) AS hi \
         FROM T WINDOW('length', 7) GROUP BY sym",
        "INSERT ALL EVENTS INTO O SELECT sym, COUNT(*) AS n, MAX(vol) AS m FROM T WINDOW('time', 50) GROUP BY sym",
        "INSERT ALL EVENTS INTO O SELECT sym, price FROM T WINDOW('externalTime', ts, 40)",
        "INSERT INTO O SELECT sym, vol FROM T WINDOW('delay', 30)",
        "INSERT ALL EVENTS INTO O SELECT sym, price FROM T WINDOW('sort', 5, price, 'desc')",
        "INSERT ALL EVENTS INTO O SELECT sym, AVG(price) AS a FROM T WINDOW('unique', sym)",
        "INSERT INTO O SELECT sym, vol FROM T WINDOW('firstUnique', sym)",
        "INSERT INTO O SELECT sym, SUM(vol) AS s FROM T WINDOW('lengthBatch', 8) GROUP BY sym",
        "INSERT ALL EVENTS INTO O SELECT sym, vol FROM T WINDOW('lengthBatch', 3)",
        "INSERT ALL EVENTS INTO O SELECT COUNT(*) AS n, window_start FROM T WINDOW('timeBatch', 100)",
        "INSERT INTO O SELECT sym, COUNT(*) AS n FROM T WINDOW('externalTimeBatch', ts, 100) GROUP BY sym",
        "INSERT INTO O SELECT sym, window_start, COUNT(*) AS n, SUM(vol) AS v FROM T \
         WINDOW('tumbling', 100) GROUP BY sym, window_start HAVING COUNT(*) > 1 ORDER BY v DESC LIMIT 3",
        "INSERT INTO O SELECT sym, window_start, STDDEV_POP(price) AS sd, COUNT(DISTINCT vol) AS d FROM T \
         WINDOW('sliding', 100, 30) GROUP BY sym, window_start",
        "INSERT INTO O SELECT sym, window_start, window_end, COUNT(*) AS n FROM T \
         WINDOW('session', 12, sym) GROUP BY sym, window_start, window_end",
        "INSERT INTO O SELECT sym, COUNT(*) AS n FROM T GROUP BY sym OUTPUT LAST EVERY 5 EVENTS",
        "INSERT INTO O SELECT sym, vol FROM T WINDOW('length', 4) OUTPUT ALL EVERY 9 EVENTS",
        "INSERT INTO O SELECT sym, SUM(vol) AS s FROM T WINDOW('time', 60) GROUP BY sym \
         OUTPUT SNAPSHOT EVERY INTERVAL '45' MILLISECOND",
        "INSERT INTO O SELECT sym, vol FROM T WINDOW('length', 3) OUTPUT SNAPSHOT EVERY INTERVAL '45' MILLISECOND",
        "INSERT INTO O SELECT sym, vol FROM T WHERE vol > 20 ORDER BY vol LIMIT 2 OUTPUT FIRST EVERY INTERVAL '40' MILLISECOND",
    ];

    fn rows(out: &[RecordBatch], schema: &SchemaRef) -> RecordBatch {
        concat_batches(schema, out).unwrap()
    }

    #[test]
    fn restored_queries_continue_as_if_never_stopped() {
        for lateness in [0, 40] {
            let data = input(lateness);
            for sql in QUERIES {
                let p = plan(sql);
                let mut whole = Vec::new();
                let mut q = query(&p, lateness);
                run(&mut q, &data, &mut whole);
                q.finish(&mut whole).unwrap();
                let expected = rows(&whole, &p.output_schema);
                assert!(expected.num_rows() > 0, "{sql}: no output to compare");
                for cut in [1, data.len() / 3, data.len() - 1] {
                    let mut out = Vec::new();
                    let mut a = query(&p, lateness);
                    run(&mut a, &data[..cut], &mut out);
                    let snap = a.snapshot().unwrap();
                    drop(a);
                    let mut b = query(&p, lateness);
                    b.restore(&snap).unwrap();
                    // A restored query snapshots to the same bytes.
                    assert!(
                        b.snapshot().unwrap() == snap,
                        "{sql}: the restored query snapshots differently"
                    );
                    run(&mut b, &data[cut..], &mut out);
                    b.finish(&mut out).unwrap();
                    assert_eq!(
                        rows(&out, &p.output_schema),
                        expected,
                        "{sql} (lateness {lateness}): cut after batch {cut}"
                    );
                }
            }
        }
    }

    /// Aggregating in panes as rows arrive gives exactly what aggregating
    /// a pane's rows when it fires gives: late rows re-firing, every
    /// aggregate and argument type, expressions as keys and arguments,
    /// the clauses after aggregation, snapshots midway.
    #[test]
    fn chunks_in_stored_order_select_as_in_event_order() {
        // Windows whose chunks interleave departures and arrivals, and
        // queries that read them each way: per-event aggregation (grouped,
        // ungrouped, every kind of event), plain rows, ORDER BY per trigger.
        const ORDER_QUERIES: &[&str] = &[
            "INSERT INTO O SELECT sym, AVG(price) AS a, MAX(price) AS m FROM T WINDOW('length', 5)",
            "INSERT ALL EVENTS INTO O SELECT sym, COUNT(*) AS n, SUM(vol) AS s, MIN(sym) AS lo              FROM T WINDOW('length', 3) GROUP BY sym",
            "INSERT EXPIRED EVENTS INTO O SELECT sym, MAX(vol) AS m FROM T WINDOW('length', 4) GROUP BY sym",
            "INSERT ALL EVENTS INTO O SELECT sym, price, vol FROM T WINDOW('length', 6)",
            "INSERT ALL EVENTS INTO O SELECT sym, vol FROM T WINDOW('length', 2) ORDER BY vol DESC LIMIT 1",
            "INSERT ALL EVENTS INTO O SELECT sym, COUNT(*) AS n, MAX(vol) AS m FROM T WINDOW('time', 50) GROUP BY sym",
            "INSERT ALL EVENTS INTO O SELECT sym, FIRST(price) AS f, LAST(vol) AS l FROM T              WINDOW('sort', 5, price, 'desc') GROUP BY sym",
            "INSERT ALL EVENTS INTO O SELECT sym, AVG(price) AS a FROM T WINDOW('unique', sym)",
            "INSERT INTO O SELECT sym, SUM(vol) AS s FROM T WINDOW('length', 4) GROUP BY sym HAVING SUM(vol) > 90",
            "INSERT INTO O SELECT sym, SUM(vol) AS s FROM T WINDOW('length', 5) GROUP BY sym              OUTPUT SNAPSHOT EVERY INTERVAL '45' MILLISECOND",
            "INSERT INTO O SELECT COUNT(*) AS n, AVG(vol) AS a FROM T WINDOW('time', 40) OUTPUT LAST EVERY 4 EVENTS",
        ];
        for lateness in [0, 40] {
            let data = input(lateness);
            for sql in ORDER_QUERIES {
                let p = plan(sql);
                // The per-event path: length windows would aggregate as
                // events arrive (count_agg.rs), with no chunks.
                let time = TimeSettings {
                    event_time: true,
                    lateness,
                };
                let unfused = || {
                    StatefulQuery::build(&p, &p.input_schema, p.output_schema.clone(), time, false).unwrap()
                };
                let (mut a, mut b) = (unfused(), unfused());
                b.event_order = Some(0);
                let (mut x, mut y) = (Vec::new(), Vec::new());
                run(&mut a, &data, &mut x);
                a.finish(&mut x).unwrap();
                run(&mut b, &data, &mut y);
                b.finish(&mut y).unwrap();
                let (x, y) = (rows(&x, &p.output_schema), rows(&y, &p.output_schema));
                assert!(x.num_rows() > 0, "{sql}: no output to compare");
                assert_eq!(x, y, "{sql} (lateness {lateness})");
                assert!(b.event_order.unwrap() > 0, "{sql}: no chunk in stored order");
            }
        }
    }

    #[test]
    fn pane_aggregation_equals_aggregating_at_firing() {
        const PANE_QUERIES: &[&str] = &[
            "INSERT INTO O SELECT sym, window_start, price, COUNT(*) AS n, COUNT(vol) AS c, SUM(vol) AS s, \
             AVG(price) AS a, MIN(price) AS lo, MAX(vol) AS hi, MIN(sym) AS ms, MAX(sym) AS xs, \
             FIRST(price) AS f, LAST(sym) AS l, FIRST(sym) AS fs, COUNT(DISTINCT vol) AS d, \
             STDDEV_SAMP(price) AS sd, STDDEV_POP(vol) AS sp FROM T WINDOW('tumbling', 100) \
             GROUP BY sym, window_start",
            "INSERT INTO O SELECT sym, window_start, window_end, COUNT(*) AS n, SUM(price) AS s \
             FROM T WINDOW('sliding', 100, 30)",
            "INSERT INTO O SELECT sym, COUNT(*) AS n, AVG(vol) AS a FROM T WINDOW('timeBatch', 50) \
             GROUP BY sym HAVING COUNT(*) > 1 ORDER BY a DESC, sym LIMIT 2",
            "INSERT INTO O SELECT vol % 3 AS k, SUM(price * 2) AS s, LAST(vol) AS l, window_end FROM T \
             WINDOW('externalTimeBatch', ts, 60, 5) GROUP BY vol % 3",
            "INSERT INTO O SELECT sym, window_end, MAX(price) AS m FROM T WINDOW('tumbling', 70) \
             GROUP BY window_end, sym OUTPUT SNAPSHOT EVERY INTERVAL '45' MILLISECOND",
            "INSERT INTO O SELECT COUNT(*) AS n, MIN(price) AS lo FROM T WINDOW('hopping', 60, 20) \
             OUTPUT LAST EVERY 3 EVENTS",
            // Keys: several columns, NULL as a key, BOOL, TIMESTAMP.
            "INSERT INTO O SELECT sym, vol % 2 AS k, COUNT(*) AS n FROM T WINDOW('tumbling', 90) \
             GROUP BY sym, vol % 2",
            "INSERT INTO O SELECT CASE WHEN vol > 50 THEN sym END AS k, SUM(vol) AS s FROM T \
             WINDOW('tumbling', 80) GROUP BY CASE WHEN vol > 50 THEN sym END",
            "INSERT INTO O SELECT price > 50.0 AS k, COUNT(*) AS n FROM T WINDOW('tumbling', 80) \
             GROUP BY price > 50.0",
            "INSERT INTO O SELECT CAST(vol * 10 AS TIMESTAMP) AS k, COUNT(*) AS n FROM T \
             WINDOW('tumbling', 300) GROUP BY CAST(vol * 10 AS TIMESTAMP)",
        ];
        for lateness in [0, 40] {
            let data = input(lateness);
            for sql in PANE_QUERIES {
                let p = plan(sql);
                let time = TimeSettings {
                    event_time: true,
                    lateness,
                };
                let outputs: Vec<RecordBatch> = [true, false]
                    .into_iter()
                    .map(|panes| {
                        let make = || {
                            StatefulQuery::build(&p, &p.input_schema, p.output_schema.clone(), time, panes)
                        };
                        let mut q = make().unwrap();
                        assert_eq!(q.window.as_ref().unwrap().aggregates_in_panes(), panes, "{sql}");
                        let mut out = Vec::new();
                        let half = data.len() / 2;
                        run(&mut q, &data[..half], &mut out);
                        let mut r = make().unwrap();
                        r.restore(&q.snapshot().unwrap())
                            .unwrap_or_else(|e| panic!("{sql}: {e}"));
                        run(&mut r, &data[half..], &mut out);
                        r.finish(&mut out).unwrap();
                        rows(&out, &p.output_schema)
                    })
                    .collect();
                assert!(outputs[1].num_rows() > 10, "{sql}: too little output to compare");
                assert_eq!(outputs[0], outputs[1], "{sql} (lateness {lateness})");
            }
        }
    }

    #[test]
    fn length_aggregation_as_events_arrive_equals_aggregating_the_window() {
        const LENGTH_QUERIES: &[&str] = &[
            // Every aggregate that retracts, a group per symbol.
            "INSERT INTO O SELECT sym, price, COUNT(*) AS n, COUNT(vol) AS c, SUM(vol) AS s, \
             AVG(price) AS a, MIN(price) AS lo, MAX(vol) AS hi, MIN(sym) AS ms, MAX(sym) AS xs, \
             FIRST(price) AS f, LAST(sym) AS l, COUNT(DISTINCT vol) AS d, \
             STDDEV_SAMP(price) AS sd, STDDEV_POP(vol) AS sp FROM T WINDOW('length', 7) GROUP BY sym",
            // The benchmark's W3 shape: no GROUP BY; windows of 1 and longer
            // than the input.
            "INSERT INTO O SELECT sym, AVG(price) AS a, MAX(price) AS m FROM T WINDOW('length', 100)",
            "INSERT INTO O SELECT sym, SUM(price) AS s FROM T WINDOW('length', 1)",
            "INSERT INTO O SELECT COUNT(*) AS n, MIN(vol) AS lo FROM T WINDOW('length', 100000)",
            // No argument to record: the snapshot's argument batch has no
            // columns, only a row count.
            "INSERT INTO O SELECT sym, COUNT(*) AS n FROM T WINDOW('length', 4) GROUP BY sym",
            "INSERT INTO O SELECT COUNT(*) AS n FROM T WINDOW('length', 5)",
            // Groups that empty and come back, expression and NULL keys.
            "INSERT INTO O SELECT vol % 7 AS k, COUNT(*) AS n, LAST(price) AS l FROM T \
             WINDOW('length', 3) GROUP BY vol % 7",
            "INSERT INTO O SELECT CASE WHEN vol > 50 THEN sym END AS k, SUM(vol) AS s FROM T \
             WINDOW('length', 5) GROUP BY CASE WHEN vol > 50 THEN sym END",
            "INSERT INTO O SELECT sym, vol % 2 AS k, MAX(price * 2) AS m FROM T \
             WINDOW('length', 11) GROUP BY sym, vol % 2",
            // A filter before, HAVING, ORDER BY / LIMIT per event, rates.
            "INSERT INTO O SELECT sym, COUNT(*) AS n, AVG(vol) AS a FROM T WINDOW('length', 6) \
             WHERE price > 20.0 GROUP BY sym HAVING COUNT(*) > 1 ORDER BY a DESC LIMIT 1",
            "INSERT INTO O SELECT sym, SUM(vol) AS s FROM T WINDOW('length', 9) GROUP BY sym \
             OUTPUT LAST EVERY 4 EVENTS",
            "INSERT INTO O SELECT sym, MIN(price) AS lo FROM T WINDOW('length', 9) GROUP BY sym \
             OUTPUT ALL EVERY INTERVAL '30' MILLISECOND",
        ];
        let data = input(40);
        for sql in LENGTH_QUERIES {
            let p = plan(sql);
            let time = TimeSettings {
                event_time: true,
                lateness: 40,
            };
            // Restore midway and at two other points (a snapshot with a
            // few small entries, and one early).
            for cut in [data.len() / 2, 3, data.len() - 2] {
                let outputs: Vec<RecordBatch> = [true, false]
                    .into_iter()
                    .map(|fused| {
                        let make = || {
                            StatefulQuery::build(&p, &p.input_schema, p.output_schema.clone(), time, fused)
                        };
                        let mut q = make().unwrap();
                        assert_eq!(q.window.is_none(), fused, "{sql}");
                        let mut out = Vec::new();
                        run(&mut q, &data[..cut], &mut out);
                        let mut r = make().unwrap();
                        r.restore(&q.snapshot().unwrap())
                            .unwrap_or_else(|e| panic!("{sql}: {e}"));
                        assert_eq!(r.snapshot().unwrap(), q.snapshot().unwrap(), "{sql}");
                        run(&mut r, &data[cut..], &mut out);
                        r.finish(&mut out).unwrap();
                        rows(&out, &p.output_schema)
                    })
                    .collect();
                assert!(outputs[1].num_rows() > 10, "{sql}: too little output to compare");
                assert_eq!(outputs[0], outputs[1], "{sql} (restored after batch {cut})");
            }
        }
    }

    #[test]
    fn length_aggregation_state_is_the_window_and_is_bounded() {
        let p = plan("INSERT INTO O SELECT sym, AVG(price) AS a, MAX(price) AS m FROM T WINDOW('length', 50) GROUP BY sym");
        let mut q = query(&p, 0);
        assert!(q.window.is_none());
        let data = input(0);
        let mut sizes = Vec::new();
        for _ in 0..20 {
            run(&mut q, &data, &mut Vec::new());
            sizes.push(q.state_bytes());
        }
        // Many small batches: the events' record is merged, not one entry
        // per batch; the state stays the same size however long it runs.
        assert!(sizes[19] <= sizes[1] * 2, "state grows: {sizes:?}");
        assert!(sizes[19] < 64 * 1024, "state {sizes:?}");
        let count = q.selector.count_agg().unwrap();
        assert_eq!(count.held(), 50);
        assert!(count.entries() <= 6, "{} entries", count.entries());
    }

    #[test]
    fn a_snapshot_restores_only_into_its_query_and_corruption_is_refused() {
        let data = input(0);
        let p = plan(QUERIES[13]);
        let mut q = query(&p, 0);
        run(&mut q, &data[..data.len() / 2], &mut Vec::new());
        let snap = q.snapshot().unwrap();
        // Another query of other column types, and another window kind.
        let other = plan("INSERT INTO O SELECT sym, COUNT(*) AS n FROM T WINDOW('length', 3) GROUP BY sym");
        let err = query(&other, 0).restore(&snap).unwrap_err();
        assert_eq!(err.status, Status::Corrupt, "{err}");
        let same_cols = plan(
            "INSERT INTO O SELECT sym, window_start, window_end, COUNT(*) AS n FROM T \
             WINDOW('tumbling', 12) GROUP BY sym, window_start, window_end",
        );
        let err = query(&same_cols, 0).restore(&snap).unwrap_err();
        assert_eq!(err.status, Status::Corrupt, "{err}");
        // The session window's query, then a length window aggregated as
        // events arrive (count_agg.rs), which keeps its own state.
        damaged_snapshots_are_refused(&p, &data);
        damaged_snapshots_are_refused(
            &plan("INSERT INTO O SELECT sym, SUM(vol) AS s, MAX(price) AS m, COUNT(*) AS n FROM T WINDOW('length', 6) GROUP BY sym"),
            &data,
        );
        damaged_snapshots_are_refused(
            &plan("INSERT INTO O SELECT COUNT(*) AS n FROM T WINDOW('length', 5)"),
            &data,
        );
    }

    fn damaged_snapshots_are_refused(p: &QueryPlan, data: &[(RecordBatch, Vec<i64>, Vec<i64>)]) {
        let mut q = query(p, 0);
        run(&mut q, &data[..data.len() / 2], &mut Vec::new());
        let snap = q.snapshot().unwrap();
        // Every truncation and a sweep of byte flips: an error or a valid
        // state, never a panic; a failed restore leaves the query as it was.
        let mut fresh = query(p, 0);
        let before = fresh.snapshot().unwrap();
        for cut in (0..snap.len()).step_by(7) {
            assert!(fresh.restore(&snap[..cut]).is_err(), "prefix {cut} accepted");
            assert_eq!(fresh.snapshot().unwrap(), before);
        }
        for i in 0..snap.len() {
            let mut bad = snap.clone();
            bad[i] ^= 0x5a;
            let err = query(p, 0).restore(&bad).unwrap_err();
            assert_eq!(err.status, Status::Corrupt, "flip at {i}");
        }
        // Damage behind a valid checksum (as a bug would write): an error
        // or a state that runs, never a panic.
        let body = crate::state::unseal(SNAPSHOT_MAGIC, &snap).unwrap();
        for i in (0..body.len()).step_by(3) {
            let mut bad = body.to_vec();
            bad[i] ^= 0x5a;
            let mut q = query(p, 0);
            if q.restore(&seal(SNAPSHOT_MAGIC, &bad)).is_ok() {
                let mut out = Vec::new();
                for (b, ts, wm) in &data[data.len() / 2..] {
                    if q.process_at(b, RowTimes { ts, wm }, &mut out).is_err() {
                        break;
                    }
                }
                let _ = q.finish(&mut out);
            }
        }
    }
}
