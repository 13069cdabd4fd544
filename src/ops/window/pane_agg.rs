//! Aggregating panes. When a batch time window (tumbling, hopping,
//! timeBatch, externalTimeBatch) feeds aggregates and the query outputs
//! current events only, a pane need not hold its rows: each row is added to
//! its group's accumulators as it arrives, and a firing pane hands the
//! selector one row per group with the aggregates already computed (the
//! `aggregates` of its chunk). A row then costs one group lookup and one
//! add per aggregate, once per window it joins, and nothing at firing.
//!
//! What the selector would do with the rows is kept exactly: groups in order
//! of first arrival in the pane, the group's last event for the columns that
//! are not aggregated, and a late row re-firing its pane with every group.

use std::mem::size_of;
use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, Rows, SortField};
use hashbrown::HashTable;

use super::store::Restored;
use super::{Chunk, RefTable, RowRef, RowStore};
use crate::error::{Error, Result, Status};
use crate::expr::Expr;
use crate::ops::aggregate::{new_accumulator, GroupsAccumulator, Retraction};
use crate::sql::plan::{window_start_index, AggregatePlan};
use crate::state::{corrupt, put_bool, put_bytes, put_var, Reader};

/// A batch's group keys as bytes. One column of strings or fixed-width
/// values is its own key (NULL apart): no encoding pass, no copy; several
/// columns are row-encoded.
enum Keys {
    /// No GROUP BY besides the window bounds: one group per pane.
    One,
    Str(StringArray),
    /// Little-endian values of `width` bytes.
    Fixed {
        values: arrow::buffer::Buffer,
        width: usize,
        nulls: Option<NullBuffer>,
    },
    Rows(Rows),
}

/// A key of at most 8 bytes as one word: with its length, it identifies the
/// key (the first and last 4 bytes overlap below 8; below 4, the first,
/// middle and last byte are all of it).
#[inline]
fn short_code(k: &[u8]) -> u64 {
    let n = k.len();
    if n >= 4 {
        let lo = u32::from_le_bytes(k[..4].try_into().expect("4 bytes"));
        let hi = u32::from_le_bytes(k[n - 4..].try_into().expect("4 bytes"));
        lo as u64 | (hi as u64) << 32
    } else if n > 0 {
        k[0] as u64 | (k[n / 2] as u64) << 8 | (k[n - 1] as u64) << 16
    } else {
        0
    }
}

/// Group-key hashing, seeded per query (keys come from the stream).
struct KeyHasher {
    long: ahash::RandomState,
    seeds: [u64; 2],
}

impl KeyHasher {
    fn new() -> KeyHasher {
        let long = ahash::RandomState::new();
        let seeds = [long.hash_one(1u64), long.hash_one(2u64) | 1];
        KeyHasher { long, seeds }
    }

    /// A short key's hash from its code and length: two folded multiplies
    /// (the high and low halves of a 128-bit product) mix every bit into
    /// the bits the table probes with.
    #[inline]
    fn short(&self, code: u64, len: usize) -> u64 {
        let fold = |a: u64, b: u64| {
            let m = a as u128 * b as u128;
            (m as u64) ^ ((m >> 64) as u64)
        };
        fold(
            fold(code ^ self.seeds[0], 0x9e37_79b9_7f4a_7c15) ^ len as u64,
            self.seeds[1],
        )
    }
}

/// Open addressing for keys of at most 8 bytes (a symbol, a number): each
/// slot holds the key's code and length beside the group's position, so a
/// probe compares in place instead of following the position into the
/// group list and its key bytes. Linear probing at most half full; the
/// hash is seeded per query, so a stream cannot choose colliding keys.
#[derive(Default)]
struct ShortTable {
    /// (code, len << 32 | position + 1); a zero second word is an empty slot.
    slots: Vec<(u64, u64)>,
    len: usize,
}

