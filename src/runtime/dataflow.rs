//! The graph the worker runs: streams, the queries reading them, and the
//! subscribers watching them. Changed only by `execute` and `subscribe`
//! (under the engine's lock), read by the worker one batch at a time.

use std::sync::Arc;

use ahash::AHashMap;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};

use super::options::{Options, Overflow};
use super::stats::{add, get, json_str, QueryStats, StreamStats};
use super::subscription::SubShared;
use crate::error::{Error, Result};
use crate::ops::filter_project::FilterProject;
use crate::ops::Operator;
use crate::sql::plan::{OptionValue, StreamOption};
use crate::sql::{Catalog, Plan, QueryPlan};
use crate::types::type_name;

/// Per-stream settings from `CREATE STREAM ... WITH (...)`, defaulting to the
/// engine's.
#[derive(Clone, Debug)]
pub(crate) struct StreamSettings {
    pub overflow: Overflow,
    pub queue_capacity: usize,
    pub push_timeout_ms: u64,
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
}

pub(crate) struct QueryNode {
    pub sql: String,
    pub input: usize,
    pub output: usize,
    pub op: Box<dyn Operator>,
    pub stats: QueryStats,
    pub last_error: Option<String>,
}

/// A batch on its way to a subscriber, handed over after the lock is released.
pub(crate) type Delivery = (Arc<SubShared>, RecordBatch);

#[derive(Default)]
pub(crate) struct Dataflow {
    pub streams: Vec<StreamNode>,
    by_name: AHashMap<String, usize>,
    pub queries: Vec<QueryNode>,
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
    /// checked before the first change.
    pub fn apply(&mut self, plans: Vec<Plan>, options: &Options) -> Result<()> {
        // Pass 1: validate against the graph as it will be.
        let mut pending_names: Vec<String> = Vec::new();
        let mut pending_edges: Vec<(String, String)> = Vec::new();
        let mut settings: Vec<Option<StreamSettings>> = Vec::with_capacity(plans.len());
        for plan in &plans {
            match plan {
                Plan::CreateStream(c) => {
                    settings.push(Some(stream_settings(&c.options, &c.schema, options)?));
                    pending_names.push(c.name.to_lowercase());
                }
                Plan::Insert(q) => {
                    settings.push(None);
                    let (inp, out) = (q.input.to_lowercase(), q.output.to_lowercase());
                    if self.reaches(&out, &inp, &pending_edges) {
                        return Err(Error::sql(format!(
                            "query would form a cycle: '{}' already feeds '{}' ({})",
                            q.output, q.input, q.sql
                        )));
                    }
                    pending_edges.push((inp, out));
                }
            }
        }
        // Pass 2: apply; nothing below fails.
        for (plan, settings) in plans.into_iter().zip(settings) {
            match plan {
                Plan::CreateStream(c) => {
                    if self.lookup(&c.name).is_some() && c.if_not_exists {
                        continue;
                    }
                    self.add_stream(c.name, c.schema, settings.expect("validated"));
                }
                Plan::Insert(q) => self.add_query(q, options),
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
        });
        id
    }

