//! `PATTERN ([EVERY] e1=S[c1] -> e2=T[c2] -> ...) [WITHIN d]`: followed-by
//! patterns over the events of one or more streams.
//!
//! Every event matching e1 (only the first, without EVERY) starts a
//! *partial match*; a partial waiting for element k takes the first later
//! event of k's stream that satisfies k's condition (which may read the
//! events matched before it), and when the last element is matched the
//! partial becomes one output row. WITHIN bounds the time from the first
//! event to the last (inclusive); a partial is dropped when an event of the
//! pattern's streams, or the query's time, passes that bound.
//!
//! Work is columnar per batch: each element's own conditions are one
//! vectorised predicate over the batch; partials wait in hash buckets of
//! their equality keys (`symbol = e1.symbol`), so a row meets only the
//! partials it may complete; the rest of the condition is evaluated over
//! all (partial, row) candidates of the batch at once. Elements are taken
//! in order within a batch, so a partial moved on by row r competes for the
//! rows after r of the same batch, exactly as row-at-a-time processing.

use ahash::AHashMap;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;

use super::combine::{gather_rows, take_rows, Head, KeyHasher, Layout, Timed};
use super::RowTimes;
use crate::error::Result;
use crate::expr::Expr;
use crate::sql::plan::PatternPlan;
use crate::state::{corrupt, put_batch, put_bool, put_i64, put_var, Reader};

pub(crate) struct Pattern {
    layout: Layout,
    elements: Vec<Element>,
    every: bool,
    within: Option<i64>,
    hasher: KeyHasher,
    /// Without EVERY: a partial may start (none is waiting and none has
    /// completed).
    armed: bool,
    /// Without EVERY: the one match was made.
    done: bool,
    /// Start order of partials (ties in output order).
    next_seq: u64,
    /// Partials waiting for element k (index k; 0 is unused), by key hash.
    waiting: Vec<AHashMap<u64, Vec<Partial>>>,
    waiting_count: usize,
}

struct Element {
    port: usize,
    width: usize,
    own: Option<Expr>,
    /// This element's half of each key, and the earlier elements' half.
    own_keys: Vec<Expr>,
    earlier_keys: Vec<Expr>,
    residual: Option<Expr>,
}

struct Partial {
    seq: u64,
    start: i64,
    /// The event matched by each element so far, as a one-row batch.
    bound: Vec<RecordBatch>,
    /// Row of the current batch it was created or moved on at (it may
    /// only take later rows); -1: before this batch.
    after: i64,
    /// First row of the current batch past its WITHIN bound (it may only
    /// take earlier rows).
    dies: usize,
}

impl Pattern {
    pub fn new(plan: &PatternPlan, schema: &SchemaRef) -> Pattern {
        let sides: Vec<_> = plan.elements.iter().map(|e| &e.side).collect();
        let layout = Layout::new(&sides, schema);
        let elements = plan
            .elements
            .iter()
            .map(|e| Element {
                port: e.side.port,
                width: e.side.schema.fields().len(),
                own: e.own.clone(),
                own_keys: e.keys.iter().map(|k| k.0.clone()).collect(),
                earlier_keys: e.keys.iter().map(|k| k.1.clone()).collect(),
                residual: e.residual.clone(),
            })
            .collect::<Vec<_>>();
        let n = elements.len();
        Pattern {
            layout,
            elements,
            every: plan.every,
            within: plan.within,
            hasher: KeyHasher::new(),
            armed: true,
            done: false,
            next_seq: 0,
            waiting: (0..n).map(|_| AHashMap::new()).collect(),
            waiting_count: 0,
        }
    }

    /// Drops the partials out of time at `t`.
    fn expire(&mut self, t: i64) {
        let Some(w) = self.within else { return };
        let mut dropped = 0;
        for bucket in &mut self.waiting {
            bucket.retain(|_, ps| {
                let before = ps.len();
                ps.retain(|p| t.saturating_sub(p.start) <= w);
                dropped += before - ps.len();
                !ps.is_empty()
            });
        }
        self.waiting_count -= dropped;
        if !self.every && self.waiting_count == 0 && !self.done {
            self.armed = true;
        }
    }

