//! `A [WINDOW] JOIN B [WINDOW] ON cond`: an inner join of two streams, each
//! side keeping the rows its window holds.
//!
//! A row that arrives on one side probes the rows the other side keeps and
//! is then kept by its own side (if it has a window). A pair comes out once,
//! when the later of its two rows arrives. Time windows make the answer
//! independent of how the two streams' pushes interleave: a pair joins when
//! the rows' times are closer than the windows (semantics.md, "Joins"), and
//! a kept row is dropped once the other side's watermark shows no row it
//! could still join can come. Candidates are found by hashing the ON
//! condition's `a.x = b.y` keys; the whole condition then decides, over all
//! candidate pairs of a batch at once.

use std::collections::VecDeque;

use ahash::AHashMap;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::combine::{gather_rows, take_rows, Head, KeyHasher, Layout, Timed};
use super::window::KeyEncoder;
use super::RowTimes;
use crate::error::Result;
use crate::expr::Expr;
use crate::sql::plan::{JoinPlan, JoinWindow};
use crate::state::{corrupt, put_batch, put_bool, put_i64, put_var, Reader};

pub(crate) struct Join {
    layout: Layout,
    sides: [Side; 2],
    on: Expr,
    hasher: KeyHasher,
    event_time: bool,
    /// Per side: unmatched arrivals come out with the other side NULL.
    outer: [bool; 2],
}

struct Side {
    port: usize,
    window: JoinWindow,
    filter: Option<Expr>,
    /// This side's half of each equality key, over the combined layout.
    keys: Vec<Expr>,
    width: usize,
    /// Rows a late row may still be behind this side's watermark.
    lateness: i64,
    /// The largest watermark seen on this side.
    watermark: i64,
    kept: Kept,
    /// A unique window: its column's encoder, and the kept row holding
    /// each value.
    unique: Option<(KeyEncoder, AHashMap<Vec<u8>, u64>)>,
}

/// The rows a side keeps, in arrival order, numbered from `base`.
#[derive(Default)]
struct Kept {
    /// Stored batches with the number of their first row.
    batches: VecDeque<(u64, RecordBatch)>,
    ts: VecDeque<i64>,
    /// None: the row joins nothing (a NULL key, or it fails the side's own
    /// part of ON) but still holds its place in a length window.
    hash: VecDeque<Option<u64>>,
    base: u64,
    /// Key hash → numbers of the kept rows with it, in arrival order.
    index: AHashMap<u64, VecDeque<u64>>,
    bytes: usize,
    /// Every row came at or after the time of the one before (the usual
    /// case): rows in a time range can be found by binary search.
    unsorted: bool,
}

impl Kept {
    fn len(&self) -> usize {
        self.ts.len()
    }

    fn push(&mut self, batch: RecordBatch, ts: &[i64], hash: &[Option<u64>]) {
        let first = self.base + self.len() as u64;
        let mut prev = self.ts.back().copied().unwrap_or(i64::MIN);
        for &t in ts {
            self.unsorted |= t < prev;
            prev = t;
        }
        for (k, h) in hash.iter().enumerate() {
            let Some(h) = *h else { continue };
            self.index.entry(h).or_default().push_back(first + k as u64);
        }
        self.ts.extend(ts);
        self.hash.extend(hash);
        self.bytes += batch.get_array_memory_size();
        self.batches.push_back((first, batch));
    }

    /// Drops the oldest row.
    fn pop(&mut self) {
        let h = self.hash.pop_front().expect("a kept row");
        self.ts.pop_front();
        if let Some(q) = h.and_then(|h| self.index.get_mut(&h)) {
            q.pop_front();
            if q.is_empty() {
                self.index.remove(&h.unwrap());
            }
        }
        self.base += 1;
        while let Some((first, b)) = self.batches.front() {
            if first + b.num_rows() as u64 <= self.base {
                self.bytes -= b.get_array_memory_size();
                self.batches.pop_front();
            } else {
                break;
            }
        }
    }

    fn ts_of(&self, id: u64) -> i64 {
        self.ts[(id - self.base) as usize]
    }