impl ShortTable {
    #[inline]
    fn find(&self, hash: u64, code: u64, len: usize) -> Option<u32> {
        let mask = self.slots.len().wrapping_sub(1);
        if self.slots.is_empty() {
            return None;
        }
        let mut i = hash as usize & mask;
        loop {
            // SAFETY: i <= mask < slots.len() (a power of two).
            let (c, m) = unsafe { *self.slots.get_unchecked(i) };
            if m == 0 {
                return None;
            }
            if c == code && (m >> 32) as usize == len {
                return Some(m as u32 - 1);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds a key `find` did not find; `hash` is the one `find` uses.
    fn insert(&mut self, code: u64, len: usize, at: u32, hash: impl Fn(u64, usize) -> u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            let bigger = vec![(0, 0); (self.slots.len() * 2).max(16)];
            let old = std::mem::replace(&mut self.slots, bigger);
            for (c, m) in old.into_iter().filter(|&(_, m)| m != 0) {
                self.put(hash(c, (m >> 32) as usize), c, m);
            }
        }
        self.put(hash(code, len), code, (len as u64) << 32 | (at as u64 + 1));
        self.len += 1;
    }

    fn put(&mut self, hash: u64, code: u64, m: u64) {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        while self.slots[i].1 != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (code, m);
    }

    fn clear(&mut self) {
        if self.len > 0 {
            self.slots.fill((0, 0));
            self.len = 0;
        }
    }
}

/// The groups of one pane.
#[derive(Default)]
pub(crate) struct PaneGroups {
    /// Positions in `list` by key (see `Keys` for the encoding): keys of at
    /// most 8 bytes in `short`, longer ones in `table`.
    short: ShortTable,
    table: HashTable<u32>,
    /// The keys, end to end.
    keys: Vec<u8>,
    /// The groups in order of first arrival.
    list: Vec<Group>,
    /// The group whose single key column is NULL.
    null_at: Option<u32>,
    /// Batches this pane keeps readable (retained once each): the last
    /// events live in them. Ascending, so a batch is found at the end (rows
    /// arrive in batch order) or by binary search: a pane fed one row per
    /// batch (a trickle of single events, an upstream query's small
    /// outputs) holds as many batches as rows, and a linear scan per row
    /// made placing quadratic in them.
    segs: Vec<u64>,
}

struct Group {
    /// Accumulator group id.
    gid: u32,
    /// The group's latest event.
    last: RowRef,
    /// The key: `keys[key.0..key.1]` (empty for the NULL key).
    key: (u32, u32),
    hash: u64,
}

impl PaneGroups {
    /// The accumulator group ids in use.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.list.iter().map(|g| g.gid)
    }

    pub fn state_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.short.slots.capacity() * 16
            + self.keys.capacity()
            + self.list.capacity() * size_of::<Group>()
            + self.segs.capacity() * 8
    }

    /// Notes that the pane keeps batch `seg`; true when it was not kept yet
    /// (the caller retains it then).
    #[inline]
    fn hold(&mut self, seg: u64) -> bool {
        match self.segs.last() {
            Some(&l) if l == seg => false,
            Some(&l) if l > seg => match self.segs.binary_search(&seg) {
                Ok(_) => false,
                Err(i) => {
                    self.segs.insert(i, seg);
                    true
                }
            },
            _ => {
                self.segs.push(seg);
                true
            }
        }
    }

    fn key(&self, g: &Group) -> &[u8] {
        &self.keys[g.key.0 as usize..g.key.1 as usize]
    }

