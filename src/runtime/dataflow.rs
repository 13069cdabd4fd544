//! The graph the worker runs: streams, the queries reading them, and the
//! subscribers watching them. Changed only by `execute` and `subscribe`
//! (under the engine's lock), read by the worker one batch at a time.

use std::sync::Arc;

use ahash::AHashMap;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::options::{Options, Overflow};
use super::stats::{add, get, json_str, QueryStats, StreamStats};
use super::subscription::SubShared;
use crate::error::{Error, Result};
use crate::ops::combine::Combine;
use crate::ops::filter_project::FilterProject;
use crate::ops::join::Join;
use crate::ops::pattern::Pattern;
use crate::ops::query::{StatefulQuery, TimeSettings};
use crate::ops::{Operator, RowTimes};
use crate::sql::plan::{JoinWindow, OptionValue, SourcePlan, StreamOption};
use crate::sql::{Catalog, Plan, QueryPlan};

/// Per-stream settings from `CREATE STREAM ... WITH (...)`, defaulting to the
/// engine's.
#[derive(Clone, Debug)]
pub(crate) struct StreamSettings {
    pub overflow: Overflow,
    pub queue_capacity: usize,
    pub push_timeout_ms: u64,
    /// The event-time column (BIGINT milliseconds or TIMESTAMP), if any.
    pub event_time: Option<usize>,
    /// Watermark = largest event time seen minus this.
    pub watermark_delay: i64,
    /// Rows up to this far below the watermark are still applied.
    pub allowed_lateness: i64,
}

/// Event-time progress of a stream.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamClock {
    pub max_ts: i64,
    pub watermark: i64,
}

impl StreamClock {
    /// A row at time `t` was taken: the largest time, and with it the
    /// watermark (`delay` behind), may rise.
    #[inline]
    fn see(&mut self, t: i64, delay: i64) {
        if t > self.max_ts {
            self.max_ts = t;
            self.watermark = self.watermark.max(t.saturating_sub(delay));
        }
    }
}

impl Default for StreamClock {
    fn default() -> StreamClock {
        StreamClock {
            max_ts: i64::MIN,
            watermark: i64::MIN,
        }
    }
}

pub(crate) struct StreamNode {
    pub name: String,
    pub schema: SchemaRef,
    pub settings: StreamSettings,
    pub stats: Arc<StreamStats>,
    /// Queries reading this stream, in creation order.
    pub readers: Vec<usize>,
    pub subscribers: Vec<Arc<SubShared>>,
    /// Input handles opened on this stream and still open.
    pub open_inputs: usize,
    pub clock: StreamClock,
    /// Every input closed and every upstream stream ended: windows fired.
    pub ended: bool,
}

pub(crate) struct QueryNode {
    pub sql: String,
    /// Every stream the query reads (its ports, in order; a join or a
    /// pattern may read several).
    pub inputs: Vec<usize>,
    /// Several inputs in event time: the least of their watermarks, which
    /// is the query's time (what was last given to `advance`).
    pub time: i64,
    pub output: usize,
    pub op: Box<dyn Operator>,
    pub stats: QueryStats,
    pub last_error: Option<String>,
    /// The query runs in its input's event time (else processing time).
    pub event_time: bool,
}

/// A batch on its way to a subscriber, handed over after the lock is released.
pub(crate) type Delivery = (Arc<SubShared>, RecordBatch);

#[derive(Default)]
pub(crate) struct Dataflow {
    pub streams: Vec<StreamNode>,
    by_name: AHashMap<String, usize>,
    pub queries: Vec<QueryNode>,
    /// A query needs the rows of different streams in push order (a
    /// pattern over several streams; a join unless both sides are time
    /// windows in event time).
    pub needs_push_order: bool,
}

impl Catalog for Dataflow {
    fn stream(&self, name: &str) -> Option<(String, SchemaRef)> {
        self.lookup(name)
            .map(|i| (self.streams[i].name.clone(), self.streams[i].schema.clone()))
    }
}

