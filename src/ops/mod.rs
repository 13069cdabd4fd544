//! Operators: what a query runs over each batch that reaches it.
//!
//! One file per operator family. Every operator keeps its state in itself and
//! reports its size, so stats can show it and the durability work can
//! snapshot and restore it.

pub mod filter_project;

use arrow::array::RecordBatch;

use crate::error::Result;

pub trait Operator: Send {
    /// Runs one input batch; appends result batches (possibly none) to `out`.
    fn process(&mut self, batch: &RecordBatch, out: &mut Vec<RecordBatch>) -> Result<()>;

    /// The input ended: emit whatever is still held (windows fire here).
    fn finish(&mut self, _out: &mut Vec<RecordBatch>) -> Result<()> {
        Ok(())
    }

    /// Bytes of state held between batches.
    fn state_bytes(&self) -> usize {
        0
    }

    /// Serializes the operator's state; stateless operators have none.
    fn snapshot(&self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

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
