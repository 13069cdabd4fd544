//! Windows: which events a query sees at each moment, and when.
//!
//! A window takes the rows that passed WHERE, each with its time and the
//! watermark to apply before it, and emits *chunks* of events: current
//! events (arrivals) and expired events (departures), in the order they
//! happen. Sliding windows emit what each arriving event (or each moment of
//! time) causes, one trigger at a time; batch windows emit a whole batch
//! when it closes. The selector turns chunks into output rows.
//!
//! Time is whatever the query runs in: the stream's watermark (event time)
//! or the engine clock (processing time) for the time kinds, a column's
//! largest value for the external-time kinds. `advance(i64::MAX)` is the end
//! of the stream: every time window fires and every timed event expires.

mod batch;
mod count_agg;
mod pane_agg;
mod sliding;
mod store;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::sql::plan::WindowPlan;
use crate::state::Reader;
pub(crate) use count_agg::CountAgg;
pub(crate) use pane_agg::PaneAgg;
pub(crate) use sliding::KeyEncoder;
pub(crate) use store::{RefTable, RowRef, RowStore};

/// Events a window emits, materialized as rows of the input schema.
///
/// `rows` holds each event's row once, expired events first and then
/// current ones, each part in the order its events happen: both parts are
/// then mostly runs of stored batches, copied by slice rather than gathered
/// row by row. `order` gives the order the events happen in, when it is not
/// the rows' own.
pub(crate) struct Chunk {
    pub rows: RecordBatch,
    /// Per row: a departure (true) or an arrival (false).
    pub expired: Vec<bool>,
    /// Per row: the event's arrival number (an expired event carries the
    /// number it arrived with).
    pub seq: Vec<u64>,
    /// Event k is row `order[k]`; None: event k is row k.
    pub order: Option<Vec<u32>>,
    /// `window_start` and `window_end` of a batch time window.
    pub bounds: Option<(i64, i64)>,
    /// Event position where each trigger's events end (exclusive,
    /// increasing): ORDER BY / LIMIT apply within one trigger.
    pub triggers: Vec<usize>,
    /// A closed batch (one output row per group) rather than per-event
    /// output.
    pub batch: bool,
    /// Groups already aggregated (pane aggregation): one row per group, its
    /// last event, and these aggregate results, one column per call.
    pub aggregates: Option<Vec<ArrayRef>>,
}

impl Chunk {
    /// The row of event `k`.
    #[inline]
    pub fn row_of(&self, k: usize) -> usize {
        self.order.as_ref().map_or(k, |o| o[k] as usize)
    }

    /// The same events with rows in event order (`order` None): for the
    /// paths that read rows in the order events happen.
    pub fn in_event_order(&self) -> Result<Chunk> {
        let Some(order) = &self.order else {
            return Ok(self.clone_parts(self.rows.clone(), self.expired.clone(), self.seq.clone()));
        };
        let idx = arrow::array::UInt32Array::from(order.clone());
        let cols = self
            .rows
            .columns()
            .iter()
            .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let rows = RecordBatch::try_new(self.rows.schema(), cols)?;
        let expired = order.iter().map(|&i| self.expired[i as usize]).collect();
        let seq = order.iter().map(|&i| self.seq[i as usize]).collect();
        Ok(self.clone_parts(rows, expired, seq))
    }

    fn clone_parts(&self, rows: RecordBatch, expired: Vec<bool>, seq: Vec<u64>) -> Chunk {
        Chunk {
            rows,
            expired,
            seq,
            order: None,
            bounds: self.bounds,
            triggers: self.triggers.clone(),
            batch: self.batch,
            aggregates: self.aggregates.clone(),
        }
    }
}

/// Per-row time of the rows handed to a window.
#[derive(Clone, Copy)]
pub(crate) struct RowTimes<'a> {
    /// The row's time (event time, or the arrival time in processing time).
    pub ts: &'a [i64],
    /// The watermark (or clock) to apply before the row.
    pub wm: &'a [i64],
}

