//! Where a window keeps the rows it holds: the batches they arrived in,
//! shared (not copied), each kept while any of its rows is still in the
//! window. A chunk is gathered from them in one pass per column.

use ahash::AHashMap;
use arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{interleave, take};
use arrow::datatypes::SchemaRef;

use crate::error::Result;

/// One stored row: its batch and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowRef {
    pub seg: u64,
    pub row: u32,
}

struct Seg {
    batch: RecordBatch,
    live: usize,
    bytes: usize,
}

pub(crate) struct RowStore {
    schema: SchemaRef,
    segs: AHashMap<u64, Seg>,
    next: u64,
    bytes: usize,
    /// Segments whose last row left; removed by `sweep` once chunks that
    /// still refer to them are gathered.
    dead: Vec<u64>,
}

impl RowStore {
    pub fn new(schema: SchemaRef) -> RowStore {
        RowStore {
            schema,
            segs: AHashMap::new(),
            next: 0,
            bytes: 0,
            dead: Vec::new(),
        }
    }

    /// Registers a batch; its rows are referred to as `RowRef { seg, row }`.
    /// It stays until `sweep` finds none of its rows retained.
    pub fn add(&mut self, batch: &RecordBatch) -> u64 {
        let id = self.next;
        self.next += 1;
        let bytes = batch.get_array_memory_size();
        self.bytes += bytes;
        self.segs.insert(
            id,
            Seg {
                batch: batch.clone(),
                live: 0,
                bytes,
            },
        );
        self.dead.push(id);
        id
    }

    pub fn retain(&mut self, r: RowRef) {
        if let Some(s) = self.segs.get_mut(&r.seg) {
            s.live += 1;
        }
    }

    /// The row left the window. Its batch stays readable until `sweep`.
    pub fn release(&mut self, r: RowRef) {
        if let Some(s) = self.segs.get_mut(&r.seg) {
            s.live -= 1;
            if s.live == 0 {
                self.dead.push(r.seg);
            }
        }
    }

    /// Drops batches none of whose rows is held any more.
    pub fn sweep(&mut self) {
        for id in self.dead.drain(..) {
            if let Some(s) = self.segs.get(&id) {
                if s.live == 0 {
                    self.bytes -= s.bytes;
                    self.segs.remove(&id);
                }
            }
        }
    }

    pub fn state_bytes(&self) -> usize {
        self.bytes + self.segs.capacity() * 48
    }

    /// The rows `refs` point at, in that order.
    pub fn gather(&self, refs: &[RowRef]) -> Result<RecordBatch> {
        let first = refs[0].seg;
        if refs.iter().all(|r| r.seg == first) {
            let b = &self.segs[&first].batch;
            let start = refs[0].row as usize;
            if refs.iter().enumerate().all(|(i, r)| r.row as usize == start + i) {
                return Ok(b.slice(start, refs.len()));
            }
            let idx = UInt32Array::from_iter_values(refs.iter().map(|r| r.row));
            let cols = b
                .columns()
                .iter()
                .map(|c| take(c.as_ref(), &idx, None))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            return Ok(RecordBatch::try_new(self.schema.clone(), cols)?);
        }
        let mut order: Vec<u64> = Vec::new();
        let mut pos: AHashMap<u64, usize> = AHashMap::new();
        let indices: Vec<(usize, usize)> = refs
            .iter()
            .map(|r| {
                let i = *pos.entry(r.seg).or_insert_with(|| {
                    order.push(r.seg);
                    order.len() - 1
                });
                (i, r.row as usize)
            })
            .collect();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for c in 0..self.schema.fields().len() {
            let arrays: Vec<&dyn Array> = order
                .iter()
                .map(|s| self.segs[s].batch.column(c).as_ref())
                .collect();
            cols.push(interleave(&arrays, &indices)?);
        }
        Ok(RecordBatch::try_new(self.schema.clone(), cols)?)
    }

    /// A batch with no rows, for windows that hold nothing.
    pub fn empty(&self) -> RecordBatch {
        RecordBatch::new_empty(self.schema.clone())
    }
}
