//! Aggregating a length window as rows arrive. When `length(n)` feeds
//! aggregates and the query outputs current events only, the window's rows
//! are never read again except to take each departing event out of its
//! group's aggregates. So no window is kept: each arriving row is added to
//! its group, and the event it pushes out (the n-th before it) is retracted
//! using what was recorded of it on arrival: its group and its aggregate
//! arguments, already evaluated. A row then costs one group lookup and, per
//! aggregate, one add and one retraction; nothing is gathered or copied but
//! the departing arguments.
//!
//! The output is exactly the per-event path's (`Selector::aggregate_events`
//! over the length window): one row per arrival with its group's values
//! after the departure it causes and itself, in the same order.

use std::collections::VecDeque;
use std::sync::Arc;

use ahash::AHashMap;
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::concat;
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::row::RowConverter;

use crate::error::{Error, Result};
use crate::expr::Expr;
use crate::ops::aggregate::{accumulators, key_converter, AggOp, GroupsAccumulator, Retraction, Slide};
use crate::sql::plan::AggregatePlan;
use crate::state::{corrupt, put_batch, put_bytes, put_var, Reader};

/// What arriving events left for their departure: per aggregate call its
/// argument values (None for COUNT(*)), and each event's group. Events
/// `start..` are still in the window.
struct Arrived {
    args: Vec<Option<ArrayRef>>,
    groups: Vec<u32>,
    start: usize,
}

impl Arrived {
    fn live(&self) -> usize {
        self.groups.len() - self.start
    }
}

/// Entries of at most this many events are merged with a neighbour of
/// similar size, so a stream of small batches does not keep one entry per
/// batch (each event is copied O(log) times at most).
const MERGE_ROWS: usize = 4096;

pub(crate) struct CountAgg {
    n: usize,
    group_by: Vec<Expr>,
    calls: Vec<Option<Expr>>,
    conv: Option<RowConverter>,
    accs: Vec<Box<dyn GroupsAccumulator>>,
    /// Group key → id; `keys[id]` and `live[id]` (events of the group in the
    /// window) for ids in use.
    groups: AHashMap<Box<[u8]>, u32>,
    keys: Vec<Box<[u8]>>,
    live: Vec<u64>,
    free: Vec<u32>,
    /// Events in the window, oldest first.
    window: VecDeque<Arrived>,
    held: usize,
    /// The next event's arrival number.
    seq: u64,
    /// The argument columns' layout in a snapshot.
    arg_schema: SchemaRef,
}

