//! Windows that emit whole batches: lengthBatch, and the time-bounded kinds
//! (timeBatch, externalTimeBatch, tumbling, sliding/hopping, session), which
//! keep one pane per open window so out-of-order rows land in the right one.

use std::collections::BTreeSet;
use std::ops::Range;

use ahash::AHashMap;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::pane_agg::{PaneAgg, PaneGroups};
use super::sliding::{time_values, KeyEncoder};
use super::store::Restored;
use super::{floor_div, period_start, Chunk, Emit, RefTable, RowRef, RowStore, RowTimes, Window};
use crate::error::Result;
use crate::state::{corrupt, put_bool, put_bytes, put_i64, put_opt_i64, put_var, Reader};

/// `lengthBatch(n)`: every n events form a batch, emitted when its n-th
/// event arrives. With expired events kept, a batch expires when the next
/// one is emitted (in the same chunk, before it). No partial batch is ever
/// emitted.
pub(crate) struct LengthBatch {
    store: RowStore,
    n: usize,
    keep_expired: bool,
    cur: Vec<(RowRef, u64)>,
    prev: Vec<(RowRef, u64)>,
    seq: u64,
}

impl LengthBatch {
    pub fn new(schema: SchemaRef, n: usize, keep_expired: bool) -> LengthBatch {
        LengthBatch {
            store: RowStore::new(schema),
            n,
            keep_expired,
            cur: Vec::new(),
            prev: Vec::new(),
            seq: 0,
        }
    }
}

