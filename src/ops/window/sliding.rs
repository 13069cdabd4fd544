//! Windows that emit per arriving event: length, time, externalTime, delay,
//! sort, unique, firstUnique.

use std::collections::{BTreeMap, VecDeque};

use ahash::AHashMap;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimestampMillisecondType};
use arrow::row::{RowConverter, SortField};

use super::{Chunk, Emit, RefTable, RowRef, RowStore, RowTimes, Window};
use crate::error::Result;
use crate::state::{corrupt, put_bytes, put_i64, put_var, Reader};

/// `length(n)`: the last n events. Event k expires when event k+n arrives,
/// just before it.
pub(crate) struct Length {
    store: RowStore,
    n: usize,
    buf: VecDeque<(RowRef, u64)>,
    seq: u64,
}

impl Length {
    pub fn new(schema: SchemaRef, n: usize) -> Length {
        Length {
            store: RowStore::new(schema),
            n,
            buf: VecDeque::new(),
            seq: 0,
        }
    }
}

impl Window for Length {
    fn process(&mut self, rows: &RecordBatch, _: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        let mut e = Emit::with_capacity(rows.num_rows());
        for i in 0..rows.num_rows() {
            if self.buf.len() == self.n {
                let (r, s) = self.buf.pop_front().expect("full");
                e.push(r, s, true);
                self.store.release(r);
            }
            let r = RowRef { seg, row: i as u32 };
            self.store.retain(r);
            self.buf.push_back((r, self.seq));
            e.push(r, self.seq, false);
            self.seq += 1;
            e.trigger();
        }
        e.take(&self.store, None, false, out)?;
        self.store.sweep();
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes() + self.buf.capacity() * 24
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let refs: Vec<RowRef> = self.buf.iter().map(|(r, _)| *r).collect();
        gather_or_empty(&self.store, &refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_var(&mut b, self.seq);
        put_var(&mut b, self.buf.len() as u64);
        for &(r, s) in &self.buf {
            t.put(&mut b, r);
            put_var(&mut b, s);
        }
        self.store.write_snapshot(TAG_LENGTH, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let (rows, mut b) = self.store.read_snapshot(TAG_LENGTH, r)?;
        self.seq = b.count()?;
        let n = b.len()?;
        if n > self.n {
            return Err(corrupt("more events than the window's length"));
        }
        for _ in 0..n {
            let x = rows.get(&mut b)?;
            self.store.retain(x);
            self.buf.push_back((x, b.count()?));
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}

// Snapshot tags: a snapshot restores only into the window kind that wrote it.
const TAG_LENGTH: u8 = 1;
const TAG_TIMED: u8 = 2;
const TAG_SORTED: u8 = 3;
const TAG_UNIQUE: u8 = 4;
const TAG_FIRST_UNIQUE: u8 = 5;

fn gather_or_empty(store: &RowStore, refs: &[RowRef]) -> Result<RecordBatch> {
    if refs.is_empty() {
        Ok(store.empty())
    } else {
        store.gather(refs)
    }
}

/// `time(d)` and `externalTime(col, d)`: an event expires once time reaches
/// its time + d. `delay(d)`: an event is emitted (as a current event) once
/// time reaches its time + d, and never expires.
pub(crate) struct Timed {
    store: RowStore,
    size: i64,
    /// externalTime: the column whose largest value so far is the time.
    column: Option<usize>,
    /// true: time window (emit on arrival, expire later); false: delay.
    expires: bool,
    /// Held events ordered by (time, arrival).
    buf: VecDeque<(i64, u64, RowRef)>,
    seq: u64,
    /// delay: events leave in time order, which is not arrival order; they
    /// are numbered as they are released, the order aggregates see them in.
    released: u64,
    max_col: i64,
}

impl Timed {
    pub fn new(schema: SchemaRef, size: i64, column: Option<usize>, expires: bool) -> Timed {
        Timed {
            store: RowStore::new(schema),
            size,
            column,
            expires,
            buf: VecDeque::new(),
            seq: 0,
            released: 0,
            max_col: i64::MIN,
        }
    }

    /// Expires (or releases) every event due at `t`. `own_triggers`: each is
    /// its own trigger (time passing) rather than part of an arrival's.
    fn due(&mut self, t: i64, e: &mut Emit, own_triggers: bool) {
        while let Some(&(ts, s, r)) = self.buf.front() {
            if ts.saturating_add(self.size) > t {
                break;
            }
            self.buf.pop_front();
            let s = if self.expires {
                s
            } else {
                self.released += 1;
                self.released - 1
            };
            e.push(r, s, self.expires);
            self.store.release(r);
            if own_triggers {
                e.trigger();
            }
        }
    }
}

/// A BIGINT or TIMESTAMP column's values (NULL as None).
pub(crate) fn time_values(rows: &RecordBatch, column: usize) -> Vec<Option<i64>> {
    let c = rows.column(column);
    match c.data_type() {
        DataType::Timestamp(..) => c.as_primitive::<TimestampMillisecondType>().iter().collect(),
        _ => c.as_primitive::<Int64Type>().iter().collect(),
    }
}

impl Window for Timed {
    fn process(&mut self, rows: &RecordBatch, times: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        let col = self.column.map(|c| time_values(rows, c));
        let mut e = Emit::new();
        for i in 0..rows.num_rows() {
            let (ts, now) = match &col {
                Some(v) => {
                    // A NULL time takes the largest time seen so far.
                    let ts = v[i].unwrap_or(self.max_col);
                    self.max_col = self.max_col.max(ts);
                    (ts, self.max_col)
                }
                None => (times.ts[i], times.wm[i]),
            };
            self.due(now, &mut e, false);
            let r = RowRef { seg, row: i as u32 };
            self.store.retain(r);
            let key = (ts, self.seq);
            let at = self.buf.partition_point(|&(t, s, _)| (t, s) <= key);
            self.buf.insert(at, (ts, self.seq, r));
            if self.expires {
                e.push(r, self.seq, false);
            }
            self.seq += 1;
            // A row already past its time (allowed lateness) leaves at once.
            self.due(now, &mut e, false);
            e.trigger();
        }
        e.take(&self.store, None, false, out)?;
        self.store.sweep();
        Ok(())
    }

    fn advance(&mut self, t: i64, out: &mut Vec<Chunk>) -> Result<()> {
        // externalTime follows its column only, except at the end.
        if self.column.is_some() && t != i64::MAX {
            return Ok(());
        }
        let mut e = Emit::new();
        self.due(t, &mut e, true);
        e.take(&self.store, None, false, out)?;
        self.store.sweep();
        Ok(())
    }

    fn next_deadline(&self) -> Option<i64> {
        if self.column.is_some() {
            return None;
        }
        self.buf.front().map(|&(ts, _, _)| ts.saturating_add(self.size))
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes() + self.buf.capacity() * 32
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let mut v: Vec<(u64, RowRef)> = self.buf.iter().map(|&(_, s, r)| (s, r)).collect();
        v.sort_by_key(|x| x.0);
        let refs: Vec<RowRef> = v.into_iter().map(|x| x.1).collect();
        gather_or_empty(&self.store, &refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_var(&mut b, self.seq);
        put_var(&mut b, self.released);
        put_i64(&mut b, self.max_col);
        put_var(&mut b, self.buf.len() as u64);
        for &(ts, s, r) in &self.buf {
            put_i64(&mut b, ts);
            put_var(&mut b, s);
            t.put(&mut b, r);
        }
        self.store.write_snapshot(TAG_TIMED, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let (rows, mut b) = self.store.read_snapshot(TAG_TIMED, r)?;
        self.seq = b.count()?;
        self.released = b.count()?;
        self.max_col = b.i64()?;
        for _ in 0..b.len()? {
            let key = (b.i64()?, b.count()?);
            let x = rows.get(&mut b)?;
            if self.buf.back().is_some_and(|&(t, s, _)| (t, s) >= key) {
                return Err(corrupt("timed events out of order"));
            }
            self.store.retain(x);
            self.buf.push_back((key.0, key.1, x));
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}

/// Encodes one column's values as comparable byte strings.
pub(crate) struct KeyEncoder {
    conv: RowConverter,
    column: usize,
}

impl KeyEncoder {
    pub fn new(schema: &SchemaRef, column: usize, descending: bool) -> KeyEncoder {
        let field = SortField::new_with_options(
            schema.field(column).data_type().clone(),
            arrow::compute::SortOptions {
                descending,
                nulls_first: descending,
            },
        );
        KeyEncoder {
            conv: RowConverter::new(vec![field]).expect("stream column types are all row-encodable"),
            column,
        }
    }

    /// The batch's keys; `keys.row(i).as_ref()` is row i's. Owned copies
    /// are made only where a key is stored.
    pub fn keys(&self, rows: &RecordBatch) -> Result<arrow::row::Rows> {
        Ok(self.conv.convert_columns(&[rows.column(self.column).clone()])?)
    }
}

/// `sort(n, col, order)`: the first n events in the column's order (ties:
/// earlier arrival first). An arrival that does not make the cut is emitted
/// and expired at once; otherwise the event that falls off expires.
pub(crate) struct Sorted {
    store: RowStore,
    n: usize,
    enc: KeyEncoder,
    map: BTreeMap<(Vec<u8>, u64), RowRef>,
    seq: u64,
}

impl Sorted {
    pub fn new(schema: SchemaRef, n: usize, column: usize, descending: bool) -> Sorted {
        Sorted {
            enc: KeyEncoder::new(&schema, column, descending),
            store: RowStore::new(schema),
            n,
            map: BTreeMap::new(),
            seq: 0,
        }
    }
}

impl Window for Sorted {
    fn process(&mut self, rows: &RecordBatch, _: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        let keys = self.enc.keys(rows)?;
        let mut e = Emit::new();
        for (i, k) in keys.iter().enumerate() {
            let r = RowRef { seg, row: i as u32 };
            self.store.retain(r);
            self.map.insert((k.as_ref().to_vec(), self.seq), r);
            if self.map.len() > self.n {
                let ((_, s), gone) = self.map.pop_last().expect("non-empty");
                if s == self.seq {
                    // The arrival itself does not make the cut.
                    e.push(r, s, false);
                    e.push(r, s, true);
                } else {
                    e.push(gone, s, true);
                    e.push(r, self.seq, false);
                }
                self.store.release(gone);
            } else {
                e.push(r, self.seq, false);
            }
            self.seq += 1;
            e.trigger();
        }
        e.take(&self.store, None, false, out)?;
        self.store.sweep();
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes() + self.map.keys().map(|(k, _)| k.len() + 48).sum::<usize>()
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let refs: Vec<RowRef> = self.map.values().copied().collect();
        gather_or_empty(&self.store, &refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_var(&mut b, self.seq);
        put_var(&mut b, self.map.len() as u64);
        for ((k, s), &r) in &self.map {
            put_bytes(&mut b, k);
            put_var(&mut b, *s);
            t.put(&mut b, r);
        }
        self.store.write_snapshot(TAG_SORTED, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let (rows, mut b) = self.store.read_snapshot(TAG_SORTED, r)?;
        self.seq = b.count()?;
        let n = b.len()?;
        if n > self.n {
            return Err(corrupt("more events than the window holds"));
        }
        for _ in 0..n {
            let k = (b.blob()?.to_vec(), b.count()?);
            let x = rows.get(&mut b)?;
            if self.map.insert(k, x).is_some() {
                return Err(corrupt("an event twice in a sort window"));
            }
            self.store.retain(x);
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}

/// `unique(col)`: the latest event per value; an arrival expires the event
/// it replaces (just before it). `firstUnique(col)`: the first event per
/// value; later events with that value are discarded, nothing expires.
pub(crate) struct Unique {
    store: RowStore,
    enc: KeyEncoder,
    first: bool,
    map: AHashMap<Vec<u8>, (RowRef, u64)>,
    seq: u64,
    key_bytes: usize,
}

impl Unique {
    pub fn new(schema: SchemaRef, column: usize, first: bool) -> Unique {
        Unique {
            enc: KeyEncoder::new(&schema, column, false),
            store: RowStore::new(schema),
            first,
            map: AHashMap::new(),
            seq: 0,
            key_bytes: 0,
        }
    }
}

impl Window for Unique {
    fn process(&mut self, rows: &RecordBatch, _: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        let keys = self.enc.keys(rows)?;
        let mut e = Emit::new();
        for (i, k) in keys.iter().enumerate() {
            let k = k.as_ref();
            let r = RowRef { seg, row: i as u32 };
            match self.map.get_mut(k) {
                Some(_) if self.first => continue,
                Some(slot) => {
                    let (old, s) = *slot;
                    e.push(old, s, true);
                    self.store.release(old);
                    *slot = (r, self.seq);
                }
                None => {
                    self.key_bytes += k.len() + 48;
                    self.map.insert(k.to_vec(), (r, self.seq));
                }
            }
            self.store.retain(r);
            e.push(r, self.seq, false);
            self.seq += 1;
            e.trigger();
        }
        e.take(&self.store, None, false, out)?;
        self.store.sweep();
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes() + self.key_bytes
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let mut v: Vec<(u64, RowRef)> = self.map.values().map(|&(r, s)| (s, r)).collect();
        v.sort_by_key(|x| x.0);
        let refs: Vec<RowRef> = v.into_iter().map(|x| x.1).collect();
        gather_or_empty(&self.store, &refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_var(&mut b, self.seq);
        // In arrival order, so the snapshot of a given state is one byte string.
        let mut v: Vec<(&Vec<u8>, &(RowRef, u64))> = self.map.iter().collect();
        v.sort_by_key(|x| x.1 .1);
        put_var(&mut b, v.len() as u64);
        for (k, &(r, s)) in v {
            put_bytes(&mut b, k);
            t.put(&mut b, r);
            put_var(&mut b, s);
        }
        let tag = if self.first { TAG_FIRST_UNIQUE } else { TAG_UNIQUE };
        self.store.write_snapshot(tag, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let tag = if self.first { TAG_FIRST_UNIQUE } else { TAG_UNIQUE };
        let (rows, mut b) = self.store.read_snapshot(tag, r)?;
        self.seq = b.count()?;
        for _ in 0..b.len()? {
            let k = b.blob()?.to_vec();
            let x = rows.get(&mut b)?;
            let s = b.count()?;
            self.key_bytes += k.len() + 48;
            if self.map.insert(k, (x, s)).is_some() {
                return Err(corrupt("a key twice in a unique window"));
            }
            self.store.retain(x);
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}
