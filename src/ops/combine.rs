//! Queries over several streams (joins, patterns): a *head* turns the rows of
//! the input streams into combined rows (every side's columns, one after the
//! other), and the rest of the query — WHERE, GROUP BY, SELECT — runs over
//! those as over one stream's rows. `Combine` chains the two.
//!
//! Also here: what both heads need — a view of one stream's batch as the
//! combined row layout, gathering combined rows, and hashing equality keys.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, NullArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{
    DataType, Field, Float32Type, Float64Type, Int32Type, Int64Type, Schema, SchemaRef,
    TimestampMillisecondType,
};

use super::{Operator, RowTimes};
use crate::error::Result;
use crate::expr::Expr;
use crate::sql::plan::SidePlan;
use crate::state::{put_bytes, seal, unseal, Reader};

/// Frames the snapshot of a join or pattern query.
const SNAPSHOT_MAGIC: &[u8; 4] = b"EDHQ";

/// Combined rows and the time of each (that of the row whose arrival made
/// it), ready for the rest of the query.
pub(crate) struct Timed {
    pub rows: RecordBatch,
    pub ts: Vec<i64>,
    pub wm: Vec<i64>,
}

/// What makes combined rows: a join or a pattern.
pub(crate) trait Head: Send {
    /// Rows of input `port` arrived.
    fn process(
        &mut self,
        port: usize,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<Timed>,
    ) -> Result<()>;
    /// The query's time (least watermark of its inputs, or the clock)
    /// reached `t`: drop state no later row can use.
    fn advance(&mut self, t: i64) -> Result<()>;
    fn state_bytes(&self) -> usize;
    /// Appends the head's state (see `Operator::snapshot`).
    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()>;
    /// Replaces the head's state with one `snapshot` wrote; on error the
    /// head is left as it was.
    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()>;
}

/// A head followed by the rest of the query.
pub(crate) struct Combine {
    head: Box<dyn Head>,
    tail: Box<dyn Operator>,
    made: Vec<Timed>,
}

impl Combine {
    pub fn new(head: Box<dyn Head>, tail: Box<dyn Operator>) -> Combine {
        Combine {
            head,
            tail,
            made: Vec::new(),
        }
    }
}

impl Operator for Combine {
    fn process(&mut self, batch: &RecordBatch, out: &mut Vec<RecordBatch>) -> Result<()> {
        // Only reached when the caller has no times: use none (processing
        // time, no windows on the sides).
        let none = vec![i64::MIN; batch.num_rows()];
        self.process_port(0, batch, RowTimes { ts: &none, wm: &none }, out)
    }

    fn process_at(
        &mut self,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        self.process_port(0, batch, times, out)
    }

    fn process_port(
        &mut self,
        port: usize,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        self.made.clear();
        let r = self.head.process(port, batch, times, &mut self.made);
        for t in self.made.drain(..) {
            if self.tail.uses_time() {
                self.tail
                    .process_at(&t.rows, RowTimes { ts: &t.ts, wm: &t.wm }, out)?;
            } else {
                self.tail.process(&t.rows, out)?;
            }
        }
        r
    }

    fn uses_time(&self) -> bool {
        true
    }

    fn advance(&mut self, t: i64, out: &mut Vec<RecordBatch>) -> Result<()> {
        self.head.advance(t)?;
        self.tail.advance(t, out)
    }

    fn next_deadline(&self) -> Option<i64> {
        self.tail.next_deadline()
    }

    fn late(&self) -> u64 {
        self.tail.late()
    }

    fn finish(&mut self, out: &mut Vec<RecordBatch>) -> Result<()> {
        self.tail.finish(out)
    }

    fn state_bytes(&self) -> usize {
        self.head.state_bytes() + self.tail.state_bytes()
    }

    /// The head's state, then the rest of the query's snapshot as a blob.
    fn snapshot(&self) -> Result<Vec<u8>> {
        let mut w = Vec::new();
        self.head.snapshot(&mut w)?;
        put_bytes(&mut w, &self.tail.snapshot()?);
        Ok(seal(SNAPSHOT_MAGIC, &w))
    }