impl Window for LengthBatch {
    fn process(&mut self, rows: &RecordBatch, _: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        for i in 0..rows.num_rows() {
            let r = RowRef { seg, row: i as u32 };
            self.store.retain(r);
            self.cur.push((r, self.seq));
            self.seq += 1;
            if self.cur.len() == self.n {
                let mut e = Emit::new();
                for &(r, s) in &self.prev {
                    e.push(r, s, true);
                    self.store.release(r);
                }
                for &(r, s) in &self.cur {
                    e.push(r, s, false);
                }
                e.take(&self.store, None, true, out)?;
                let done = std::mem::take(&mut self.cur);
                if self.keep_expired {
                    self.prev = done;
                } else {
                    self.prev.clear();
                    for (r, _) in done {
                        self.store.release(r);
                    }
                }
            }
        }
        self.store.sweep();
        Ok(())
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes() + (self.cur.capacity() + self.prev.capacity()) * 24
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let refs: Vec<RowRef> = self.cur.iter().map(|x| x.0).collect();
        if refs.is_empty() {
            return Ok(Some(self.store.empty()));
        }
        self.store.gather(&refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_var(&mut b, self.seq);
        put_rows(&mut t, &mut b, &self.cur);
        put_rows(&mut t, &mut b, &self.prev);
        self.store.write_snapshot(TAG_LENGTH_BATCH, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let (rows, mut b) = self.store.read_snapshot(TAG_LENGTH_BATCH, r)?;
        self.seq = b.count()?;
        self.cur = read_rows(&mut self.store, rows, &mut b)?;
        self.prev = read_rows(&mut self.store, rows, &mut b)?;
        if self.cur.len() >= self.n || self.prev.len() > self.n {
            return Err(corrupt("more events than the batch length"));
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}

// Snapshot tags (the sliding kinds use 1..=5).
const TAG_LENGTH_BATCH: u8 = 6;
const TAG_BATCH_WINDOW: u8 = 7;

fn put_rows(t: &mut RefTable, b: &mut Vec<u8>, rows: &[(RowRef, u64)]) {
    put_var(b, rows.len() as u64);
    for &(r, s) in rows {
        t.put(b, r);
        put_var(b, s);
    }
}

/// Reads rows written by `put_rows`, retaining each.
fn read_rows(store: &mut RowStore, rows: Restored, b: &mut Reader<'_>) -> Result<Vec<(RowRef, u64)>> {
    let n = b.len()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let x = rows.get(b)?;
        store.retain(x);
        v.push((x, b.count()?));
    }
    Ok(v)
}

/// Consecutive rows of one batch placed together (see `process`) while
/// their time is in `lo..hi`: rows `rows`, the first with arrival number
/// `seq` and each next one the next.
#[derive(Default)]
struct Run {
    lo: i64,
    hi: i64,
    ids: Vec<u64>,
    rows: Range<u32>,
    seq: u64,
}

impl Run {
    /// Adds `rows`, the ones right after the run's, numbering them from
    /// `seq` on.
    fn take(&mut self, rows: Range<usize>, seq: &mut u64) {
        if self.rows.is_empty() {
            (self.rows, self.seq) = (rows.start as u32..rows.start as u32, *seq);
        }
        debug_assert_eq!(self.rows.end as usize, rows.start, "a run's rows are consecutive");
        self.rows.end = rows.end as u32;
        *seq += rows.len() as u64;
    }
}

/// Which window(s) a row belongs to.
pub(crate) enum Assign {
    /// [anchor + k*size, anchor + (k+1)*size); the anchor is the first row's
    /// time unless given.
    Anchored { size: i64, anchor: Option<i64> },
    /// [k*slide, k*slide + size) for every k with the row inside.
    Hopping { size: i64, slide: i64 },
    /// A session per key value: [first time, last time + gap); sessions
    /// that come to overlap merge.
    Session { gap: i64, key: Option<usize> },
}

/// What moves time for the window.
pub(crate) enum Progress {
    /// The query's time: the stream watermark or the clock.
    Stream,
    /// The largest value seen in this column (externalTimeBatch).
    Column(usize),
}

/// When a fired window's events are emitted as expired.
pub(crate) enum Expiry {
    /// Siddhi batches: when the next batch (one period later) is emitted.
    WithNext(i64),
    /// When the window's state is dropped: at firing, or once time passes
    /// end + allowed lateness.
    AtPurge,
}

struct Pane {
    start: i64,
    end: i64,
    rows: Vec<(RowRef, u64)>,
    fired: bool,
    /// Session key (encoded), to unlink the pane from its key.
    key: Option<Vec<u8>>,
    /// With pane aggregation: the groups, instead of `rows`.
    groups: Option<PaneGroups>,
}

pub(crate) struct BatchWindow {
    store: RowStore,
    assign: Assign,
    progress: Progress,
    expiry: Expiry,
    keep_expired: bool,
    lateness: i64,
    panes: AHashMap<u64, Pane>,
    /// (end, start, id): firing order.
    order: BTreeSet<(i64, i64, u64)>,
    by_start: AHashMap<i64, u64>,
    by_key: AHashMap<Vec<u8>, Vec<u64>>,
    key_enc: Option<KeyEncoder>,
    /// WithNext: the last emitted batch, until it expires.
    prev: Option<Pane>,
    anchor: Option<i64>,
    next_id: u64,
    seq: u64,
    max_col: i64,
    late: u64,
    /// Aggregates computed as rows arrive (see pane_agg.rs).
    agg: Option<PaneAgg>,
}

impl BatchWindow {
    pub fn new(
        schema: SchemaRef,
        assign: Assign,
        progress: Progress,
        expiry: Expiry,
        keep_expired: bool,
        lateness: i64,
        agg: Option<PaneAgg>,
    ) -> BatchWindow {
        let key_enc = match assign {
            Assign::Session { key: Some(c), .. } => Some(KeyEncoder::new(&schema, c, false)),
            _ => None,
        };
        let anchor = match assign {
            Assign::Anchored { anchor, .. } => anchor,
            _ => None,
        };
        BatchWindow {
            store: RowStore::new(schema),
            assign,
            progress,
            expiry,
            keep_expired,
            lateness: lateness.max(0),
            panes: AHashMap::new(),
            order: BTreeSet::new(),
            by_start: AHashMap::new(),
            by_key: AHashMap::new(),
            key_enc,
            prev: None,
            anchor,
            next_id: 0,
            seq: 0,
            max_col: i64::MIN,
            late: 0,
            agg,
        }
    }

    fn new_pane(&mut self, start: i64, end: i64, key: Option<Vec<u8>>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.order.insert((end, start, id));
        self.panes.insert(
            id,
            Pane {
                start,
                end,
                rows: Vec::new(),
                fired: false,
                key,
                groups: self.agg.as_mut().map(|a| a.new_groups()),
            },
        );
        id
    }

    /// The panes (start, end) a row at `ts` belongs to.
    fn targets(&mut self, ts: i64, out: &mut Vec<(i64, i64)>) {
        out.clear();
        match self.assign {
            Assign::Anchored { size, .. } => {
                let a = *self.anchor.get_or_insert(ts);
                // A start below i64::MIN is clamped to it.
                let start = period_start(a, ts, size).max(i64::MIN as i128) as i64;
                out.push((start, start.saturating_add(size)));
            }
            Assign::Hopping { size, slide } => {
                let last = floor_div(ts, slide);
                let first = floor_div(ts.saturating_sub(size), slide) + 1;
                for k in first..=last {
                    let start = k * slide;
                    out.push((start, start.saturating_add(size)));
                }
            }
            Assign::Session { .. } => unreachable!("sessions are placed by `session`"),
        }
    }

    /// The times around `ts` whose rows join exactly the windows a row at
    /// `ts` joins: [lo, hi). None for sessions, or near the ends of time.
    fn slot(&self, ts: i64) -> Option<(i64, i64)> {
        let (lo, hi) = match self.assign {
            Assign::Anchored { size, .. } => {
                let lo = period_start(self.anchor?, ts, size);
                (lo, lo + size as i128)
            }
            Assign::Hopping { size, slide } => {
                // Windows [k*slide, k*slide + size) with the row inside: k
                // from floor((ts - size) / slide) + 1 to floor(ts / slide).
                // Both bounds hold between consecutive multiples of slide,
                // and of slide shifted by size.
                let (ts, size, slide) = (ts as i128, size as i128, slide as i128);
                let a = ts.div_euclid(slide) * slide;
                let b = (ts - size).div_euclid(slide) * slide + size;
                (a.max(b), (a + slide).min(b + slide))
            }
            Assign::Session { .. } => return None,
        };
        let fits = |x: i128| x > i64::MIN as i128 && x < i64::MAX as i128;
        (fits(lo) && fits(hi)).then_some((lo as i64, hi as i64))
    }

    /// Places the rows of a run in its panes (all open, none fired).
    fn place_run(&mut self, run: &mut Run, seg: u64) {
        if run.rows.is_empty() {
            return;
        }
        for id in &run.ids {
            let p = self.panes.get_mut(id).expect("a run's panes stay open");
            debug_assert!(!p.fired);
            match (&mut self.agg, &mut p.groups) {
                (Some(a), Some(g)) => a.place_rows(g, &mut self.store, seg, run.rows.clone()),
                _ => {
                    for (row, seq) in run.rows.clone().zip(run.seq..) {
                        let r = RowRef { seg, row };
                        p.rows.push((r, seq));
                        self.store.retain(r);
                    }
                }
            }
        }
        run.rows = 0..0;
    }

    /// Places a row in its session, merging the sessions it bridges.
    /// Returns the pane id.
    fn session(&mut self, key: &[u8], ts: i64, gap: i64) -> u64 {
        let (lo, hi) = (ts, ts.saturating_add(gap));
        let touches = |p: &Pane| p.start < hi && lo < p.end;
        let ids: &[u64] = self.by_key.get(key).map_or(&[], |v| v.as_slice());
        let mut it = ids.iter().copied().filter(|id| touches(&self.panes[id]));
        // The common case, one session touched, allocates nothing.
        if let (Some(id), None) = (it.next(), it.next()) {
            let p = self.panes.get_mut(&id).unwrap();
            if p.start <= lo && hi <= p.end {
                return id;
            }
            // Grows: re-key it in the firing order.
            self.order.remove(&(p.end, p.start, id));
            p.start = p.start.min(lo);
            p.end = p.end.max(hi);
            self.order.insert((p.end, p.start, id));
            return id;
        }
        // None touched (a new session) or several (they merge).
        let touching: Vec<u64> = ids
            .iter()
            .copied()
            .filter(|id| touches(&self.panes[id]))
            .collect();
        let mut start = lo;
        let mut end = hi;
        let mut rows = Vec::new();
        let mut fired = false;
        for id in &touching {
            let p = self.panes.remove(id).unwrap();
            self.order.remove(&(p.end, p.start, *id));
            start = start.min(p.start);
            end = end.max(p.end);
            fired |= p.fired;
            rows.extend(p.rows);
        }
        rows.sort_by_key(|x| x.1);
        let id = self.new_pane(start, end, Some(key.to_vec()));
        let ids = self.by_key.entry(key.to_vec()).or_default();
        ids.retain(|id| !touching.contains(id));
        ids.push(id);
        let p = self.panes.get_mut(&id).unwrap();
        p.rows = rows;
        p.fired = fired;
        id
    }

    /// Emits one pane's events: `expired_first` (the previous batch, for
    /// WithNext), then its rows as current; or its groups, aggregated.
    fn emit(
        store: &RowStore,
        agg: &mut Option<PaneAgg>,
        expired_first: Option<&Pane>,
        p: &Pane,
        bounds: (i64, i64),
        out: &mut Vec<Chunk>,
    ) -> Result<()> {
        if let (Some(a), Some(g)) = (agg.as_mut(), p.groups.as_ref()) {
            // Aggregating panes are built only where nothing expires.
            debug_assert!(expired_first.is_none());
            return a.emit(g, store, bounds, out);
        }
        let rows = &p.rows;
        let mut e = Emit::new();
        if let Some(p) = expired_first {
            for &(r, s) in &p.rows {
                e.push(r, s, true);
            }
        }
        for &(r, s) in rows {
            e.push(r, s, false);
        }
        e.take(store, Some(bounds), true, out)
    }

    fn emit_expired(store: &RowStore, p: &Pane, bounds: (i64, i64), out: &mut Vec<Chunk>) -> Result<()> {
        let mut e = Emit::new();
        for &(r, s) in &p.rows {
            e.push(r, s, true);
        }
        e.take(store, Some(bounds), true, out)
    }

    fn drop_pane(&mut self, p: Pane) -> Result<()> {
        for (r, _) in p.rows {
            self.store.release(r);
        }
        if let (Some(a), Some(g)) = (self.agg.as_mut(), p.groups) {
            a.drop_groups(g, &mut self.store)?;
        }
        Ok(())
    }

    /// WithNext: the previous batch expires alone when its next period
    /// passed without a batch of its own at `before` (exclusive).
    fn expire_prev_before(&mut self, end_limit: i64, out: &mut Vec<Chunk>) -> Result<()> {
        let Expiry::WithNext(size) = self.expiry else {
            return Ok(());
        };
        if let Some(p) = &self.prev {
            let next_end = p.end.saturating_add(size);
            if next_end < end_limit {
                let p = self.prev.take().unwrap();
                Self::emit_expired(&self.store, &p, (p.end, next_end), out)?;
                self.drop_pane(p)?;
            }
        }
        Ok(())
    }

    /// Fires every pane due at `now` in (end, start) order, purges what
    /// lateness no longer covers.
    fn fire(&mut self, now: i64, out: &mut Vec<Chunk>) -> Result<()> {
        let due: Vec<(i64, i64, u64)> = self
            .order
            .iter()
            .take_while(|(end, _, _)| *end <= now)
            .copied()
            .collect();
        for key @ (end, start, id) in due {
            let purge_at = end.saturating_add(self.lateness);
            let fired = self.panes[&id].fired;
            match self.expiry {
                Expiry::WithNext(_) => {
                    // Panes of these kinds leave the map when they fire.
                    self.expire_prev_before(end, out)?;
                    let p = self.panes.remove(&id).unwrap();
                    self.order.remove(&key);
                    self.by_start.remove(&start);
                    Self::emit(
                        &self.store,
                        &mut self.agg,
                        self.prev.as_ref(),
                        &p,
                        (start, end),
                        out,
                    )?;
                    if let Some(old) = self.prev.take() {
                        self.drop_pane(old)?;
                    }
                    if self.keep_expired {
                        self.prev = Some(p);
                    } else {
                        self.drop_pane(p)?;
                    }
                }
                Expiry::AtPurge => {
                    if !fired {
                        let p = &self.panes[&id];
                        Self::emit(&self.store, &mut self.agg, None, p, (start, end), out)?;
                        self.panes.get_mut(&id).unwrap().fired = true;
                    }
                    if purge_at <= now {
                        let p = self.panes.remove(&id).unwrap();
                        self.order.remove(&key);
                        self.by_start.remove(&start);
                        if let Some(k) = &p.key {
                            if let Some(ids) = self.by_key.get_mut(k) {
                                ids.retain(|x| *x != id);
                                if ids.is_empty() {
                                    self.by_key.remove(k);
                                }
                            }
                        }
                        if self.keep_expired {
                            Self::emit_expired(&self.store, &p, (start, end), out)?;
                        }
                        self.drop_pane(p)?;
                    }
                }
            }
        }
        // A previous batch whose next period has passed with no batch.
        self.expire_prev_before(now.saturating_add(1), out)?;
        Ok(())
    }

    fn due_at(&self) -> Option<i64> {
        let mut t = None;
        for &(end, _, id) in &self.order {
            let p = &self.panes[&id];
            let at = if p.fired {
                end.saturating_add(self.lateness)
            } else {
                end
            };
            t = Some(t.map_or(at, |x: i64| x.min(at)));
            if !p.fired {
                break;
            }
        }
        if let (Expiry::WithNext(size), Some(p)) = (&self.expiry, &self.prev) {
            let at = p.end.saturating_add(*size);
            t = Some(t.map_or(at, |x: i64| x.min(at)));
        }
        t
    }
}

/// A row at time `ts`, with the window's time at `now` before it, joins the
/// run over `slot` (time `lo..hi`): its time is inside the slot and nothing
/// falls due (the next firing, `due`, is past `now`).
#[inline(always)]
fn joins_run((lo, hi): (i64, i64), due: Option<i64>, ts: i64, now: i64) -> bool {
    lo <= ts && ts < hi && due.map_or(true, |d| d > now)
}

/// The first row from `i` on that does not join the run (`joins_run`, the
/// row's watermark as `now`).
#[inline]
fn run_end(times: &RowTimes<'_>, i: usize, slot: (i64, i64), due: Option<i64>) -> usize {
    let (ts, wm) = (&times.ts[i..], &times.wm[i..]);
    let inside = ts
        .iter()
        .zip(wm)
        .take_while(|&(&t, &w)| joins_run(slot, due, t, w))
        .count();
    i + inside
}

impl Window for BatchWindow {
    fn process(&mut self, rows: &RecordBatch, times: RowTimes<'_>, out: &mut Vec<Chunk>) -> Result<()> {
        let seg = self.store.add(rows);
        let col = match self.progress {
            Progress::Column(c) => Some(time_values(rows, c)),
            Progress::Stream => None,
        };
        let keys = match &self.key_enc {
            Some(k) => Some(k.keys(rows)?),
            None => None,
        };
        if let Some(a) = &mut self.agg {
            a.begin(rows)?;
        }
        let mut due = self.due_at();
        let mut targets = Vec::new();
        let mut run = Run::default();
        let n = rows.num_rows();
        let mut i = 0;
        while i < n {
            if col.is_none() {
                // The open run takes the rows after it while their time is in
                // its slot and nothing falls due: one tight scan.
                let end = run_end(&times, i, (run.lo, run.hi), due);
                if end > i {
                    run.take(i..end, &mut self.seq);
                    i = end;
                    if i == n {
                        break;
                    }
                }
            }
            let (ts, now) = match &col {
                Some(v) => {
                    let ts = v[i].unwrap_or(self.max_col);
                    self.max_col = self.max_col.max(ts);
                    (ts, self.max_col)
                }
                None => (times.ts[i], times.wm[i]),
            };
            if joins_run((run.lo, run.hi), due, ts, now) {
                run.take(i..i + 1, &mut self.seq);
                i += 1;
                continue;
            }
            self.place_run(&mut run, seg);
            if due.is_some_and(|d| d <= now) {
                self.fire(now, out)?;
                due = self.due_at();
            }
            let r = RowRef { seg, row: i as u32 };
            let seq = self.seq;
            self.seq += 1;
            let mut refire: Vec<u64> = Vec::new();
            let mut placed = false;
            // A new pane, or one that grew, may be due earlier than `due`.
            let mut reshaped = false;
            if let Assign::Session { gap, .. } = self.assign {
                let key: &[u8] = keys.as_ref().map_or(&[], |k| k.row(i).data());
                let id = self.session(key, ts, gap);
                reshaped = true;
                let p = self.panes.get_mut(&id).unwrap();
                p.rows.push((r, seq));
                self.store.retain(r);
                placed = true;
                if p.fired {
                    if p.end <= now {
                        refire.push(id);
                    } else {
                        // It grew past now: it fires again when due.
                        p.fired = false;
                    }
                }
            } else {
                self.targets(ts, &mut targets);
                run.ids.clear();
                for &(start, end) in &targets {
                    let gone = match self.expiry {
                        Expiry::WithNext(_) => end <= now,
                        Expiry::AtPurge => end.saturating_add(self.lateness) <= now,
                    };
                    let id = match self.by_start.get(&start) {
                        Some(&id) => id,
                        None if gone => continue,
                        None => {
                            let id = self.new_pane(start, end, None);
                            self.by_start.insert(start, id);
                            reshaped = true;
                            id
                        }
                    };
                    let p = self.panes.get_mut(&id).unwrap();
                    match (&mut self.agg, &mut p.groups) {
                        (Some(a), Some(g)) => a.place(g, &mut self.store, r),
                        _ => {
                            p.rows.push((r, seq));
                            self.store.retain(r);
                        }
                    }
                    placed = true;
                    run.ids.push(id);
                    if p.fired {
                        refire.push(id);
                    }
                }
            }
            // The rows after this one with a time in its slot go to the same
            // panes, in bulk, while nothing fires.
            let start_run = placed && refire.is_empty() && !matches!(self.assign, Assign::Session { .. });
            if !placed {
                self.late += 1;
            }
            // A late row re-fires the window it joined, with all its rows.
            for id in refire {
                let p = &self.panes[&id];
                Self::emit(&self.store, &mut self.agg, None, p, (p.start, p.end), out)?;
            }
            let mut fired = false;
            if reshaped {
                due = self.due_at();
                if due.is_some_and(|d| d <= now) {
                    self.fire(now, out)?;
                    due = self.due_at();
                    fired = true;
                }
            }
            (run.lo, run.hi) = match self.slot(ts) {
                Some(slot) if start_run && !fired => slot,
                _ => (0, 0),
            };
            i += 1;
        }
        self.place_run(&mut run, seg);
        if let Some(a) = &mut self.agg {
            a.flush()?;
        }
        self.store.sweep();
        Ok(())
    }

    fn advance(&mut self, t: i64, out: &mut Vec<Chunk>) -> Result<()> {
        if matches!(self.progress, Progress::Column(_)) && t != i64::MAX {
            return Ok(());
        }
        if self.due_at().is_some_and(|d| d <= t) {
            self.fire(t, out)?;
            self.store.sweep();
        }
        Ok(())
    }

    fn next_deadline(&self) -> Option<i64> {
        match self.progress {
            Progress::Stream => self.due_at(),
            Progress::Column(_) => None,
        }
    }

    fn state_bytes(&self) -> usize {
        self.store.state_bytes()
            + self
                .panes
                .values()
                .map(|p| {
                    64 + p.rows.capacity() * 24
                        + p.key.as_ref().map_or(0, |k| k.len())
                        + p.groups.as_ref().map_or(0, |g| g.state_bytes())
                })
                .sum::<usize>()
            + self.agg.as_ref().map_or(0, |a| a.state_bytes())
            + self.prev.as_ref().map_or(0, |p| 64 + p.rows.capacity() * 24)
            + self.order.len() * 32
    }

    fn late(&self) -> u64 {
        self.late
    }

    #[cfg(test)]
    fn aggregates_in_panes(&self) -> bool {
        self.agg.is_some()
    }

    fn contents(&self) -> Result<Option<RecordBatch>> {
        let mut v: Vec<(u64, RowRef)> = Vec::new();
        for p in self.panes.values().filter(|p| !p.fired) {
            v.extend(p.rows.iter().map(|&(r, s)| (s, r)));
        }
        v.sort_by_key(|x| x.0);
        v.dedup_by_key(|x| x.0);
        if v.is_empty() {
            return Ok(Some(self.store.empty()));
        }
        let refs: Vec<RowRef> = v.into_iter().map(|x| x.1).collect();
        self.store.gather(&refs).map(Some)
    }

    fn snapshot(&self, w: &mut Vec<u8>) -> Result<()> {
        let (mut t, mut b) = (RefTable::default(), Vec::new());
        put_opt_i64(&mut b, self.anchor);
        put_var(&mut b, self.next_id);
        put_var(&mut b, self.seq);
        put_i64(&mut b, self.max_col);
        put_var(&mut b, self.late);
        // In firing order, so a given state has one byte string.
        put_var(&mut b, self.order.len() as u64);
        for &(_, _, id) in &self.order {
            put_var(&mut b, id);
            Self::put_pane(&mut t, &mut b, &self.panes[&id]);
        }
        put_bool(&mut b, self.prev.is_some());
        if let Some(p) = &self.prev {
            Self::put_pane(&mut t, &mut b, p);
        }
        if let Some(a) = &self.agg {
            a.put_state(&mut b);
        }
        self.store.write_snapshot(TAG_BATCH_WINDOW, &t, &b, w)
    }

    fn restore(&mut self, r: &mut Reader<'_>) -> Result<()> {
        let (rows, mut b) = self.store.read_snapshot(TAG_BATCH_WINDOW, r)?;
        self.anchor = b.opt_i64()?;
        self.next_id = b.count()?;
        self.seq = b.count()?;
        self.max_col = b.i64()?;
        self.late = b.count()?;
        for _ in 0..b.len()? {
            let id = b.count()?;
            let p = self.read_pane(rows, &mut b)?;
            if id >= self.next_id || self.panes.contains_key(&id) {
                return Err(corrupt("bad pane id"));
            }
            match &p.key {
                Some(k) => self.by_key.entry(k.clone()).or_default().push(id),
                None => {
                    if self.by_start.insert(p.start, id).is_some() {
                        return Err(corrupt("two panes with one start"));
                    }
                }
            }
            self.order.insert((p.end, p.start, id));
            self.panes.insert(id, p);
        }
        if b.bool()? {
            self.prev = Some(self.read_pane(rows, &mut b)?);
        }
        let used: Vec<u32> = self
            .panes
            .values()
            .chain(&self.prev)
            .filter_map(|p| p.groups.as_ref())
            .flat_map(|g| g.ids())
            .collect();
        if let Some(a) = &mut self.agg {
            a.read_state(&mut b, &used)?;
        }
        b.end()?;
        self.store.sweep();
        Ok(())
    }
}

impl BatchWindow {
    fn put_pane(t: &mut RefTable, b: &mut Vec<u8>, p: &Pane) {
        put_i64(b, p.start);
        put_i64(b, p.end);
        put_bool(b, p.fired);
        put_bool(b, p.key.is_some());
        if let Some(k) = &p.key {
            put_bytes(b, k);
        }
        put_rows(t, b, &p.rows);
        if let Some(g) = &p.groups {
            PaneAgg::put_groups(t, b, g);
        }
    }

    fn read_pane(&mut self, rows: Restored, b: &mut Reader<'_>) -> Result<Pane> {
        let (start, end, fired) = (b.i64()?, b.i64()?, b.bool()?);
        let key = if b.bool()? { Some(b.blob()?.to_vec()) } else { None };
        if start > end || key.is_some() != matches!(self.assign, Assign::Session { .. }) {
            return Err(corrupt("a pane that does not fit the window"));
        }
        let pane_rows = read_rows(&mut self.store, rows, b)?;
        let groups = match &mut self.agg {
            Some(a) => Some(a.read_groups(&mut self.store, rows, b)?),
            None => None,
        };
        Ok(Pane {
            start,
            end,
            rows: pane_rows,
            fired,
            key,
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run stops at the first row whose time leaves its slot or before
    /// which the watermark reaches the next firing, and never reads past
    /// the batch.
    #[test]
    fn a_run_ends_where_the_slot_or_the_next_firing_does() {
        let ts = [1, 2, 3, 9, 10, 4];
        let wm = [0, 0, 0, 4, 4, 5];
        let t = RowTimes { ts: &ts, wm: &wm };
        assert_eq!(run_end(&t, 0, (0, 10), None), 4, "10 is past the slot");
        assert_eq!(run_end(&t, 1, (2, 10), None), 4);
        assert_eq!(
            run_end(&t, 0, (1, 10), Some(4)),
            3,
            "the watermark 4 fires what is due at 4"
        );
        assert_eq!(run_end(&t, 0, (2, 10), None), 0, "1 is before the slot");
        assert_eq!(run_end(&t, 5, (0, 10), Some(6)), 6, "to the end of the batch");
        assert_eq!(run_end(&t, 6, (0, 10), Some(6)), 6);
        assert_eq!(run_end(&t, 0, (0, 0), None), 0, "no run open");
    }
}