impl Dataflow {
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// Applies analyzed statements all-or-nothing: everything that can fail is
    /// checked (and every operator built) before the first change.
    pub fn apply(&mut self, plans: Vec<Plan>, options: &Options) -> Result<()> {
        // Pass 1: validate against the graph as it will be.
        let mut pending_names: Vec<String> = Vec::new();
        let mut pending_edges: Vec<(String, String)> = Vec::new();
        let mut pending_settings: AHashMap<String, StreamSettings> = AHashMap::new();
        let mut built: Vec<Option<Built>> = Vec::with_capacity(plans.len());
        for plan in &plans {
            match plan {
                Plan::CreateStream(c) => {
                    let st = stream_settings(&c.options, &c.schema, options)?;
                    let key = c.name.to_lowercase();
                    if self.lookup(&c.name).is_none() && !pending_settings.contains_key(&key) {
                        pending_settings.insert(key.clone(), st.clone());
                    }
                    built.push(Some(Built::Settings(st)));
                    pending_names.push(key);
                }
                Plan::Insert(q) => {
                    let out = q.output.to_lowercase();
                    let mut settings = Vec::with_capacity(q.inputs.len());
                    for input in &q.inputs {
                        let inp = input.to_lowercase();
                        if self.reaches(&out, &inp, &pending_edges) {
                            return Err(Error::sql(format!(
                                "query would form a cycle: '{}' already feeds '{}' ({})",
                                q.output, input, q.sql
                            )));
                        }
                        settings.push(match self.lookup(input) {
                            Some(i) => self.streams[i].settings.clone(),
                            None => pending_settings
                                .get(&inp)
                                .cloned()
                                .unwrap_or_else(|| default_settings(options)),
                        });
                    }
                    for input in &q.inputs {
                        pending_edges.push((input.to_lowercase(), out.clone()));
                    }
                    let event_time = settings[0].event_time.is_some();
                    if let Some(k) = settings
                        .iter()
                        .position(|st| st.event_time.is_some() != event_time)
                    {
                        let (et, pt) = if event_time { (0, k) } else { (k, 0) };
                        return Err(Error::sql(format!(
                            "{}query reads '{}' in event time and '{}' in processing time; the streams \
                             a join or pattern reads must all have event_time or none ({})",
                            side_pos(q, pt),
                            q.inputs[et],
                            q.inputs[pt],
                            q.sql
                        )));
                    }
                    built.push(Some(Built::Query(build_op(q, &settings)?, event_time)));
                }
            }
        }
        // Pass 2: apply; nothing below fails.
        for (plan, b) in plans.into_iter().zip(built) {
            match (plan, b) {
                (Plan::CreateStream(c), Some(Built::Settings(st))) => {
                    if self.lookup(&c.name).is_some() && c.if_not_exists {
                        continue;
                    }
                    self.add_stream(c.name, c.schema, st);
                }
                (Plan::Insert(q), Some(Built::Query(op, event_time))) => {
                    self.needs_push_order |= needs_push_order(&q, event_time);
                    self.add_query(q, op, event_time, options)
                }
                _ => unreachable!("built in pass 1"),
            }
        }
        Ok(())
    }

    fn add_stream(&mut self, name: String, schema: SchemaRef, settings: StreamSettings) -> usize {
        let id = self.streams.len();
        self.by_name.insert(name.to_lowercase(), id);
        self.streams.push(StreamNode {
            name,
            schema,
            settings,
            stats: Arc::new(StreamStats::default()),
            readers: Vec::new(),
            subscribers: Vec::new(),
            open_inputs: 0,
            clock: StreamClock::default(),
            ended: false,
        });
        id
    }

    fn add_query(&mut self, q: QueryPlan, op: Box<dyn Operator>, event_time: bool, options: &Options) {
        let inputs: Vec<usize> = q
            .inputs
            .iter()
            .map(|i| self.lookup(i).expect("analyzer resolved the input"))
            .collect();
        let output = match self.lookup(&q.output) {
            Some(o) => o,
            None => self.add_stream(
                q.output.clone(),
                q.output_schema.clone(),
                default_settings(options),
            ),
        };
        let id = self.queries.len();
        self.queries.push(QueryNode {
            sql: q.sql,
            inputs: inputs.clone(),
            time: i64::MIN,
            output,
            op,
            stats: QueryStats::default(),
            last_error: None,
            event_time,
        });
        for i in inputs {
            self.streams[i].readers.push(id);
        }
    }

    /// Whether `to` is reachable from `from` through queries (existing ones
    /// and `extra` edges), by lower-cased stream name.
    fn reaches(&self, from: &str, to: &str, extra: &[(String, String)]) -> bool {
        let mut stack = vec![from.to_string()];
        let mut seen: Vec<String> = Vec::new();
        while let Some(s) = stack.pop() {
            if s == to {
                return true;
            }
            if seen.contains(&s) {
                continue;
            }
            if let Some(i) = self.lookup(&s) {
                for &q in &self.streams[i].readers {
                    stack.push(self.streams[self.queries[q].output].name.to_lowercase());
                }
            }
            for (a, b) in extra {
                if *a == s {
                    stack.push(b.clone());
                }
            }
            seen.push(s);
        }
        false
    }