    fn add_query(&mut self, q: QueryPlan, options: &Options) {
        let input = self.lookup(&q.input).expect("analyzer resolved the input");
        let output = match self.lookup(&q.output) {
            Some(o) => o,
            None => self.add_stream(
                q.output.clone(),
                q.output_schema.clone(),
                default_settings(options),
            ),
        };
        let out_schema = self.streams[output].schema.clone();
        let in_schema = self.streams[input].schema.clone();
        let op = Box::new(FilterProject::new(q.filter, q.projection, out_schema, &in_schema));
        let id = self.queries.len();
        self.queries.push(QueryNode {
            sql: q.sql,
            input,
            output,
            op,
            stats: QueryStats::default(),
            last_error: None,
        });
        self.streams[input].readers.push(id);
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
    /// it; batches for subscribers are collected in `out`.
    pub fn push(&mut self, stream: usize, batch: RecordBatch, out: &mut Vec<Delivery>) {
        let n = batch.num_rows();
        if n == 0 {
            return;
        }
        let node = &self.streams[stream];
        add(&node.stats.events_in, n as u64);
        for s in &node.subscribers {
            out.push((s.clone(), batch.clone()));
        }
        let mut produced = Vec::new();
        for qi in 0..self.streams[stream].readers.len() {
            let q = &mut self.queries[self.streams[stream].readers[qi]];
            add(&q.stats.rows_in, n as u64);
            if let Err(e) = q.op.process(&batch, &mut produced) {
                add(&q.stats.errors, 1);
                q.last_error = Some(e.message);
            }
            let output = q.output;
            for b in produced.drain(..) {
                add(
                    &self.queries[self.streams[stream].readers[qi]].stats.rows_out,
                    b.num_rows() as u64,
                );
                self.push(output, b, out);
            }
        }
    }

    /// The input of `stream` ended for good: let its queries emit what they
    /// hold, downstream first-come.
    pub fn finish(&mut self, stream: usize, out: &mut Vec<Delivery>) {
        let mut produced = Vec::new();
        for qi in 0..self.streams[stream].readers.len() {
            let q = &mut self.queries[self.streams[stream].readers[qi]];
            if let Err(e) = q.op.finish(&mut produced) {
                add(&q.stats.errors, 1);
                q.last_error = Some(e.message);
            }
            let output = q.output;
            for b in produced.drain(..) {
                self.push(output, b, out);
            }
        }
    }

    /// Every input ended (engine close): finish streams upstream first, so
    /// what a query emits on finish still flows through the queries below it
    /// before those finish in turn.
    pub fn finish_all(&mut self, out: &mut Vec<Delivery>) {
        let n = self.streams.len();
        let mut indegree = vec![0usize; n];
        for q in &self.queries {
            indegree[q.output] += 1;
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
            self.finish(s, out);
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
                "{{\"name\":{},\"events_in\":{},\"events_out\":{},\"dropped\":{},\"rejected\":{},\"late\":{},\"queue_depth\":{},\"subscribers\":{},\"subscriber_queued\":{},\"subscriber_dropped\":{}}}",
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
            ));
        }
        s.push_str("],\"queries\":[");
        for (i, q) in self.queries.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "{{\"id\":{},\"sql\":{},\"input\":{},\"output\":{},\"rows_in\":{},\"rows_out\":{},\"errors\":{},\"last_error\":{},\"state_bytes\":{}}}",
                i,
                json_str(&q.sql),
                json_str(&self.streams[q.input].name),
                json_str(&self.streams[q.output].name),
                get(&q.stats.rows_in),
                get(&q.stats.rows_out),
                get(&q.stats.errors),
                q.last_error.as_deref().map(json_str).unwrap_or_else(|| "null".into()),
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
    }
}

/// The WITH keys a stream understands today.
const STREAM_KEYS: &[&str] = &["overflow", "queue_capacity", "push_timeout_ms", "event_time"];

fn stream_settings(opts: &[StreamOption], schema: &SchemaRef, o: &Options) -> Result<StreamSettings> {
    let mut s = default_settings(o);
    for opt in opts {
        let at = format!("line {}:{}", opt.line, opt.column);
        let bad = |want: &str| {
            Error::sql(format!(
                "{at}: option '{}' expects {want}, got {:?}",
                opt.key, opt.value
            ))
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
            "push_timeout_ms" => match opt.value {
                OptionValue::Integer(v) if v >= 0 => s.push_timeout_ms = v as u64,
                OptionValue::Interval(v) if v >= 0 => s.push_timeout_ms = v as u64,
                _ => return Err(bad("a non-negative integer of milliseconds")),
            },
            // Declares which column carries each event's time. Validated
            // now so hosts that order input by it (the eddy CLI) can rely on
            // it; watermarks will read the same declaration.
            "event_time" => {
                let col = match &opt.value {
                    OptionValue::String(v) | OptionValue::Ident(v) => v,
                    _ => return Err(bad("a column name")),
                };
                let Some(f) = schema
                    .fields()
                    .iter()
                    .find(|f| f.name().eq_ignore_ascii_case(col))
                else {
                    return Err(Error::sql(format!(
                        "{at}: event_time column '{col}' is not a column of the stream"
                    )));
                };
                if !matches!(
                    f.data_type(),
                    DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, None)
                ) {
                    return Err(Error::sql(format!(
                        "{at}: event_time column '{}' is {}; it must be TIMESTAMP or BIGINT",
                        f.name(),
                        type_name(f.data_type())
                    )));
                }
            }
            other => {
                return Err(Error::sql(format!(
                    "{at}: unknown stream option '{other}' (known: {})",
                    STREAM_KEYS.join(", ")
                )))
            }
        }
    }
    Ok(s)
}