    /// The position of the group with `key` (None: NULL), made with
    /// accumulator id `new_gid()` if it is not there yet.
    #[inline(always)]
    fn find_or_add(
        &mut self,
        key: Option<&[u8]>,
        hasher: &KeyHasher,
        last: RowRef,
        new_gid: impl FnOnce() -> u32,
    ) -> usize {
        let (hash, found) = match key {
            Some(k) if k.len() <= 8 => {
                // Short keys: hashed and compared as a word, no byte loop.
                // The code and length identify the key.
                let code = short_code(k);
                let hash = hasher.short(code, k.len());
                (hash, self.short.find(hash, code, k.len()))
            }
            Some(k) => {
                let hash = hasher.long.hash_one(k);
                let (list, keys) = (&self.list, &self.keys);
                let found = self.table.find(hash, |&at| {
                    let g = &list[at as usize];
                    g.hash == hash && &keys[g.key.0 as usize..g.key.1 as usize] == k
                });
                (hash, found.copied())
            }
            None => (0, self.null_at),
        };
        match found {
            Some(at) => at as usize,
            None => self.add(key, hash, hasher, last, new_gid()),
        }
    }

    /// Adds the group `find_or_add` did not find (out of its loop: most rows
    /// find theirs).
    #[inline(never)]
    fn add(&mut self, key: Option<&[u8]>, hash: u64, hasher: &KeyHasher, last: RowRef, gid: u32) -> usize {
        let at = self.list.len() as u32;
        let key_at = match key {
            Some(k) => {
                let start = self.keys.len() as u32;
                self.keys.extend_from_slice(k);
                if k.len() <= 8 {
                    self.short
                        .insert(short_code(k), k.len(), at, |c, n| hasher.short(c, n));
                } else {
                    let list = &self.list;
                    self.table.insert_unique(hash, at, |&x| list[x as usize].hash);
                }
                (start, self.keys.len() as u32)
            }
            None => {
                self.null_at = Some(at);
                (0, 0)
            }
        };
        self.list.push(Group {
            gid,
            last,
            key: key_at,
            hash,
        });
        at as usize
    }

    /// Empties the pane for reuse, keeping its memory.
    fn clear(&mut self) {
        self.short.clear();
        self.table.clear();
        self.keys.clear();
        self.list.clear();
        self.null_at = None;
        self.segs.clear();
    }
}

/// What placing rows in one pane borrows of `PaneAgg`.
struct Placer<'a> {
    p: &'a mut PaneGroups,
    hasher: &'a KeyHasher,
    free: &'a mut Vec<u32>,
    next_id: &'a mut u32,
    rows: &'a mut Vec<u32>,
    groups: &'a mut Vec<u32>,
    seg: u64,
}

impl Placer<'_> {
    /// The accumulator id of the group with `key`, made if new; `row`
    /// becomes its last event.
    #[inline(always)]
    fn group(&mut self, key: Option<&[u8]>, row: u32) -> u32 {
        let last = RowRef { seg: self.seg, row };
        let (free, next_id) = (&mut *self.free, &mut *self.next_id);
        let at = self.p.find_or_add(key, self.hasher, last, || {
            free.pop().unwrap_or_else(|| {
                *next_id += 1;
                *next_id - 1
            })
        });
        let g = &mut self.p.list[at];
        g.last = last;
        g.gid
    }

    /// Places each row, its key read by `key` (monomorphised per key
    /// representation: the loop is tight).
    #[inline(always)]
    fn each<'k>(&mut self, rows: Range<u32>, key: impl Fn(usize) -> Option<&'k [u8]>) {
        self.rows.reserve(rows.len());
        self.groups.reserve(rows.len());
        for row in rows {
            let gid = self.group(key(row as usize), row);
            self.rows.push(row);
            self.groups.push(gid);
        }
    }
}

pub(crate) struct PaneAgg {
    /// GROUP BY without `window_start`/`window_end` (a pane has one of each).
    group_by: Vec<Expr>,
    /// Several key columns: their row encoding.
    conv: Option<RowConverter>,
    args: Vec<Option<Expr>>,
    /// One per aggregate call, over the groups of every open pane.
    accs: Vec<Box<dyn GroupsAccumulator>>,
    free: Vec<u32>,
    next_id: u32,
    /// The batch being placed: its keys and argument values.
    keys: Keys,
    hasher: KeyHasher,
    values: Vec<Option<ArrayRef>>,
    /// Groups of dropped panes, emptied, for new panes to reuse.
    spare: Vec<PaneGroups>,
    /// Adds not yet applied: (row of the batch, group id).
    rows: Vec<u32>,
    groups: Vec<u32>,
}