    /// Runs a batch that entered `stream` through every query downstream of
    /// it; batches for subscribers are collected in `out`. `now` is the
    /// processing time of the batch.
    pub fn push(&mut self, stream: usize, batch: RecordBatch, now: i64, out: &mut Vec<Delivery>) {
        if batch.num_rows() == 0 {
            return;
        }
        let node = &mut self.streams[stream];
        let before = node.clock.watermark;
        // In processing time a row's time and the clock are both `now`: one
        // vector serves as both.
        let timed = node.readers.iter().any(|&q| self.queries[q].op.uses_time());
        let (batch, ts, wm) = match node.settings.event_time {
            Some(col) => match event_times(node, &batch, col, timed) {
                Some((b, ts, wm)) => (b, ts, Some(wm)),
                None => return,
            },
            None => {
                let v = if timed {
                    vec![now; batch.num_rows()]
                } else {
                    Vec::new()
                };
                (batch, v, None)
            }
        };
        let wm: &[i64] = wm.as_deref().unwrap_or(&ts);
        let node = &self.streams[stream];
        let n = batch.num_rows();
        add(&node.stats.events_in, n as u64);
        for s in &node.subscribers {
            out.push((s.clone(), batch.clone()));
        }
        let after = node.clock.watermark;
        let mut produced = Vec::new();
        for qi in 0..self.streams[stream].readers.len() {
            let id = self.streams[stream].readers[qi];
            let time = self.query_time(id, after);
            let q = &mut self.queries[id];
            add(&q.stats.rows_in, n as u64);
            let r = if q.inputs.len() > 1 {
                let port = q.inputs.iter().position(|&i| i == stream).unwrap_or(0);
                q.op.process_port(port, &batch, RowTimes { ts: &ts, wm }, &mut produced)
            } else if q.op.uses_time() {
                q.op.process_at(&batch, RowTimes { ts: &ts, wm }, &mut produced)
            } else {
                q.op.process(&batch, &mut produced)
            };
            // Rows that did not pass WHERE still move event time.
            let r = r.and_then(|_| {
                if q.event_time && after > before && time > q.time {
                    q.time = time;
                    q.op.advance(time, &mut produced)
                } else {
                    Ok(())
                }
            });
            self.after_op(id, r, &mut produced, now, out);
        }
    }

    /// Records an operator's result and pushes what it produced downstream.
    fn after_op(
        &mut self,
        id: usize,
        r: Result<()>,
        produced: &mut Vec<RecordBatch>,
        now: i64,
        out: &mut Vec<Delivery>,
    ) {
        let q = &mut self.queries[id];
        if let Err(e) = r {
            add(&q.stats.errors, 1);
            q.last_error = Some(e.message);
        }
        let output = q.output;
        for b in produced.drain(..) {
            add(&self.queries[id].stats.rows_out, b.num_rows() as u64);
            self.push(output, b, now, out);
        }
    }

    /// A host watermark reached `stream` (in order with its rows).
    pub fn watermark(&mut self, stream: usize, ts: i64, now: i64, out: &mut Vec<Delivery>) {
        let node = &mut self.streams[stream];
        if node.settings.event_time.is_none() || ts <= node.clock.watermark {
            return;
        }
        node.clock.watermark = ts;
        let mut produced = Vec::new();
        for qi in 0..self.streams[stream].readers.len() {
            let id = self.streams[stream].readers[qi];
            let time = self.query_time(id, ts);
            if time <= self.queries[id].time {
                continue;
            }
            self.queries[id].time = time;
            let r = self.queries[id].op.advance(time, &mut produced);
            self.after_op(id, r, &mut produced, now, out);
        }
    }

    /// Processing time reached `now`: fires the windows and output periods
    /// of queries that run in processing time.
    pub fn fire_timers(&mut self, now: i64, out: &mut Vec<Delivery>) {
        let mut produced = Vec::new();
        for id in 0..self.queries.len() {
            let q = &mut self.queries[id];
            if q.event_time || q.op.next_deadline().map_or(true, |d| d > now) {
                continue;
            }
            let r = q.op.advance(now, &mut produced);
            self.after_op(id, r, &mut produced, now, out);
        }
    }

    /// The earliest processing-time deadline of any query.
    pub fn next_timer(&self) -> Option<i64> {
        self.queries
            .iter()
            .filter(|q| !q.event_time)
            .filter_map(|q| q.op.next_deadline())
            .min()
    }

    /// An input of `stream` closed. When it was the last one and nothing
    /// upstream still runs, the stream ends: its queries fire every window,
    /// and streams they feed end in turn once all their sources have.
    pub fn input_closed(&mut self, stream: usize, now: i64, out: &mut Vec<Delivery>) {
        let st = &mut self.streams[stream];
        st.open_inputs = st.open_inputs.saturating_sub(1);
        if st.open_inputs == 0 && self.sources_ended(stream) {
            self.end_stream(stream, now, out);
        }
    }

    /// A new input opened on `stream`: it runs again.
    pub fn input_opened(&mut self, stream: usize) {
        let st = &mut self.streams[stream];
        st.open_inputs += 1;
        st.ended = false;
    }

    fn sources_ended(&self, stream: usize) -> bool {
        self.queries
            .iter()
            .filter(|q| q.output == stream)
            .all(|q| q.inputs.iter().all(|&i| self.streams[i].ended))
    }