pub(crate) trait Window: Send {
    fn process(&mut self, rows: &RecordBatch, times: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()>;
    /// Time reached `t`: fire and expire what is due. Count-based windows
    /// have nothing to do.
    fn advance(&mut self, _t: i64, _out: &mut Vec<Chunk>) -> Result<()> {
        Ok(())
    }
    /// The time at which `advance` next has something to do.
    fn next_deadline(&self) -> Option<i64> {
        None
    }
    fn state_bytes(&self) -> usize;
    /// The window aggregates as rows arrive (pane_agg.rs).
    #[cfg(test)]
    fn aggregates_in_panes(&self) -> bool {
        false
    }
    /// Rows that arrived for a window already closed and gone (counted, not
    /// applied).
    fn late(&self) -> u64 {
        0
    }
    /// The events currently in the window, oldest first (for OUTPUT
    /// SNAPSHOT over a query without aggregates).
    fn contents(&self) -> Result<Option<RecordBatch>>;
    /// Appends the window's state: the rows it holds and how.
    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()>;
    /// Replaces the state of this fresh window (built from the same plan)
    /// with a snapshot's. On error the window must be discarded.
    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()>;
}

/// Builds the window of a plan. `keep_expired`: expired events must be
/// emitted (the query outputs them or retracts them from aggregates).
/// `lateness`: how long after firing a time window still takes late rows.
/// `agg`: the query's aggregates, to compute as rows arrive where the
/// window allows it (the batch time kinds, no expired event wanted; see
/// pane_agg.rs); elsewhere the selector aggregates the chunks.
pub(crate) fn build(
    plan: &WindowPlan,
    schema: &SchemaRef,
    keep_expired: bool,
    lateness: i64,
    agg: Option<PaneAgg>,
) -> Box<dyn Window> {
    use batch::{Assign, BatchWindow, Expiry, Progress};
    let s = schema.clone();
    let agg = agg.filter(|_| pane_aggregates(plan) && !keep_expired);
    // Called in one match arm only: it may take `agg`.
    let timed = move |assign, progress, expiry| -> Box<dyn Window> {
        Box::new(BatchWindow::new(
            schema.clone(),
            assign,
            progress,
            expiry,
            keep_expired,
            lateness,
            agg,
        ))
    };
    match *plan {
        WindowPlan::Length(n) => Box::new(sliding::Length::new(s, n as usize)),
        WindowPlan::Time(d) => Box::new(sliding::Timed::new(s, d, None, true)),
        WindowPlan::ExternalTime { column, size } => {
            Box::new(sliding::Timed::new(s, size, Some(column), true))
        }
        WindowPlan::Delay(d) => Box::new(sliding::Timed::new(s, d, None, false)),
        WindowPlan::Sort {
            n,
            column,
            descending,
        } => Box::new(sliding::Sorted::new(s, n as usize, column, descending)),
        WindowPlan::Unique(c) => Box::new(sliding::Unique::new(s, c, false)),
        WindowPlan::FirstUnique(c) => Box::new(sliding::Unique::new(s, c, true)),
        WindowPlan::LengthBatch(n) => Box::new(batch::LengthBatch::new(s, n as usize, keep_expired)),
        WindowPlan::TimeBatch { size, start } => timed(
            Assign::Anchored { size, anchor: start },
            Progress::Stream,
            Expiry::WithNext(size),
        ),
        WindowPlan::ExternalTimeBatch { column, size, start } => timed(
            Assign::Anchored { size, anchor: start },
            Progress::Column(column),
            Expiry::WithNext(size),
        ),
        WindowPlan::Tumbling(size) => timed(
            Assign::Hopping { size, slide: size },
            Progress::Stream,
            Expiry::AtPurge,
        ),
        WindowPlan::Hopping { size, slide } => {
            timed(Assign::Hopping { size, slide }, Progress::Stream, Expiry::AtPurge)
        }
        WindowPlan::Session { gap, key } => {
            timed(Assign::Session { gap, key }, Progress::Stream, Expiry::AtPurge)
        }
    }
}

/// The window kinds that can aggregate in their panes: batch windows over
/// time (sessions merge, which accumulators cannot; lengthBatch holds one
/// batch at a time anyway).
fn pane_aggregates(plan: &WindowPlan) -> bool {
    matches!(
        plan,
        WindowPlan::Tumbling(_)
            | WindowPlan::Hopping { .. }
            | WindowPlan::TimeBatch { .. }
            | WindowPlan::ExternalTimeBatch { .. }
    )
}

/// Collects events referring to stored rows, then materializes them into a
/// chunk: expired rows, then current rows (see `Chunk`).
pub(crate) struct Emit {
    /// Expired events' rows and numbers, in event order.
    exp: Vec<(RowRef, u64)>,
    /// Current events' rows and numbers, in event order.
    cur: Vec<(RowRef, u64)>,
    /// Per event, in order: index into `exp` with EXPIRED set, or into `cur`.
    events: Vec<u32>,
    /// Whether some current event happened before an expired one (else the
    /// rows' order is the events' order).
    mixed: bool,
    triggers: Vec<usize>,
}

const EXPIRED: u32 = 1 << 31;

impl Emit {
    pub fn new() -> Emit {
        Emit::with_capacity(0)
    }