impl PaneAgg {
    /// The pane aggregation of a query's aggregates over an input of
    /// `input_columns` columns; None when an expression needs more than the
    /// input row (an argument over `window_start`, say), which the selector
    /// then computes from the rows.
    pub fn new(plan: &AggregatePlan, input_columns: usize) -> Result<Option<PaneAgg>> {
        let bounds = window_start_index(input_columns)..window_start_index(input_columns) + 2;
        let reads_more = |e: &Expr| {
            let mut more = false;
            e.for_each_column(&mut |c| more |= c >= input_columns);
            more
        };
        let mut group_by = Vec::new();
        for e in &plan.group_by {
            match e {
                Expr::Column { index, .. } if bounds.contains(index) => {}
                e if reads_more(e) => return Ok(None),
                e => group_by.push(e.clone()),
            }
        }
        if plan.calls.iter().any(|c| c.arg.as_ref().is_some_and(reads_more)) {
            return Ok(None);
        }
        let accs = plan
            .calls
            .iter()
            .map(|c| {
                let arg = c.arg.as_ref().map(|e| e.data_type());
                new_accumulator(c.func, arg.as_ref(), Retraction::Never)
                    .map_err(|m| Error::new(Status::Internal, m))
            })
            .collect::<Result<Vec<_>>>()?;
        let conv = if group_by.len() < 2 {
            None
        } else {
            Some(RowConverter::new(
                group_by.iter().map(|e| SortField::new(e.data_type())).collect(),
            )?)
        };
        Ok(Some(PaneAgg {
            group_by,
            conv,
            args: plan.calls.iter().map(|c| c.arg.clone()).collect(),
            accs,
            free: Vec::new(),
            next_id: 0,
            keys: Keys::One,
            hasher: KeyHasher::new(),
            values: Vec::new(),
            spare: Vec::new(),
            rows: Vec::new(),
            groups: Vec::new(),
        }))
    }