    /// The event time of query `id` once one of its inputs reached
    /// `watermark`: that watermark for a one-input query, else the least
    /// watermark of its inputs (a row of the slowest input may still come).
    fn query_time(&self, id: usize, watermark: i64) -> i64 {
        let q = &self.queries[id];
        if q.inputs.len() == 1 {
            return watermark;
        }
        q.inputs
            .iter()
            .map(|&i| self.streams[i].clock.watermark)
            .min()
            .unwrap_or(watermark)
    }

    fn end_stream(&mut self, stream: usize, now: i64, out: &mut Vec<Delivery>) {
        self.streams[stream].ended = true;
        self.finish(stream, now, out);
        let outputs: Vec<usize> = self.streams[stream]
            .readers
            .iter()
            .map(|&q| self.queries[q].output)
            .collect();
        for o in outputs {
            if !self.streams[o].ended && self.streams[o].open_inputs == 0 && self.sources_ended(o) {
                self.end_stream(o, now, out);
            }
        }
    }

    /// The input of `stream` ended for good: let its queries emit what they
    /// hold, downstream first-come.
    pub fn finish(&mut self, stream: usize, now: i64, out: &mut Vec<Delivery>) {
        let mut produced = Vec::new();
        for qi in 0..self.streams[stream].readers.len() {
            let id = self.streams[stream].readers[qi];
            // A query reading several streams finishes with the last of them.
            if !self.queries[id].inputs.iter().all(|&i| self.streams[i].ended) {
                continue;
            }
            let r = self.queries[id].op.finish(&mut produced);
            self.after_op(id, r, &mut produced, now, out);
        }
    }

    /// Every input ended (engine close): finish streams upstream first, so
    /// what a query emits on finish still flows through the queries below it
    /// before those finish in turn. Streams already ended are not finished
    /// twice.
    pub fn finish_all(&mut self, now: i64, out: &mut Vec<Delivery>) {
        let n = self.streams.len();
        let mut indegree = vec![0usize; n];
        for q in &self.queries {
            indegree[q.output] += q.inputs.len();
        }
        let mut ready: Vec<usize> = (0..n).filter(|&s| indegree[s] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(s) = ready.pop() {
            order.push(s);
            for &q in &self.streams[s].readers {
                let o = self.queries[q].output;
                indegree[o] -= 1;
                if indegree[o] == 0 {
                    ready.push(o);
                }
            }
        }
        // `apply` rejects cycles, so every stream is in `order`.
        for s in order {
            if !self.streams[s].ended {
                self.streams[s].ended = true;
                self.finish(s, now, out);
            }
        }
    }

    pub fn stats_json(&self, inputs_depth: &dyn Fn(usize) -> u64) -> String {
        let mut s = String::from("{\"streams\":[");
        for (i, st) in self.streams.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let sub_dropped: u64 = st
                .subscribers
                .iter()
                .map(|x| x.dropped.load(std::sync::atomic::Ordering::Relaxed))
                .sum();
            let sub_queued: usize = st.subscribers.iter().map(|x| x.queued_rows()).sum();
            s.push_str(&format!(
                "{{\"name\":{},\"events_in\":{},\"events_out\":{},\"dropped\":{},\"rejected\":{},\"late\":{},\"queue_depth\":{},\"subscribers\":{},\"subscriber_queued\":{},\"subscriber_dropped\":{},\"watermark\":{}}}",
                json_str(&st.name),
                get(&st.stats.events_in),
                get(&st.stats.events_out),
                get(&st.stats.dropped),
                get(&st.stats.rejected),
                get(&st.stats.late),
                inputs_depth(i),
                st.subscribers.len(),
                sub_queued,
                sub_dropped,
                if st.settings.event_time.is_some() && st.clock.watermark != i64::MIN {
                    st.clock.watermark.to_string()
                } else {
                    "null".to_string()
                },
            ));
        }
        s.push_str("],\"queries\":[");
        for (i, q) in self.queries.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "{{\"id\":{},\"sql\":{},\"input\":{},\"output\":{},\"rows_in\":{},\"rows_out\":{},\"errors\":{},\"last_error\":{},\"late\":{},\"state_bytes\":{}}}",
                i,
                json_str(&q.sql),
                json_str(
                    &q.inputs
                        .iter()
                        .map(|&i| self.streams[i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                json_str(&self.streams[q.output].name),
                get(&q.stats.rows_in),
                get(&q.stats.rows_out),
                get(&q.stats.errors),
                q.last_error.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
                q.op.late(),
                q.op.state_bytes(),
            ));
        }
        s.push_str("]}");
        s
    }
}

fn default_settings(o: &Options) -> StreamSettings {
    StreamSettings {
        overflow: o.overflow,
        queue_capacity: o.queue_capacity,
        push_timeout_ms: o.push_timeout.as_millis() as u64,
        event_time: None,
        watermark_delay: 0,
        allowed_lateness: 0,
    }
}

/// What pass 1 of `apply` prepares for pass 2.
enum Built {
    Settings(StreamSettings),
    Query(Box<dyn Operator>, bool),
}