    /// All or nothing: head and tail each replace their state only on
    /// success; when the tail then fails, the head gets its old state back.
    fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        let mut r = Reader::new(unseal(SNAPSHOT_MAGIC, snapshot)?);
        let mut backup = Vec::new();
        self.head.snapshot(&mut backup)?;
        self.head.restore(&mut r)?;
        let rest = r.blob().and_then(|tail| {
            r.end()?;
            self.tail.restore(tail)
        });
        if rest.is_err() {
            self.head.restore(&mut Reader::new(&backup))?;
        }
        rest
    }
}

/// The combined row layout of a join or pattern, and views of it in which
/// only some sides are present (the others typed NULL, holding no data).
pub(crate) struct Layout {
    /// (offset, width) of each side.
    sides: Vec<(usize, usize)>,
    full: SchemaRef,
    /// Per side k: the layout with only side k present.
    only: Vec<SchemaRef>,
    /// Per k: sides 0..k present (k = 0: none), the rest NULL.
    upto: Vec<SchemaRef>,
}

impl Layout {
    /// `full`: the combined schema (the query's input schema).
    pub fn new(sides: &[&SidePlan], full: &SchemaRef) -> Layout {
        let spans: Vec<(usize, usize)> = sides
            .iter()
            .map(|s| (s.offset, s.schema.fields().len()))
            .collect();
        let fields: Vec<Field> = full.fields().iter().map(|f| f.as_ref().clone()).collect();
        let with = |keep: &dyn Fn(usize) -> bool| -> SchemaRef {
            let mut out = Vec::with_capacity(fields.len());
            for (k, &(off, w)) in spans.iter().enumerate() {
                for f in &fields[off..off + w] {
                    out.push(if keep(k) {
                        f.clone()
                    } else {
                        Field::new(f.name(), DataType::Null, true)
                    });
                }
            }
            Arc::new(Schema::new(out))
        };
        let only = (0..spans.len()).map(|k| with(&|j| j == k)).collect();
        let upto = (0..=spans.len()).map(|k| with(&|j| j < k)).collect();
        Layout {
            full: Arc::new(Schema::new(fields.clone())),
            sides: spans,
            only,
            upto,
        }
    }

    /// Side `k`'s columns as they sit in the combined layout.
    pub fn side_schema(&self, k: usize) -> SchemaRef {
        let (off, w) = self.sides[k];
        Arc::new(Schema::new(
            self.full.fields()[off..off + w]
                .iter()
                .map(|f| f.as_ref().clone())
                .collect::<Vec<_>>(),
        ))
    }

    /// `batch` (rows of side `k`'s stream) seen as combined rows in which
    /// only side `k` is present.
    pub fn view(&self, k: usize, batch: &RecordBatch) -> Result<RecordBatch> {
        let n = batch.num_rows();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.full.fields().len());
        for (j, &(_, w)) in self.sides.iter().enumerate() {
            if j == k {
                cols.extend(batch.columns().iter().cloned());
            } else {
                cols.extend((0..w).map(|_| Arc::new(NullArray::new(n)) as ArrayRef));
            }
        }
        Ok(RecordBatch::try_new_with_options(
            self.only[k].clone(),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?)
    }

    /// Combined rows from one column list per side (None: that side is
    /// absent, typed NULL). Every present side has `n` rows.
    pub fn assemble(&self, parts: Vec<Option<Vec<ArrayRef>>>, n: usize) -> Result<RecordBatch> {
        let present = parts.iter().take_while(|p| p.is_some()).count();
        let all = parts.iter().all(|p| p.is_some());
        let schema = if all {
            self.full.clone()
        } else {
            debug_assert!(parts[present..].iter().all(|p| p.is_none()));
            self.upto[present].clone()
        };
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.full.fields().len());
        for (p, &(_, w)) in parts.into_iter().zip(&self.sides) {
            match p {
                Some(c) => cols.extend(c),
                None => cols.extend((0..w).map(|_| Arc::new(NullArray::new(n)) as ArrayRef)),
            }
        }
        Ok(RecordBatch::try_new_with_options(
            schema,
            cols,
            &RecordBatchOptions::new().with_row_count(Some(n)),
        )?)
    }
}