    /// Evaluates a batch's keys and arguments before its rows are placed.
    pub fn begin(&mut self, rows: &RecordBatch) -> Result<()> {
        self.flush()?;
        let cols = self
            .group_by
            .iter()
            .map(|e| e.eval(rows))
            .collect::<Result<Vec<_>>>()?;
        self.keys = match (&self.conv, cols.as_slice()) {
            (Some(conv), _) => Keys::Rows(conv.convert_columns(&cols)?),
            (None, []) => Keys::One,
            (None, [c]) => match c.data_type() {
                DataType::Utf8 => Keys::Str(c.as_string::<i32>().clone()),
                dt => {
                    // Every other stream type is fixed-width (BOOL as bytes).
                    let c = match dt {
                        DataType::Boolean => arrow::compute::cast(c, &DataType::Int8)?,
                        _ => c.clone(),
                    };
                    let d = c.to_data();
                    let width = d
                        .data_type()
                        .primitive_width()
                        .ok_or_else(|| Error::internal(format!("no key encoding for {}", d.data_type())))?;
                    Keys::Fixed {
                        values: d.buffers()[0].slice_with_length(d.offset() * width, d.len() * width),
                        width,
                        nulls: d.nulls().cloned(),
                    }
                }
            },
            (None, _) => return Err(Error::internal("several key columns without a row encoding")),
        };
        self.values = self
            .args
            .iter()
            .map(|a| a.as_ref().map(|e| e.eval(rows)).transpose())
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// Adds row `r` of the batch given to `begin` to pane `p`.
    #[inline]
    pub fn place(&mut self, p: &mut PaneGroups, store: &mut RowStore, r: RowRef) {
        self.place_rows(p, store, r.seg, r.row..r.row + 1);
    }

    /// Adds rows `rows` of the batch given to `begin` (stored as `seg`) to
    /// pane `p`, in order. One call per run of rows bound for the same
    /// panes: the key representation is matched once, not per row.
    pub fn place_rows(&mut self, p: &mut PaneGroups, store: &mut RowStore, seg: u64, rows: Range<u32>) {
        if rows.is_empty() {
            return;
        }
        if p.hold(seg) {
            store.retain(RowRef { seg, row: rows.start });
        }
        let mut place = Placer {
            p,
            hasher: &self.hasher,
            free: &mut self.free,
            next_id: &mut self.next_id,
            rows: &mut self.rows,
            groups: &mut self.groups,
            seg,
        };
        match &self.keys {
            Keys::One => {
                // Every row joins the pane's one group.
                let gid = place.group(Some(&[]), rows.end - 1);
                place.rows.extend(rows.clone());
                place.groups.extend(rows.map(|_| gid));
            }
            Keys::Str(a) => place.each(rows, |i| a.is_valid(i).then(|| a.value(i).as_bytes())),
            Keys::Fixed { values, width, nulls } => {
                let width = *width;
                match nulls {
                    Some(n) => place.each(rows, |i| {
                        n.is_valid(i).then(|| &values[i * width..(i + 1) * width])
                    }),
                    None => place.each(rows, |i| Some(&values[i * width..(i + 1) * width])),
                }
            }
            Keys::Rows(r) => place.each(rows, |i| Some(r.row(i).data())),
        }
    }

    /// Applies the adds placed so far.
    pub fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        for (acc, v) in self.accs.iter_mut().zip(&self.values) {
            acc.add_rows(v.as_ref(), &self.rows, &self.groups)?;
        }
        self.rows.clear();
        self.groups.clear();
        Ok(())
    }

    /// A chunk of the pane's groups: each one's last event and aggregates.
    pub fn emit(
        &mut self,
        p: &PaneGroups,
        store: &RowStore,
        bounds: (i64, i64),
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        self.flush()?;
        if p.list.is_empty() {
            return Ok(());
        }
        let refs: Vec<RowRef> = p.list.iter().map(|g| g.last).collect();
        let ids: Vec<u32> = p.list.iter().map(|g| g.gid).collect();
        let aggregates = self
            .accs
            .iter_mut()
            .map(|acc| {
                acc.emit_groups(&ids);
                acc.take_output()
            })
            .collect();
        let n = refs.len();
        out.push(Chunk {
            rows: store.gather(&refs)?,
            expired: vec![false; n],
            seq: vec![0; n],
            order: None,
            bounds: Some(bounds),
            triggers: vec![n],
            batch: true,
            aggregates: Some(aggregates),
        });
        Ok(())
    }

    /// Forgets a pane's groups and lets go of its batches.
    pub fn drop_groups(&mut self, mut p: PaneGroups, store: &mut RowStore) -> Result<()> {
        self.flush()?;
        let from = self.free.len();
        self.free.extend(p.list.iter().map(|g| g.gid));
        for acc in self.accs.iter_mut() {
            acc.reset_groups(&self.free[from..]);
        }
        for &seg in &p.segs {
            store.release(RowRef { seg, row: 0 });
        }
        // A few emptied panes are enough: about as many are open at once.
        if self.spare.len() < 8 {
            p.clear();
            self.spare.push(p);
        }
        Ok(())
    }

    /// Groups for a new pane.
    pub fn new_groups(&mut self) -> PaneGroups {
        self.spare.pop().unwrap_or_default()
    }

    pub fn state_bytes(&self) -> usize {
        self.accs.iter().map(|a| a.state_bytes()).sum::<usize>() + self.free.capacity() * 4
    }