/// The operator a query runs: stateless filter/projection, or the general
/// windowed pipeline.
fn build_op(q: &QueryPlan, inputs: &[StreamSettings]) -> Result<Box<dyn Operator>> {
    let tail = build_tail(q, &inputs[0])?;
    Ok(match &q.source {
        SourcePlan::Stream => tail,
        SourcePlan::Join(j) => {
            let lateness: Vec<i64> = inputs.iter().map(|s| s.allowed_lateness).collect();
            let event_time = inputs[0].event_time.is_some();
            Box::new(Combine::new(
                Box::new(Join::new(j, &q.input_schema, &lateness, event_time)),
                tail,
            ))
        }
        SourcePlan::Pattern(p) => Box::new(Combine::new(Box::new(Pattern::new(p, &q.input_schema)), tail)),
    })
}

/// Whether the answer of `q` depends on the order rows of its different
/// input streams arrive in.
fn needs_push_order(q: &QueryPlan, event_time: bool) -> bool {
    if q.inputs.len() < 2 {
        return false;
    }
    match &q.source {
        SourcePlan::Stream => false,
        SourcePlan::Pattern(_) => true,
        SourcePlan::Join(j) => {
            !event_time
                || j.outer.contains(&true)
                || j.sides.iter().any(|s| !matches!(s.window, JoinWindow::Time(_)))
        }
    }
}

/// "line L:C: " of the stream a join or pattern reads at `port`, if known.
fn side_pos(q: &QueryPlan, port: usize) -> String {
    let side = match &q.source {
        SourcePlan::Stream => None,
        SourcePlan::Join(j) => j.sides.iter().map(|s| &s.side).find(|s| s.port == port),
        SourcePlan::Pattern(p) => p.elements.iter().map(|e| &e.side).find(|s| s.port == port),
    };
    side.map_or(String::new(), |s| format!("line {}:{}: ", s.line, s.column))
}

/// What a query runs over the rows its source makes: the stateless
/// filter/projection or the windowed pipeline.
fn build_tail(q: &QueryPlan, input: &StreamSettings) -> Result<Box<dyn Operator>> {
    let in_schema = q.input_schema.clone();
    if q.is_stateless() {
        return Ok(Box::new(FilterProject::new(
            q.filter.clone(),
            q.projection.clone(),
            q.output_schema.clone(),
            &in_schema,
        )));
    }
    let time = TimeSettings {
        event_time: input.event_time.is_some(),
        lateness: input.allowed_lateness,
    };
    Ok(Box::new(StatefulQuery::new(
        q,
        &in_schema,
        q.output_schema.clone(),
        time,
    )?))
}

/// Per-row event times and watermarks of a batch entering an event-time
/// stream; late rows (below watermark - allowed lateness, or without a time)
/// are dropped and counted. None when every row was late.
///
/// `timed`: some reader needs each row's time and watermark; without one the
/// clock still moves and late rows are still refused, but the per-row
/// vectors come back empty.
fn event_times(
    node: &mut StreamNode,
    batch: &RecordBatch,
    col: usize,
    timed: bool,
) -> Option<(RecordBatch, Vec<i64>, Vec<i64>)> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type, TimestampMillisecondType};
    let c = batch.column(col);
    let (values, nulls) = match c.data_type() {
        DataType::Timestamp(..) => {
            let a = c.as_primitive::<TimestampMillisecondType>();
            (a.values(), a.nulls())
        }
        _ => {
            let a = c.as_primitive::<Int64Type>();
            (a.values(), a.nulls())
        }
    };
    let n = values.len();
    let (delay, lateness) = (node.settings.watermark_delay, node.settings.allowed_lateness);
    let (wm, late) = stamp(&mut node.clock, values, nulls, delay, lateness, timed);
    if late.is_empty() {
        let ts = if timed { values.to_vec() } else { Vec::new() };
        return Some((batch.clone(), ts, wm));
    }
    add(&node.stats.late, late.len() as u64);
    if late.len() == n {
        return None;
    }
    let mut keep = vec![true; n];
    for &i in &late {
        keep[i] = false;
    }
    let ts: Vec<i64> = if timed {
        values.iter().zip(&keep).filter(|x| *x.1).map(|x| *x.0).collect()
    } else {
        Vec::new()
    };
    let mask = arrow::array::BooleanArray::from(keep);
    let b = arrow::compute::filter_record_batch(batch, &mask).ok()?;
    Some((b, ts, wm))
}