    /// Row `id` stops joining (a unique window's row replaced by a newer
    /// one); it stays in place until the store is compacted.
    fn kill(&mut self, id: u64) {
        let Some(h) = self.hash[(id - self.base) as usize].take() else {
            return;
        };
        if let Some(q) = self.index.get_mut(&h) {
            if let Some(p) = q.iter().position(|&x| x == id) {
                q.remove(p);
            }
            if q.is_empty() {
                self.index.remove(&h);
            }
        }
    }

    /// Keeps only rows `live` (ascending ids), renumbered from `base` in
    /// the same order; returns the new id of each.
    fn compact(&mut self, live: &[u64], width: usize) -> Result<Vec<u64>> {
        let stored: Vec<&RecordBatch> = self.batches.iter().map(|(_, b)| b).collect();
        let picks: Vec<(usize, usize)> = live.iter().map(|&id| self.locate(id)).collect();
        let schema = self.batches.front().map(|(_, b)| b.schema());
        let cols = gather_rows(&stored, &picks, width)?;
        let ts: Vec<i64> = live.iter().map(|&id| self.ts_of(id)).collect();
        let hash: Vec<Option<u64>> = live
            .iter()
            .map(|&id| self.hash[(id - self.base) as usize])
            .collect();
        let base = self.base;
        *self = Kept {
            base,
            unsorted: self.unsorted,
            ..Kept::default()
        };
        if let (Some(schema), false) = (schema, live.is_empty()) {
            self.push(RecordBatch::try_new(schema, cols)?, &ts, &hash);
        }
        Ok((0..live.len() as u64).map(|k| base + k).collect())
    }

    /// (batch position, row) of kept row `id`.
    fn locate(&self, id: u64) -> (usize, usize) {
        let k = self.batches.partition_point(|(first, _)| *first <= id) - 1;
        (k, (id - self.batches[k].0) as usize)
    }
}

impl Join {
    /// Hashes of `rows` (side `a`'s stream) as the side keeps them: None
    /// for a row that joins nothing (a NULL key, or failing the side's own
    /// part of ON).
    fn row_hashes(&self, a: usize, rows: &RecordBatch) -> Result<Vec<Option<u64>>> {
        let view = self.layout.view(a, rows)?;
        let keys: Vec<&Expr> = self.sides[a].keys.iter().collect();
        let mut hashes = self.hasher.hash(&keys, &view)?;
        if let Some(f) = &self.sides[a].filter {
            let mask = f.eval_predicate(&view)?;
            for (i, h) in hashes.iter_mut().enumerate() {
                if !mask.value(i) {
                    *h = None;
                }
            }
        }
        Ok(hashes)
    }

    /// `lateness`: each input port's allowed lateness (rows that far behind
    /// its watermark are still taken).
    pub fn new(plan: &JoinPlan, schema: &SchemaRef, lateness: &[i64], event_time: bool) -> Join {
        let layout = Layout::new(&[&plan.sides[0].side, &plan.sides[1].side], schema);
        let side = |k: usize| -> Side {
            let s = &plan.sides[k];
            Side {
                port: s.side.port,
                window: s.window,
                filter: s.filter.clone(),
                keys: plan
                    .keys
                    .iter()
                    .map(|(l, r)| if k == 0 { l.clone() } else { r.clone() })
                    .collect(),
                width: s.side.schema.fields().len(),
                lateness: lateness.get(s.side.port).copied().unwrap_or(0),
                watermark: i64::MIN,
                kept: Kept::default(),
                unique: match s.window {
                    JoinWindow::Unique(c) => {
                        Some((KeyEncoder::new(&s.side.schema, c, false), AHashMap::new()))
                    }
                    _ => None,
                },
            }
        };
        Join {
            layout,
            sides: [side(0), side(1)],
            on: plan.on.clone(),
            hasher: KeyHasher::new(),
            event_time,
            outer: plan.outer,
        }
    }

