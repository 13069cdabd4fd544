//! Where a window keeps the rows it holds: the batches they arrived in,
//! shared (not copied), each kept while any of its rows is still in the
//! window. A chunk is gathered from them in one pass per column.

use ahash::AHashMap;
use arrow::array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow::compute::{interleave, take};
use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::state::{corrupt, put_batch, put_bytes, put_var, Reader};

/// One stored row: its batch and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowRef {
    pub seg: u64,
    pub row: u32,
}

struct Seg {
    batch: RecordBatch,
    /// Rows of the batch still held (as of the last `sweep`).
    live: i64,
    bytes: usize,
}

pub(crate) struct RowStore {
    schema: SchemaRef,
    segs: AHashMap<u64, Seg>,
    next: u64,
    bytes: usize,
    /// Held-row changes since the last `sweep`, merged by batch while the
    /// same batches recur: rows arrive and leave in runs of a batch or two,
    /// so this spares a map lookup per row. Batches stay readable until `sweep` applies them.
    pending: Vec<(u64, i64)>,
}

impl RowStore {
    pub fn new(schema: SchemaRef) -> RowStore {
        RowStore {
            schema,
            segs: AHashMap::new(),
            next: 0,
            bytes: 0,
            pending: Vec::new(),
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
        self.bump(id, 0);
        id
    }

    #[inline]
    fn bump(&mut self, seg: u64, by: i64) {
        // The last two entries: a sliding window alternates between the
        // batch its departures come from and the one arriving.
        let n = self.pending.len();
        for p in self.pending[n.saturating_sub(2)..].iter_mut().rev() {
            if p.0 == seg {
                p.1 += by;
                return;
            }
        }
        self.pending.push((seg, by));
    }

    pub fn retain(&mut self, r: RowRef) {
        self.bump(r.seg, 1);
    }

    /// The row left the window. Its batch stays readable until `sweep`.
    pub fn release(&mut self, r: RowRef) {
        self.bump(r.seg, -1);
    }

    /// Applies the held-row changes and drops batches none of whose rows is
    /// held any more. Changes are summed per batch first: a batch may empty
    /// and refill within one call.
    pub fn sweep(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by_key(|p| p.0);
        let mut i = 0;
        while i < pending.len() {
            let id = pending[i].0;
            let mut by = 0;
            while i < pending.len() && pending[i].0 == id {
                by += pending[i].1;
                i += 1;
            }
            if let Some(s) = self.segs.get_mut(&id) {
                s.live += by;
                debug_assert!(s.live >= 0, "a row released more often than retained");
                if s.live <= 0 {
                    self.bytes -= s.bytes;
                    self.segs.remove(&id);
                }
            }
        }
        pending.clear();
        self.pending = pending;
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
        // Few runs of consecutive rows (a sliding window's departures and
        // arrivals): slices copied whole beat a per-row gather.
        let mut runs: Vec<(u64, usize, usize)> = Vec::new();
        for r in refs {
            match runs.last_mut() {
                Some((seg, start, len)) if *seg == r.seg && *start + *len == r.row as usize => *len += 1,
                _ => {
                    if runs.len() * 16 >= refs.len() {
                        break;
                    }
                    runs.push((r.seg, r.row as usize, 1));
                }
            }
        }
        if runs.iter().map(|r| r.2).sum::<usize>() == refs.len() {
            let parts: Vec<RecordBatch> = runs
                .iter()
                .map(|&(seg, start, len)| self.segs[&seg].batch.slice(start, len))
                .collect();
            return Ok(arrow::compute::concat_batches(&self.schema, &parts)?);
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

/// The rows a window snapshot refers to: each distinct held row once, in
/// the order first referred to. Writing only held rows compacts the
/// snapshot: a batch of which one row is still held costs one row.
#[derive(Default)]
pub(crate) struct RefTable {
    index: AHashMap<RowRef, u32>,
    refs: Vec<RowRef>,
}

impl RefTable {
    /// Writes `r` as its index among the snapshot's rows.
    pub fn put(&mut self, w: &mut Vec<u8>, r: RowRef) {
        let next = self.refs.len() as u32;
        let i = *self.index.entry(r).or_insert(next);
        if i == next {
            self.refs.push(r);
        }
        put_var(w, i as u64);
    }
}

/// The rows of a restored snapshot, to turn written indexes back into refs.
#[derive(Clone, Copy)]
pub(crate) struct Restored {
    seg: u64,
    rows: u64,
}

impl Restored {
    /// Reads a row index and returns its ref (not yet retained).
    pub fn get(&self, r: &mut Reader<'_>) -> Result<RowRef> {
        let i = r.var()?;
        if i >= self.rows {
            return Err(corrupt("row index out of range"));
        }
        Ok(RowRef {
            seg: self.seg,
            row: i as u32,
        })
    }
}

impl RowStore {
    /// Writes a window's snapshot: its kind `tag`, the rows `t` refers to,
    /// then `body` (the window's own structure, refs written through `t`).
    pub fn write_snapshot(&self, tag: u8, t: &RefTable, body: &[u8], w: &mut Vec<u8>) -> Result<()> {
        w.push(tag);
        let rows = if t.refs.is_empty() {
            self.empty()
        } else {
            self.gather(&t.refs)?
        };
        put_batch(w, &rows)?;
        put_bytes(w, body);
        Ok(())
    }

    /// Reads what `write_snapshot` wrote into this (fresh) store: checks
    /// the tag, adds the rows, and returns them with a reader over the body.
    /// The caller retains each ref it restores, then sweeps.
    pub fn read_snapshot<'a>(&mut self, tag: u8, r: &mut Reader<'a>) -> Result<(Restored, Reader<'a>)> {
        if r.array::<1>()? != [tag] {
            return Err(corrupt("not a snapshot of this window kind"));
        }
        let rows = r.batch(&self.schema)?;
        let n = rows.num_rows() as u64;
        if n > u32::MAX as u64 {
            return Err(corrupt("too many rows"));
        }
        let seg = self.add(&rows);
        let body = Reader::new(r.blob()?);
        Ok((Restored { seg, rows: n }, body))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};

    use super::*;

    fn batch(v: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(v.to_vec()))]).unwrap()
    }