/// Moves a stream's clock over a batch's event times: per row, the
/// watermark to apply before it (when `timed`), and the rows refused as late
/// (below the watermark less the lateness, or NULL).
fn stamp(
    clock: &mut StreamClock,
    values: &[i64],
    nulls: Option<&arrow::buffer::NullBuffer>,
    delay: i64,
    lateness: i64,
    timed: bool,
) -> (Vec<i64>, Vec<usize>) {
    // The common batch has no NULL and no late row, which one vectorised
    // pass shows: every row is at or above what the watermark before the
    // batch takes, and either the batch is in time order (a row is then at
    // or above its predecessors, so no later watermark refuses it) or every
    // row is at or above what the batch's last watermark takes. The clock
    // then ends at the batch's largest time.
    if nulls.is_none() && delay >= 0 && lateness >= 0 {
        let (lo, hi, sorted, _) = values.iter().fold(
            (i64::MAX, i64::MIN, true, i64::MIN),
            |(lo, hi, sorted, prev), &t| (lo.min(t), hi.max(t), sorted & (prev <= t), t),
        );
        let mut end = *clock;
        end.see(hi, delay);
        // No watermark within the batch is below this one's.
        let first = clock.watermark.max(clock.max_ts.saturating_sub(delay));
        if values.is_empty()
            || (lo >= floor(first, lateness) && (sorted || lo >= floor(end.watermark, lateness)))
        {
            let mut wm = Vec::new();
            if timed {
                wm.reserve(values.len());
                let mut c = *clock;
                for &t in values {
                    c.see(t, delay);
                    wm.push(c.watermark);
                }
            }
            *clock = end;
            return (wm, Vec::new());
        }
    }
    stamp_rows(clock, values, nulls, delay, lateness, timed)
}

/// The earliest time a stream still takes under watermark `w` (no
/// watermark yet: any).
fn floor(w: i64, lateness: i64) -> i64 {
    if w == i64::MIN {
        i64::MIN
    } else {
        w.saturating_sub(lateness)
    }
}

/// `stamp` row by row: the general case.
fn stamp_rows(
    clock: &mut StreamClock,
    values: &[i64],
    nulls: Option<&arrow::buffer::NullBuffer>,
    delay: i64,
    lateness: i64,
    timed: bool,
) -> (Vec<i64>, Vec<usize>) {
    let mut wm = Vec::with_capacity(if timed { values.len() } else { 0 });
    // Rows refused as late; the rest keep their order.
    let mut late: Vec<usize> = Vec::new();
    let mut c = *clock;
    let mut min_t = floor(c.watermark, lateness);
    for (i, &t) in values.iter().enumerate() {
        if t >= min_t && nulls.map_or(true, |b| b.is_valid(i)) {
            c.see(t, delay);
            min_t = floor(c.watermark, lateness);
            if timed {
                wm.push(c.watermark);
            }
        } else {
            late.push(i);
        }
    }
    *clock = c;
    (wm, late)
}

/// The WITH keys a stream understands.
const STREAM_KEYS: &[&str] = &[
    "overflow",
    "queue_capacity",
    "push_timeout_ms",
    "event_time",
    "watermark_delay",
    "allowed_lateness",
];