    /// The output of an outer side's arrivals: each arriving row's pairs,
    /// or the row alone (the other side NULL) when it has none, in arrival
    /// order.
    fn with_unmatched(
        &self,
        a: usize,
        rows: &RecordBatch,
        ts: &[i64],
        wm: &[i64],
        matched: Option<(RecordBatch, Vec<u32>)>,
    ) -> Result<Timed> {
        let n = rows.num_rows();
        let mut has = vec![false; n];
        if let Some((_, of)) = &matched {
            for &i in of {
                has[i as usize] = true;
            }
        }
        let alone: Vec<u32> = (0..n as u32).filter(|&i| !has[i as usize]).collect();
        let mine = take_rows(rows, &alone)?;
        let other = &self.layout.side_schema(1 - a);
        let theirs: Vec<arrow::array::ArrayRef> = other
            .fields()
            .iter()
            .map(|f| arrow::array::new_null_array(f.data_type(), alone.len()))
            .collect();
        let lonely = self.layout.assemble(in_order(a, mine, theirs), alone.len())?;
        let Some((pairs, of)) = matched else {
            return Ok(Timed {
                ts: alone.iter().map(|&i| ts[i as usize]).collect(),
                wm: alone.iter().map(|&i| wm[i as usize]).collect(),
                rows: lonely,
            });
        };
        // Merge in arrival order: pairs are grouped by arriving row already.
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(of.len() + alone.len());
        let (mut p, mut l) = (0usize, 0usize);
        for i in 0..n as u32 {
            if has[i as usize] {
                while p < of.len() && of[p] == i {
                    picks.push((0, p));
                    p += 1;
                }
            } else {
                picks.push((1, l));
                l += 1;
            }
        }
        let merged = gather_rows(&[&pairs, &lonely], &picks, pairs.num_columns())?;
        let schema = pairs.schema();
        let row_of = |&(src, k): &(usize, usize)| {
            if src == 0 {
                of[k] as usize
            } else {
                alone[k] as usize
            }
        };
        Ok(Timed {
            ts: picks.iter().map(|x| ts[row_of(x)]).collect(),
            wm: picks.iter().map(|x| wm[row_of(x)]).collect(),
            rows: RecordBatch::try_new(schema, merged)?,
        })
    }