    /// Room for `n` events of each kind without growing.
    pub fn with_capacity(n: usize) -> Emit {
        Emit {
            exp: Vec::with_capacity(n),
            cur: Vec::with_capacity(n),
            events: Vec::with_capacity(2 * n),
            mixed: false,
            triggers: Vec::new(),
        }
    }

    #[inline]
    pub fn push(&mut self, r: RowRef, seq: u64, expired: bool) {
        if expired {
            self.mixed |= !self.cur.is_empty();
            self.events.push(self.exp.len() as u32 | EXPIRED);
            self.exp.push((r, seq));
        } else {
            self.events.push(self.cur.len() as u32);
            self.cur.push((r, seq));
        }
    }

    /// Ends the current trigger (if it has events).
    #[inline]
    pub fn trigger(&mut self) {
        let n = self.events.len();
        if self.triggers.last().copied().unwrap_or(0) < n {
            self.triggers.push(n);
        }
    }

    /// Turns the collected events into a chunk and starts over.
    pub fn take(
        &mut self,
        store: &RowStore,
        bounds: Option<(i64, i64)>,
        batch: bool,
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        self.trigger();
        if self.events.is_empty() {
            return Ok(());
        }
        let ne = self.exp.len();
        let refs: Vec<RowRef> = self.exp.iter().chain(&self.cur).map(|p| p.0).collect();
        let rows = store.gather(&refs)?;
        let order = self.mixed.then(|| {
            self.events
                .iter()
                .map(|&e| {
                    if e & EXPIRED != 0 {
                        e & !EXPIRED
                    } else {
                        e + ne as u32
                    }
                })
                .collect()
        });
        let mut expired = vec![true; ne];
        expired.resize(refs.len(), false);
        let seq = self.exp.iter().chain(&self.cur).map(|p| p.1).collect();
        self.exp.clear();
        self.cur.clear();
        self.events.clear();
        self.mixed = false;
        out.push(Chunk {
            rows,
            expired,
            seq,
            order,
            bounds,
            triggers: std::mem::take(&mut self.triggers),
            batch,
            aggregates: None,
        });
        Ok(())
    }
}

/// The start of the period of length `d` (> 0) that holds `ts`, periods
/// laid end to end from `anchor`. In i128: `ts - anchor` exceeds i64 when
/// the two sit near opposite ends (a row at i64::MIN after one at
/// i64::MAX; the end of time at close after a period far below zero), as
/// the fuzz targets found twice. The caller clamps to what it needs.
pub(crate) fn period_start(anchor: i64, ts: i64, d: i64) -> i128 {
    let (a, d) = (anchor as i128, d as i128);
    a + (ts as i128 - a).div_euclid(d) * d
}

/// Floor division for window arithmetic over negative times.
pub(crate) fn floor_div(a: i64, b: i64) -> i64 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}
