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

pub(crate) struct StatefulQuery {
    filter: Option<Expr>,
    window: Option<Box<dyn Window>>,
    selector: Selector,
    rate: Option<RateLimiter>,
    /// Arrival numbers for queries without a window.
    seq: u64,
    chunks: Vec<Chunk>,
    selected: Vec<RecordBatch>,
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
        let aggregates = plan.aggregate.is_some();
        let batch = plan.window.as_ref().is_some_and(|w| w.is_batch());
        // Expired events matter when they are output, or when they leave
        // running aggregates.
        let keep_expired = plan.events != OutputEvents::Current || (aggregates && !batch);
        // Out-of-order time makes expiry order differ from arrival order.
        let out_of_order = time.event_time && time.lateness > 0
            || matches!(
                plan.window,
                Some(crate::sql::plan::WindowPlan::ExternalTime { .. })
            );
        let fifo = plan.window.as_ref().map_or(true, |w| w.expires_fifo()) && !out_of_order;
        let window = plan
            .window
            .as_ref()
            .map(|w| window::build(w, in_schema, keep_expired, time.lateness));
        Ok(StatefulQuery {
            filter: plan.filter.clone(),
            window,
            selector: Selector::new(plan, in_schema, out_schema.clone(), fifo)?,
            rate: plan.output_rate.map(|r| RateLimiter::new(r, out_schema)),
            seq: 0,
            chunks: Vec::new(),
            selected: Vec::new(),
        })
    }

    /// Chunks → selector → rate limiter → `out`, at time `now`.
    fn emit(&mut self, now: i64, out: &mut Vec<RecordBatch>) -> Result<()> {
        for c in self.chunks.drain(..) {
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
        if let Some(b) = self.selector.snapshot()? {
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
                        bounds: None,
                        triggers: (1..=n).collect(),
                        batch: false,
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

    // Aggregates already serialize themselves (GroupsAccumulator::snapshot);
    // the windows' rows and the selector's group map do not yet, so say so
    // rather than hand back an empty snapshot that would restore wrong.
    fn snapshot(&self) -> Result<Vec<u8>> {
        Err(crate::Error::new(
            crate::Status::Internal,
            "snapshots of windowed or aggregating queries are not implemented yet",
        ))
    }

    fn restore(&mut self, _snapshot: &[u8]) -> Result<()> {
        Err(crate::Error::new(
            crate::Status::Internal,
            "snapshots of windowed or aggregating queries are not implemented yet",
        ))
    }

    fn uses_time(&self) -> bool {
        true
    }
}