/// Rows `idx` of `batch`, column by column.
pub(crate) fn take_rows(batch: &RecordBatch, idx: &[u32]) -> Result<Vec<ArrayRef>> {
    let idx = arrow::array::UInt32Array::from(idx.to_vec());
    Ok(batch
        .columns()
        .iter()
        .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

/// Rows picked from several batches of one schema: `(batch, row)` pairs.
pub(crate) fn gather_rows(
    batches: &[&RecordBatch],
    picks: &[(usize, usize)],
    width: usize,
) -> Result<Vec<ArrayRef>> {
    let mut cols = Vec::with_capacity(width);
    let mut arrays: Vec<&dyn Array> = Vec::with_capacity(batches.len());
    for c in 0..width {
        arrays.clear();
        arrays.extend(batches.iter().map(|b| b.column(c).as_ref()));
        cols.push(arrow::compute::interleave(&arrays, picks)?);
    }
    Ok(cols)
}

/// Hashes of equality keys, one per row: rows whose keys are equal hash
/// equally. None for a row with a NULL key (it equals nothing).
pub(crate) struct KeyHasher {
    state: ahash::RandomState,
}

impl KeyHasher {
    pub fn new() -> KeyHasher {
        // Fixed seeds: a run's hash buckets are the same every time, so a
        // profile or a bug reproduces.
        KeyHasher {
            state: ahash::RandomState::with_seeds(0x6564_6479, 0x6b65_7973, 0x6a6f_696e, 0x7061_7474),
        }
    }

    /// Evaluates `exprs` over `batch` and hashes each row's values.
    pub fn hash(&self, exprs: &[&Expr], batch: &RecordBatch) -> Result<Vec<Option<u64>>> {
        let n = batch.num_rows();
        if exprs.is_empty() {
            return Ok(vec![Some(0); n]);
        }
        let arrays = exprs.iter().map(|e| e.eval(batch)).collect::<Result<Vec<_>>>()?;
        let mut hashers: Vec<Option<ahash::AHasher>> =
            (0..n).map(|_| Some(self.state.build_hasher())).collect();
        for a in &arrays {
            for (i, h) in hashers.iter_mut().enumerate() {
                let Some(hh) = h else { continue };
                if a.is_null(i) {
                    *h = None;
                    continue;
                }
                write_value(hh, a.as_ref(), i);
            }
        }
        Ok(hashers.into_iter().map(|h| h.map(|h| h.finish())).collect())
    }
}

/// Feeds value `i` of `a` (not NULL) to `h`. Values SQL calls equal feed
/// the same bytes (0.0 and -0.0; every NaN).
fn write_value(h: &mut ahash::AHasher, a: &dyn Array, i: usize) {
    let float = |v: f64| -> u64 {
        if v == 0.0 {
            0
        } else if v.is_nan() {
            u64::MAX
        } else {
            v.to_bits()
        }
    };
    match a.data_type() {
        DataType::Utf8 => h.write(a.as_string::<i32>().value(i).as_bytes()),
        DataType::Int64 => h.write_i64(a.as_primitive::<Int64Type>().value(i)),
        DataType::Int32 => h.write_i32(a.as_primitive::<Int32Type>().value(i)),
        DataType::Float64 => h.write_u64(float(a.as_primitive::<Float64Type>().value(i))),
        DataType::Float32 => h.write_u64(float(a.as_primitive::<Float32Type>().value(i) as f64)),
        DataType::Timestamp(..) => h.write_i64(a.as_primitive::<TimestampMillisecondType>().value(i)),
        DataType::Boolean => h.write_u8(a.as_boolean().value(i) as u8),
        // Other types never reach a key (the SQL types are the ones above);
        // hashing nothing only makes every row a candidate, and the full
        // condition still decides.
        _ => {}
    }
}