    /// Writes a pane's groups (the accumulators are written by `put_state`).
    pub fn put_groups(t: &mut RefTable, b: &mut Vec<u8>, p: &PaneGroups) {
        put_var(b, p.list.len() as u64);
        for (at, g) in p.list.iter().enumerate() {
            put_bool(b, p.null_at != Some(at as u32));
            put_bytes(b, p.key(g));
            put_var(b, g.gid as u64);
            t.put(b, g.last);
        }
    }

    /// Reads what `put_groups` wrote, retaining the batch of the rows.
    pub fn read_groups(
        &mut self,
        store: &mut RowStore,
        rows: Restored,
        b: &mut Reader<'_>,
    ) -> Result<PaneGroups> {
        let mut p = PaneGroups::default();
        for _ in 0..b.len()? {
            let valued = b.bool()?;
            let key = b.blob()?;
            let gid = u32::try_from(b.var()?).map_err(|_| corrupt("group id out of range"))?;
            let last = rows.get(b)?;
            let n = p.list.len();
            if p.find_or_add(valued.then_some(key), &self.hasher, last, || gid) != n {
                return Err(corrupt("a group twice in a pane"));
            }
            if p.hold(last.seg) {
                store.retain(last);
            }
        }
        Ok(p)
    }

    /// Writes the accumulators and the group ids in use.
    pub fn put_state(&self, b: &mut Vec<u8>) {
        put_var(b, self.free.len() as u64);
        for &g in &self.free {
            put_var(b, g as u64);
        }
        put_var(b, self.next_id as u64);
        for acc in &self.accs {
            let mut x = Vec::new();
            acc.snapshot(&mut x);
            put_bytes(b, &x);
        }
    }