    /// The bucket of each partial waiting for element `k` (None: a NULL
    /// key, it can never complete).
    fn buckets(&self, k: usize, partials: &[Partial]) -> Result<Vec<Option<u64>>> {
        let el = &self.elements[k];
        if el.earlier_keys.is_empty() || partials.is_empty() {
            return Ok(vec![Some(0); partials.len()]);
        }
        let combined = self.bound_rows_owned(partials, k)?;
        let keys: Vec<&Expr> = el.earlier_keys.iter().collect();
        self.hasher.hash(&keys, &combined)
    }

    /// Puts partials that now wait for element `k` into their buckets.
    fn wait(&mut self, k: usize, partials: Vec<Partial>) -> Result<()> {
        let hashes = self.buckets(k, &partials)?;
        self.insert(k, partials, hashes);
        Ok(())
    }

    fn insert(&mut self, k: usize, partials: Vec<Partial>, hashes: Vec<Option<u64>>) {
        for (p, h) in partials.into_iter().zip(hashes) {
            // A NULL key equals nothing: the partial can never complete.
            if let Some(h) = h {
                self.waiting[k].entry(h).or_default().push(p);
                self.waiting_count += 1;
            }
        }
    }

    /// Combined rows of `partials` with elements 0..k from what they bound,
    /// element k from `current` (batch and rows) if given, the rest absent.
    fn bound_rows(
        &self,
        partials: &[&Partial],
        k: usize,
        current: Option<Vec<ArrayRef>>,
    ) -> Result<RecordBatch> {
        let n = partials.len();
        let mut parts: Vec<Option<Vec<ArrayRef>>> = Vec::with_capacity(self.elements.len());
        let picks: Vec<(usize, usize)> = (0..n).map(|i| (i, 0)).collect();
        for j in 0..k {
            let bs: Vec<&RecordBatch> = partials.iter().map(|p| &p.bound[j]).collect();
            parts.push(Some(gather_rows(&bs, &picks, self.elements[j].width)?));
        }
        let has_current = current.is_some();
        if let Some(c) = current {
            parts.push(Some(c));
        }
        let present = k + usize::from(has_current);
        parts.extend((present..self.elements.len()).map(|_| None));
        self.layout.assemble(parts, n)
    }

    /// `bound_rows` of owned partials, elements 0..k.
    fn bound_rows_owned(&self, partials: &[Partial], k: usize) -> Result<RecordBatch> {
        let refs: Vec<&Partial> = partials.iter().collect();
        self.bound_rows(&refs, k, None)
    }
}

impl Head for Pattern {
    fn process(
        &mut self,
        port: usize,
        batch: &RecordBatch,
        times: RowTimes<'_>,
        out: &mut Vec<Timed>,
    ) -> Result<()> {
        if self.done || batch.num_rows() == 0 {
            return Ok(());
        }
        if !self.every {
            // One match at most, one partial at a time: which row may start
            // depends on what the rows before it did, so go row by row
            // (only until the match is made).
            for i in 0..batch.num_rows() {
                if self.done {
                    break;
                }
                // An event past the bound ends the waiting partial first:
                // it may start the next one itself.
                self.expire(times.ts[i]);
                let one = batch.slice(i, 1);
                self.batch(port, &one, &times.ts[i..i + 1], &times.wm[i..i + 1], out)?;
            }
            return Ok(());
        }
        self.batch(port, batch, times.ts, times.wm, out)
    }

    fn advance(&mut self, t: i64) -> Result<()> {
        self.expire(t);
        Ok(())
    }

