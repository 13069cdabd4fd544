//! Operators: what a query runs over each batch that reaches it.
//!
//! One file per operator family. Every operator keeps its state in itself and
//! reports its size, so stats can show it and the durability work can
//! snapshot and restore it.

pub mod aggregate;
pub(crate) mod combine;
pub mod filter_project;
pub(crate) mod join;
pub(crate) mod pattern;
pub(crate) mod query;
pub(crate) mod rate;
pub(crate) mod select;
pub(crate) mod window;

use arrow::array::RecordBatch;

use crate::error::Result;
pub(crate) use window::RowTimes;

pub(crate) trait Operator: Send {
    /// Runs one input batch; appends result batches (possibly none) to `out`.
    fn process(&mut self, batch: &RecordBatch, out: &mut Vec<RecordBatch>) -> Result<()>;

    /// As `process`, with each row's time and the watermark (or clock) to
    /// apply before it. Operators that ignore time need not override it.
    fn process_at(
        &mut self,
        batch: &RecordBatch,
        _times: RowTimes<'_>,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        self.process(batch, out)
    }

    /// As `process_at`, for rows of input `port` of a query that reads
    /// several streams (a join, a pattern).
    fn process_port(
        &mut self,
        _port: usize,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        self.process_at(batch, times, out)
    }

    /// Whether `process_at` needs row times (the caller may skip them).
    fn uses_time(&self) -> bool {
        false
    }

    /// Time (watermark or clock) reached `t`: fire what is due.
    fn advance(&mut self, _t: i64, _out: &mut Vec<RecordBatch>) -> Result<()> {
        Ok(())
    }

    /// When `advance` next has something to do.
    fn next_deadline(&self) -> Option<i64> {
        None
    }

    /// Rows that came too late for a window already gone (counted).
    fn late(&self) -> u64 {
        0
    }

    /// The input ended: emit whatever is still held (windows fire here).
    fn finish(&mut self, _out: &mut Vec<RecordBatch>) -> Result<()> {
        Ok(())
    }

    /// Bytes of state held between batches.
    fn state_bytes(&self) -> usize {
        0
    }

    /// Serializes the operator's state; stateless operators have none.
    /// (Called by the durability work, which is not built yet.)
    #[allow(dead_code)]
    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    #[allow(dead_code)]
    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        if snapshot.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::new(
                crate::Status::Corrupt,
                "stateless operator given a non-empty snapshot",
            ))
        }
    }
}
