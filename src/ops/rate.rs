//! Output rate limiting: `OUTPUT [ALL | FIRST | LAST | SNAPSHOT] EVERY ...`.
//! Sits after the selector; counts output rows or periods of the query's
//! time (event time or processing time, as the query's windows).

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::ops::window::period_start;
use crate::sql::plan::{Every, OutputMode, OutputRate};
use crate::state::{corrupt, put_batch, put_bool, put_opt_i64, put_var, Reader};

pub(crate) struct RateLimiter {
    schema: SchemaRef,
    mode: OutputMode,
    every: Every,
    /// ALL: rows held until the block or period ends.
    buf: Vec<RecordBatch>,
    buffered: usize,
    /// Rows seen in the current block of n (EVENTS).
    count: u64,
    /// End of the current period (INTERVAL), once time is known.
    period_end: Option<i64>,
    /// FIRST per period: the period's first row went out.
    first_sent: bool,
    /// LAST per period: the latest row.
    last: Option<RecordBatch>,
}

impl RateLimiter {
    pub fn new(rate: OutputRate, schema: SchemaRef) -> RateLimiter {
        RateLimiter {
            schema,
            mode: rate.mode,
            every: rate.every,
            buf: Vec::new(),
            buffered: 0,
            count: 0,
            period_end: None,
            first_sent: false,
            last: None,
        }
    }

    pub fn is_snapshot(&self) -> bool {
        self.mode == OutputMode::Snapshot
    }

    pub fn state_bytes(&self) -> usize {
        self.buf.iter().map(|b| b.get_array_memory_size()).sum::<usize>()
            + self.last.as_ref().map_or(0, |b| b.get_array_memory_size())
    }

    fn pick(batch: &RecordBatch, rows: Vec<u32>) -> Result<RecordBatch> {
        let idx = UInt32Array::from(rows);
        let cols = batch
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(batch.schema(), cols)?)
    }

    fn flush_buf(&mut self, out: &mut Vec<RecordBatch>) -> Result<()> {
        if self.buffered > 0 {
            out.push(concat_batches(&self.schema, &self.buf)?);
        }
        self.buf.clear();
        self.buffered = 0;
        Ok(())
    }

    /// Rows the selector produced at time `now`.
    pub fn rows(&mut self, batch: RecordBatch, now: i64, out: &mut Vec<RecordBatch>) -> Result<bool> {
        let mut snapshot_due = false;
        if let Every::Interval(_) = self.every {
            snapshot_due = self.roll(now, out)?;
        }
        let n = batch.num_rows();
        match (self.every, self.mode) {
            (Every::Events(k), OutputMode::All) => {
                self.buf.push(batch);
                self.buffered += n;
                if self.buffered as u64 >= k {
                    // One concatenation, then every full block as a slice.
                    let all = concat_batches(&self.schema, &self.buf)?;
                    let k = k as usize;
                    let full = all.num_rows() / k * k;
                    for at in (0..full).step_by(k) {
                        out.push(all.slice(at, k));
                    }
                    let rest = all.slice(full, all.num_rows() - full);
                    self.buffered = rest.num_rows();
                    self.buf = vec![rest];
                }
            }
            (Every::Events(k), OutputMode::First | OutputMode::Last) => {
                let want = if self.mode == OutputMode::First { 0 } else { k - 1 };
                let mut rows = Vec::new();
                for i in 0..n {
                    if self.count % k == want {
                        rows.push(i as u32);
                    }
                    self.count += 1;
                }
                if !rows.is_empty() {
                    out.push(Self::pick(&batch, rows)?);
                }
                if self.mode == OutputMode::Last && self.count % k != 0 {
                    // Remembered for the end of the stream: no silent loss
                    // of a partial block.
                    self.last = Some(batch.slice(n - 1, 1));
                } else {
                    self.last = None;
                }
            }
            (Every::Interval(_), OutputMode::All) => {
                self.buf.push(batch);
                self.buffered += n;
            }
            (Every::Interval(_), OutputMode::First) => {
                if !self.first_sent && n > 0 {
                    out.push(batch.slice(0, 1));
                    self.first_sent = true;
                }
            }
            (Every::Interval(_), OutputMode::Last) => {
                if n > 0 {
                    self.last = Some(batch.slice(n - 1, 1));
                }
            }
            (_, OutputMode::Snapshot) => {}
        }
        Ok(snapshot_due)
    }

    /// Closes the periods that ended by `now`. Returns true when a snapshot
    /// is due (the caller emits it).
    fn roll(&mut self, now: i64, out: &mut Vec<RecordBatch>) -> Result<bool> {
        let Every::Interval(d) = self.every else {
            return Ok(false);
        };
        let end = match self.period_end {
            Some(e) => e,
            None => {
                if now == i64::MAX {
                    return Ok(false);
                }
                self.period_end = Some(now.saturating_add(d));
                return Ok(false);
            }
        };
        if now < end {
            return Ok(false);
        }
        match self.mode {
            OutputMode::All => self.flush_buf(out)?,
            OutputMode::Last => out.extend(self.last.take()),
            _ => {}
        }
        self.first_sent = false;
        // The next period is the one containing `now` (now >= end here).
        let next = period_start(end, now, d) + d as i128;
        self.period_end = Some(next.min(i64::MAX as i128) as i64);
        Ok(self.mode == OutputMode::Snapshot)
    }

    /// Time moved on. Returns true when a snapshot is due. Periods start
    /// at the first output row, so time alone does not start one.
    pub fn advance(&mut self, now: i64, out: &mut Vec<RecordBatch>) -> Result<bool> {
        if self.period_end.is_none() {
            return Ok(false);
        }
        self.roll(now, out)
    }

    pub fn next_deadline(&self) -> Option<i64> {
        match self.every {
            Every::Interval(_) => self.period_end,
            Every::Events(_) => None,
        }
    }

    /// End of the stream: what is held goes out.
    pub fn finish(&mut self, out: &mut Vec<RecordBatch>) -> Result<()> {
        match self.mode {
            OutputMode::All => self.flush_buf(out)?,
            OutputMode::Last => out.extend(self.last.take()),
            _ => {}
        }
        Ok(())
    }

    /// Appends what is held: buffered rows, counters, the current period.
    pub fn write_state(&self, w: &mut Vec<u8>) -> Result<()> {
        put_batch(w, &concat_batches(&self.schema, &self.buf)?)?;
        put_var(w, self.count);
        put_opt_i64(w, self.period_end);
        put_bool(w, self.first_sent);
        put_bool(w, self.last.is_some());
        if let Some(b) = &self.last {
            put_batch(w, b)?;
        }
        Ok(())
    }

    /// Replaces this fresh limiter's state with what `write_state` wrote.
    pub fn read_state(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let buf = r.batch(&self.schema)?;
        self.buffered = buf.num_rows();
        self.buf = vec![buf];
        self.count = r.count()?;
        self.period_end = r.opt_i64()?;
        self.first_sent = r.bool()?;
        self.last = if r.bool()? {
            let b = r.batch(&self.schema)?;
            if b.num_rows() != 1 {
                return Err(corrupt("the held last row is not one row"));
            }
            Some(b)
        } else {
            None
        };
        Ok(())
    }
}