    /// Whether a match may start and whether the one match was made, the
    /// start counter, then per element k the partials waiting for it (in
    /// start order): start number and time, and per earlier element the
    /// rows they matched (one Arrow batch each). Buckets are hashed again
    /// on restore.
    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        put_bool(w, self.armed);
        put_bool(w, self.done);
        put_var(w, self.next_seq);
        for k in 1..self.elements.len() {
            let mut ps: Vec<&Partial> = self.waiting[k].values().flatten().collect();
            ps.sort_unstable_by_key(|p| p.seq);
            put_var(w, ps.len() as u64);
            if ps.is_empty() {
                continue;
            }
            for p in &ps {
                put_var(w, p.seq);
                put_i64(w, p.start);
            }
            let picks: Vec<(usize, usize)> = (0..ps.len()).map(|i| (i, 0)).collect();
            for j in 0..k {
                let bs: Vec<&RecordBatch> = ps.iter().map(|p| &p.bound[j]).collect();
                let cols = gather_rows(&bs, &picks, self.elements[j].width)?;
                put_batch(w, &RecordBatch::try_new(self.layout.side_schema(j), cols)?)?;
            }
        }
        Ok(())
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let armed = r.bool()?;
        let done = r.bool()?;
        let next_seq = r.count()?;
        let mut waiting: Vec<(Vec<Partial>, Vec<Option<u64>>)> = vec![(Vec::new(), Vec::new())];
        for k in 1..self.elements.len() {
            let n = r.len()?;
            let mut ps = Vec::with_capacity(n);
            for _ in 0..n {
                let seq = r.count()?;
                let start = r.i64()?;
                ps.push(Partial {
                    seq,
                    start,
                    bound: Vec::with_capacity(k + 1),
                    after: -1,
                    dies: 0,
                });
            }
            if n > 0 {
                for j in 0..k {
                    let rows = r.batch(&self.layout.side_schema(j))?;
                    if rows.num_rows() != n {
                        return Err(corrupt("pattern rows do not match their count"));
                    }
                    for (i, p) in ps.iter_mut().enumerate() {
                        p.bound.push(rows.slice(i, 1));
                    }
                }
            }
            let hashes = self.buckets(k, &ps)?;
            waiting.push((ps, hashes));
        }
        self.armed = armed;
        self.done = done;
        self.next_seq = next_seq;
        self.waiting.iter_mut().for_each(|b| b.clear());
        self.waiting_count = 0;
        for (k, (ps, hashes)) in waiting.into_iter().enumerate().skip(1) {
            self.insert(k, ps, hashes);
        }
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        // A partial holds one-row slices of its batches (shared buffers are
        // counted by whoever owns them); count the partials themselves.
        let per: usize = std::mem::size_of::<Partial>() + self.elements.len() * 64;
        self.waiting_count * per + self.waiting.iter().map(|b| b.capacity() * 24).sum::<usize>()
    }
}