    /// Reads what `put_state` wrote; `used` are the group ids of the
    /// restored panes, which must be distinct, below the next id and not
    /// free.
    pub fn read_state(&mut self, b: &mut Reader<'_>, used: &[u32]) -> Result<()> {
        let n = b.len()?;
        self.free = (0..n)
            .map(|_| u32::try_from(b.var()?).map_err(|_| corrupt("group id out of range")))
            .collect::<Result<_>>()?;
        self.next_id = u32::try_from(b.var()?).map_err(|_| corrupt("group id out of range"))?;
        let mut seen = ahash::AHashSet::new();
        for &g in used.iter().chain(&self.free) {
            if g >= self.next_id || !seen.insert(g) {
                return Err(corrupt("bad group id"));
            }
        }
        for acc in self.accs.iter_mut() {
            acc.restore(b.blob()?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pane_holds_each_batch_once_in_order() {
        let mut p = PaneGroups::default();
        // In order with repeats (the usual arrival), then older batches
        // (a restored pane reads its groups' batches in group order).
        let calls = [(3, true), (3, false), (5, true), (9, true), (9, false)];
        let later = [
            (1, true),
            (5, false),
            (7, true),
            (1, false),
            (12, true),
            (7, false),
        ];
        for (seg, new) in calls.into_iter().chain(later) {
            assert_eq!(p.hold(seg), new, "hold({seg})");
        }
        assert_eq!(p.segs, vec![1, 3, 5, 7, 9, 12]);
        p.clear();
        assert!(p.hold(3) && p.segs == vec![3]);
    }

    #[test]
    fn a_short_code_and_length_identify_the_key() {
        // Every key of 0..=8 bytes over an alphabet with the extremes.
        let alphabet = [0u8, 1, b'S', 0x80, 255];
        let mut seen = ahash::AHashMap::new();
        let mut keys: Vec<Vec<u8>> = vec![vec![]];
        let mut all = keys.clone();
        for _ in 0..8 {
            keys = keys
                .iter()
                .flat_map(|k| {
                    alphabet.iter().map(move |&b| {
                        let mut k = k.clone();
                        k.push(b);
                        k
                    })
                })
                .collect();
            all.extend(keys.iter().cloned());
        }
        assert_eq!(all.len(), (0..=8).map(|n| 5usize.pow(n)).sum::<usize>());
        let h = KeyHasher::new();
        let mut hashes = ahash::AHashSet::new();
        for k in &all {
            if let Some(other) = seen.insert((short_code(k), k.len()), k.clone()) {
                panic!("{k:?} and {other:?} share a code");
            }
            hashes.insert(h.short(short_code(k), k.len()));
        }
        // The hash keeps them apart too (no collision among 488K keys).
        assert_eq!(hashes.len(), all.len());
    }

    /// Every key in one probe chain (a constant hash): the code and the
    /// length both tell keys apart, and growth keeps every entry.
    #[test]
    fn the_short_table_tells_keys_apart_by_code_and_length() {
        let mut t = ShortTable::default();
        let same = |_: u64, _: usize| 7u64;
        let entries: Vec<(u64, usize)> = (0..=8).flat_map(|n| [(0, n), (1, n), (u64::MAX, n)]).collect();
        for (at, &(code, len)) in entries.iter().enumerate() {
            assert_eq!(t.find(7, code, len), None, "{code} {len} before insert");
            t.insert(code, len, at as u32, same);
            for (seen, &(c, n)) in entries[..=at].iter().enumerate() {
                assert_eq!(t.find(7, c, n), Some(seen as u32), "{c} {n} after {at} inserts");
            }
        }
        assert!(t.slots.len() >= 2 * entries.len());
        assert_eq!(t.find(7, 2, 3), None);
        t.clear();
        assert_eq!(t.find(7, 0, 0), None);
    }

    /// Keys of 0 to 20 bytes (short ones in the in-place table, longer ones
    /// in the other), NULL, thousands of them so both tables grow, in a
    /// scrambled order and each seen several times: a key always finds the
    /// group it made, distinct keys never share one, and a cleared pane
    /// starts empty and works again.
    #[test]
    fn a_pane_finds_each_key_it_holds_and_only_it() {
        let h = KeyHasher::new();
        let mut p = PaneGroups::default();
        let mut keys: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| {
                let len = (i % 21) as usize;
                // Similar keys: shared prefixes and suffixes, differing in the middle.
                (0..len)
                    .map(|j| if j == len / 2 { (i / 21) as u8 } else { b'S' })
                    .collect()
            })
            .collect();
        // Zero bytes of each length: one code (0), told apart by length.
        keys.extend((1..=12).map(|n| vec![0u8; n]));
        let distinct: std::collections::HashSet<&Vec<u8>> = keys.iter().collect();
        let r = RowRef { seg: 0, row: 0 };
        for pass in 0..2 {
            let mut next = 0u32;
            let mut at_of: ahash::AHashMap<Option<Vec<u8>>, usize> = ahash::AHashMap::new();
            for round in 0..3usize {
                for i in 0..keys.len() + 1 {
                    let j = (i * 7919 + round * 13) % (keys.len() + 1);
                    let key = keys.get(j).cloned();
                    let at = p.find_or_add(key.as_deref(), &h, r, || {
                        next += 1;
                        next - 1
                    });
                    let prev = *at_of.entry(key.clone()).or_insert(at);
                    assert_eq!(at, prev, "pass {pass}: key {key:?} moved");
                }
            }
            // One group per distinct key plus NULL, each made once.
            assert_eq!(p.list.len(), distinct.len() + 1);
            assert_eq!(next as usize, distinct.len() + 1);
            let mut ats: Vec<usize> = at_of.values().copied().collect();
            ats.sort_unstable();
            ats.dedup();
            assert_eq!(ats.len(), at_of.len());
            for (key, &at) in &at_of {
                let g = &p.list[at];
                match key {
                    Some(k) => assert_eq!(p.key(g), k.as_slice()),
                    None => assert_eq!(p.null_at, Some(at as u32)),
                }
            }
            p.clear();
            assert!(p.list.is_empty());
            assert_eq!(p.short.len, 0);
        }
    }
}