    fn values(b: &RecordBatch) -> Vec<i64> {
        b.column(0).as_primitive::<Int64Type>().values().to_vec()
    }

    #[test]
    fn a_batch_that_empties_and_refills_within_one_call_stays() {
        let a = batch(&[1, 2]);
        let mut s = RowStore::new(a.schema());
        let x = s.add(&a);
        let y = s.add(&batch(&[10]));
        // Interleaved: x's only held row leaves, y's leaves, then x's second
        // row is held: x must survive the sweep.
        s.retain(RowRef { seg: x, row: 0 });
        s.retain(RowRef { seg: y, row: 0 });
        s.release(RowRef { seg: x, row: 0 });
        s.release(RowRef { seg: y, row: 0 });
        s.retain(RowRef { seg: x, row: 1 });
        s.sweep();
        assert_eq!(values(&s.gather(&[RowRef { seg: x, row: 1 }]).unwrap()), vec![2]);
        assert!(!s.segs.contains_key(&y), "y holds no row: dropped");
        // Released rows stay readable until the sweep.
        s.release(RowRef { seg: x, row: 1 });
        assert_eq!(values(&s.gather(&[RowRef { seg: x, row: 1 }]).unwrap()), vec![2]);
        s.sweep();
        assert!(s.segs.is_empty());
        assert_eq!(s.bytes, 0);
    }

    #[test]
    fn gather_across_batches_keeps_order() {
        let mut s = RowStore::new(batch(&[]).schema());
        let x = s.add(&batch(&[1, 2, 3]));
        let y = s.add(&batch(&[4, 5]));
        let refs = [
            RowRef { seg: y, row: 1 },
            RowRef { seg: x, row: 0 },
            RowRef { seg: x, row: 2 },
            RowRef { seg: y, row: 0 },
        ];
        assert_eq!(values(&s.gather(&refs).unwrap()), vec![5, 1, 3, 4]);
        // One batch, contiguous: a slice; one batch, scattered: a take.
        assert_eq!(values(&s.gather(&refs[1..2]).unwrap()), vec![1]);
        // Long runs of consecutive rows across batches (copied by slice),
        // and the same rows cut into runs too short for it: equal.
        let big: Vec<i64> = (0..100).collect();
        let z = s.add(&batch(&big));
        let w = s.add(&batch(&big.iter().map(|v| v + 100).collect::<Vec<_>>()));
        let long: Vec<RowRef> = (60..100)
            .map(|row| RowRef { seg: z, row })
            .chain((0..50).map(|row| RowRef { seg: w, row }))
            .chain((90..100).map(|row| RowRef { seg: z, row }))
            .collect();
        let want: Vec<i64> = (60..150).chain(90..100).collect();
        assert_eq!(values(&s.gather(&long).unwrap()), want);
        let short: Vec<RowRef> = (0..40)
            .map(|i| RowRef {
                seg: [z, w][i % 2],
                row: i as u32,
            })
            .collect();
        let want: Vec<i64> = (0..40).map(|i| i + 100 * (i % 2)).collect();
        assert_eq!(values(&s.gather(&short).unwrap()), want);
        assert_eq!(
            values(
                &s.gather(&[RowRef { seg: x, row: 2 }, RowRef { seg: x, row: 0 }])
                    .unwrap()
            ),
            vec![3, 1]
        );
    }
}