fn stream_settings(opts: &[StreamOption], schema: &SchemaRef, o: &Options) -> Result<StreamSettings> {
    let mut s = default_settings(o);
    let mut timing_pos: Option<String> = None;
    for opt in opts {
        let at = format!("line {}:{}", opt.line, opt.column);
        let bad = |want: &str| {
            Error::sql(format!(
                "{at}: option '{}' expects {want}, got {:?}",
                opt.key, opt.value
            ))
        };
        let duration = |v: &OptionValue| match v {
            OptionValue::Integer(v) if *v >= 0 => Some(*v),
            OptionValue::Interval(v) if *v >= 0 => Some(*v),
            _ => None,
        };
        match opt.key.as_str() {
            "overflow" => {
                let v = match &opt.value {
                    OptionValue::String(v) | OptionValue::Ident(v) => v.clone(),
                    _ => return Err(bad("'block', 'drop_newest' or 'drop_oldest'")),
                };
                s.overflow =
                    Overflow::parse(&v).ok_or_else(|| bad("'block', 'drop_newest' or 'drop_oldest'"))?;
            }
            "queue_capacity" => match opt.value {
                OptionValue::Integer(v) if (2..=1 << 30).contains(&v) => s.queue_capacity = v as usize,
                _ => return Err(bad("an integer from 2 to 2^30")),
            },
            "push_timeout_ms" => {
                s.push_timeout_ms =
                    duration(&opt.value).ok_or_else(|| bad("a non-negative integer of milliseconds"))? as u64
            }
            "event_time" => {
                let name = match &opt.value {
                    OptionValue::String(v) | OptionValue::Ident(v) => v.clone(),
                    _ => return Err(bad("a column name, such as 'ts'")),
                };
                let Some(c) = schema
                    .fields()
                    .iter()
                    .position(|f| f.name().eq_ignore_ascii_case(&name))
                else {
                    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                    return Err(Error::sql(format!(
                        "{at}: event_time names unknown column '{name}' (columns: {})",
                        names.join(", ")
                    )));
                };
                match schema.field(c).data_type() {
                    arrow::datatypes::DataType::Int64 | arrow::datatypes::DataType::Timestamp(..) => {}
                    other => {
                        return Err(Error::schema(format!(
                            "{at}: event_time column '{}' must be BIGINT (milliseconds) or TIMESTAMP, not {}",
                            schema.field(c).name(),
                            crate::types::type_name(other)
                        )))
                    }
                }
                s.event_time = Some(c);
            }
            "watermark_delay" => {
                s.watermark_delay =
                    duration(&opt.value).ok_or_else(|| bad("a non-negative INTERVAL or milliseconds"))?;
                timing_pos.get_or_insert(at.clone());
            }
            "allowed_lateness" => {
                s.allowed_lateness =
                    duration(&opt.value).ok_or_else(|| bad("a non-negative INTERVAL or milliseconds"))?;
                timing_pos.get_or_insert(at.clone());
            }
            other => {
                return Err(Error::sql(format!(
                    "{at}: unknown stream option '{other}' (known: {})",
                    STREAM_KEYS.join(", ")
                )))
            }
        }
    }
    if let (Some(at), None) = (timing_pos, s.event_time) {
        return Err(Error::sql(format!(
            "{at}: watermark_delay and allowed_lateness need event_time = 'column'"
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use arrow::buffer::NullBuffer;

    use super::*;

    #[test]
    fn stamping_a_whole_batch_equals_stamping_row_by_row() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut fast_batches, mut late_rows) = (0, 0);
        for case in 0..400 {
            let (delay, lateness) = (rnd(30) as i64, rnd(3) as i64 * 10);
            let (mut a, mut b) = (StreamClock::default(), StreamClock::default());
            if case % 3 == 0 {
                // A host watermark ahead of the rows.
                a.watermark = 500;
                b.watermark = 500;
            }
            let mut t0 = 0i64;
            for _ in 0..6 {
                let n = rnd(50) as usize;
                // In order, or out of order by up to `jitter`.
                let jitter = [0, 5, 40][rnd(3) as usize];
                let values: Vec<i64> = (0..n)
                    .map(|i| t0 + i as i64 * 3 - rnd(jitter + 1) as i64)
                    .collect();
                t0 += n as i64 * 3;
                let nulls = (rnd(4) == 0 && n > 0)
                    .then(|| NullBuffer::from((0..n).map(|_| rnd(5) != 0).collect::<Vec<bool>>()));
                for timed in [false, true] {
                    let (mut x, mut y) = (a, b);
                    let got = stamp(&mut x, &values, nulls.as_ref(), delay, lateness, timed);
                    let want = stamp_rows(&mut y, &values, nulls.as_ref(), delay, lateness, timed);
                    assert_eq!(got, want, "case {case}: {values:?}");
                    assert_eq!((x.max_ts, x.watermark), (y.max_ts, y.watermark), "case {case}");
                }
                let (wm, late) = stamp(&mut a, &values, nulls.as_ref(), delay, lateness, true);
                stamp_rows(&mut b, &values, nulls.as_ref(), delay, lateness, true);
                fast_batches += (nulls.is_none() && late.is_empty()) as usize;
                late_rows += late.len();
                assert_eq!(wm.len() + late.len(), n);
            }
        }
        // Both paths ran.
        assert!(
            fast_batches > 100 && late_rows > 100,
            "{fast_batches} {late_rows}"
        );
    }
}

#[cfg(test)]
mod snapshot_tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::compute::concat_batches;

    use super::*;

    const STREAMS: &str = "CREATE STREAM A (k STRING, v BIGINT, ts BIGINT) WITH (event_time = 'ts');
                           CREATE STREAM B (k STRING, w BIGINT, ts BIGINT) WITH (event_time = 'ts');";

    /// Join and pattern queries over A and B, one of each kind of state.
    const QUERIES: &[&str] = &[
        "INSERT INTO O SELECT a.k, a.v, b.w FROM A WINDOW('time', 50) AS a JOIN B WINDOW('time', 30) AS b \
         ON a.k = b.k AND a.v > 2",
        "INSERT INTO O SELECT a.v, b.w FROM A WINDOW('length', 6) AS a FULL JOIN B WINDOW('unique', k) AS b \
         ON a.k = b.k",
        "INSERT INTO O SELECT a.k, COUNT(*) AS n, SUM(b.w) AS s FROM A AS a JOIN B WINDOW('length', 4) AS b \
         ON a.k = b.k GROUP BY a.k",
        "INSERT INTO O SELECT e1.v AS v1, e2.w AS w2, e3.v AS v3 FROM PATTERN (EVERY e1=A[v > 5] \
         -> e2=B[k = e1.k] -> e3=A[v < e1.v AND k = e2.k]) WITHIN 200",
        "INSERT INTO O SELECT e1.v AS v1, e2.v AS v2 FROM PATTERN (e1=A[v > 8] -> e2=A[v < 2]) WITHIN 100",
    ];

    /// (port, batch, times) in arrival order: A and B alternate in small
    /// batches, keys from a small set, times rising.
    fn data() -> Vec<(usize, RecordBatch, Vec<i64>)> {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut out = Vec::new();
        let mut t = 0i64;
        for i in 0..120 {
            let n = 1 + rnd(5) as usize;
            let (mut k, mut v, mut ts) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                t += rnd(7) as i64;
                k.push(format!("k{}", rnd(3)));
                v.push(rnd(10) as i64);
                ts.push(t);
            }
            let port = i % 2;
            let names = if port == 0 {
                ["k", "v", "ts"]
            } else {
                ["k", "w", "ts"]
            };
            let schema = Arc::new(arrow::datatypes::Schema::new(vec![
                arrow::datatypes::Field::new(names[0], arrow::datatypes::DataType::Utf8, true),
                arrow::datatypes::Field::new(names[1], arrow::datatypes::DataType::Int64, true),
                arrow::datatypes::Field::new(names[2], arrow::datatypes::DataType::Int64, true),
            ]));
            let b = RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(StringArray::from(k)),
                    Arc::new(Int64Array::from(v)),
                    Arc::new(Int64Array::from(ts.clone())),
                ],
            )
            .unwrap();
            out.push((port, b, ts));
        }
        out
    }

    fn setup(sql: &str) -> (QueryPlan, Vec<StreamSettings>) {
        let mut df = Dataflow::default();
        let opts = Options::default();
        df.apply(crate::sql::plan_statements(STREAMS, &df).unwrap(), &opts)
            .unwrap();
        let Plan::Insert(q) = crate::sql::plan_statements(sql, &df).unwrap().remove(0) else {
            panic!("not a query")
        };
        let settings = q
            .inputs
            .iter()
            .map(|n| df.streams[df.lookup(n).unwrap()].settings.clone())
            .collect();
        (q, settings)
    }

    /// Runs `data` through `op`; each batch's rows have their own times as
    /// watermarks (in order, no delay), and the query's time then moves to
    /// the least of the two streams' (as the dataflow does).
    fn run(
        op: &mut dyn Operator,
        data: &[(usize, RecordBatch, Vec<i64>)],
        wm: &mut [i64; 2],
        out: &mut Vec<RecordBatch>,
    ) {
        for (port, b, ts) in data {
            op.process_port(*port, b, RowTimes { ts, wm: ts }, out).unwrap();
            wm[*port] = *ts.last().unwrap();
            op.advance(wm[0].min(wm[1]), out).unwrap();
        }
    }

    #[test]
    fn restored_join_and_pattern_queries_continue_as_if_never_stopped() {
        let data = data();
        for sql in QUERIES {
            let (q, settings) = setup(sql);
            for cut in [1, 7, 30, 61, 100] {
                let (mut whole, mut first, mut wm1, mut wm2) =
                    (Vec::new(), Vec::new(), [i64::MIN; 2], [i64::MIN; 2]);
                let mut straight = build_op(&q, &settings).unwrap();
                run(straight.as_mut(), &data, &mut wm1, &mut whole);
                let mut before = build_op(&q, &settings).unwrap();
                run(before.as_mut(), &data[..cut], &mut wm2, &mut first);
                let snap = before.snapshot().unwrap();
                let mut after = build_op(&q, &settings).unwrap();
                after.restore(&snap).unwrap();
                assert_eq!(
                    after.snapshot().unwrap(),
                    snap,
                    "{sql}: a restored query snapshots to the same bytes"
                );
                run(after.as_mut(), &data[cut..], &mut wm2, &mut first);
                let schema = q.output_schema.clone();
                assert!(
                    whole.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
                    "{sql}: the data makes rows"
                );
                assert_eq!(
                    concat_batches(&schema, &first).unwrap(),
                    concat_batches(&schema, &whole).unwrap(),
                    "{sql}: cut after batch {cut}"
                );
            }
        }
    }

    #[test]
    fn a_damaged_or_foreign_snapshot_is_refused_and_changes_nothing() {
        let data = data();
        let (q, settings) = setup(QUERIES[0]);
        let mut op = build_op(&q, &settings).unwrap();
        let mut sink = Vec::new();
        run(op.as_mut(), &data[..40], &mut [i64::MIN; 2], &mut sink);
        let good = op.snapshot().unwrap();
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x40;
        let mut fresh = build_op(&q, &settings).unwrap();
        let empty = fresh.snapshot().unwrap();
        assert_eq!(fresh.restore(&bad).unwrap_err().status, crate::Status::Corrupt);
        assert_eq!(
            fresh.snapshot().unwrap(),
            empty,
            "a refused snapshot leaves the query as it was"
        );
        // A pattern's snapshot is not a join's.
        let (p, ps) = setup(QUERIES[3]);
        let mut pat = build_op(&p, &ps).unwrap();
        run(pat.as_mut(), &data[..40], &mut [i64::MIN; 2], &mut sink);
        let before = pat.snapshot().unwrap();
        assert!(pat.restore(&good).is_err());
        assert_eq!(pat.snapshot().unwrap(), before);
    }
}