impl Pattern {
    fn batch(
        &mut self,
        port: usize,
        batch: &RecordBatch,
        ts: &[i64],
        wm: &[i64],
        out: &mut Vec<Timed>,
    ) -> Result<()> {
        let n = batch.num_rows();
        // Running maximum of the rows' times: a partial is out of time from
        // the first row whose running maximum passes its bound.
        let mut reach = Vec::with_capacity(n);
        let mut m = i64::MIN;
        for &t in ts {
            m = m.max(t);
            reach.push(m);
        }
        let within = self.within;
        let dies_at = |start: i64| -> usize {
            match within {
                None => n,
                Some(w) => reach.partition_point(|&t| t.saturating_sub(start) <= w),
            }
        };
        // Once per batch for the partials carried over: where each runs out
        // of time (a binary search; rows meet partials many times).
        for bucket in &mut self.waiting {
            for p in bucket.values_mut().flatten() {
                p.dies = dies_at(p.start);
            }
        }
        // Partials moved on to element k in this batch (k = index).
        let mut moved: Vec<Partial> = Vec::new();
        // Completed: (row, seq, partial).
        let mut done: Vec<(usize, u64, Partial)> = Vec::new();
        let last = self.elements.len() - 1;
        for k in 0..self.elements.len() {
            if k > 0 {
                let entering = std::mem::take(&mut moved);
                self.wait(k, entering)?;
            }
            if self.elements[k].port != port {
                continue;
            }
            let el = &self.elements[k];
            let own = match &el.own {
                None => None,
                Some(c) => Some(c.eval_predicate(&self.layout.view(k, batch)?)?),
            };
            let passes = |i: usize| own.as_ref().map_or(true, |m| m.value(i));
            if k == 0 {
                for (i, &t) in ts.iter().enumerate() {
                    if !passes(i) || !(self.every || self.armed) {
                        continue;
                    }
                    self.armed = false;
                    let p = Partial {
                        seq: self.next_seq,
                        start: t,
                        bound: vec![batch.slice(i, 1)],
                        after: i as i64,
                        dies: dies_at(t),
                    };
                    self.next_seq += 1;
                    if last == 0 {
                        done.push((i, p.seq, p));
                    } else {
                        moved.push(p);
                    }
                }
                continue;
            }
            if self.waiting[k].is_empty() {
                continue;
            }
            // Candidates (bucket key, index in bucket, row), row-major.
            let hashes = if el.own_keys.is_empty() {
                vec![Some(0); n]
            } else {
                let keys: Vec<&Expr> = el.own_keys.iter().collect();
                self.hasher.hash(&keys, &self.layout.view(k, batch)?)?
            };
            let mut cand: Vec<(u64, usize, usize)> = Vec::new();
            for (i, h) in hashes.iter().enumerate() {
                if !passes(i) {
                    continue;
                }
                let Some(h) = *h else { continue };
                if let Some(ps) = self.waiting[k].get(&h) {
                    for (j, p) in ps.iter().enumerate() {
                        if (i as i64) > p.after && i < p.dies {
                            cand.push((h, j, i));
                        }
                    }
                }
            }
            if cand.is_empty() {
                continue;
            }
            let ok: Vec<bool> = match &el.residual {
                None => vec![true; cand.len()],
                Some(r) => {
                    let refs: Vec<&Partial> = cand.iter().map(|&(h, j, _)| &self.waiting[k][&h][j]).collect();
                    let rows: Vec<u32> = cand.iter().map(|c| c.2 as u32).collect();
                    let current = take_rows(batch, &rows)?;
                    let combined = self.bound_rows(&refs, k, Some(current))?;
                    let mask = r.eval_predicate(&combined)?;
                    (0..cand.len()).map(|c| mask.value(c)).collect()
                }
            };
            // The first passing row of each partial moves it on.
            let mut taken: AHashMap<(u64, usize), usize> = AHashMap::new();
            for (c, &(h, j, i)) in cand.iter().enumerate() {
                if ok[c] {
                    taken.entry((h, j)).or_insert(i);
                }
            }
            let mut by_bucket: AHashMap<u64, Vec<(usize, usize)>> = AHashMap::new();
            for ((h, j), i) in taken {
                by_bucket.entry(h).or_default().push((j, i));
            }
            for (h, mut picks) in by_bucket {
                picks.sort_unstable_by_key(|p| std::cmp::Reverse(p.0));
                let bucket = self.waiting[k].get_mut(&h).expect("bucket of a candidate");
                for (j, i) in picks {
                    // Highest index first: the lower ones stay in place.
                    let mut p = bucket.remove(j);
                    self.waiting_count -= 1;
                    p.bound.push(batch.slice(i, 1));
                    p.after = i as i64;
                    if k == last {
                        done.push((i, p.seq, p));
                    } else {
                        moved.push(p);
                    }
                }
                if bucket.is_empty() {
                    self.waiting[k].remove(&h);
                }
            }
            moved.sort_unstable_by_key(|p| (p.after, p.seq));
        }
        // Moved on by the last element's batch but waiting for another
        // stream (a pattern whose next element reads elsewhere) happens in
        // the loop; `moved` is empty here.
        debug_assert!(moved.is_empty());
        if let Some(&t) = reach.last() {
            self.expire(t);
        }
        // In the next batch a waiting partial may take any row.
        for bucket in &mut self.waiting {
            for p in bucket.values_mut().flatten() {
                p.after = -1;
            }
        }
        if !done.is_empty() {
            done.sort_unstable_by_key(|d| (d.0, d.1));
            if !self.every {
                done.truncate(1);
                self.done = true;
                self.armed = false;
                self.waiting.iter_mut().for_each(|b| b.clear());
                self.waiting_count = 0;
            }
            let rows: Vec<usize> = done.iter().map(|d| d.0).collect();
            let partials: Vec<Partial> = done.into_iter().map(|d| d.2).collect();
            let combined = self.bound_rows_owned(&partials, self.elements.len())?;
            out.push(Timed {
                rows: combined,
                ts: rows.iter().map(|&i| ts[i]).collect(),
                wm: rows.iter().map(|&i| wm[i]).collect(),
            });
        }
        Ok(())
    }
}
