//! The selector: turns window chunks into output rows. Aggregates (grouped
//! or not), HAVING, the SELECT list, ORDER BY / LIMIT / OFFSET per trigger,
//! and which event kinds reach the output.
//!
//! Every expression after the window is evaluated over the *selection row
//! layout*: the input's columns, `window_start`, `window_end`, `_expired`,
//! then one column per aggregate call (see `sql::plan`).

use std::sync::Arc;

use ahash::AHashMap;
use arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, TimestampMillisecondArray, UInt32Array,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{
    concat_batches, filter_record_batch, lexsort_to_indices, take, SortColumn, SortOptions,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::row::{RowConverter, Rows};

use super::aggregate::{accumulators, key_converter, AggOp, GroupsAccumulator, Retraction};
use super::window::{Chunk, CountAgg};
use crate::error::{Error, Result, Status};
use crate::expr::Expr;
use crate::sql::plan::{AggCall, OutputEvents, QueryPlan, SortExpr, SortKey};
use crate::state::{corrupt, put_batch, put_bool, put_bytes, put_var, Reader};

pub(crate) struct Selector {
    base_schema: SchemaRef,
    pre_schema: SchemaRef,
    out_schema: SchemaRef,
    agg: Option<Aggregation>,
    /// Aggregates over a length window kept as events arrive and leave
    /// (the query then has no window of its own; `agg` is None).
    count: Option<CountAgg>,
    having: Option<Expr>,
    projection: Vec<Expr>,
    order_by: Vec<SortKey>,
    limit: Option<u64>,
    offset: u64,
    want_current: bool,
    want_expired: bool,
    /// OUTPUT SNAPSHOT over aggregates: the latest current row per group.
    snapshot_rows: Option<AHashMap<u32, RecordBatch>>,
    /// All-NULL timestamps, sliced for `window_start`/`window_end` of
    /// sliding windows rather than allocated for every chunk.
    null_ts: std::cell::RefCell<ArrayRef>,
}

struct Aggregation {
    group_by: Vec<Expr>,
    calls: Vec<AggCall>,
    /// Running state of per-event windows, one accumulator per call.
    accs: Vec<Box<dyn GroupsAccumulator>>,
    /// Group key → (id, events of the group now in the window).
    groups: AHashMap<Box<[u8]>, (u32, u64)>,
    free: Vec<u32>,
    next_id: u32,
    conv: Option<RowConverter>,
    /// Scratch accumulators for closed batches (cleared after each).
    batch_accs: Vec<Box<dyn GroupsAccumulator>>,
}

/// Names of the three columns after the input's in the selection layout.
const EXTRA: [&str; 3] = ["window_start", "window_end", "_expired"];

impl Selector {
    pub fn new(
        plan: &QueryPlan,
        in_schema: &SchemaRef,
        out_schema: SchemaRef,
        fifo: bool,
        count_window: Option<usize>,
    ) -> Result<Selector> {
        let mut fields: Vec<Field> = in_schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        let ts = crate::types::SqlType::Timestamp.to_arrow();
        fields.push(Field::new(EXTRA[0], ts.clone(), true));
        fields.push(Field::new(EXTRA[1], ts, true));
        fields.push(Field::new(EXTRA[2], DataType::Boolean, false));
        let base_schema = Arc::new(Schema::new(fields.clone()));
        let count = match (&plan.aggregate, count_window) {
            (Some(a), Some(n)) => Some(CountAgg::new(a, n)?),
            _ => None,
        };
        let agg = match &plan.aggregate {
            None => None,
            Some(_) if count.is_some() => {
                for (i, c) in plan.aggregate.iter().flat_map(|a| &a.calls).enumerate() {
                    fields.push(Field::new(format!("_agg{i}"), c.result_type.clone(), true));
                }
                None
            }
            Some(a) => {
                let conv = key_converter(&a.group_by)?;
                for (i, c) in a.calls.iter().enumerate() {
                    fields.push(Field::new(format!("_agg{i}"), c.result_type.clone(), true));
                }
                Some(Aggregation {
                    group_by: a.group_by.clone(),
                    calls: a.calls.clone(),
                    accs: accumulators(&a.calls, fifo.into())?,
                    groups: AHashMap::new(),
                    free: Vec::new(),
                    next_id: 0,
                    conv,
                    batch_accs: accumulators(&a.calls, Retraction::Never)?,
                })
            }
        };
        let snapshot = plan
            .output_rate
            .is_some_and(|r| r.mode == crate::sql::plan::OutputMode::Snapshot)
            && agg.is_some();
        Ok(Selector {
            base_schema,
            pre_schema: Arc::new(Schema::new(fields)),
            out_schema,
            agg,
            count,
            having: plan.having.clone(),
            projection: plan.projection.clone(),
            order_by: plan.order_by.clone(),
            limit: plan.limit,
            offset: plan.offset,
            want_current: plan.events != OutputEvents::Expired,
            want_expired: plan.events != OutputEvents::Current,
            snapshot_rows: snapshot.then(AHashMap::new),
            null_ts: std::cell::RefCell::new(new_null_array(&crate::types::SqlType::Timestamp.to_arrow(), 0)),
        })
    }

    pub fn state_bytes(&self) -> usize {
        if let Some(c) = &self.count {
            return c.state_bytes();
        }
        match &self.agg {
            None => 0,
            Some(a) => {
                a.accs.iter().map(|x| x.state_bytes()).sum::<usize>()
                    + a.groups.keys().map(|k| k.len() + 32).sum::<usize>()
                    + self
                        .snapshot_rows
                        .as_ref()
                        .map_or(0, |m| m.values().map(|b| b.get_array_memory_size()).sum())
            }
        }
    }

    #[cfg(test)]
    pub fn count_agg(&self) -> Option<&CountAgg> {
        self.count.as_ref()
    }

    /// The selection-layout batch of a chunk (before aggregation).
    fn base(&self, c: &Chunk) -> Result<RecordBatch> {
        let n = c.rows.num_rows();
        let mut cols = c.rows.columns().to_vec();
        let ts = crate::types::SqlType::Timestamp.to_arrow();
        match c.bounds {
            Some((s, e)) => {
                cols.push(Arc::new(TimestampMillisecondArray::from(vec![s; n])));
                cols.push(Arc::new(TimestampMillisecondArray::from(vec![e; n])));
            }
            None => {
                // Kept up to twice the engine's usual batch size (a sliding
                // window's arrivals and departures): 256 KiB at most.
                let mut nulls = self.null_ts.borrow_mut();
                if nulls.len() < n && n <= 32768 {
                    *nulls = new_null_array(&ts, n.next_power_of_two());
                }
                let col = if nulls.len() >= n {
                    nulls.slice(0, n)
                } else {
                    new_null_array(&ts, n)
                };
                cols.push(col.clone());
                cols.push(col);
            }
        }
        cols.push(Arc::new(BooleanArray::new(
            BooleanBuffer::collect_bool(n, |i| c.expired[i]),
            None,
        )));
        Ok(RecordBatch::try_new(self.base_schema.clone(), cols)?)
    }

    /// Output rows for one chunk (possibly none).
    pub fn select(&mut self, c: &Chunk, out: &mut Vec<RecordBatch>) -> Result<()> {
        let n = c.rows.num_rows();
        if n == 0 {
            return Ok(());
        }
        // Only the per-event aggregation reads rows in their stored order.
        if c.order.is_some() && !(self.agg.is_some() && !c.batch && c.aggregates.is_none()) {
            return self.select(&c.in_event_order()?, out);
        }
        // Trigger number of each event.
        let mut trig = Vec::with_capacity(n);
        let mut t = 0u32;
        for i in 0..n {
            while c.triggers.get(t as usize).is_some_and(|&end| i >= end) {
                t += 1;
            }
            trig.push(t);
        }
        let base = self.base(c)?;
        let (pre, trig) = if let Some(results) = &c.aggregates {
            self.aggregated_batch(&base, results, &trig)?
        } else if let Some(count) = &mut self.count {
            // Arrivals only: one row each, with its group's values.
            let mut cols = base.columns().to_vec();
            cols.extend(count.arrive(&base)?);
            (RecordBatch::try_new(self.pre_schema.clone(), cols)?, trig)
        } else if self.agg.is_some() {
            if c.batch {
                self.aggregate_batch(&base, c, &trig)?
            } else {
                self.aggregate_events(&base, c, &trig)?
            }
        } else {
            let keep: Vec<bool> = c
                .expired
                .iter()
                .map(|&e| if e { self.want_expired } else { self.want_current })
                .collect();
            if keep.iter().all(|&k| k) {
                (base, trig)
            } else {
                let mask = BooleanArray::from(keep.clone());
                let t: Vec<u32> = trig
                    .iter()
                    .zip(&keep)
                    .filter(|(_, &k)| k)
                    .map(|(t, _)| *t)
                    .collect();
                (filter_record_batch(&base, &mask)?, t)
            }
        };
        if pre.num_rows() == 0 {
            return Ok(());
        }
        let (pre, trig) = match &self.having {
            None => (pre, trig),
            Some(h) => {
                let mask = h.eval_predicate(&pre)?;
                if mask.true_count() == pre.num_rows() {
                    (pre, trig)
                } else {
                    let t: Vec<u32> = trig
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask.value(*i))
                        .map(|(_, t)| *t)
                        .collect();
                    (filter_record_batch(&pre, &mask)?, t)
                }
            }
        };
        if pre.num_rows() == 0 {
            return Ok(());
        }
        let cols = self
            .projection
            .iter()
            .map(|e| e.eval(&pre))
            .collect::<Result<Vec<_>>>()?;
        let mut batch = RecordBatch::try_new(self.out_schema.clone(), cols)?;
        if !self.order_by.is_empty() || self.limit.is_some() || self.offset > 0 {
            batch = self.order_limit(&pre, batch, &trig)?;
        }
        if batch.num_rows() > 0 {
            out.push(batch);
        }
        Ok(())
    }

    /// ORDER BY, then OFFSET and LIMIT, within each trigger's rows.
    fn order_limit(&self, pre: &RecordBatch, out: RecordBatch, trig: &[u32]) -> Result<RecordBatch> {
        let keys: Vec<(ArrayRef, SortOptions)> = self
            .order_by
            .iter()
            .map(|k| {
                let a = match &k.key {
                    SortExpr::Output(i) => Ok(out.column(*i).clone()),
                    SortExpr::Expr(e) => e.eval(pre),
                }?;
                Ok((
                    a,
                    SortOptions {
                        descending: k.descending,
                        nulls_first: k.nulls_first,
                    },
                ))
            })
            .collect::<Result<_>>()?;
        let mut picked: Vec<u32> = Vec::with_capacity(out.num_rows());
        let mut a = 0usize;
        while a < trig.len() {
            let mut b = a + 1;
            while b < trig.len() && trig[b] == trig[a] {
                b += 1;
            }
            let order: Vec<u32> = if keys.is_empty() {
                (a as u32..b as u32).collect()
            } else {
                let cols: Vec<SortColumn> = keys
                    .iter()
                    .map(|(k, o)| SortColumn {
                        values: k.slice(a, b - a),
                        options: Some(*o),
                    })
                    .collect();
                lexsort_to_indices(&cols, None)?
                    .values()
                    .iter()
                    .map(|i| i + a as u32)
                    .collect()
            };
            let skip = (self.offset as usize).min(order.len());
            let take_n = self.limit.map_or(usize::MAX, |l| l as usize);
            picked.extend(order.into_iter().skip(skip).take(take_n));
            a = b;
        }
        let idx = UInt32Array::from(picked);
        let cols = out
            .columns()
            .iter()
            .map(|c| take(c.as_ref(), &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(out.schema(), cols)?)
    }

    fn group_rows(a: &Aggregation, base: &RecordBatch) -> Result<Option<Rows>> {
        match &a.conv {
            None => Ok(None),
            Some(conv) => {
                let cols = a
                    .group_by
                    .iter()
                    .map(|e| e.eval(base))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(conv.convert_columns(&cols)?))
            }
        }
    }

    fn arg_values(a: &Aggregation, base: &RecordBatch) -> Result<Vec<Option<ArrayRef>>> {
        a.calls
            .iter()
            .map(|c| c.arg.as_ref().map(|e| e.eval(base)).transpose())
            .collect()
    }

    /// Sliding windows (and no window): each event updates its group's
    /// running aggregates; each event of a wanted kind yields one row with
    /// the group's values after it.
    fn aggregate_events(
        &mut self,
        base: &RecordBatch,
        c: &Chunk,
        trig: &[u32],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let (want_current, want_expired) = (self.want_current, self.want_expired);
        let snapshot = self.snapshot_rows.is_some();
        let mut wanted_rows: Vec<bool> = Vec::new();
        let a = self.agg.as_mut().expect("aggregate query");
        let keys = Self::group_rows(a, base)?;
        let values = Self::arg_values(a, base)?;
        let n = base.num_rows();
        let mut ops = Vec::with_capacity(n);
        // Rows of the events that yield an output row, and those events.
        let mut rows: Vec<u32> = Vec::with_capacity(n);
        let mut events: Vec<u32> = Vec::with_capacity(n);
        wanted_rows.reserve(n);
        // Keys of groups whose last event left during this chunk.
        let mut emptied: Vec<Box<[u8]>> = Vec::new();
        // The group of the previous event, its id and event count: a run of
        // events of one group (every event, without GROUP BY) looks its key
        // up once. The count is written back when the run ends.
        let mut run: Option<(&[u8], u32, u64)> = None;
        for k in 0..n {
            let i = c.row_of(k);
            let key: &[u8] = keys.as_ref().map_or(&[], |x| x.row(i).data());
            let expired = c.expired[i];
            if run.is_some_and(|r| r.0 != key) {
                let (rk, _, live) = run.take().expect("checked");
                a.groups.get_mut(rk).expect("a run's group is in the map").1 = live;
            }
            if run.is_none() {
                run = match a.groups.get(key) {
                    Some(&(gid, live)) => Some((key, gid, live)),
                    None => {
                        if expired {
                            return Err(Error::new(
                                Status::Internal,
                                "an expired event left a group that holds no events",
                            ));
                        }
                        let gid = a.free.pop().unwrap_or_else(|| {
                            a.next_id += 1;
                            a.next_id - 1
                        });
                        a.groups.insert(key.into(), (gid, 0));
                        Some((key, gid, 0))
                    }
                };
            }
            let r = run.as_mut().expect("set above");
            if expired {
                if r.2 == 0 {
                    return Err(Error::new(
                        Status::Internal,
                        "an expired event left a group that holds no events",
                    ));
                }
                r.2 -= 1;
                if r.2 == 0 {
                    emptied.push(key.into());
                }
            } else {
                r.2 += 1;
            }
            let gid = r.1;
            let wanted = if expired { want_expired } else { want_current };
            // A snapshot follows every change of a group, wanted or not.
            let emit = wanted || snapshot;
            if emit {
                rows.push(i as u32);
                events.push(k as u32);
                wanted_rows.push(wanted);
            }
            ops.push(AggOp {
                row: i as u32,
                group: gid,
                seq: c.seq[i],
                retract: expired,
                emit,
            });
        }
        if let Some((rk, _, live)) = run {
            a.groups.get_mut(rk).expect("a run's group is in the map").1 = live;
        }
        let mut results = Vec::with_capacity(a.accs.len());
        for (acc, v) in a.accs.iter_mut().zip(&values) {
            acc.apply(v.as_ref(), &ops)?;
            results.push(acc.take_output());
        }
        // Groups whose last event left are forgotten (unless one came back).
        let mut dead: Vec<u32> = Vec::new();
        for k in emptied {
            if let Some(&(g, 0)) = a.groups.get(&k) {
                a.groups.remove(&k);
                a.free.push(g);
                dead.push(g);
            }
        }
        for acc in a.accs.iter_mut() {
            acc.reset_groups(&dead);
        }
        let mut pre = self.pre_batch(base, &rows, results)?;
        if let Some(m) = self.snapshot_rows.as_mut() {
            for g in &dead {
                m.remove(g);
            }
            for (j, &k) in events.iter().enumerate() {
                let g = ops[k as usize].group;
                // A group that died in this chunk does not come back.
                if !dead.contains(&g) {
                    m.insert(g, pre.slice(j, 1));
                }
            }
            if wanted_rows.iter().any(|w| !w) {
                pre = filter_record_batch(&pre, &BooleanArray::from(wanted_rows.clone()))?;
                events = events
                    .into_iter()
                    .zip(&wanted_rows)
                    .filter(|(_, w)| **w)
                    .map(|(k, _)| k)
                    .collect();
            }
        }
        let t = events.iter().map(|&k| trig[k as usize]).collect();
        Ok((pre, t))
    }

    /// A closed batch: one row per group (in order of first appearance),
    /// expired groups first, carrying the batch's aggregates and the last
    /// event of the group for its other columns.
    fn aggregate_batch(
        &mut self,
        base: &RecordBatch,
        c: &Chunk,
        trig: &[u32],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let a = self.agg.as_mut().expect("aggregate query");
        let keys = Self::group_rows(a, base)?;
        let values = Self::arg_values(a, base)?;
        let mut parts: Vec<RecordBatch> = Vec::new();
        let mut current_groups = 0;
        for part_expired in [true, false] {
            let wanted = if part_expired {
                self.want_expired
            } else {
                self.want_current
            };
            if !wanted || !c.expired.contains(&part_expired) {
                continue;
            }
            let mut local: AHashMap<&[u8], u32> = AHashMap::new();
            let mut last: Vec<u32> = Vec::new();
            let (mut rows, mut gids) = (Vec::new(), Vec::new());
            for i in 0..base.num_rows() {
                if c.expired[i] != part_expired {
                    continue;
                }
                let key: &[u8] = keys.as_ref().map_or(&[], |k| k.row(i).data());
                let next = local.len() as u32;
                let gid = *local.entry(key).or_insert(next);
                if gid as usize == last.len() {
                    last.push(i as u32);
                } else {
                    last[gid as usize] = i as u32;
                }
                rows.push(i as u32);
                gids.push(gid);
            }
            let groups: Vec<u32> = (0..last.len() as u32).collect();
            let mut results = Vec::with_capacity(a.batch_accs.len());
            for (acc, v) in a.batch_accs.iter_mut().zip(&values) {
                acc.add_rows(v.as_ref(), &rows, &gids)?;
                acc.emit_groups(&groups);
                results.push(acc.take_output());
                acc.clear();
            }
            if !part_expired {
                current_groups = groups.len();
            }
            parts.push(Self::pre_of(&self.pre_schema, base, &last, results)?);
        }
        let pre = match parts.len() {
            0 => RecordBatch::new_empty(self.pre_schema.clone()),
            1 => parts.pop().unwrap(),
            _ => concat_batches(&self.pre_schema, &parts)?,
        };
        // The current groups come last.
        self.keep_batch_snapshot(&pre, pre.num_rows() - current_groups);
        let t = vec![trig.first().copied().unwrap_or(0); pre.num_rows()];
        Ok((pre, t))
    }

    /// OUTPUT SNAPSHOT over batches: the groups of the last batch, its rows
    /// from `first` on, one per group.
    fn keep_batch_snapshot(&mut self, pre: &RecordBatch, first: usize) {
        if let Some(m) = self.snapshot_rows.as_mut() {
            m.clear();
            for j in first..pre.num_rows() {
                m.insert((j - first) as u32, pre.slice(j, 1));
            }
        }
    }

    /// A closed batch its window aggregated already: the chunk's rows are
    /// the groups' last events, `results` their aggregates.
    fn aggregated_batch(
        &mut self,
        base: &RecordBatch,
        results: &[ArrayRef],
        trig: &[u32],
    ) -> Result<(RecordBatch, Vec<u32>)> {
        let mut cols = base.columns().to_vec();
        cols.extend(results.iter().cloned());
        let pre = RecordBatch::try_new(self.pre_schema.clone(), cols)?;
        self.keep_batch_snapshot(&pre, 0);
        let t = vec![trig.first().copied().unwrap_or(0); pre.num_rows()];
        Ok((pre, t))
    }

    fn pre_batch(&self, base: &RecordBatch, rows: &[u32], results: Vec<ArrayRef>) -> Result<RecordBatch> {
        Self::pre_of(&self.pre_schema, base, rows, results)
    }

    /// Selected base rows followed by aggregate results.
    fn pre_of(
        schema: &SchemaRef,
        base: &RecordBatch,
        rows: &[u32],
        results: Vec<ArrayRef>,
    ) -> Result<RecordBatch> {
        let mut cols = Vec::with_capacity(schema.fields().len());
        // Consecutive rows (every current event of a sliding window): a
        // slice, no copy.
        let start = rows.first().copied().unwrap_or(0) as usize;
        if rows.iter().enumerate().all(|(i, &r)| r as usize == start + i) {
            cols.extend(base.columns().iter().map(|c| c.slice(start, rows.len())));
        } else {
            let idx = UInt32Array::from(rows.to_vec());
            for c in base.columns() {
                cols.push(take(c.as_ref(), &idx, None)?);
            }
        }
        cols.extend(results);
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }

    /// OUTPUT SNAPSHOT: the current value of every group (aggregates), in
    /// group order; None when the query has no aggregates.
    pub fn current_values(&self) -> Result<Option<RecordBatch>> {
        let Some(m) = &self.snapshot_rows else {
            return Ok(None);
        };
        let mut ids: Vec<&u32> = m.keys().collect();
        ids.sort();
        let parts: Vec<&RecordBatch> = ids.iter().map(|g| &m[*g]).collect();
        if parts.is_empty() {
            return Ok(Some(RecordBatch::new_empty(self.out_schema.clone())));
        }
        let pre = concat_batches(&self.pre_schema, parts)?;
        self.project(&pre).map(Some)
    }

    /// The SELECT list over selection-layout rows (HAVING applied).
    pub fn project(&self, pre: &RecordBatch) -> Result<RecordBatch> {
        let pre = match &self.having {
            Some(h) => filter_record_batch(pre, &h.eval_predicate(pre)?)?,
            None => pre.clone(),
        };
        let cols = self
            .projection
            .iter()
            .map(|e| e.eval(&pre))
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(self.out_schema.clone(), cols)?)
    }

    /// Window contents as output rows (OUTPUT SNAPSHOT without aggregates).
    pub fn project_rows(&self, rows: &RecordBatch) -> Result<RecordBatch> {
        let c = Chunk {
            rows: rows.clone(),
            expired: vec![false; rows.num_rows()],
            seq: vec![0; rows.num_rows()],
            order: None,
            bounds: None,
            triggers: vec![rows.num_rows()],
            batch: true,
            aggregates: None,
        };
        let base = self.base(&c)?;
        let mut cols = base.columns().to_vec();
        for f in self.pre_schema.fields().iter().skip(cols.len()) {
            cols.push(new_null_array(f.data_type(), rows.num_rows()));
        }
        let pre = RecordBatch::try_new(self.pre_schema.clone(), cols)?;
        self.project(&pre)
    }

    /// Appends the running state: groups and their aggregates, and the
    /// rows OUTPUT SNAPSHOT repeats.
    pub fn write_state(&self, w: &mut Vec<u8>) -> Result<()> {
        put_bool(w, self.agg.is_some());
        if let Some(a) = &self.agg {
            let mut groups: Vec<_> = a.groups.iter().collect();
            groups.sort_by_key(|g| g.1 .0);
            put_var(w, groups.len() as u64);
            for (k, &(gid, live)) in groups {
                put_bytes(w, k);
                put_var(w, gid as u64);
                put_var(w, live);
            }
            put_var(w, a.free.len() as u64);
            for &g in &a.free {
                put_var(w, g as u64);
            }
            put_var(w, a.next_id as u64);
            for acc in &a.accs {
                let mut b = Vec::new();
                acc.snapshot(&mut b);
                put_bytes(w, &b);
            }
        }
        put_bool(w, self.count.is_some());
        if let Some(c) = &self.count {
            c.write_state(w)?;
        }
        put_bool(w, self.snapshot_rows.is_some());
        if let Some(m) = &self.snapshot_rows {
            let mut ids: Vec<u32> = m.keys().copied().collect();
            ids.sort_unstable();
            put_var(w, ids.len() as u64);
            for &g in &ids {
                put_var(w, g as u64);
            }
            let parts: Vec<&RecordBatch> = ids.iter().map(|g| &m[g]).collect();
            put_batch(w, &concat_batches(&self.pre_schema, parts)?)?;
        }
        Ok(())
    }

    /// Replaces this fresh selector's state with what `write_state` wrote.
    pub fn read_state(&mut self, r: &mut Reader<'_>) -> Result<()> {
        if r.bool()? != self.agg.is_some() {
            return Err(corrupt("aggregation does not match the query"));
        }
        if let Some(a) = &mut self.agg {
            let n = r.len()?;
            let mut seen = ahash::AHashSet::new();
            for _ in 0..n {
                let k: Box<[u8]> = r.blob()?.into();
                let (gid, live) = (r.var()?, r.count()?);
                let gid = u32::try_from(gid).map_err(|_| corrupt("group id out of range"))?;
                if !seen.insert(gid) || live == 0 || a.groups.insert(k, (gid, live)).is_some() {
                    return Err(corrupt("bad group"));
                }
            }
            for _ in 0..r.len()? {
                let g = u32::try_from(r.var()?).map_err(|_| corrupt("group id out of range"))?;
                if !seen.insert(g) {
                    return Err(corrupt("a free group id in use"));
                }
                a.free.push(g);
            }
            a.next_id = u32::try_from(r.var()?).map_err(|_| corrupt("group id out of range"))?;
            if seen.iter().any(|&g| g >= a.next_id) {
                return Err(corrupt("group id beyond the next id"));
            }
            for acc in a.accs.iter_mut() {
                acc.restore(r.blob()?)?;
            }
        }
        if r.bool()? != self.count.is_some() {
            return Err(corrupt("length-window aggregation does not match the query"));
        }
        if let Some(c) = &mut self.count {
            c.read_state(r)?;
        }
        if r.bool()? != self.snapshot_rows.is_some() {
            return Err(corrupt("OUTPUT SNAPSHOT does not match the query"));
        }
        if let Some(m) = &mut self.snapshot_rows {
            let n = r.len()?;
            let ids = (0..n)
                .map(|_| u32::try_from(r.var()?).map_err(|_| corrupt("group id out of range")))
                .collect::<Result<Vec<u32>>>()?;
            let rows = r.batch(&self.pre_schema)?;
            if rows.num_rows() != n {
                return Err(corrupt("snapshot rows do not match their groups"));
            }
            for (j, g) in ids.into_iter().enumerate() {
                m.insert(g, rows.slice(j, 1));
            }
        }
        Ok(())
    }
}