    /// Drops the rows of side `k` that no later row of the other side can
    /// join: those kept beyond a length window, and under a time window
    /// those whose time plus the window is at or below the earliest time
    /// the other side can still take.
    fn prune(&mut self, k: usize) -> Result<()> {
        let other = &self.sides[1 - k];
        let floor = if self.event_time {
            if other.watermark == i64::MIN {
                i64::MIN
            } else {
                other.watermark.saturating_sub(other.lateness)
            }
        } else {
            // One clock: the later of the two sides' last arrival.
            other.watermark.max(self.sides[k].watermark)
        };
        let side = &mut self.sides[k];
        match side.window {
            JoinWindow::None => {}
            JoinWindow::Unique(_) => {
                // Replaced rows stay in the store until they outnumber the
                // live ones; then the live rows are copied out.
                let (_, latest) = side.unique.as_mut().expect("a unique window");
                if side.kept.len() > 2 * latest.len() + 64 {
                    let mut live: Vec<u64> = latest.values().copied().collect();
                    live.sort_unstable();
                    let renamed = side.kept.compact(&live, side.width)?;
                    for id in latest.values_mut() {
                        *id = renamed[live.binary_search(id).expect("a live row")];
                    }
                }
            }
            JoinWindow::Length(n) => {
                while side.kept.len() as u64 > n {
                    side.kept.pop();
                }
            }
            JoinWindow::Time(size) => {
                while let Some(&t) = side.kept.ts.front() {
                    if t.saturating_add(size) <= floor {
                        side.kept.pop();
                    } else {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Side `a`'s columns and the other side's, as the combined row orders them
/// (left, then right).
fn in_order(
    a: usize,
    mine: Vec<arrow::array::ArrayRef>,
    theirs: Vec<arrow::array::ArrayRef>,
) -> Vec<Option<Vec<arrow::array::ArrayRef>>> {
    if a == 0 {
        vec![Some(mine), Some(theirs)]
    } else {
        vec![Some(theirs), Some(mine)]
    }
}

impl Head for Join {
    fn process(
        &mut self,
        port: usize,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<Timed>,
    ) -> Result<()> {
        let Some(a) = self.sides.iter().position(|s| s.port == port) else {
            return Ok(());
        };
        let b = 1 - a;
        if let Some(&w) = times.wm.last() {
            self.sides[a].watermark = self.sides[a].watermark.max(w);
        }
        let (rows, ts, wm) = (batch, times.ts, times.wm);
        let hashes = self.row_hashes(a, rows)?;
        let keyless = self.sides[a].keys.is_empty();

        // Candidates: each arriving row against the other side's kept rows
        // with its key, whose times fit both windows.
        let (sa, sb) = (&self.sides[a], &self.sides[b]);
        let mut probe: Vec<u32> = Vec::new();
        let mut picks: Vec<(usize, usize)> = Vec::new();
        if sb.kept.len() > 0 {
            // Each time window admits the other side's row when the two
            // are closer than its size: B's bounds tb from below, A's from
            // above.
            let (lo_gap, hi_gap) = (sb.window.time(), sa.window.time());
            let fits = |ta: i64, tb: i64| {
                lo_gap.map_or(true, |g| tb > ta.saturating_sub(g))
                    && hi_gap.map_or(true, |g| ta > tb.saturating_sub(g))
            };
            // With rows in time order, the kept rows a time window admits
            // are one run: found by binary search, not by a scan.
            let ranged = !sb.kept.unsorted && (lo_gap.is_some() || hi_gap.is_some());
            let kept = &sb.kept;
            let mut visit = |i: usize, ids: &mut dyn Iterator<Item = u64>| {
                for id in ids {
                    if kept.hash[(id - kept.base) as usize].is_none() {
                        continue;
                    }
                    let tb = kept.ts_of(id);
                    if fits(ts[i], tb) {
                        probe.push(i as u32);
                        picks.push(kept.locate(id));
                    } else if ranged && hi_gap.is_some_and(|g| tb >= ts[i].saturating_add(g)) {
                        break;
                    }
                }
            };
            for (i, h) in hashes.iter().enumerate() {
                let Some(h) = h else { continue };
                let first_time = lo_gap.map_or(i64::MIN, |g| ts[i].saturating_sub(g));
                if keyless {
                    let (base, len) = (kept.base, kept.len());
                    let start = if ranged {
                        kept.ts.partition_point(|&t| t <= first_time) as u64
                    } else {
                        0
                    };
                    visit(i, &mut (base + start..base + len as u64));
                } else if let Some(ids) = kept.index.get(h) {
                    let start = if ranged {
                        ids.partition_point(|&id| kept.ts_of(id) <= first_time)
                    } else {
                        0
                    };
                    visit(i, &mut ids.range(start..).copied());
                }
            }
        }
        // Pairs that passed ON, and the arriving row of each.
        let mut matched: Option<(RecordBatch, Vec<u32>)> = None;
        if !probe.is_empty() {
            let n = probe.len();
            let mine = take_rows(rows, &probe)?;
            let stored: Vec<&RecordBatch> = sb.kept.batches.iter().map(|(_, b)| b).collect();
            let theirs = gather_rows(&stored, &picks, sb.width)?;
            let pairs = self.layout.assemble(in_order(a, mine, theirs), n)?;
            let mask = self.on.eval_predicate(&pairs)?;
            let hits = mask.true_count();
            if hits > 0 {
                let sel: Vec<usize> = (0..n).filter(|&k| mask.value(k)).collect();
                let rows = if hits == n {
                    pairs
                } else {
                    arrow::compute::filter_record_batch(&pairs, &mask)?
                };
                matched = Some((rows, sel.iter().map(|&k| probe[k]).collect()));
            }
        }
        match (matched, self.outer[a]) {
            (Some((pairs, of)), false) => out.push(Timed {
                ts: of.iter().map(|&i| ts[i as usize]).collect(),
                wm: of.iter().map(|&i| wm[i as usize]).collect(),
                rows: pairs,
            }),
            (None, false) => {}
            (matched, true) => out.push(self.with_unmatched(a, rows, ts, wm, matched)?),
        }

        // Keep the arriving rows. A row that joins nothing still holds its
        // place in a length or unique window; a time window does not keep
        // it.
        let side = &mut self.sides[a];
        let kept = &mut side.kept;
        match side.window {
            JoinWindow::None => {}
            JoinWindow::Time(_) => {
                let keep: Vec<u32> = (0..rows.num_rows() as u32)
                    .filter(|&i| hashes[i as usize].is_some())
                    .collect();
                if keep.len() == rows.num_rows() {
                    kept.push(rows.clone(), ts, &hashes);
                } else if !keep.is_empty() {
                    let kb = RecordBatch::try_new(rows.schema(), take_rows(rows, &keep)?)?;
                    let kts: Vec<i64> = keep.iter().map(|&i| ts[i as usize]).collect();
                    let kh: Vec<Option<u64>> = keep.iter().map(|&i| hashes[i as usize]).collect();
                    kept.push(kb, &kts, &kh);
                }
            }
            JoinWindow::Length(_) | JoinWindow::Unique(_) => {
                let first = kept.base + kept.len() as u64;
                kept.push(rows.clone(), ts, &hashes);
                if let Some((enc, latest)) = &mut side.unique {
                    // Each row replaces the kept row with its value.
                    let values = enc.keys(rows)?;
                    for i in 0..rows.num_rows() {
                        let v = values.row(i);
                        let id = first + i as u64;
                        match latest.get_mut(v.as_ref()) {
                            Some(old) => {
                                kept.kill(*old);
                                *old = id;
                            }
                            None => {
                                latest.insert(v.as_ref().to_vec(), id);
                            }
                        }
                    }
                }
            }
        }
        self.prune(a)?;
        self.prune(b)
    }

    fn advance(&mut self, t: i64) -> Result<()> {
        for s in &mut self.sides {
            s.watermark = s.watermark.max(t);
        }
        self.prune(0)?;
        self.prune(1)
    }

    /// Per side: its watermark, whether its rows came in time order, and
    /// its kept rows (one Arrow batch) with each row's time and whether it
    /// can join (keys are hashed again on restore).
    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        for (k, s) in self.sides.iter().enumerate() {
            put_i64(w, s.watermark);
            put_bool(w, s.kept.unsorted);
            let n = s.kept.len();
            put_var(w, n as u64);
            if n == 0 {
                continue;
            }
            let stored: Vec<&RecordBatch> = s.kept.batches.iter().map(|(_, b)| b).collect();
            let picks: Vec<(usize, usize)> = (0..n as u64).map(|i| s.kept.locate(s.kept.base + i)).collect();
            let rows =
                RecordBatch::try_new(self.layout.side_schema(k), gather_rows(&stored, &picks, s.width)?)?;
            put_batch(w, &rows)?;
            for i in 0..n {
                put_i64(w, s.kept.ts[i]);
                put_bool(w, s.kept.hash[i].is_some());
            }
        }
        Ok(())
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let mut sides = Vec::with_capacity(2);
        for k in 0..2 {
            let watermark = r.i64()?;
            let unsorted = r.bool()?;
            let n = r.len()?;
            let mut kept = Kept {
                unsorted,
                ..Kept::default()
            };
            let mut latest = AHashMap::new();
            if n > 0 {
                let rows = r.batch(&self.layout.side_schema(k))?;
                if rows.num_rows() != n {
                    return Err(corrupt("join rows do not match their count"));
                }
                let hashes = self.row_hashes(k, &rows)?;
                let mut ts = Vec::with_capacity(n);
                let mut hs = Vec::with_capacity(n);
                for h in hashes {
                    ts.push(r.i64()?);
                    hs.push(if r.bool()? { h } else { None });
                }
                if let Some((enc, _)) = &self.sides[k].unique {
                    // The latest row per value; the earlier ones were
                    // replaced (and joined nothing since).
                    let values = enc.keys(&rows)?;
                    for i in 0..n {
                        latest.insert(values.row(i).as_ref().to_vec(), i as u64);
                    }
                }
                kept.push(rows, &ts, &hs);
            }
            sides.push((watermark, kept, latest));
        }
        for (s, (watermark, kept, latest)) in self.sides.iter_mut().zip(sides) {
            s.watermark = watermark;
            s.kept = kept;
            if let Some((_, l)) = &mut s.unique {
                *l = latest;
            }
        }
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| {
                s.kept.bytes
                    + s.kept.len() * 16
                    + s.unique.as_ref().map_or(0, |(_, m)| m.len() * 48)
                    + s.kept.index.len() * (std::mem::size_of::<u64>() + std::mem::size_of::<VecDeque<u64>>())
            })
            .sum()
    }
}