impl CountAgg {
    pub fn new(a: &AggregatePlan, n: usize) -> Result<CountAgg> {
        let accs = accumulators(&a.calls, Retraction::Fifo)?;
        let conv = key_converter(&a.group_by)?;
        let arg_schema = Arc::new(Schema::new(
            a.calls
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    c.arg
                        .as_ref()
                        .map(|e| Field::new(format!("a{i}"), e.data_type(), true))
                })
                .collect::<Vec<_>>(),
        ));
        Ok(CountAgg {
            n: n.max(1),
            group_by: a.group_by.clone(),
            calls: a.calls.iter().map(|c| c.arg.clone()).collect(),
            conv,
            accs,
            groups: AHashMap::new(),
            keys: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            window: VecDeque::new(),
            held: 0,
            seq: 0,
            arg_schema,
        })
    }

    /// `base`: arriving events in the selection layout. Returns per aggregate
    /// call one value per arrival: its group's result after it.
    pub fn arrive(&mut self, base: &RecordBatch) -> Result<Vec<ArrayRef>> {
        let m = base.num_rows();
        let args = self
            .calls
            .iter()
            .map(|e| e.as_ref().map(|e| e.eval(base)).transpose())
            .collect::<Result<Vec<_>>>()?;
        let groups = self.group_ids(base)?;
        // The first `quiet` arrivals fill the window; each later one pushes
        // out the oldest event: `old` of those were here before this batch,
        // the rest are this batch's first arrivals.
        let quiet = (self.n - self.held).min(m);
        let leaving = m - quiet;
        let old = leaving.min(self.held);
        let mut old_args: Vec<Vec<ArrayRef>> = vec![Vec::new(); self.calls.len()];
        let mut old_groups: Vec<u32> = Vec::with_capacity(old);
        let mut taken = 0;
        while taken < old {
            let front = self
                .window
                .front_mut()
                .ok_or_else(|| Error::internal("a length window holds fewer events than it counts"))?;
            let t = front.live().min(old - taken);
            for (parts, a) in old_args.iter_mut().zip(&front.args) {
                if let Some(a) = a {
                    parts.push(a.slice(front.start, t));
                }
            }
            old_groups.extend_from_slice(&front.groups[front.start..front.start + t]);
            front.start += t;
            taken += t;
            if front.live() == 0 {
                self.window.pop_front();
            }
        }
        // Per call: the departing events' arguments, then the arrivals'.
        // Departure j is row j; arrival i is row old + i.
        let values = old_args
            .into_iter()
            .zip(&args)
            .map(|(mut parts, a)| {
                let Some(a) = a else { return Ok(None) };
                if parts.is_empty() {
                    return Ok(Some(a.clone()));
                }
                parts.push(a.clone());
                let refs: Vec<&dyn Array> = parts.iter().map(|p| p.as_ref()).collect();
                Ok(Some(concat(&refs)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let first = self.seq - self.held as u64;
        let results = if self.conv.is_none() {
            self.slide_one_group(&values, old, quiet, leaving, first, m)?
        } else {
            self.apply_groups(&values, &groups, &old_groups, old, quiet, first)?
        };
        self.seq += m as u64;
        self.held += quiet;
        let start = leaving - old;
        if start < m {
            self.window.push_back(Arrived { args, groups, start });
            self.merge_small()?;
        }
        Ok(results)
    }

    /// Without GROUP BY: one group (id 0, never emptied, as the window
    /// holds at least the last event), and each aggregate slides over the
    /// batch in one loop.
    fn slide_one_group(
        &mut self,
        values: &[Option<ArrayRef>],
        old: usize,
        quiet: usize,
        leaving: usize,
        first: u64,
        m: usize,
    ) -> Result<Vec<ArrayRef>> {
        self.live[0] = self.live[0]
            .checked_sub(leaving as u64)
            .ok_or_else(|| Error::internal("more events left than the window held"))?;
        let slide = Slide {
            group: 0,
            old,
            arrivals: m,
            quiet,
            dep_seq: first,
            arr_seq: self.seq,
        };
        let mut results = Vec::with_capacity(self.accs.len());
        for (acc, v) in self.accs.iter_mut().zip(values) {
            acc.slide(v.as_ref(), slide)?;
            results.push(acc.take_output());
        }
        Ok(results)
    }

    /// With GROUP BY: each departure leaves its own group, each arrival
    /// joins its own, as ops in event order.
    fn apply_groups(
        &mut self,
        values: &[Option<ArrayRef>],
        groups: &[u32],
        old_groups: &[u32],
        old: usize,
        quiet: usize,
        first: u64,
    ) -> Result<Vec<ArrayRef>> {
        let mut ops = Vec::with_capacity(2 * groups.len());
        let mut emptied = Vec::new();
        for (i, &g) in groups.iter().enumerate() {
            if i >= quiet {
                let j = i - quiet;
                let d = if j < old { old_groups[j] } else { groups[j - old] };
                let live = &mut self.live[d as usize];
                *live = live
                    .checked_sub(1)
                    .ok_or_else(|| Error::internal("an event left a group that holds none"))?;
                if *live == 0 {
                    emptied.push(d);
                }
                ops.push(AggOp {
                    row: j as u32,
                    group: d,
                    seq: first + j as u64,
                    retract: true,
                    emit: false,
                });
            }
            ops.push(AggOp {
                row: (old + i) as u32,
                group: g,
                seq: self.seq + i as u64,
                retract: false,
                emit: true,
            });
        }
        let mut results = Vec::with_capacity(self.accs.len());
        for (acc, v) in self.accs.iter_mut().zip(values) {
            acc.apply(v.as_ref(), &ops)?;
            results.push(acc.take_output());
        }
        // Groups whose events all left are forgotten; their ids are reused.
        let from = self.free.len();
        for g in emptied {
            let key = std::mem::take(&mut self.keys[g as usize]);
            self.groups.remove(&key);
            self.free.push(g);
        }
        for acc in self.accs.iter_mut() {
            acc.reset_groups(&self.free[from..]);
        }
        Ok(results)
    }

    /// Each arrival's group id, its group counting it as in the window (a
    /// group reached zero by a departure in this batch is then one no later
    /// arrival of the batch belongs to).
    fn group_ids(&mut self, base: &RecordBatch) -> Result<Vec<u32>> {
        let m = base.num_rows();
        let Some(conv) = &self.conv else {
            // One group, id 0, never emptied: the window holds at least
            // the last event.
            if self.keys.is_empty() {
                self.keys.push(Box::default());
                self.live.push(0);
                self.groups.insert(Box::default(), 0);
            }
            self.live[0] += m as u64;
            return Ok(vec![0; m]);
        };
        let cols = self
            .group_by
            .iter()
            .map(|e| e.eval(base))
            .collect::<Result<Vec<_>>>()?;
        let rows = conv.convert_columns(&cols)?;
        let mut ids = Vec::with_capacity(m);
        // A run of one key looks it up once.
        let mut prev: Option<(usize, u32)> = None;
        for i in 0..m {
            let key = rows.row(i).data();
            let g = match prev {
                Some((p, g)) if rows.row(p).data() == key => g,
                _ => match self.groups.get(key) {
                    Some(&g) => g,
                    None => {
                        let g = match self.free.pop() {
                            Some(g) => g,
                            None => {
                                self.keys.push(Box::default());
                                self.live.push(0);
                                (self.keys.len() - 1) as u32
                            }
                        };
                        self.keys[g as usize] = key.into();
                        self.groups.insert(key.into(), g);
                        g
                    }
                },
            };
            self.live[g as usize] += 1;
            ids.push(g);
            prev = Some((i, g));
        }
        Ok(ids)
    }

    /// Merges the newest entry into the one before while both are small and
    /// of similar size.
    fn merge_small(&mut self) -> Result<()> {
        while self.window.len() >= 2 {
            let b = self.window[self.window.len() - 1].live();
            let a = self.window[self.window.len() - 2].live();
            if a + b > MERGE_ROWS || a > 2 * b {
                break;
            }
            let last = self.window.pop_back().expect("two entries");
            let prev = self.window.back_mut().expect("two entries");
            let joined = Self::join(prev, &last)?;
            *prev = joined;
        }
        Ok(())
    }

    fn join(a: &Arrived, b: &Arrived) -> Result<Arrived> {
        let args = a
            .args
            .iter()
            .zip(&b.args)
            .map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => {
                    let (x, y) = (x.slice(a.start, a.live()), y.slice(b.start, b.live()));
                    Ok(Some(concat(&[x.as_ref(), y.as_ref()])?))
                }
                _ => Ok(None),
            })
            .collect::<Result<Vec<_>>>()?;
        let mut groups = a.groups[a.start..].to_vec();
        groups.extend_from_slice(&b.groups[b.start..]);
        Ok(Arrived {
            args,
            groups,
            start: 0,
        })
    }

    /// Events in the window.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held
    }

    /// Entries recording them.
    #[cfg(test)]
    pub fn entries(&self) -> usize {
        self.window.len()
    }

    pub fn state_bytes(&self) -> usize {
        let held: usize = self
            .window
            .iter()
            .map(|e| {
                e.groups.capacity() * 4
                    + e.args
                        .iter()
                        .flatten()
                        .map(|a| a.get_buffer_memory_size())
                        .sum::<usize>()
            })
            .sum();
        held + self.accs.iter().map(|a| a.state_bytes()).sum::<usize>()
            + self.keys.iter().map(|k| k.len() + 48).sum::<usize>()
    }

    /// Appends the state: the events in the window (group and arguments),
    /// the groups and their aggregates.
    pub fn write_state(&self, w: &mut Vec<u8>) -> Result<()> {
        put_var(w, self.seq);
        put_var(w, self.held as u64);
        put_var(w, self.keys.len() as u64);
        for (k, &live) in self.keys.iter().zip(&self.live) {
            put_bytes(w, k);
            put_var(w, live);
        }
        for e in &self.window {
            for &g in &e.groups[e.start..] {
                put_var(w, g as u64);
            }
        }
        let mut cols = Vec::with_capacity(self.arg_schema.fields().len());
        for (c, arg) in self.calls.iter().enumerate() {
            if arg.is_none() {
                continue;
            }
            let parts: Vec<ArrayRef> = self
                .window
                .iter()
                .map(|e| e.args[c].as_ref().map(|a| a.slice(e.start, e.live())))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::internal("an argument missing from the window"))?;
            let refs: Vec<&dyn Array> = parts.iter().map(|p| p.as_ref()).collect();
            cols.push(if refs.is_empty() {
                arrow::array::new_empty_array(self.arg_schema.field(cols.len()).data_type())
            } else {
                concat(&refs)?
            });
        }
        // Only COUNT(*): nothing to record but the events' groups (Arrow
        // IPC cannot carry rows without columns).
        if !cols.is_empty() {
            put_batch(w, &RecordBatch::try_new(self.arg_schema.clone(), cols)?)?;
        }
        for acc in &self.accs {
            let mut b = Vec::new();
            acc.snapshot(&mut b);
            put_bytes(w, &b);
        }
        Ok(())
    }

    /// Replaces this fresh state with what `write_state` wrote.
    pub fn read_state(&mut self, r: &mut Reader<'_>) -> Result<()> {
        self.seq = r.count()?;
        let held = r.len()?;
        if held > self.n || held as u64 > self.seq {
            return Err(corrupt("more events than the window's length"));
        }
        let ids = r.len()?;
        let mut counted = Vec::with_capacity(ids);
        for g in 0..ids {
            let key: Box<[u8]> = r.blob()?.into();
            let live = r.count()?;
            if live == 0 {
                self.free.push(g as u32);
            } else if self.groups.insert(key.clone(), g as u32).is_some() {
                return Err(corrupt("a group key twice"));
            }
            self.keys.push(if live == 0 { Box::default() } else { key });
            self.live.push(live);
            counted.push(0u64);
        }
        let mut groups = Vec::with_capacity(held);
        for _ in 0..held {
            let g = r.var()?;
            let c = counted
                .get_mut(g as usize)
                .ok_or_else(|| corrupt("an event of an unknown group"))?;
            *c += 1;
            groups.push(g as u32);
        }
        if counted != self.live {
            return Err(corrupt("group counts do not match the window's events"));
        }
        let cols = if self.arg_schema.fields().is_empty() {
            Vec::new()
        } else {
            let rows = r.batch(&self.arg_schema)?;
            if rows.num_rows() != held {
                return Err(corrupt("arguments do not match the window's events"));
            }
            rows.columns().to_vec()
        };
        let mut cols = cols.iter();
        let args = self
            .calls
            .iter()
            .map(|a| a.as_ref().and_then(|_| cols.next().cloned()))
            .collect();
        for acc in self.accs.iter_mut() {
            acc.restore(r.blob()?)?;
        }
        self.held = held;
        if held > 0 {
            self.window.push_back(Arrived {
                args,
                groups,
                start: 0,
            });
        }
        Ok(())
    }
}
