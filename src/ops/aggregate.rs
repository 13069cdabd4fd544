//! Group accumulators for windowed aggregation: incremental and retractable.
//!
//! A window turns each arrival into an add and each departure into a
//! retraction on one group. One accumulator holds every group of one aggregate
//! call in typed per-group storage indexed by a dense group id, so an event
//! costs a few arithmetic operations (COUNT, SUM, AVG, STDDEV) or an amortised
//! deque/map step (MIN, MAX, FIRST, LAST, COUNT(DISTINCT)); no window is ever
//! rescanned.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::hash::Hash;
use std::marker::PhantomData;
use std::mem::size_of;

use ahash::AHashMap;
use arrow::array::{
    Array, ArrayBuilder, ArrayRef, ArrowPrimitiveType, BooleanArray, BooleanBuilder, Float64Builder,
    Int64Builder, PrimitiveArray, PrimitiveBuilder, StringArray, StringBuilder,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType,
};

use crate::error::{Error, Result, Status};
use crate::state::{put_f64, put_i64, put_var, Reader};
use crate::types::{type_name, SqlType};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
    StddevPop,
    StddevSamp,
    First,
    Last,
}

impl AggFunc {
    /// By SQL name, case-insensitive. COUNT gives `Count`: the caller turns
    /// COUNT(*) into `CountStar` and COUNT(DISTINCT x) into `CountDistinct`.
    pub fn from_name(name: &str) -> Option<AggFunc> {
        Some(match name.to_ascii_uppercase().as_str() {
            "COUNT" => AggFunc::Count,
            "SUM" => AggFunc::Sum,
            "AVG" => AggFunc::Avg,
            "MIN" => AggFunc::Min,
            "MAX" => AggFunc::Max,
            "STDDEV_POP" => AggFunc::StddevPop,
            "STDDEV_SAMP" | "STDDEV" => AggFunc::StddevSamp,
            "FIRST" => AggFunc::First,
            "LAST" => AggFunc::Last,
            _ => return None,
        })
    }

    /// SQL spelling, for messages.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::CountStar => "COUNT(*)",
            AggFunc::Count => "COUNT",
            AggFunc::CountDistinct => "COUNT(DISTINCT)",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
            AggFunc::StddevPop => "STDDEV_POP",
            AggFunc::StddevSamp => "STDDEV_SAMP",
            AggFunc::First => "FIRST",
            AggFunc::Last => "LAST",
        }
    }

    /// Result type for an argument type (None only for COUNT(*)), or a message
    /// naming why the argument is not accepted.
    pub fn result_type(self, arg: Option<&DataType>) -> std::result::Result<DataType, String> {
        use AggFunc::*;
        let t = match (self, arg) {
            (CountStar, None) => return Ok(DataType::Int64),
            (CountStar, Some(_)) => return Err("COUNT(*) takes no argument".to_string()),
            (_, None) => return Err(format!("{} needs an argument", self.name())),
            (_, Some(t)) => t,
        };
        if SqlType::from_arrow(t).is_none() {
            return Err(format!(
                "{} cannot take an argument of type {}",
                self.name(),
                type_name(t)
            ));
        }
        let int = matches!(t, DataType::Int32 | DataType::Int64);
        let numeric = int || matches!(t, DataType::Float32 | DataType::Float64);
        match self {
            Count | CountDistinct => Ok(DataType::Int64),
            Min | Max | First | Last => Ok(t.clone()),
            Sum if int => Ok(DataType::Int64),
            Sum | Avg | StddevPop | StddevSamp if numeric => Ok(DataType::Float64),
            _ => Err(format!(
                "{} needs a numeric argument, got {}",
                self.name(),
                type_name(t)
            )),
        }
    }
}

/// One event applied to one group.
#[derive(Clone, Copy, Debug)]
pub struct AggOp {
    /// Row in the argument column passed to `apply`.
    pub row: u32,
    /// Dense group id chosen by the caller (reused after `reset_groups`).
    pub group: u32,
    /// The event's arrival number; adds to a group come in increasing seq.
    pub seq: u64,
    /// The event leaves the group (it was added earlier with this seq and value).
    pub retract: bool,
    /// After applying, append the group's current result to the pending output.
    pub emit: bool,
}

/// A run of a count window over one group (`GroupsAccumulator::slide`):
/// `values` holds `old` departing rows, then `arrivals` arriving ones.
/// Arrival i (row `old + i`, number `arr_seq + i`) comes after the
/// departure of row `i - quiet` (number `dep_seq + i - quiet`) when
/// i >= quiet, and emits the group's result.
#[derive(Clone, Copy, Debug)]
pub struct Slide {
    pub group: u32,
    pub old: usize,
    pub arrivals: usize,
    pub quiet: usize,
    pub dep_seq: u64,
    pub arr_seq: u64,
}

impl Slide {
    /// The same events as ops for `apply`.
    #[cfg(test)]
    pub fn ops(&self) -> Vec<AggOp> {
        let mut ops = Vec::with_capacity(2 * self.arrivals);
        for i in 0..self.arrivals {
            if i >= self.quiet {
                let j = i - self.quiet;
                ops.push(AggOp {
                    row: j as u32,
                    group: self.group,
                    seq: self.dep_seq + j as u64,
                    retract: true,
                    emit: false,
                });
            }
            ops.push(AggOp {
                row: (self.old + i) as u32,
                group: self.group,
                seq: self.arr_seq + i as u64,
                retract: false,
                emit: true,
            });
        }
        ops
    }
}

pub trait GroupsAccumulator: Send {
    /// Applies ops in order. `values` is the aggregate's argument evaluated
    /// over the chunk the ops refer to (None for COUNT(*)); its Arrow type is
    /// the argument type given at creation.
    fn apply(&mut self, values: Option<&ArrayRef>, ops: &[AggOp]) -> Result<()>;
    /// Adds row `rows[i]` of `values` to group `groups[i]` for every i, in
    /// order, with no output: the tight loop of pre-aggregated batch
    /// windows. Only accumulators made with `Retraction::Never` take it.
    fn add_rows(&mut self, values: Option<&ArrayRef>, rows: &[u32], groups: &[u32]) -> Result<()>;
    /// `apply` of `s.ops()`, in one loop over one group's state.
    fn slide(&mut self, values: Option<&ArrayRef>, s: Slide) -> Result<()>;
    /// Appends the current result of each listed group to the pending output.
    fn emit_groups(&mut self, groups: &[u32]);
    /// Takes the pending output as one array of the result type, in append
    /// order, and starts a new one.
    fn take_output(&mut self) -> ArrayRef;
    /// Forgets the listed groups' state; an id may be reused later and then
    /// starts empty. One call per batch of ids (a dropped pane's groups).
    fn reset_groups(&mut self, groups: &[u32]);
    /// Forgets every group.
    fn clear(&mut self);
    /// Approximate bytes of state held.
    fn state_bytes(&self) -> usize;
    /// Serializes all group state (not the pending output).
    fn snapshot(&self, out: &mut Vec<u8>);
    /// Replaces all state from a snapshot; malformed input gives Status::Corrupt.
    fn restore(&mut self, data: &[u8]) -> Result<()>;
}

/// Which retractions an accumulator takes; the cheaper the promise, the
/// cheaper the state (MIN/MAX: a deque, a tree or one value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retraction {
    /// Any live event may leave (sort and unique windows, event time).
    Any = 0,
    /// Within each group events leave in the order they were added (length
    /// and time windows in arrival order).
    Fifo = 1,
    /// Events never leave (batch windows): the only mode `add_rows` takes.
    Never = 2,
}

impl From<bool> for Retraction {
    /// `fifo`: true is `Fifo`, false `Any`.
    fn from(fifo: bool) -> Retraction {
        if fifo {
            Retraction::Fifo
        } else {
            Retraction::Any
        }
    }
}

pub fn new_accumulator(
    func: AggFunc,
    arg: Option<&DataType>,
    mode: impl Into<Retraction>,
) -> std::result::Result<Box<dyn GroupsAccumulator>, String> {
    let mode = mode.into();
    let fifo = mode != Retraction::Any;
    func.result_type(arg)?;
    let tag = [
        func as u8,
        arg.and_then(SqlType::from_arrow).map_or(255, |t| t as u8),
        mode as u8,
    ];
    let dt = arg.unwrap_or(&DataType::Null);
    fn boxed<F: Func>(f: F, tag: [u8; 3]) -> Box<dyn GroupsAccumulator> {
        Box::new(Acc::new(f, tag))
    }
    // Binds the storage kind of the argument type to `$K` and evaluates `$body`.
    macro_rules! by_kind {
        (|$K:ident| $body:expr) => {
            match dt {
                DataType::Boolean => {
                    type $K = BoolK;
                    $body
                }
                DataType::Int32 => {
                    type $K = PrimK<Int32Type>;
                    $body
                }
                DataType::Int64 => {
                    type $K = PrimK<Int64Type>;
                    $body
                }
                DataType::Float32 => {
                    type $K = PrimK<Float32Type>;
                    $body
                }
                DataType::Float64 => {
                    type $K = PrimK<Float64Type>;
                    $body
                }
                DataType::Timestamp(TimeUnit::Millisecond, None) => {
                    type $K = PrimK<TimestampMillisecondType>;
                    $body
                }
                DataType::Utf8 => {
                    type $K = StrK;
                    $body
                }
                _ => return Err(unsupported(func, dt)),
            }
        };
    }
    use AggFunc::*;
    Ok(match func {
        // One instance per kept value, so the choice is made at compile
        // time rather than per row.
        Min if mode == Retraction::Never => by_kind!(|K| boxed(OneF::<K, KEEP_MIN>(PhantomData), tag)),
        Max if mode == Retraction::Never => by_kind!(|K| boxed(OneF::<K, KEEP_MAX>(PhantomData), tag)),
        First if mode == Retraction::Never => {
            by_kind!(|K| boxed(OneF::<K, KEEP_FIRST>(PhantomData), tag))
        }
        Last if mode == Retraction::Never => by_kind!(|K| boxed(OneF::<K, KEEP_LAST>(PhantomData), tag)),
        CountStar => boxed(CountStarF, tag),
        Count => boxed(CountF, tag),
        CountDistinct => by_kind!(|K| boxed(DistinctF::<K>(PhantomData), tag)),
        Sum | Avg => match (dt, func == Avg) {
            (DataType::Int32, false) => boxed(SumIntF::<Int32Type, SumOut>(PhantomData), tag),
            (DataType::Int64, false) => boxed(SumIntF::<Int64Type, SumOut>(PhantomData), tag),
            (DataType::Int32, true) => boxed(SumIntF::<Int32Type, AvgOut>(PhantomData), tag),
            (DataType::Int64, true) => boxed(SumIntF::<Int64Type, AvgOut>(PhantomData), tag),
            (DataType::Float32, avg) => boxed(SumFloatF::<Float32Type> { avg, t: PhantomData }, tag),
            (DataType::Float64, avg) => boxed(SumFloatF::<Float64Type> { avg, t: PhantomData }, tag),
            _ => return Err(unsupported(func, dt)),
        },
        StddevPop | StddevSamp => {
            let samp = func == StddevSamp;
            match dt {
                DataType::Int32 => boxed(StddevF::<Int32Type> { samp, t: PhantomData }, tag),
                DataType::Int64 => boxed(StddevF::<Int64Type> { samp, t: PhantomData }, tag),
                DataType::Float32 => boxed(StddevF::<Float32Type> { samp, t: PhantomData }, tag),
                DataType::Float64 => boxed(StddevF::<Float64Type> { samp, t: PhantomData }, tag),
                _ => return Err(unsupported(func, dt)),
            }
        }
        Min | Max if fifo => by_kind!(|K| boxed(
            MonoF::<K> {
                max: func == Max,
                k: PhantomData
            },
            tag
        )),
        Min | Max => by_kind!(|K| boxed(
            TreeF::<K> {
                max: func == Max,
                k: PhantomData
            },
            tag
        )),
        First | Last => by_kind!(|K| boxed(
            FirstLastF::<K> {
                last: func == Last,
                fifo,
                k: PhantomData
            },
            tag
        )),
    })
}

/// One accumulator per call of a plan, each taking `mode`.
pub fn accumulators(
    calls: &[crate::sql::plan::AggCall],
    mode: Retraction,
) -> Result<Vec<Box<dyn GroupsAccumulator>>> {
    calls
        .iter()
        .map(|c| {
            new_accumulator(c.func, c.arg.as_ref().map(|e| e.data_type()).as_ref(), mode)
                .map_err(|m| Error::new(crate::error::Status::Internal, m))
        })
        .collect()
}

/// The row encoder of GROUP BY keys; None without GROUP BY.
pub fn key_converter(group_by: &[crate::expr::Expr]) -> Result<Option<arrow::row::RowConverter>> {
    if group_by.is_empty() {
        return Ok(None);
    }
    Ok(Some(arrow::row::RowConverter::new(
        group_by
            .iter()
            .map(|e| arrow::row::SortField::new(e.data_type()))
            .collect(),
    )?))
}

fn unsupported(func: AggFunc, dt: &DataType) -> String {
    format!(
        "{} cannot take an argument of type {}",
        func.name(),
        type_name(dt)
    )
}

// ---------------------------------------------------------------------------
// The generic accumulator: one state per group, one function's rules.

/// The rules of one aggregate over one argument type. `add`/`retract` return
/// the change in heap bytes held, so `state_bytes` needs no scan.
trait Func: Send + 'static {
    type State: Default + Send;
    /// The argument column, downcast once per `apply`.
    type Col<'a>;
    type Out: ArrayBuilder;
    /// The column and its length (rows at or past it are refused).
    fn col(values: Option<&ArrayRef>) -> Result<(Self::Col<'_>, usize)>;
    /// An empty output with room for `n` results.
    fn out(&self, n: usize) -> Self::Out;
    fn add(&self, st: &mut Self::State, col: &Self::Col<'_>, row: usize, seq: u64) -> Result<isize>;
    fn retract(&self, st: &mut Self::State, col: &Self::Col<'_>, row: usize, seq: u64) -> Result<isize>;
    fn emit(&self, st: &Self::State, out: &mut Self::Out);
    /// Holds no event: the same as a fresh state.
    fn is_empty(st: &Self::State) -> bool;
    /// Heap bytes of one state, as the add/retract deltas count them.
    fn heap(st: &Self::State) -> usize;
    fn put(&self, st: &Self::State, w: &mut Vec<u8>);
    fn take(&self, r: &mut Reader<'_>) -> Result<Self::State>;
}

struct Acc<F: Func> {
    f: F,
    groups: Vec<F::State>,
    /// What a group never touched reports.
    empty: F::State,
    heap: usize,
    out: F::Out,
    /// Function, argument type and `Retraction`: a snapshot restores only into its own kind.
    tag: [u8; 3],
}

const MAGIC: &[u8; 4] = b"EAG1";

impl<F: Func> Acc<F> {
    fn new(f: F, tag: [u8; 3]) -> Acc<F> {
        Acc {
            out: f.out(0),
            f,
            groups: Vec::new(),
            empty: F::State::default(),
            heap: 0,
            tag,
        }
    }

    #[cold]
    fn grow(&mut self, g: usize) {
        self.groups.resize_with(g + 1, Default::default);
    }
}

impl<F: Func> GroupsAccumulator for Acc<F> {
    fn apply(&mut self, values: Option<&ArrayRef>, ops: &[AggOp]) -> Result<()> {
        let (col, len) = F::col(values)?;
        for op in ops {
            let g = op.group as usize;
            if g >= self.groups.len() {
                self.grow(g);
            }
            let row = op.row as usize;
            if row >= len {
                return Err(Error::internal(format!(
                    "aggregate op names row {row} of a {len}-row chunk"
                )));
            }
            let st = &mut self.groups[g];
            let delta = if op.retract {
                self.f.retract(st, &col, row, op.seq)?
            } else {
                self.f.add(st, &col, row, op.seq)?
            };
            self.heap = self.heap.wrapping_add_signed(delta);
            if op.emit {
                self.f.emit(st, &mut self.out);
            }
        }
        Ok(())
    }

    fn slide(&mut self, values: Option<&ArrayRef>, s: Slide) -> Result<()> {
        let (col, len) = F::col(values)?;
        // Departure rows (below `arrivals - quiet`) are below the end too.
        if s.old.saturating_add(s.arrivals) > len {
            return Err(Error::internal(format!(
                "a slide over {} + {} rows names rows of a {len}-row chunk",
                s.old, s.arrivals
            )));
        }
        let g = s.group as usize;
        if g >= self.groups.len() {
            self.grow(g);
        }
        let st = &mut self.groups[g];
        let mut delta = 0isize;
        // The first `quiet` arrivals leave nothing; each later one follows
        // a departure.
        for i in 0..s.arrivals.min(s.quiet) {
            delta += self.f.add(st, &col, s.old + i, s.arr_seq + i as u64)?;
            self.f.emit(st, &mut self.out);
        }
        for i in s.quiet..s.arrivals {
            let j = i - s.quiet;
            delta += self.f.retract(st, &col, j, s.dep_seq + j as u64)?;
            delta += self.f.add(st, &col, s.old + i, s.arr_seq + i as u64)?;
            self.f.emit(st, &mut self.out);
        }
        self.heap = self.heap.wrapping_add_signed(delta);
        Ok(())
    }

    fn add_rows(&mut self, values: Option<&ArrayRef>, rows: &[u32], groups: &[u32]) -> Result<()> {
        if self.tag[2] != Retraction::Never as u8 || rows.len() != groups.len() {
            return Err(Error::internal("add_rows on a retractable accumulator"));
        }
        let (col, len) = F::col(values)?;
        // Both bounds checked once per call (two vectorised max passes; a
        // fold of u32::max vectorises, `Iterator::max` does not), not per row.
        if rows.is_empty() {
            return Ok(());
        }
        let g = groups.iter().copied().fold(0, u32::max);
        if g as usize >= self.groups.len() {
            self.grow(g as usize);
        }
        let row = rows.iter().copied().fold(0, u32::max);
        if row as usize >= len {
            return Err(Error::internal(format!(
                "aggregate names row {row} of a {len}-row chunk"
            )));
        }
        let states = self.groups.as_mut_slice();
        let mut delta = 0isize;
        for (&row, &g) in rows.iter().zip(groups) {
            // SAFETY: g <= the largest group id, which `grow` made room for.
            let st = unsafe { states.get_unchecked_mut(g as usize) };
            delta += self.f.add(st, &col, row as usize, 0)?;
        }
        self.heap = self.heap.wrapping_add_signed(delta);
        Ok(())
    }

    fn emit_groups(&mut self, groups: &[u32]) {
        for &g in groups {
            let st = self.groups.get(g as usize).unwrap_or(&self.empty);
            self.f.emit(st, &mut self.out);
        }
    }

    fn take_output(&mut self) -> ArrayRef {
        let a = self.out.finish();
        // A finished builder is left with no room; the next output is
        // likely this one's size, so it gets room for that at once instead
        // of growing by doubling (up to a usual batch).
        self.out = self.f.out(a.len().min(8192));
        a
    }

    fn reset_groups(&mut self, groups: &[u32]) {
        for &g in groups {
            let Some(st) = self.groups.get_mut(g as usize) else {
                continue;
            };
            self.heap = self.heap.saturating_sub(F::heap(st));
            *st = F::State::default();
        }
        // Trailing empty groups are indistinguishable from ones never made, so
        // drop them to give the memory back when the top ids fall out of use.
        while self.groups.last().is_some_and(F::is_empty) {
            self.groups.pop();
        }
        if self.groups.capacity() > 64 && self.groups.len() * 4 < self.groups.capacity() {
            self.groups.shrink_to(self.groups.len() * 2);
        }
    }

    fn clear(&mut self) {
        self.groups = Vec::new();
        self.heap = 0;
    }

    fn state_bytes(&self) -> usize {
        self.groups.len() * size_of::<F::State>() + self.heap
    }

    fn snapshot(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.tag);
        put_var(out, self.groups.len() as u64);
        for st in &self.groups {
            self.f.put(st, out);
        }
    }

    fn restore(&mut self, data: &[u8]) -> Result<()> {
        let mut r = Reader { rest: data };
        if r.bytes(4)? != MAGIC || r.bytes(3)? != self.tag {
            return Err(corrupt("not a snapshot of this aggregate"));
        }
        let n = r.len()?;
        let mut groups = Vec::with_capacity(n);
        let mut heap = 0;
        for _ in 0..n {
            let st = self.f.take(&mut r)?;
            heap += F::heap(&st);
            groups.push(st);
        }
        if !r.rest.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        self.groups = groups;
        self.heap = heap;
        Ok(())
    }
}

fn not_added(func: &str) -> Error {
    Error::internal(format!("{func}: retracted an event that the group does not hold"))
}

fn out_of_order(func: &str) -> Error {
    Error::internal(format!("{func}: events added to a group out of arrival order"))
}

// ---------------------------------------------------------------------------
// Argument columns and the storage kinds of argument values.

struct Column<'a, A> {
    arr: &'a A,
    nulls: Option<&'a NullBuffer>,
}

impl<A> Column<'_, A> {
    #[inline]
    fn valid(&self, row: usize) -> bool {
        self.nulls.map_or(true, |n| n.is_valid(row))
    }
}

fn argument(values: Option<&ArrayRef>) -> Result<&ArrayRef> {
    values.ok_or_else(|| Error::internal("aggregate applied without its argument column"))
}

fn column<A: Array + 'static>(values: Option<&ArrayRef>) -> Result<(Column<'_, A>, usize)> {
    let v = argument(values)?;
    let arr = v.as_any().downcast_ref::<A>().ok_or_else(|| {
        Error::internal(format!(
            "aggregate argument column is {}, not the type it was created for",
            type_name(v.data_type())
        ))
    })?;
    Ok((
        Column {
            arr,
            nulls: arr.nulls(),
        },
        arr.len(),
    ))
}

/// How values of one argument type are read, held and written back.
/// Fixed-width values are held as an i64 key that orders like the SQL value
/// (floats in `total_cmp` order), strings as `Box<str>`; so MIN/MAX/FIRST/LAST
/// and COUNT(DISTINCT) need one implementation per representation only.
trait Kind: Send + 'static {
    type Arr: Array + 'static;
    type Q: ?Sized + Ord + Hash;
    type Own: Clone + Ord + Hash + Borrow<Self::Q> + Send + 'static;
    type Ref<'a>: Copy;
    type Builder: ArrayBuilder;
    /// The row's value; the caller has checked the row is in range and not NULL.
    fn get(arr: &Self::Arr, row: usize) -> Self::Ref<'_>;
    fn q<'a>(r: &'a Self::Ref<'_>) -> &'a Self::Q;
    fn own(r: Self::Ref<'_>) -> Self::Own;
    fn view(o: &Self::Own) -> Self::Ref<'_>;
    /// One key per SQL-equal value: COUNT(DISTINCT) counts 0.0 and -0.0, and
    /// all NaNs, as one value although `total_cmp` tells them apart.
    fn distinct(r: Self::Ref<'_>) -> Self::Ref<'_>;
    fn builder(n: usize) -> Self::Builder;
    fn append(b: &mut Self::Builder, v: Option<Self::Ref<'_>>);
    fn heap(o: &Self::Own) -> usize;
    fn put(o: &Self::Own, w: &mut Vec<u8>);
    fn take(r: &mut Reader<'_>) -> Result<Self::Own>;
}

#[inline]
fn cmp_own<K: Kind>(o: &K::Own, r: &K::Ref<'_>) -> Ordering {
    Borrow::<K::Q>::borrow(o).cmp(K::q(r))
}

/// A primitive native as an order-preserving i64 key.
trait KeyNative: Copy + Send + 'static {
    fn to_key(self) -> i64;
    fn from_key(k: i64) -> Self;
    /// The key came from `to_key` (checked on restore).
    fn valid_key(k: i64) -> bool;
    fn norm(k: i64) -> i64 {
        k
    }
}

impl KeyNative for i32 {
    fn to_key(self) -> i64 {
        self as i64
    }
    fn from_key(k: i64) -> i32 {
        k as i32
    }
    fn valid_key(k: i64) -> bool {
        i32::try_from(k).is_ok()
    }
}

impl KeyNative for i64 {
    fn to_key(self) -> i64 {
        self
    }
    fn from_key(k: i64) -> i64 {
        k
    }
    fn valid_key(_: i64) -> bool {
        true
    }
}

/// Flips the magnitude bits of negative floats so the signed integer order is
/// `total_cmp` order; applying it twice gives the bits back.
fn flip64(b: i64) -> i64 {
    b ^ ((((b >> 63) as u64) >> 1) as i64)
}

fn flip32(b: i32) -> i32 {
    b ^ ((((b >> 31) as u32) >> 1) as i32)
}

impl KeyNative for f64 {
    fn to_key(self) -> i64 {
        flip64(self.to_bits() as i64)
    }
    fn from_key(k: i64) -> f64 {
        f64::from_bits(flip64(k) as u64)
    }
    fn valid_key(_: i64) -> bool {
        true
    }
    fn norm(k: i64) -> i64 {
        let x = f64::from_key(k);
        if x == 0.0 {
            0.0f64.to_key()
        } else if x.is_nan() {
            f64::NAN.to_key()
        } else {
            k
        }
    }
}

impl KeyNative for f32 {
    fn to_key(self) -> i64 {
        flip32(self.to_bits() as i32) as i64
    }
    fn from_key(k: i64) -> f32 {
        f32::from_bits(flip32(k as i32) as u32)
    }
    fn valid_key(k: i64) -> bool {
        i32::try_from(k).is_ok()
    }
    fn norm(k: i64) -> i64 {
        let x = f32::from_key(k);
        if x == 0.0 {
            0.0f32.to_key()
        } else if x.is_nan() {
            f32::NAN.to_key()
        } else {
            k
        }
    }
}

struct PrimK<T>(PhantomData<fn() -> T>);

impl<T: ArrowPrimitiveType> Kind for PrimK<T>
where
    T::Native: KeyNative,
{
    type Arr = PrimitiveArray<T>;
    type Q = i64;
    type Own = i64;
    type Ref<'a> = i64;
    type Builder = PrimitiveBuilder<T>;
    #[inline]
    fn get(arr: &PrimitiveArray<T>, row: usize) -> i64 {
        arr.values()[row].to_key()
    }
    #[inline]
    fn q(r: &i64) -> &i64 {
        r
    }
    #[inline]
    fn own(r: i64) -> i64 {
        r
    }
    #[inline]
    fn view(o: &i64) -> i64 {
        *o
    }
    #[inline]
    fn distinct(r: Self::Ref<'_>) -> Self::Ref<'_> {
        T::Native::norm(r)
    }
    fn builder(n: usize) -> PrimitiveBuilder<T> {
        PrimitiveBuilder::with_capacity(n)
    }
    fn append(b: &mut PrimitiveBuilder<T>, v: Option<i64>) {
        b.append_option(v.map(T::Native::from_key))
    }
    fn heap(_: &i64) -> usize {
        0
    }
    fn put(o: &i64, w: &mut Vec<u8>) {
        put_i64(w, *o)
    }
    fn take(r: &mut Reader<'_>) -> Result<i64> {
        let k = r.i64()?;
        if T::Native::valid_key(k) {
            Ok(k)
        } else {
            Err(corrupt("value out of range for its type"))
        }
    }
}

struct BoolK;

impl Kind for BoolK {
    type Arr = BooleanArray;
    type Q = i64;
    type Own = i64;
    type Ref<'a> = i64;
    type Builder = BooleanBuilder;
    #[inline]
    fn get(arr: &BooleanArray, row: usize) -> i64 {
        arr.value(row) as i64
    }
    #[inline]
    fn q(r: &i64) -> &i64 {
        r
    }
    #[inline]
    fn own(r: i64) -> i64 {
        r
    }
    #[inline]
    fn view(o: &i64) -> i64 {
        *o
    }
    #[inline]
    fn distinct(r: Self::Ref<'_>) -> Self::Ref<'_> {
        r
    }
    fn builder(n: usize) -> BooleanBuilder {
        BooleanBuilder::with_capacity(n)
    }
    fn append(b: &mut BooleanBuilder, v: Option<i64>) {
        b.append_option(v.map(|k| k != 0))
    }
    fn heap(_: &i64) -> usize {
        0
    }
    fn put(o: &i64, w: &mut Vec<u8>) {
        put_var(w, *o as u64)
    }
    fn take(r: &mut Reader<'_>) -> Result<i64> {
        match r.var()? {
            k @ (0 | 1) => Ok(k as i64),
            _ => Err(corrupt("bad boolean")),
        }
    }
}

struct StrK;

impl Kind for StrK {
    type Arr = StringArray;
    type Q = str;
    type Own = Box<str>;
    type Ref<'a> = &'a str;
    type Builder = StringBuilder;
    #[inline]
    fn get(arr: &StringArray, row: usize) -> &str {
        arr.value(row)
    }
    #[inline]
    fn q<'a>(r: &'a &str) -> &'a str {
        r
    }
    fn own(r: &str) -> Box<str> {
        r.into()
    }
    #[inline]
    fn view(o: &Box<str>) -> &str {
        o
    }
    #[inline]
    fn distinct(r: Self::Ref<'_>) -> Self::Ref<'_> {
        r
    }
    fn builder(n: usize) -> StringBuilder {
        StringBuilder::with_capacity(n, 8 * n)
    }
    fn append(b: &mut StringBuilder, v: Option<&str>) {
        b.append_option(v)
    }
    fn heap(o: &Box<str>) -> usize {
        o.len()
    }
    fn put(o: &Box<str>, w: &mut Vec<u8>) {
        put_var(w, o.len() as u64);
        w.extend_from_slice(o.as_bytes());
    }
    fn take(r: &mut Reader<'_>) -> Result<Box<str>> {
        let n = r.len()?;
        let s = std::str::from_utf8(r.bytes(n)?).map_err(|_| corrupt("string is not UTF-8"))?;
        Ok(s.into())
    }
}

// ---------------------------------------------------------------------------
// COUNT(*) and COUNT(x).

struct CountStarF;

impl Func for CountStarF {
    type State = i64;
    type Col<'a> = ();
    type Out = Int64Builder;
    fn col(_: Option<&ArrayRef>) -> Result<((), usize)> {
        Ok(((), usize::MAX))
    }
    fn out(&self, n: usize) -> Int64Builder {
        Int64Builder::with_capacity(n)
    }
    #[inline]
    fn add(&self, st: &mut i64, _: &(), _: usize, _: u64) -> Result<isize> {
        *st += 1;
        Ok(0)
    }
    #[inline]
    fn retract(&self, st: &mut i64, _: &(), _: usize, _: u64) -> Result<isize> {
        if *st == 0 {
            return Err(not_added("COUNT(*)"));
        }
        *st -= 1;
        Ok(0)
    }
    #[inline]
    fn emit(&self, st: &i64, out: &mut Int64Builder) {
        out.append_value(*st)
    }
    fn is_empty(st: &i64) -> bool {
        *st == 0
    }
    fn heap(_: &i64) -> usize {
        0
    }
    fn put(&self, st: &i64, w: &mut Vec<u8>) {
        put_var(w, *st as u64)
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<i64> {
        Ok(r.count()? as i64)
    }
}

struct CountF;

impl Func for CountF {
    type State = i64;
    type Col<'a> = Option<&'a NullBuffer>;
    type Out = Int64Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Option<&NullBuffer>, usize)> {
        let v = argument(values)?;
        Ok((v.nulls(), v.len()))
    }
    fn out(&self, n: usize) -> Int64Builder {
        Int64Builder::with_capacity(n)
    }
    #[inline]
    fn add(&self, st: &mut i64, nulls: &Option<&NullBuffer>, row: usize, _: u64) -> Result<isize> {
        if nulls.map_or(true, |n| n.is_valid(row)) {
            *st += 1;
        }
        Ok(0)
    }
    #[inline]
    fn retract(&self, st: &mut i64, nulls: &Option<&NullBuffer>, row: usize, _: u64) -> Result<isize> {
        if nulls.map_or(true, |n| n.is_valid(row)) {
            if *st == 0 {
                return Err(not_added("COUNT"));
            }
            *st -= 1;
        }
        Ok(0)
    }
    #[inline]
    fn emit(&self, st: &i64, out: &mut Int64Builder) {
        out.append_value(*st)
    }
    fn is_empty(st: &i64) -> bool {
        *st == 0
    }
    fn heap(_: &i64) -> usize {
        0
    }
    fn put(&self, st: &i64, w: &mut Vec<u8>) {
        put_var(w, *st as u64)
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<i64> {
        Ok(r.count()? as i64)
    }
}

// ---------------------------------------------------------------------------
// COUNT(DISTINCT x): value -> multiplicity, so a retraction is exact.

struct DistinctF<K>(PhantomData<fn() -> K>);

impl<K: Kind> DistinctF<K> {
    /// Entry plus hash-table control byte.
    const ENTRY: usize = size_of::<(K::Own, u64)>() + 1;
}

impl<K: Kind> Func for DistinctF<K> {
    type State = AHashMap<K::Own, u64>;
    type Col<'a> = Column<'a, K::Arr>;
    type Out = Int64Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Column<'_, K::Arr>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> Int64Builder {
        Int64Builder::with_capacity(n)
    }
    fn add(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let r = K::distinct(K::get(col.arr, row));
        if let Some(c) = st.get_mut(K::q(&r)) {
            *c += 1;
            return Ok(0);
        }
        let o = K::own(r);
        let bytes = Self::ENTRY + K::heap(&o);
        st.insert(o, 1);
        Ok(bytes as isize)
    }
    fn retract(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let r = K::distinct(K::get(col.arr, row));
        match st.get_mut(K::q(&r)) {
            None => Err(not_added("COUNT(DISTINCT)")),
            Some(c) if *c > 1 => {
                *c -= 1;
                Ok(0)
            }
            Some(_) => {
                let Some((o, _)) = st.remove_entry(K::q(&r)) else {
                    return Err(not_added("COUNT(DISTINCT)"));
                };
                // A table that held a burst of values would otherwise keep its peak size.
                let len = st.len();
                if st.capacity() > 64 && len * 4 < st.capacity() {
                    st.shrink_to(len * 2);
                }
                Ok(-((Self::ENTRY + K::heap(&o)) as isize))
            }
        }
    }
    fn emit(&self, st: &Self::State, out: &mut Int64Builder) {
        out.append_value(st.len() as i64)
    }
    fn is_empty(st: &Self::State) -> bool {
        st.is_empty()
    }
    fn heap(st: &Self::State) -> usize {
        st.keys().map(|k| Self::ENTRY + K::heap(k)).sum()
    }
    fn put(&self, st: &Self::State, w: &mut Vec<u8>) {
        // Sorted, so equal states give equal bytes whatever the hash seeds.
        let mut entries: Vec<_> = st.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        put_var(w, entries.len() as u64);
        for (k, c) in entries {
            K::put(k, w);
            put_var(w, *c);
        }
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<Self::State> {
        let n = r.len()?;
        let mut st = AHashMap::with_capacity(n);
        for _ in 0..n {
            let k = K::take(r)?;
            let c = r.count()?;
            let normal = K::q(&K::distinct(K::view(&k))) == Borrow::<K::Q>::borrow(&k);
            if c == 0 || !normal || st.insert(k, c).is_some() {
                return Err(corrupt("bad COUNT(DISTINCT) entry"));
            }
        }
        Ok(st)
    }
}

// ---------------------------------------------------------------------------
// SUM and AVG.

/// Integer natives summed exactly.
trait IntNative: Copy {
    fn wide(self) -> i128;
}

impl IntNative for i32 {
    fn wide(self) -> i128 {
        self as i128
    }
}

impl IntNative for i64 {
    fn wide(self) -> i128 {
        self as i128
    }
}

#[derive(Default)]
struct IntSum {
    sum: i128,
    n: i64,
}

/// Integer SUM answers Int64 and AVG Float64 from the same exact state.
trait IntReadout: Send + 'static {
    type B: ArrayBuilder;
    fn builder(n: usize) -> Self::B;
    fn emit(s: &IntSum, b: &mut Self::B);
}

struct SumOut;
struct AvgOut;

impl IntReadout for SumOut {
    type B = Int64Builder;
    fn builder(n: usize) -> Int64Builder {
        Int64Builder::with_capacity(n)
    }
    #[inline]
    fn emit(s: &IntSum, b: &mut Int64Builder) {
        b.append_option(if s.n == 0 { None } else { i64::try_from(s.sum).ok() })
    }
}

impl IntReadout for AvgOut {
    type B = Float64Builder;
    fn builder(n: usize) -> Float64Builder {
        Float64Builder::with_capacity(n)
    }
    #[inline]
    fn emit(s: &IntSum, b: &mut Float64Builder) {
        b.append_option((s.n > 0).then(|| s.sum as f64 / s.n as f64))
    }
}

struct SumIntF<T, O>(PhantomData<fn() -> (T, O)>);

impl<T: ArrowPrimitiveType, O: IntReadout> Func for SumIntF<T, O>
where
    T::Native: IntNative,
{
    type State = IntSum;
    type Col<'a> = Column<'a, PrimitiveArray<T>>;
    type Out = O::B;
    fn col(values: Option<&ArrayRef>) -> Result<(Self::Col<'_>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> O::B {
        O::builder(n)
    }
    #[inline]
    fn add(&self, st: &mut IntSum, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if col.valid(row) {
            st.sum += col.arr.values()[row].wide();
            st.n += 1;
        }
        Ok(0)
    }
    #[inline]
    fn retract(&self, st: &mut IntSum, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if col.valid(row) {
            if st.n == 0 {
                return Err(not_added("SUM/AVG"));
            }
            st.sum -= col.arr.values()[row].wide();
            st.n -= 1;
        }
        Ok(0)
    }
    #[inline]
    fn emit(&self, st: &IntSum, out: &mut O::B) {
        O::emit(st, out)
    }
    fn is_empty(st: &IntSum) -> bool {
        st.n == 0
    }
    fn heap(_: &IntSum) -> usize {
        0
    }
    fn put(&self, st: &IntSum, w: &mut Vec<u8>) {
        put_var(w, st.n as u64);
        w.extend_from_slice(&st.sum.to_le_bytes());
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<IntSum> {
        let n = r.count()?;
        let sum = i128::from_le_bytes(r.array()?);
        // n values of at most 2^63 in magnitude: anything beyond was not built by adds.
        if sum.unsigned_abs() > (n as u128) << 63 {
            return Err(corrupt("integer sum out of range for its count"));
        }
        Ok(IntSum { sum, n: n as i64 })
    }
}

/// Numeric natives as f64 (exact for all but the largest i64).
trait FloatNative: Copy {
    fn f64(self) -> f64;
}

impl FloatNative for i32 {
    fn f64(self) -> f64 {
        self as f64
    }
}

impl FloatNative for i64 {
    fn f64(self) -> f64 {
        self as f64
    }
}

impl FloatNative for f32 {
    fn f64(self) -> f64 {
        self as f64
    }
}

impl FloatNative for f64 {
    fn f64(self) -> f64 {
        self
    }
}

/// A compensated float sum. Infinities and NaNs are counted apart rather than
/// summed, so that retracting one restores the finite sum instead of leaving
/// NaN behind.
#[derive(Default)]
struct FloatSum {
    sum: f64,
    comp: f64,
    /// Non-NULL values held, non-finite ones included.
    n: i64,
    pos_inf: u64,
    neg_inf: u64,
    nan: u64,
}

impl FloatSum {
    /// Neumaier's step: the rounding error of each addition goes to `comp`.
    #[inline]
    fn step(&mut self, x: f64) {
        let t = self.sum + x;
        self.comp += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    #[inline]
    fn total(&self) -> f64 {
        if self.nan > 0 || (self.pos_inf > 0 && self.neg_inf > 0) {
            f64::NAN
        } else if self.pos_inf > 0 {
            f64::INFINITY
        } else if self.neg_inf > 0 {
            f64::NEG_INFINITY
        } else if self.sum.is_finite() {
            self.sum + self.comp
        } else {
            // The finite values overflowed; the compensation term is meaningless then.
            self.sum
        }
    }

    #[inline]
    fn add(&mut self, x: f64) {
        if x.is_finite() {
            self.step(x);
        } else if x.is_nan() {
            self.nan += 1;
        } else if x > 0.0 {
            self.pos_inf += 1;
        } else {
            self.neg_inf += 1;
        }
        self.n += 1;
    }

    #[inline]
    fn retract(&mut self, x: f64) -> Result<()> {
        if x.is_finite() {
            if self.n as u64 == self.pos_inf + self.neg_inf + self.nan {
                return Err(not_added("SUM/AVG"));
            }
            self.step(-x);
        } else {
            let c = if x.is_nan() {
                &mut self.nan
            } else if x > 0.0 {
                &mut self.pos_inf
            } else {
                &mut self.neg_inf
            };
            if *c == 0 {
                return Err(not_added("SUM/AVG"));
            }
            *c -= 1;
        }
        self.n -= 1;
        if self.n == 0 {
            // Exactly zero again, so rounding left over from the departed values cannot build up.
            *self = FloatSum::default();
        }
        Ok(())
    }
}

struct SumFloatF<T> {
    avg: bool,
    t: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType> Func for SumFloatF<T>
where
    T::Native: FloatNative,
{
    type State = FloatSum;
    type Col<'a> = Column<'a, PrimitiveArray<T>>;
    type Out = Float64Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Self::Col<'_>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> Float64Builder {
        Float64Builder::with_capacity(n)
    }
    #[inline(always)]
    fn add(&self, st: &mut FloatSum, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if col.valid(row) {
            st.add(col.arr.values()[row].f64());
        }
        Ok(0)
    }
    #[inline(always)]
    fn retract(&self, st: &mut FloatSum, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if col.valid(row) {
            st.retract(col.arr.values()[row].f64())?;
        }
        Ok(0)
    }
    #[inline]
    fn emit(&self, st: &FloatSum, out: &mut Float64Builder) {
        if st.n == 0 {
            out.append_null();
        } else if self.avg {
            out.append_value(st.total() / st.n as f64);
        } else {
            out.append_value(st.total());
        }
    }
    fn is_empty(st: &FloatSum) -> bool {
        st.n == 0
    }
    fn heap(_: &FloatSum) -> usize {
        0
    }
    fn put(&self, st: &FloatSum, w: &mut Vec<u8>) {
        put_var(w, st.n as u64);
        for c in [st.pos_inf, st.neg_inf, st.nan] {
            put_var(w, c);
        }
        put_f64(w, st.sum);
        put_f64(w, st.comp);
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<FloatSum> {
        let n = r.count()?;
        let (pos_inf, neg_inf, nan) = (r.count()?, r.count()?, r.count()?);
        let (sum, comp) = (r.f64()?, r.f64()?);
        if pos_inf + neg_inf + nan > n || (n == 0 && (sum != 0.0 || comp != 0.0)) {
            return Err(corrupt("bad float sum"));
        }
        Ok(FloatSum {
            sum,
            comp,
            n: n as i64,
            pos_inf,
            neg_inf,
            nan,
        })
    }
}

// ---------------------------------------------------------------------------
// STDDEV_POP / STDDEV_SAMP: Welford's running mean and squared deviations,
// run backwards for a retraction.

#[derive(Default)]
struct Welford {
    /// Finite values held.
    n: i64,
    mean: f64,
    m2: f64,
    /// Infinite and NaN values held: any makes the result NaN. Kept out of
    /// the running sums so that retracting them leaves those sums intact.
    nonfinite: u64,
}

struct StddevF<T> {
    samp: bool,
    t: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType> Func for StddevF<T>
where
    T::Native: FloatNative,
{
    type State = Welford;
    type Col<'a> = Column<'a, PrimitiveArray<T>>;
    type Out = Float64Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Self::Col<'_>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> Float64Builder {
        Float64Builder::with_capacity(n)
    }
    #[inline]
    fn add(&self, st: &mut Welford, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if col.valid(row) {
            let x = col.arr.values()[row].f64();
            if x.is_finite() {
                st.n += 1;
                let d = x - st.mean;
                st.mean += d / st.n as f64;
                st.m2 += d * (x - st.mean);
            } else {
                st.nonfinite += 1;
            }
        }
        Ok(0)
    }
    #[inline]
    fn retract(&self, st: &mut Welford, col: &Self::Col<'_>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let x = col.arr.values()[row].f64();
        if !x.is_finite() {
            if st.nonfinite == 0 {
                return Err(not_added("STDDEV"));
            }
            st.nonfinite -= 1;
        } else if st.n <= 1 {
            if st.n == 0 {
                return Err(not_added("STDDEV"));
            }
            // Exactly the empty state, not whatever rounding left behind.
            st.n = 0;
            st.mean = 0.0;
            st.m2 = 0.0;
        } else {
            st.n -= 1;
            let d = x - st.mean;
            st.mean -= d / st.n as f64;
            // One value has no spread; dropping the residue also sheds error left by departed outliers.
            st.m2 = if st.n == 1 {
                0.0
            } else {
                (st.m2 - d * (x - st.mean)).max(0.0)
            };
        }
        Ok(0)
    }
    #[inline]
    fn emit(&self, st: &Welford, out: &mut Float64Builder) {
        let held = st.n + st.nonfinite as i64;
        let ddof = self.samp as i64;
        if held <= ddof {
            out.append_null();
        } else if st.nonfinite > 0 {
            out.append_value(f64::NAN);
        } else {
            out.append_value((st.m2.max(0.0) / (st.n - ddof) as f64).sqrt());
        }
    }
    fn is_empty(st: &Welford) -> bool {
        st.n == 0 && st.nonfinite == 0
    }
    fn heap(_: &Welford) -> usize {
        0
    }
    fn put(&self, st: &Welford, w: &mut Vec<u8>) {
        put_var(w, st.n as u64);
        put_var(w, st.nonfinite);
        put_f64(w, st.mean);
        put_f64(w, st.m2);
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<Welford> {
        let (n, nonfinite) = (r.count()?, r.count()?);
        let (mean, m2) = (r.f64()?, r.f64()?);
        if (n == 0 && (mean != 0.0 || m2 != 0.0)) || m2.is_nan() || m2 < 0.0 || !mean.is_finite() {
            return Err(corrupt("bad STDDEV state"));
        }
        Ok(Welford {
            n: n as i64,
            mean,
            m2,
            nonfinite,
        })
    }
}

// ---------------------------------------------------------------------------
// MIN / MAX in FIFO windows: a monotonic deque per group. A value that an
// arrival beats can never be the answer again (the arrival leaves after it),
// so it is dropped on that arrival; the front is the answer.

struct Mono<K: Kind> {
    /// Non-NULL values held, including those the deque already dropped.
    n: u64,
    /// (seq, value): seq increasing, value strictly improving towards the front.
    dq: Fifo<(u64, K::Own)>,
}

impl<K: Kind> Default for Mono<K> {
    fn default() -> Self {
        Mono {
            n: 0,
            dq: Fifo::default(),
        }
    }
}

/// A deque that is a vector and the index of its front. The monotonic
/// deque pushes and pops at the back and only pops at the front, so no
/// ring arithmetic is needed: popped front entries stay in place (readable
/// until the next push) and are dropped once they are half the vector.
struct Fifo<T> {
    v: Vec<T>,
    head: usize,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo {
            v: Vec::new(),
            head: 0,
        }
    }
}

impl<T> Fifo<T> {
    fn with_capacity(n: usize) -> Self {
        Fifo {
            v: Vec::with_capacity(n),
            head: 0,
        }
    }

    fn len(&self) -> usize {
        self.v.len() - self.head
    }

    #[inline]
    fn back(&self) -> Option<&T> {
        if self.v.len() > self.head {
            self.v.last()
        } else {
            None
        }
    }

    #[inline]
    fn front(&self) -> Option<&T> {
        self.v.get(self.head)
    }

    #[inline]
    fn push_back(&mut self, x: T) {
        if self.head > 0 && self.head * 2 >= self.v.len() {
            self.v.drain(..self.head);
            self.head = 0;
        }
        self.v.push(x);
    }

    #[inline]
    fn pop_back(&mut self) -> Option<T> {
        if self.v.len() > self.head {
            self.v.pop()
        } else {
            None
        }
    }

    /// Removes the front entry and returns it (it stays in place until
    /// the next push).
    #[inline]
    fn pop_front(&mut self) -> Option<&T> {
        let x = self.v.get(self.head)?;
        self.head += 1;
        Some(x)
    }

    fn iter(&self) -> std::slice::Iter<'_, T> {
        self.v[self.head..].iter()
    }
}

struct MonoF<K> {
    max: bool,
    k: PhantomData<fn() -> K>,
}

impl<K: Kind> MonoF<K> {
    const ELEM: usize = size_of::<(u64, K::Own)>();

    fn name(&self) -> &'static str {
        if self.max {
            "MAX"
        } else {
            "MIN"
        }
    }

    /// `held` cannot be the answer once `new` is in the group.
    #[inline]
    fn beaten(&self, held: &K::Own, new: &K::Ref<'_>) -> bool {
        let o = cmp_own::<K>(held, new);
        if self.max {
            o != Ordering::Greater
        } else {
            o != Ordering::Less
        }
    }
}

impl<K: Kind> Func for MonoF<K> {
    type State = Mono<K>;
    type Col<'a> = Column<'a, K::Arr>;
    type Out = K::Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Column<'_, K::Arr>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> K::Builder {
        K::builder(n)
    }
    #[inline(always)]
    fn add(&self, st: &mut Mono<K>, col: &Column<'_, K::Arr>, row: usize, seq: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        // The back is always the group's latest add.
        if st.dq.back().is_some_and(|b| b.0 >= seq) {
            return Err(out_of_order(self.name()));
        }
        let r = K::get(col.arr, row);
        let mut delta = 0isize;
        while st.dq.back().is_some_and(|b| self.beaten(&b.1, &r)) {
            if let Some((_, o)) = st.dq.pop_back() {
                delta -= (Self::ELEM + K::heap(&o)) as isize;
            }
        }
        let o = K::own(r);
        delta += (Self::ELEM + K::heap(&o)) as isize;
        st.dq.push_back((seq, o));
        st.n += 1;
        Ok(delta)
    }
    #[inline(always)]
    fn retract(&self, st: &mut Mono<K>, col: &Column<'_, K::Arr>, row: usize, seq: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let Some(front) = st.dq.front() else {
            return Err(not_added(self.name()));
        };
        let mut delta = 0;
        match front.0.cmp(&seq) {
            Ordering::Equal => {
                if let Some((_, o)) = st.dq.pop_front() {
                    delta = -((Self::ELEM + K::heap(o)) as isize);
                }
            }
            // Older than every value kept: dropped when something beat it, unless
            // nothing else is held, in which case it was never added.
            Ordering::Greater if st.n > 1 => {}
            Ordering::Greater => return Err(not_added(self.name())),
            Ordering::Less => {
                return Err(Error::internal(format!(
                    "{}: retraction out of arrival order in a FIFO window",
                    self.name()
                )))
            }
        }
        st.n -= 1;
        Ok(delta)
    }
    #[inline]
    fn emit(&self, st: &Mono<K>, out: &mut K::Builder) {
        K::append(out, st.dq.front().map(|f| K::view(&f.1)))
    }
    fn is_empty(st: &Mono<K>) -> bool {
        st.n == 0
    }
    fn heap(st: &Mono<K>) -> usize {
        st.dq.iter().map(|e| Self::ELEM + K::heap(&e.1)).sum()
    }
    fn put(&self, st: &Mono<K>, w: &mut Vec<u8>) {
        put_var(w, st.n);
        put_var(w, st.dq.len() as u64);
        for (s, o) in st.dq.iter() {
            put_var(w, *s);
            K::put(o, w);
        }
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<Mono<K>> {
        let n = r.count()?;
        let len = r.len()?;
        if (n == 0) != (len == 0) || len as u64 > n {
            return Err(corrupt("bad MIN/MAX count"));
        }
        let mut dq: Fifo<(u64, K::Own)> = Fifo::with_capacity(len);
        for _ in 0..len {
            let s = r.var()?;
            let o = K::take(r)?;
            if let Some(b) = dq.back() {
                if b.0 >= s || self.beaten(&b.1, &K::view(&o)) {
                    return Err(corrupt("MIN/MAX deque out of order"));
                }
            }
            dq.push_back((s, o));
        }
        Ok(Mono { n, dq })
    }
}

// ---------------------------------------------------------------------------
// MIN / MAX when any event may leave: an ordered multiset per group.

struct TreeF<K> {
    max: bool,
    k: PhantomData<fn() -> K>,
}

impl<K: Kind> TreeF<K> {
    const ENTRY: usize = size_of::<(K::Own, u64)>();
}

impl<K: Kind> Func for TreeF<K> {
    type State = BTreeMap<K::Own, u64>;
    type Col<'a> = Column<'a, K::Arr>;
    type Out = K::Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Column<'_, K::Arr>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> K::Builder {
        K::builder(n)
    }
    fn add(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let r = K::get(col.arr, row);
        if let Some(c) = st.get_mut(K::q(&r)) {
            *c += 1;
            return Ok(0);
        }
        let o = K::own(r);
        let bytes = Self::ENTRY + K::heap(&o);
        st.insert(o, 1);
        Ok(bytes as isize)
    }
    fn retract(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let r = K::get(col.arr, row);
        let name = if self.max { "MAX" } else { "MIN" };
        match st.get_mut(K::q(&r)) {
            None => Err(not_added(name)),
            Some(c) if *c > 1 => {
                *c -= 1;
                Ok(0)
            }
            Some(_) => match st.remove_entry(K::q(&r)) {
                Some((o, _)) => Ok(-((Self::ENTRY + K::heap(&o)) as isize)),
                None => Err(not_added(name)),
            },
        }
    }
    fn emit(&self, st: &Self::State, out: &mut K::Builder) {
        let e = if self.max {
            st.last_key_value()
        } else {
            st.first_key_value()
        };
        K::append(out, e.map(|(k, _)| K::view(k)))
    }
    fn is_empty(st: &Self::State) -> bool {
        st.is_empty()
    }
    fn heap(st: &Self::State) -> usize {
        st.keys().map(|k| Self::ENTRY + K::heap(k)).sum()
    }
    fn put(&self, st: &Self::State, w: &mut Vec<u8>) {
        put_var(w, st.len() as u64);
        for (k, c) in st {
            K::put(k, w);
            put_var(w, *c);
        }
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<Self::State> {
        let n = r.len()?;
        let mut st = BTreeMap::new();
        for _ in 0..n {
            let k = K::take(r)?;
            let c = r.count()?;
            if c == 0 || st.last_key_value().is_some_and(|(last, _)| *last >= k) {
                return Err(corrupt("bad MIN/MAX entry"));
            }
            st.insert(k, c);
        }
        Ok(st)
    }
}

// ---------------------------------------------------------------------------
// FIRST / LAST: the group's non-NULL values in arrival order.

/// MIN, MAX, FIRST or LAST of a batch window: events never leave, so one
/// value (the best, the first or the latest) is the whole state.
struct OneF<K, const KEEP: u8>(PhantomData<fn() -> K>);

/// Which value `OneF` keeps.
const KEEP_MIN: u8 = 0;
const KEEP_MAX: u8 = 1;
const KEEP_FIRST: u8 = 2;
const KEEP_LAST: u8 = 3;

/// The state of `OneF`: the value kept, and the non-NULL count.
struct One<K: Kind> {
    n: u64,
    v: Option<K::Own>,
}

impl<K: Kind> Default for One<K> {
    fn default() -> Self {
        One { n: 0, v: None }
    }
}

impl<K: Kind, const KEEP: u8> OneF<K, KEEP> {
    fn name(&self) -> &'static str {
        match KEEP {
            KEEP_MIN => "MIN",
            KEEP_MAX => "MAX",
            KEEP_FIRST => "FIRST",
            _ => "LAST",
        }
    }

    /// `new` replaces the value held.
    #[inline]
    fn replaces(&self, held: &Option<K::Own>, new: &K::Ref<'_>) -> bool {
        let Some(v) = held else {
            return true;
        };
        match KEEP {
            KEEP_MIN => cmp_own::<K>(v, new) == Ordering::Greater,
            KEEP_MAX => cmp_own::<K>(v, new) == Ordering::Less,
            KEEP_FIRST => false,
            _ => true,
        }
    }
}

impl<K: Kind, const KEEP: u8> Func for OneF<K, KEEP> {
    type State = One<K>;
    type Col<'a> = Column<'a, K::Arr>;
    type Out = K::Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Column<'_, K::Arr>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> K::Builder {
        K::builder(n)
    }
    #[inline]
    fn add(&self, st: &mut One<K>, col: &Column<'_, K::Arr>, row: usize, _: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        st.n += 1;
        let r = K::get(col.arr, row);
        if !self.replaces(&st.v, &r) {
            return Ok(0);
        }
        let o = K::own(r);
        let grown = K::heap(&o) as isize;
        let shrunk = st.v.as_ref().map_or(0, |v| K::heap(v)) as isize;
        st.v = Some(o);
        Ok(grown - shrunk)
    }
    fn retract(&self, _: &mut One<K>, _: &Column<'_, K::Arr>, _: usize, _: u64) -> Result<isize> {
        Err(Error::internal(format!(
            "{}: an add-only accumulator cannot retract",
            self.name()
        )))
    }
    #[inline]
    fn emit(&self, st: &One<K>, out: &mut K::Builder) {
        K::append(out, st.v.as_ref().map(|v| K::view(v)))
    }
    fn is_empty(st: &One<K>) -> bool {
        st.n == 0
    }
    fn heap(st: &One<K>) -> usize {
        st.v.as_ref().map_or(0, |v| K::heap(v))
    }
    fn put(&self, st: &One<K>, w: &mut Vec<u8>) {
        put_var(w, st.n);
        if let Some(v) = &st.v {
            K::put(v, w);
        }
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<One<K>> {
        let n = r.count()?;
        let v = if n > 0 { Some(K::take(r)?) } else { None };
        Ok(One { n, v })
    }
}

struct FirstLastF<K> {
    last: bool,
    fifo: bool,
    k: PhantomData<fn() -> K>,
}

impl<K: Kind> FirstLastF<K> {
    const ELEM: usize = size_of::<(u64, K::Own)>();

    fn name(&self) -> &'static str {
        if self.last {
            "LAST"
        } else {
            "FIRST"
        }
    }
}

impl<K: Kind> Func for FirstLastF<K> {
    type State = VecDeque<(u64, K::Own)>;
    type Col<'a> = Column<'a, K::Arr>;
    type Out = K::Builder;
    fn col(values: Option<&ArrayRef>) -> Result<(Column<'_, K::Arr>, usize)> {
        column(values)
    }
    fn out(&self, n: usize) -> K::Builder {
        K::builder(n)
    }
    #[inline]
    fn add(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, seq: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        if st.back().is_some_and(|b| b.0 >= seq) {
            return Err(out_of_order(self.name()));
        }
        let o = K::own(K::get(col.arr, row));
        let bytes = Self::ELEM + K::heap(&o);
        st.push_back((seq, o));
        Ok(bytes as isize)
    }
    #[inline]
    fn retract(&self, st: &mut Self::State, col: &Column<'_, K::Arr>, row: usize, seq: u64) -> Result<isize> {
        if !col.valid(row) {
            return Ok(0);
        }
        let at = if self.fifo {
            match st.front() {
                Some(f) if f.0 == seq => Some(0),
                _ => None,
            }
        } else {
            st.binary_search_by_key(&seq, |e| e.0).ok()
        };
        match at.and_then(|i| st.remove(i)) {
            Some((_, o)) => Ok(-((Self::ELEM + K::heap(&o)) as isize)),
            None => Err(not_added(self.name())),
        }
    }
    #[inline]
    fn emit(&self, st: &Self::State, out: &mut K::Builder) {
        let e = if self.last { st.back() } else { st.front() };
        K::append(out, e.map(|e| K::view(&e.1)))
    }
    fn is_empty(st: &Self::State) -> bool {
        st.is_empty()
    }
    fn heap(st: &Self::State) -> usize {
        st.iter().map(|e| Self::ELEM + K::heap(&e.1)).sum()
    }
    fn put(&self, st: &Self::State, w: &mut Vec<u8>) {
        put_var(w, st.len() as u64);
        for (s, o) in st {
            put_var(w, *s);
            K::put(o, w);
        }
    }
    fn take(&self, r: &mut Reader<'_>) -> Result<Self::State> {
        let n = r.len()?;
        let mut st: VecDeque<(u64, K::Own)> = VecDeque::with_capacity(n);
        for _ in 0..n {
            let s = r.var()?;
            let o = K::take(r)?;
            if st.back().is_some_and(|b| b.0 >= s) {
                return Err(corrupt("FIRST/LAST events out of order"));
            }
            st.push_back((s, o));
        }
        Ok(st)
    }
}

// ---------------------------------------------------------------------------
// Snapshot encoding: see `crate::state`.

fn corrupt(what: &str) -> Error {
    Error::new(Status::Corrupt, format!("aggregate snapshot: {what}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{
        AsArray, Float32Array, Float64Array, Int32Array, Int64Array, TimestampMillisecondArray,
    };

    use super::*;

    const TS: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);

    fn all_types() -> Vec<DataType> {
        vec![
            DataType::Boolean,
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
            DataType::Utf8,
            TS,
        ]
    }

    const ALL_FUNCS: [AggFunc; 11] = [
        AggFunc::CountStar,
        AggFunc::Count,
        AggFunc::CountDistinct,
        AggFunc::Sum,
        AggFunc::Avg,
        AggFunc::Min,
        AggFunc::Max,
        AggFunc::StddevPop,
        AggFunc::StddevSamp,
        AggFunc::First,
        AggFunc::Last,
    ];

    /// A test value; Int32, Int64 and TIMESTAMP use `I`, Float32 and Float64 `F`.
    #[derive(Clone, Debug, PartialEq)]
    enum V {
        B(bool),
        I(i64),
        F(f64),
        S(String),
    }

    impl V {
        fn b(&self) -> bool {
            match self {
                V::B(x) => *x,
                _ => panic!("not a bool: {self:?}"),
            }
        }
        fn i(&self) -> i64 {
            match self {
                V::I(x) => *x,
                _ => panic!("not an integer: {self:?}"),
            }
        }
        fn f(&self) -> f64 {
            match self {
                V::F(x) => *x,
                _ => panic!("not a float: {self:?}"),
            }
        }
        fn s(&self) -> &str {
            match self {
                V::S(x) => x,
                _ => panic!("not a string: {self:?}"),
            }
        }
    }

    fn i(x: i64) -> Option<V> {
        Some(V::I(x))
    }
    fn f(x: f64) -> Option<V> {
        Some(V::F(x))
    }
    fn s(x: &str) -> Option<V> {
        Some(V::S(x.to_string()))
    }

    fn array(dt: &DataType, vals: &[Option<V>]) -> ArrayRef {
        fn pick<T>(vals: &[Option<V>], f: impl Fn(&V) -> T) -> Vec<Option<T>> {
            vals.iter().map(|v| v.as_ref().map(&f)).collect()
        }
        match dt {
            DataType::Boolean => Arc::new(BooleanArray::from(pick(vals, V::b))),
            DataType::Int32 => Arc::new(Int32Array::from(pick(vals, |v| v.i() as i32))),
            DataType::Int64 => Arc::new(Int64Array::from(pick(vals, V::i))),
            DataType::Float32 => Arc::new(Float32Array::from(pick(vals, |v| v.f() as f32))),
            DataType::Float64 => Arc::new(Float64Array::from(pick(vals, V::f))),
            DataType::Utf8 => Arc::new(StringArray::from(pick(vals, |v| v.s().to_string()))),
            DataType::Timestamp(TimeUnit::Millisecond, None) => {
                Arc::new(TimestampMillisecondArray::from(pick(vals, V::i)))
            }
            other => panic!("no test arrays of {other}"),
        }
    }

    fn cells(a: &ArrayRef) -> Vec<Option<V>> {
        (0..a.len())
            .map(|k| {
                if a.is_null(k) {
                    return None;
                }
                Some(match a.data_type() {
                    DataType::Boolean => V::B(a.as_boolean().value(k)),
                    DataType::Int32 => V::I(a.as_primitive::<Int32Type>().value(k) as i64),
                    DataType::Int64 => V::I(a.as_primitive::<Int64Type>().value(k)),
                    DataType::Float32 => V::F(a.as_primitive::<Float32Type>().value(k) as f64),
                    DataType::Float64 => V::F(a.as_primitive::<Float64Type>().value(k)),
                    DataType::Utf8 => V::S(a.as_string::<i32>().value(k).to_string()),
                    DataType::Timestamp(TimeUnit::Millisecond, None) => {
                        V::I(a.as_primitive::<TimestampMillisecondType>().value(k))
                    }
                    other => panic!("unexpected output type {other}"),
                })
            })
            .collect()
    }

    /// Floats compared by bits (so -0.0 differs from 0.0 and NaN equals NaN).
    fn same(a: &Option<V>, b: &Option<V>) -> bool {
        match (a, b) {
            (Some(V::F(x)), Some(V::F(y))) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    fn assert_same(got: &[Option<V>], want: &[Option<V>]) {
        assert!(
            got.len() == want.len() && got.iter().zip(want).all(|(g, w)| same(g, w)),
            "got  {got:?}\nwant {want:?}"
        );
    }

    fn assert_close(got: &[Option<V>], want: &[Option<f64>]) {
        let ok = got.len() == want.len()
            && got.iter().zip(want).all(|(g, w)| match (g, w) {
                (None, None) => true,
                (Some(V::F(g)), Some(w)) => {
                    (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-12 * w.abs().max(1.0)
                }
                _ => false,
            });
        assert!(ok, "got  {got:?}\nwant {want:?}");
    }

    #[derive(Clone, Copy)]
    enum Step {
        Add(u32),
        Del(u32),
    }
    use Step::{Add as A, Del as R};

    /// One group; event k is row k with seq k. Emits after every step.
    fn script(
        func: AggFunc,
        dt: Option<&DataType>,
        fifo: bool,
        vals: &[Option<V>],
        steps: &[Step],
    ) -> Vec<Option<V>> {
        let mut acc = new_accumulator(func, dt, fifo).unwrap();
        let arr = dt.map(|t| array(t, vals));
        let ops: Vec<AggOp> = steps
            .iter()
            .map(|st| {
                let (k, retract) = match *st {
                    A(k) => (k, false),
                    R(k) => (k, true),
                };
                AggOp {
                    row: k,
                    group: 0,
                    seq: k as u64,
                    retract,
                    emit: true,
                }
            })
            .collect();
        acc.apply(arr.as_ref(), &ops).unwrap();
        cells(&acc.take_output())
    }

    /// Four values in ascending total order (Bool repeats itself).
    fn ordered(dt: &DataType) -> [V; 4] {
        match dt {
            DataType::Boolean => [V::B(false), V::B(false), V::B(true), V::B(true)],
            DataType::Int32 => [V::I(-5), V::I(0), V::I(7), V::I(i32::MAX as i64)],
            DataType::Int64 => [V::I(i64::MIN), V::I(-1), V::I(1), V::I(i64::MAX)],
            DataType::Float32 => [
                V::F(f64::NEG_INFINITY),
                V::F(-0.0),
                V::F(0.0),
                V::F(f32::NAN as f64),
            ],
            DataType::Float64 => [V::F(-0.0), V::F(0.0), V::F(f64::INFINITY), V::F(f64::NAN)],
            DataType::Utf8 => ["B", "a", "ab", "é"].map(|x| V::S(x.to_string())),
            _ => [
                V::I(-1),
                V::I(0),
                V::I(1_700_000_000_000),
                V::I(1_700_000_000_001),
            ],
        }
    }

    fn status<T>(r: Result<T>) -> Status {
        match r {
            Ok(_) => Status::Ok,
            Err(e) => e.status,
        }
    }

    #[test]
    fn names_and_lookup() {
        assert_eq!(AggFunc::from_name("count"), Some(AggFunc::Count));
        assert_eq!(AggFunc::from_name("Stddev"), Some(AggFunc::StddevSamp));
        assert_eq!(AggFunc::from_name("STDDEV_POP"), Some(AggFunc::StddevPop));
        assert_eq!(AggFunc::from_name("stddev_samp"), Some(AggFunc::StddevSamp));
        assert_eq!(AggFunc::from_name("last"), Some(AggFunc::Last));
        assert_eq!(AggFunc::from_name("median"), None);
        assert_eq!(AggFunc::from_name("count(*)"), None);
        for func in ALL_FUNCS {
            if ![AggFunc::CountStar, AggFunc::CountDistinct].contains(&func) {
                assert_eq!(AggFunc::from_name(func.name()), Some(func));
            }
        }
        assert_eq!(AggFunc::CountDistinct.name(), "COUNT(DISTINCT)");
        assert_eq!(AggFunc::CountStar.name(), "COUNT(*)");
    }

    #[test]
    fn result_types() {
        use AggFunc::*;
        use DataType::*;
        let ok = |func: AggFunc, arg: Option<&DataType>| func.result_type(arg).unwrap();
        assert_eq!(ok(CountStar, None), Int64);
        for t in all_types() {
            assert_eq!(ok(Count, Some(&t)), Int64);
            assert_eq!(ok(CountDistinct, Some(&t)), Int64);
            for func in [Min, Max, First, Last] {
                assert_eq!(ok(func, Some(&t)), t);
            }
        }
        assert_eq!(ok(Sum, Some(&Int32)), Int64);
        assert_eq!(ok(Sum, Some(&Int64)), Int64);
        assert_eq!(ok(Sum, Some(&Float32)), Float64);
        assert_eq!(ok(Sum, Some(&Float64)), Float64);
        for t in [Int32, Int64, Float32, Float64] {
            for func in [Avg, StddevPop, StddevSamp] {
                assert_eq!(ok(func, Some(&t)), Float64);
            }
        }
        let err = |func: AggFunc, arg: Option<&DataType>| func.result_type(arg).unwrap_err();
        assert_eq!(err(Sum, Some(&Utf8)), "SUM needs a numeric argument, got STRING");
        assert_eq!(err(Avg, Some(&Boolean)), "AVG needs a numeric argument, got BOOL");
        assert_eq!(err(Sum, Some(&TS)), "SUM needs a numeric argument, got TIMESTAMP");
        assert_eq!(
            err(StddevPop, Some(&Utf8)),
            "STDDEV_POP needs a numeric argument, got STRING"
        );
        assert_eq!(
            err(StddevSamp, Some(&TS)),
            "STDDEV_SAMP needs a numeric argument, got TIMESTAMP"
        );
        assert_eq!(err(Sum, None), "SUM needs an argument");
        assert_eq!(err(CountStar, Some(&Int64)), "COUNT(*) takes no argument");
        assert!(err(Min, Some(&Date32)).starts_with("MIN cannot take an argument of type"));
        assert_eq!(
            new_accumulator(Sum, Some(&Utf8), true).err().unwrap(),
            "SUM needs a numeric argument, got STRING"
        );
        assert!(new_accumulator(Count, Some(&Date32), true).is_err());
        for func in ALL_FUNCS {
            for t in all_types() {
                let arg = (func != CountStar).then_some(&t);
                if let Ok(rt) = func.result_type(arg) {
                    let mut acc = new_accumulator(func, arg, false).unwrap();
                    acc.emit_groups(&[0]);
                    assert_eq!(acc.take_output().data_type(), &rt, "{func:?}({t})");
                }
            }
        }
    }

    #[test]
    fn count_star_counts_nulls_too() {
        let vals = [None, i(1), None];
        for fifo in [true, false] {
            let got = script(
                AggFunc::CountStar,
                None,
                fifo,
                &vals,
                &[A(0), A(1), A(2), R(0), R(1), R(2)],
            );
            assert_same(&got, &[i(1), i(2), i(3), i(2), i(1), i(0)]);
        }
        let mut acc = new_accumulator(AggFunc::CountStar, None, true).unwrap();
        acc.emit_groups(&[3]);
        assert_same(&cells(&acc.take_output()), &[i(0)]);
        let del = AggOp {
            row: 0,
            group: 0,
            seq: 0,
            retract: true,
            emit: true,
        };
        assert_eq!(status(acc.apply(None, &[del])), Status::Internal);
    }

    #[test]
    fn count_ignores_nulls_for_every_type() {
        for t in all_types() {
            let v = ordered(&t);
            let vals = [Some(v[0].clone()), None, Some(v[1].clone()), None];
            for fifo in [true, false] {
                let steps = [A(0), A(1), A(2), R(0), R(1), A(3), R(2), R(3)];
                let got = script(AggFunc::Count, Some(&t), fifo, &vals, &steps);
                assert_same(&got, &[i(1), i(1), i(2), i(1), i(1), i(1), i(0), i(0)]);
            }
        }
    }

    #[test]
    fn count_distinct_for_every_type() {
        for t in all_types() {
            let v = ordered(&t);
            let (x, y) = (Some(v[0].clone()), Some(v[3].clone()));
            let vals = [x.clone(), x.clone(), y, None, x];
            for fifo in [true, false] {
                let steps = [A(0), A(1), A(2), A(3), R(0), R(1), A(4), R(2), R(4), R(3)];
                let got = script(AggFunc::CountDistinct, Some(&t), fifo, &vals, &steps);
                assert_same(
                    &got,
                    &[i(1), i(1), i(2), i(2), i(2), i(1), i(2), i(1), i(0), i(0)],
                );
            }
        }
    }

    #[test]
    fn count_distinct_treats_zeros_and_nans_as_one_value_each() {
        let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
        let vals = [f(0.0), f(-0.0), f(f64::NAN), f(other_nan), f(1.0)];
        for t in [DataType::Float32, DataType::Float64] {
            let steps = [A(0), A(1), A(2), A(3), A(4), R(0), R(2), R(1), R(3)];
            let got = script(AggFunc::CountDistinct, Some(&t), false, &vals, &steps);
            assert_same(&got, &[i(1), i(1), i(2), i(2), i(3), i(3), i(3), i(2), i(1)]);
        }
    }

    #[test]
    fn int_sum_is_exact_and_null_when_empty_or_out_of_range() {
        for t in [DataType::Int32, DataType::Int64] {
            let vals = [i(5), None, i(-3), i(7)];
            let steps = [A(0), A(1), A(2), R(0), A(3), R(2), R(3), R(1)];
            let got = script(AggFunc::Sum, Some(&t), true, &vals, &steps);
            assert_same(&got, &[i(5), i(5), i(2), i(-3), i(4), i(7), None, None]);
            let got = script(AggFunc::Sum, Some(&t), true, &[None], &[A(0)]);
            assert_same(&got, &[None]);
        }
        let vals = [i(i64::MAX), i(1), i(-5), i(i64::MIN), i(-1)];
        let steps = [A(0), A(1), A(2), R(1), R(0), R(2), A(3), A(4), R(3)];
        let got = script(AggFunc::Sum, Some(&DataType::Int64), false, &vals, &steps);
        let want = [
            i(i64::MAX),
            None,
            i(i64::MAX - 4),
            i(i64::MAX - 5),
            i(-5),
            None,
            i(i64::MIN),
            None,
            i(-1),
        ];
        assert_same(&got, &want);
        // Int32 sums cannot overflow Int64 here.
        let vals = [i(i32::MAX as i64), i(i32::MAX as i64), i(i32::MAX as i64)];
        let got = script(
            AggFunc::Sum,
            Some(&DataType::Int32),
            true,
            &vals,
            &[A(0), A(1), A(2)],
        );
        assert_same(&got, &[i(2147483647), i(4294967294), i(6442450941)]);
    }

    #[test]
    fn float_sum_compensates_adds_and_retractions() {
        let vals = [f(1e100), f(1.0), f(-1e100)];
        let steps = [A(0), A(1), A(2), R(1), R(0), R(2)];
        let got = script(AggFunc::Sum, Some(&DataType::Float64), false, &vals, &steps);
        assert_same(&got, &[f(1e100), f(1e100), f(1.0), f(0.0), f(-1e100), None]);
        let vals = [f(1.5), None, f(2.25)];
        let got = script(
            AggFunc::Sum,
            Some(&DataType::Float32),
            true,
            &vals,
            &[A(0), A(1), A(2), R(0), R(2)],
        );
        assert_same(&got, &[f(1.5), f(1.5), f(3.75), f(2.25), None]);
        // After the group empties the sum is exactly zero again.
        let vals = [f(0.1), f(0.2), f(0.3), f(0.7)];
        let steps = [A(0), A(1), A(2), R(0), R(1), R(2), A(3)];
        let got = script(AggFunc::Sum, Some(&DataType::Float64), true, &vals, &steps);
        assert_eq!(got[6], f(0.7));
        assert_eq!(got[5], None);
        // Ten thousand slides over values with no exact binary form leave no drift.
        let vals: Vec<Option<V>> = (0..10_000).map(|k| f(0.1 * (k % 7) as f64 + 1e6)).collect();
        let mut steps = Vec::new();
        for k in 0..10_000u32 {
            steps.push(A(k));
            if k >= 3 {
                steps.push(R(k - 3));
            }
        }
        let got = script(AggFunc::Sum, Some(&DataType::Float64), true, &vals, &steps);
        let exact: f64 = (9_997..10_000).map(|k| 0.1 * (k % 7) as f64 + 1e6).sum();
        assert!((got.last().unwrap().as_ref().unwrap().f() - exact).abs() < 1e-9);
    }

    #[test]
    fn float_sum_counts_infinities_and_nans_apart() {
        let vals = [f(f64::INFINITY), f(1.0), f(f64::NEG_INFINITY), f(f64::NAN)];
        for t in [DataType::Float32, DataType::Float64] {
            let steps = [A(0), A(1), A(2), R(0), R(2), A(3), R(3)];
            let got = script(AggFunc::Sum, Some(&t), true, &vals, &steps);
            let want = [
                f(f64::INFINITY),
                f(f64::INFINITY),
                f(f64::NAN),
                f(f64::NEG_INFINITY),
                f(1.0),
            ];
            assert_same(&got[..5], &want);
            assert!(got[5].as_ref().unwrap().f().is_nan());
            assert_same(&got[6..], &[f(1.0)]);
        }
    }

    #[test]
    fn avg_of_ints_is_exact_and_of_floats_compensated() {
        let vals = [i(i64::MAX), i(i64::MAX), None, i(1)];
        let got = script(
            AggFunc::Avg,
            Some(&DataType::Int64),
            true,
            &vals,
            &[A(0), A(1), A(2), R(0), R(1), A(3)],
        );
        let m = i64::MAX as f64;
        assert_same(&got, &[f(m), f(m), f(m), f(m), None, f(1.0)]);
        let vals = [i(i32::MAX as i64), i(1)];
        let got = script(
            AggFunc::Avg,
            Some(&DataType::Int32),
            false,
            &vals,
            &[A(0), A(1), R(0)],
        );
        assert_same(&got, &[f(2147483647.0), f(1073741824.0), f(1.0)]);
        for t in [DataType::Float32, DataType::Float64] {
            let vals = [f(1.0), f(2.0), None, f(4.0)];
            let steps = [A(0), A(1), A(2), A(3), R(0), R(1), R(3)];
            let got = script(AggFunc::Avg, Some(&t), true, &vals, &steps);
            assert_close(
                &got,
                &[
                    Some(1.0),
                    Some(1.5),
                    Some(1.5),
                    Some(7.0 / 3.0),
                    Some(3.0),
                    Some(4.0),
                    None,
                ],
            );
        }
    }

    #[test]
    fn min_max_for_every_type_and_window_kind() {
        for t in all_types() {
            let [v0, v1, v2, v3] = ordered(&t).map(Some);
            let vals = [v2.clone(), v0.clone(), v3.clone(), v1.clone(), None];
            let fifo_steps = [A(0), A(1), A(2), A(3), A(4), R(0), R(1), R(2), R(3), R(4)];
            let min = script(AggFunc::Min, Some(&t), true, &vals, &fifo_steps);
            let want = [&v2, &v0, &v0, &v0, &v0, &v0, &v1, &v1, &None, &None].map(Clone::clone);
            assert_same(&min, &want);
            let max = script(AggFunc::Max, Some(&t), true, &vals, &fifo_steps);
            let want = [&v2, &v2, &v3, &v3, &v3, &v3, &v3, &v1, &None, &None].map(Clone::clone);
            assert_same(&max, &want);
            for fifo in [true, false] {
                let got = script(AggFunc::Min, Some(&t), fifo, &vals, &fifo_steps);
                assert_same(&got, &min);
            }

            let any_steps = [A(0), A(1), A(2), A(3), R(2), R(1), A(4), R(3), R(0), R(4)];
            let got = script(AggFunc::Min, Some(&t), false, &vals, &any_steps);
            let want = [&v2, &v0, &v0, &v0, &v0, &v1, &v1, &v2, &None, &None].map(Clone::clone);
            assert_same(&got, &want);
            let got = script(AggFunc::Max, Some(&t), false, &vals, &any_steps);
            let want = [&v2, &v2, &v3, &v3, &v2, &v2, &v2, &v2, &None, &None].map(Clone::clone);
            assert_same(&got, &want);
        }
    }

    #[test]
    fn min_max_order_strings_by_bytes_and_floats_totally() {
        let vals = [s("apple"), s("Zebra"), s(""), s("äpfel")];
        let got = script(
            AggFunc::Min,
            Some(&DataType::Utf8),
            true,
            &vals,
            &[A(0), A(1), A(2), R(0), R(1), R(2)],
        );
        assert_same(&got, &[s("apple"), s("Zebra"), s(""), s(""), s(""), None]);
        let got = script(
            AggFunc::Max,
            Some(&DataType::Utf8),
            false,
            &vals,
            &[A(0), A(1), A(3), R(3)],
        );
        assert_same(&got, &[s("apple"), s("apple"), s("äpfel"), s("apple")]);
        let vals = [f(f64::INFINITY), f(f64::NAN), f(-0.0), f(0.0)];
        for t in [DataType::Float32, DataType::Float64] {
            let got = script(AggFunc::Max, Some(&t), true, &vals, &[A(0), A(1), R(0), R(1)]);
            assert_same(&got, &[f(f64::INFINITY), f(f64::NAN), f(f64::NAN), None]);
            let got = script(AggFunc::Min, Some(&t), false, &vals, &[A(3), A(2), R(2)]);
            assert_same(&got, &[f(0.0), f(-0.0), f(0.0)]);
        }
        let vals = [i(1_700_000_000_500), i(-86_400_000), i(0)];
        let got = script(
            AggFunc::Min,
            Some(&TS),
            true,
            &vals,
            &[A(0), A(1), A(2), R(0), R(1)],
        );
        assert_same(
            &got,
            &[
                i(1_700_000_000_500),
                i(-86_400_000),
                i(-86_400_000),
                i(-86_400_000),
                i(0),
            ],
        );
    }

    #[test]
    fn stddev_population_and_sample() {
        let data = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        for t in [
            DataType::Int32,
            DataType::Int64,
            DataType::Float32,
            DataType::Float64,
        ] {
            let vals: Vec<Option<V>> = data
                .iter()
                .map(|&x| if t.is_floating() { f(x) } else { i(x as i64) })
                .chain([None])
                .collect();
            let mut steps: Vec<Step> = (0..9).map(A).collect();
            steps.extend((0..9).map(R));
            let pop = script(AggFunc::StddevPop, Some(&t), true, &vals, &steps);
            let samp = script(AggFunc::StddevSamp, Some(&t), true, &vals, &steps);
            let (mut want_pop, mut want_samp) = (Vec::new(), Vec::new());
            let naive = |xs: &[f64], ddof: usize| {
                (xs.len() > ddof).then(|| {
                    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                    (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (xs.len() - ddof) as f64)
                        .sqrt()
                })
            };
            for k in 1..=9 {
                let held = &data[..k.min(8)];
                want_pop.push(naive(held, 0));
                want_samp.push(naive(held, 1));
            }
            for k in 1..=9 {
                let held = &data[k.min(8)..];
                want_pop.push(naive(held, 0));
                want_samp.push(naive(held, 1));
            }
            assert_close(&pop, &want_pop);
            assert_close(&samp, &want_samp);
            assert_eq!(pop[7], f(2.0));
            assert_eq!(pop[0], f(0.0));
            assert_eq!(samp[0], None);
            assert_eq!(pop[15], f(0.0));
            assert_eq!(samp[15], None);
            assert_eq!(pop[16], None);
            assert_eq!(pop[17], None);
        }
    }

    #[test]
    fn stddev_non_finite_and_large_offsets() {
        let vals = [f(1.0), f(f64::INFINITY), f(3.0), f(f64::NAN)];
        let steps = [A(0), A(1), R(1), A(2), A(3), R(3), R(0)];
        let got = script(AggFunc::StddevPop, Some(&DataType::Float64), true, &vals, &steps);
        assert_close(
            &got,
            &[
                Some(0.0),
                Some(f64::NAN),
                Some(0.0),
                Some(1.0),
                Some(f64::NAN),
                Some(1.0),
                Some(0.0),
            ],
        );
        // A window sliding over values with a large common offset keeps its precision.
        let xs: Vec<f64> = (0..2000).map(|k| 1e9 + ((k * 7919) % 13) as f64).collect();
        let vals: Vec<Option<V>> = xs.iter().map(|&x| f(x)).collect();
        let mut steps = Vec::new();
        for k in 0..2000u32 {
            steps.push(A(k));
            if k >= 50 {
                steps.push(R(k - 50));
            }
        }
        let got = script(AggFunc::StddevSamp, Some(&DataType::Float64), true, &vals, &steps);
        let held = &xs[1950..];
        let mean = held.iter().sum::<f64>() / 50.0;
        let want = (held.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 49.0).sqrt();
        let last = got.last().unwrap().as_ref().unwrap().f();
        assert!((last - want).abs() < 1e-6 * want, "{last} vs {want}");
    }

    #[test]
    fn first_last_for_every_type_and_window_kind() {
        for t in all_types() {
            let [v0, _, v2, v3] = ordered(&t).map(Some);
            let (x, y, z) = (v0, v3, v2);
            let vals = [x.clone(), None, y.clone(), z.clone()];
            let fifo_steps = [A(0), A(1), A(2), A(3), R(0), R(1), R(2), R(3)];
            for fifo in [true, false] {
                let got = script(AggFunc::First, Some(&t), fifo, &vals, &fifo_steps);
                let want = [&x, &x, &x, &x, &y, &y, &z, &None].map(Clone::clone);
                assert_same(&got, &want);
                let got = script(AggFunc::Last, Some(&t), fifo, &vals, &fifo_steps);
                let want = [&x, &x, &y, &z, &z, &z, &z, &None].map(Clone::clone);
                assert_same(&got, &want);
            }
            let any_steps = [A(0), A(1), A(2), A(3), R(2), R(0), R(3), R(1)];
            let got = script(AggFunc::First, Some(&t), false, &vals, &any_steps);
            assert_same(&got, &[&x, &x, &x, &x, &x, &z, &None, &None].map(Clone::clone));
            let got = script(AggFunc::Last, Some(&t), false, &vals, &any_steps);
            assert_same(&got, &[&x, &x, &y, &z, &z, &z, &None, &None].map(Clone::clone));
        }
    }

    fn op(row: u32, group: u32, seq: u64, retract: bool) -> AggOp {
        AggOp {
            row,
            group,
            seq,
            retract,
            emit: true,
        }
    }

    #[test]
    fn caller_bugs_are_errors_not_panics() {
        for func in ALL_FUNCS {
            for t in all_types() {
                let arg = (func != AggFunc::CountStar).then_some(&t);
                if func.result_type(arg).is_err() {
                    continue;
                }
                let v = ordered(&t);
                let col = array(&t, &[Some(v[1].clone()), Some(v[2].clone())]);
                for fifo in [true, false] {
                    let mut acc = new_accumulator(func, arg, fifo).unwrap();
                    // Never added.
                    assert_eq!(
                        status(acc.apply(Some(&col), &[op(0, 0, 5, true)])),
                        Status::Internal
                    );
                    if func != AggFunc::CountStar {
                        // A row outside the chunk (COUNT(*) reads no column).
                        assert_eq!(
                            status(acc.apply(Some(&col), &[op(2, 0, 5, false)])),
                            Status::Internal
                        );
                        assert_eq!(status(acc.apply(None, &[op(0, 0, 5, false)])), Status::Internal);
                        let wrong = if t == DataType::Utf8 {
                            array(&DataType::Int64, &[i(1)])
                        } else {
                            array(&DataType::Utf8, &[s("x")])
                        };
                        if func != AggFunc::Count {
                            assert_eq!(
                                status(acc.apply(Some(&wrong), &[op(0, 0, 5, false)])),
                                Status::Internal
                            );
                        }
                    }
                    // A state that held events still refuses a stranger.
                    acc.apply(Some(&col), &[op(0, 0, 5, false), op(0, 0, 5, true)])
                        .unwrap();
                    let r = acc.apply(Some(&col), &[op(0, 0, 5, true)]);
                    assert_eq!(status(r), Status::Internal, "{func:?}({t}) fifo={fifo}");
                }
            }
        }
        let col = array(&DataType::Int64, &[i(3), i(1), i(2)]);
        for func in [AggFunc::First, AggFunc::Last, AggFunc::Min, AggFunc::Max] {
            for fifo in [true, false] {
                let mut acc = new_accumulator(func, Some(&DataType::Int64), fifo).unwrap();
                acc.apply(Some(&col), &[op(0, 0, 10, false)]).unwrap();
                let r = acc.apply(Some(&col), &[op(1, 0, 10, false)]);
                let expected = if func == AggFunc::First || func == AggFunc::Last || fifo {
                    Status::Internal
                } else {
                    Status::Ok
                };
                assert_eq!(status(r), expected, "{func:?} fifo={fifo}");
            }
        }
        // FIFO windows must retract the oldest first.
        for func in [AggFunc::First, AggFunc::Min] {
            let mut acc = new_accumulator(func, Some(&DataType::Int64), true).unwrap();
            acc.apply(
                Some(&col),
                &[op(1, 0, 1, false), op(0, 0, 2, false), op(2, 0, 3, false)],
            )
            .unwrap();
            let r = acc.apply(Some(&col), &[op(0, 0, 2, true)]);
            assert_eq!(status(r), Status::Internal, "{func:?}");
        }
        // FIFO MIN: the only value held must be the one retracted.
        let mut acc = new_accumulator(AggFunc::Min, Some(&DataType::Int64), true).unwrap();
        acc.apply(Some(&col), &[op(1, 0, 4, false)]).unwrap();
        assert_eq!(
            status(acc.apply(Some(&col), &[op(1, 0, 3, true)])),
            Status::Internal
        );
        // Non-FIFO FIRST: an unknown seq between held ones.
        let mut acc = new_accumulator(AggFunc::First, Some(&DataType::Int64), false).unwrap();
        acc.apply(Some(&col), &[op(0, 0, 1, false), op(1, 0, 3, false)])
            .unwrap();
        assert_eq!(
            status(acc.apply(Some(&col), &[op(0, 0, 2, true)])),
            Status::Internal
        );
        // Float sums know which infinities they hold.
        let fcol = array(&DataType::Float64, &[f(1.0), f(f64::INFINITY), f(f64::NAN)]);
        let mut acc = new_accumulator(AggFunc::Sum, Some(&DataType::Float64), true).unwrap();
        acc.apply(Some(&fcol), &[op(1, 0, 1, false)]).unwrap();
        assert_eq!(
            status(acc.apply(Some(&fcol), &[op(0, 0, 1, true)])),
            Status::Internal
        );
        assert_eq!(
            status(acc.apply(Some(&fcol), &[op(2, 0, 1, true)])),
            Status::Internal
        );
    }

    #[test]
    fn groups_are_independent_and_reset_starts_empty() {
        let col = array(&DataType::Int64, &[i(10), i(20), i(30)]);
        let mut acc = new_accumulator(AggFunc::Sum, Some(&DataType::Int64), true).unwrap();
        let quiet = |row, group, seq| AggOp {
            emit: false,
            ..op(row, group, seq, false)
        };
        acc.apply(Some(&col), &[quiet(0, 0, 1), quiet(1, 1, 2), quiet(2, 1, 3)])
            .unwrap();
        acc.emit_groups(&[1, 0, 7]);
        assert_same(&cells(&acc.take_output()), &[i(50), i(10), None]);
        assert!(cells(&acc.take_output()).is_empty());
        // Several ids at once, one never made: the others keep their state.
        acc.reset_groups(&[9, 1]);
        acc.emit_groups(&[0, 1]);
        acc.apply(Some(&col), &[op(2, 1, 9, false)]).unwrap();
        assert_same(&cells(&acc.take_output()), &[i(10), None, i(30)]);
        acc.clear();
        acc.emit_groups(&[0, 1]);
        assert_same(&cells(&acc.take_output()), &[None, None]);
        let mut acc = new_accumulator(AggFunc::Last, Some(&DataType::Int64), true).unwrap();
        acc.apply(Some(&col), &[quiet(0, 2, 1), quiet(1, 2, 2)]).unwrap();
        acc.reset_groups(&[2]);
        acc.apply(Some(&col), &[op(2, 2, 3, false), op(2, 2, 3, true)])
            .unwrap();
        assert_same(&cells(&acc.take_output()), &[i(30), None]);
    }

    // -----------------------------------------------------------------------
    // Randomized differential tests against recomputation over the live events.

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// Small domains, so values repeat; `tame` keeps integers small enough
    /// that STDDEV's floating-point error stays within the comparison tolerance.
    fn gen_value(dt: &DataType, rng: &mut Rng, tame: bool) -> Option<V> {
        if rng.chance(15) {
            return None;
        }
        let special = rng.chance(8);
        let small = rng.below(41) as i64 - 20;
        Some(match dt {
            DataType::Boolean => V::B(rng.chance(50)),
            DataType::Int32 if special && !tame => V::I([i32::MIN, i32::MAX][rng.below(2) as usize] as i64),
            DataType::Int64 if special && !tame => {
                V::I([i64::MIN, i64::MAX, 1 << 62, -(1 << 62)][rng.below(4) as usize])
            }
            DataType::Int32 | DataType::Int64 => V::I(small),
            DataType::Float32 | DataType::Float64 if special => {
                V::F([0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.below(5) as usize])
            }
            DataType::Float32 | DataType::Float64 => V::F(small as f64 / 4.0),
            DataType::Utf8 => {
                V::S(["", "a", "B", "ab", "é", "zz", "a\u{0}", "abc"][rng.below(8) as usize].to_string())
            }
            _ => V::I(1_700_000_000_000 + small),
        })
    }

    fn total_cmp(a: &V, b: &V) -> Ordering {
        match (a, b) {
            (V::B(x), V::B(y)) => x.cmp(y),
            (V::I(x), V::I(y)) => x.cmp(y),
            (V::F(x), V::F(y)) => x.total_cmp(y),
            (V::S(x), V::S(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => panic!("mixed values"),
        }
    }

    fn distinct_key(v: &V) -> (i64, String) {
        match v {
            V::B(x) => (*x as i64, String::new()),
            V::I(x) => (*x, String::new()),
            V::F(x) if *x == 0.0 => (0, String::new()),
            V::F(x) if x.is_nan() => (1, String::new()),
            V::F(x) => (x.to_bits() as i64, String::new()),
            V::S(x) => (0, x.clone()),
        }
    }

    fn float_sum(xs: &[f64]) -> f64 {
        let (nan, pos, neg) = (
            xs.iter().any(|x| x.is_nan()),
            xs.contains(&f64::INFINITY),
            xs.contains(&f64::NEG_INFINITY),
        );
        if nan || (pos && neg) {
            f64::NAN
        } else if pos {
            f64::INFINITY
        } else if neg {
            f64::NEG_INFINITY
        } else {
            xs.iter().sum()
        }
    }

    fn naive(func: AggFunc, dt: &DataType, live: &[(u64, Option<V>)]) -> Option<V> {
        let vals: Vec<&V> = live.iter().filter_map(|(_, v)| v.as_ref()).collect();
        let int = matches!(dt, DataType::Int32 | DataType::Int64);
        let floats = || -> Vec<f64> {
            vals.iter()
                .map(|v| if int { v.i() as f64 } else { v.f() })
                .collect()
        };
        let isum = || -> i128 { vals.iter().map(|v| v.i() as i128).sum() };
        use AggFunc::*;
        match func {
            CountStar => i(live.len() as i64),
            Count => i(vals.len() as i64),
            CountDistinct => {
                let mut keys: Vec<_> = vals.iter().map(|v| distinct_key(v)).collect();
                keys.sort();
                keys.dedup();
                i(keys.len() as i64)
            }
            _ if vals.is_empty() => None,
            Sum if int => i64::try_from(isum()).ok().map(V::I),
            Sum => f(float_sum(&floats())),
            Avg if int => f(isum() as f64 / vals.len() as f64),
            Avg => f(float_sum(&floats()) / vals.len() as f64),
            Min => vals.into_iter().min_by(|a, b| total_cmp(a, b)).cloned(),
            Max => vals.into_iter().max_by(|a, b| total_cmp(a, b)).cloned(),
            First => vals.first().map(|v| (*v).clone()),
            Last => vals.last().map(|v| (*v).clone()),
            StddevPop | StddevSamp => {
                let xs = floats();
                let ddof = (func == StddevSamp) as usize;
                if xs.len() <= ddof {
                    None
                } else if xs.iter().any(|x| !x.is_finite()) {
                    f(f64::NAN)
                } else {
                    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
                    f((ss / (xs.len() - ddof) as f64).sqrt())
                }
            }
        }
    }

    fn agrees(func: AggFunc, got: &Option<V>, want: &Option<V>) -> bool {
        use AggFunc::*;
        match (got, want) {
            (Some(V::F(a)), Some(V::F(b))) => match func {
                Min | Max | First | Last => a.to_bits() == b.to_bits(),
                _ if a.is_nan() || b.is_nan() => a.is_nan() && b.is_nan(),
                _ if a == b => true,
                // Compare variances: a square root magnifies the rounding of a zero spread.
                StddevPop | StddevSamp => (a * a - b * b).abs() <= 1e-9 * (1.0 + b * b),
                _ => (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
            },
            _ => got == want,
        }
    }

    fn differential(func: AggFunc, dt: &DataType, fifo: bool, seed: u64) {
        const GROUPS: u64 = 5;
        let arg = (func != AggFunc::CountStar).then_some(dt);
        let tame = matches!(func, AggFunc::StddevPop | AggFunc::StddevSamp);
        let mut rng = Rng(seed);
        let mut acc = new_accumulator(func, arg, fifo).unwrap();
        let mut live: Vec<Vec<(u64, Option<V>)>> = vec![Vec::new(); GROUPS as usize];
        let mut seq = 0u64;
        let mut total_ops = 0;
        for batch in 0..160 {
            // Phases of growth and shrinkage, so groups both fill and empty.
            let retract_pct = if (batch / 20) % 2 == 0 { 35 } else { 65 };
            let (mut chunk, mut ops, mut want) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rng.below(30) + 1 {
                let g = rng.below(GROUPS) as usize;
                let held = &mut live[g];
                let retract = !held.is_empty() && rng.chance(retract_pct);
                let (s, v) = if retract {
                    let k = if fifo {
                        0
                    } else {
                        rng.below(held.len() as u64) as usize
                    };
                    held.remove(k)
                } else {
                    seq += 1;
                    let v = gen_value(dt, &mut rng, tame);
                    held.push((seq, v.clone()));
                    (seq, v)
                };
                let emit = rng.chance(80);
                ops.push(AggOp {
                    row: chunk.len() as u32,
                    group: g as u32,
                    seq: s,
                    retract,
                    emit,
                });
                chunk.push(v);
                if emit {
                    want.push(naive(func, dt, held));
                }
            }
            total_ops += ops.len();
            let col = array(dt, &chunk);
            acc.apply(arg.map(|_| &col), &ops).unwrap();
            if rng.chance(20) {
                let gs: Vec<u32> = (0..3).map(|_| rng.below(GROUPS + 2) as u32).collect();
                acc.emit_groups(&gs);
                for g in gs {
                    want.push(naive(func, dt, live.get(g as usize).map_or(&[], |l| l)));
                }
            }
            let got = cells(&acc.take_output());
            assert_eq!(got.len(), want.len());
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    agrees(func, g, w),
                    "{func:?}({dt}) fifo={fifo} batch {batch} result {k}: got {g:?}, want {w:?}"
                );
            }
            if rng.chance(3) {
                let g = rng.below(GROUPS) as usize;
                acc.reset_groups(&[g as u32]);
                live[g].clear();
            }
            if rng.chance(10) {
                // Continue on a restored copy: it must behave identically from here on.
                let mut snap = Vec::new();
                acc.snapshot(&mut snap);
                let mut copy = new_accumulator(func, arg, fifo).unwrap();
                copy.restore(&snap).unwrap();
                assert_eq!(copy.state_bytes(), acc.state_bytes(), "{func:?}({dt})");
                let mut again = Vec::new();
                copy.snapshot(&mut again);
                assert_eq!(again, snap);
                acc = copy;
            }
        }
        assert!(total_ops > 1500);
        acc.clear();
        assert_eq!(acc.state_bytes(), 0);
    }

    #[test]
    fn randomized_against_recomputation() {
        let mut runs = 0;
        for (n, func) in ALL_FUNCS.into_iter().enumerate() {
            for (m, t) in all_types().iter().enumerate() {
                let arg = (func != AggFunc::CountStar).then_some(t);
                if func.result_type(arg).is_err() || (func == AggFunc::CountStar && *t != DataType::Int64) {
                    continue;
                }
                for fifo in [true, false] {
                    differential(
                        func,
                        t,
                        fifo,
                        0x9E37_79B9_7F4A_7C15 ^ ((n * 31 + m) as u64 * 2 + fifo as u64),
                    );
                    runs += 1;
                }
            }
        }
        assert_eq!(runs, 2 * (1 + 7 + 7 + 4 + 4 + 7 + 7 + 4 + 4 + 7 + 7));
    }

    /// `slide` is `apply` of the same ops: a length window of 1 to 9 events
    /// over batches of 1 to 30 rows, every function and type, FIFO mode.
    /// Outputs, state sizes and snapshots must be identical; a slide naming
    /// rows past the chunk is an error.
    #[test]
    fn slide_equals_apply_of_its_ops() {
        let mut runs = 0;
        for (n, func) in ALL_FUNCS.into_iter().enumerate() {
            for (m, t) in all_types().iter().enumerate() {
                let arg = (func != AggFunc::CountStar).then_some(t);
                if func.result_type(arg).is_err() || (func == AggFunc::CountStar && *t != DataType::Int64) {
                    continue;
                }
                runs += 1;
                let mut rng = Rng(0x2F1E_55A3_0C4B_9D17 ^ (n * 131 + m) as u64);
                let mut slid = new_accumulator(func, arg, Retraction::Fifo).unwrap();
                let mut applied = new_accumulator(func, arg, Retraction::Fifo).unwrap();
                let len = 1 + rng.below(9) as usize;
                // The window's values, oldest first, and the next number.
                let mut window: Vec<Option<V>> = Vec::new();
                let mut seq = 0u64;
                for _ in 0..60 {
                    let arrivals: Vec<Option<V>> = (0..1 + rng.below(30))
                        .map(|_| gen_value(t, &mut rng, true))
                        .collect();
                    let quiet = (len - window.len()).min(arrivals.len());
                    let old = (arrivals.len() - quiet).min(window.len());
                    let mut chunk: Vec<Option<V>> = window[..old].to_vec();
                    chunk.extend(arrivals.iter().cloned());
                    let s = Slide {
                        group: 0,
                        old,
                        arrivals: arrivals.len(),
                        quiet,
                        dep_seq: seq - window.len() as u64,
                        arr_seq: seq,
                    };
                    let col = array(t, &chunk);
                    slid.slide(arg.map(|_| &col), s).unwrap();
                    applied.apply(arg.map(|_| &col), &s.ops()).unwrap();
                    let (a, b) = (cells(&slid.take_output()), cells(&applied.take_output()));
                    assert_eq!(a.len(), arrivals.len(), "{func:?}({t})");
                    assert!(
                        a.iter()
                            .zip(&b)
                            .all(|(x, y)| format!("{x:?}") == format!("{y:?}")),
                        "{func:?}({t}): {a:?} vs {b:?}"
                    );
                    assert_eq!(slid.state_bytes(), applied.state_bytes(), "{func:?}({t})");
                    window.extend(arrivals);
                    let over = window.len().saturating_sub(len);
                    window.drain(..over);
                    seq += a.len() as u64;
                }
                let (mut x, mut y) = (Vec::new(), Vec::new());
                slid.snapshot(&mut x);
                applied.snapshot(&mut y);
                assert_eq!(x, y, "{func:?}({t})");
                let col = array(t, &[gen_value(t, &mut rng, true)]);
                let past = Slide {
                    group: 0,
                    old: 1,
                    arrivals: 1,
                    quiet: 1,
                    dep_seq: 0,
                    arr_seq: seq,
                };
                if arg.is_some() {
                    assert_eq!(status(slid.slide(arg.map(|_| &col), past)), Status::Internal);
                }
            }
        }
        assert_eq!(runs, 1 + 7 + 7 + 4 + 4 + 7 + 7 + 4 + 4 + 7 + 7);
    }

    /// The add-only accumulators of batch windows (`Retraction::Never`,
    /// fed by `add_rows`) against recomputation, with resets and snapshot
    /// round trips; they refuse retraction, and `add_rows` is theirs only.
    #[test]
    fn add_only_against_recomputation() {
        let mut runs = 0;
        for (n, func) in ALL_FUNCS.into_iter().enumerate() {
            for (m, t) in all_types().iter().enumerate() {
                let arg = (func != AggFunc::CountStar).then_some(t);
                if func.result_type(arg).is_err() || (func == AggFunc::CountStar && *t != DataType::Int64) {
                    continue;
                }
                runs += 1;
                let mut rng = Rng(0x51_7CC1_B727_220A ^ (n * 131 + m) as u64);
                let mut acc = new_accumulator(func, arg, Retraction::Never).unwrap();
                let mut live: Vec<Vec<(u64, Option<V>)>> = vec![Vec::new(); 6];
                let mut seq = 0;
                for _ in 0..120 {
                    let len = rng.below(40) as usize + 1;
                    let chunk: Vec<Option<V>> = (0..len).map(|_| gen_value(t, &mut rng, true)).collect();
                    // Rows in any order, some twice, some not at all.
                    let rows: Vec<u32> = (0..len).map(|_| rng.below(len as u64) as u32).collect();
                    let groups: Vec<u32> = rows.iter().map(|_| rng.below(6) as u32).collect();
                    for (&r, &g) in rows.iter().zip(&groups) {
                        seq += 1;
                        live[g as usize].push((seq, chunk[r as usize].clone()));
                    }
                    let col = array(t, &chunk);
                    acc.add_rows(arg.map(|_| &col), &rows, &groups).unwrap();
                    let ids: Vec<u32> = (0..7).collect();
                    acc.emit_groups(&ids);
                    let got = cells(&acc.take_output());
                    for (g, got) in got.iter().enumerate() {
                        let want = naive(func, t, live.get(g).map_or(&[], |l| l));
                        assert!(
                            agrees(func, got, &want),
                            "{func:?}({t}) group {g}: {got:?} vs {want:?}"
                        );
                    }
                    if rng.chance(15) {
                        let g = rng.below(6) as usize;
                        acc.reset_groups(&[g as u32]);
                        live[g].clear();
                    }
                    if rng.chance(15) {
                        let mut snap = Vec::new();
                        acc.snapshot(&mut snap);
                        let mut copy = new_accumulator(func, arg, Retraction::Never).unwrap();
                        copy.restore(&snap)
                            .unwrap_or_else(|e| panic!("{func:?}({t}): {e}"));
                        assert_eq!(copy.state_bytes(), acc.state_bytes(), "{func:?}({t})");
                        let mut again = Vec::new();
                        copy.snapshot(&mut again);
                        assert_eq!(again, snap, "{func:?}({t})");
                        acc = copy;
                    }
                }
                let col = array(t, &[gen_value(t, &mut rng, true)]);
                let ops = [AggOp {
                    row: 0,
                    group: 0,
                    seq: seq + 1,
                    retract: true,
                    emit: false,
                }];
                let r = acc.apply(arg.map(|_| &col), &ops);
                let mut fifo = new_accumulator(func, arg, Retraction::Fifo).unwrap();
                assert_eq!(
                    status(fifo.add_rows(arg.map(|_| &col), &[0], &[0])),
                    Status::Internal
                );
                // Bounds are checked once per call: a row past the chunk
                // anywhere in the run is refused, and nothing is added.
                // (COUNT(*) reads no column, so it has no rows to run past.)
                let mut fresh = new_accumulator(func, arg, Retraction::Never).unwrap();
                if func != AggFunc::CountStar {
                    assert_eq!(
                        status(fresh.add_rows(arg.map(|_| &col), &[0, 0, 1, 0], &[0, 1, 2, 3])),
                        Status::Internal,
                        "{func:?}({t})"
                    );
                }
                fresh.add_rows(arg.map(|_| &col), &[], &[]).unwrap();
                fresh.add_rows(arg.map(|_| &col), &[0], &[900]).unwrap();
                fresh.emit_groups(&[0, 900]);
                let out = fresh.take_output();
                assert_eq!(out.len(), 2, "{func:?}({t})");
                assert_eq!(
                    out.is_null(0),
                    !matches!(func, AggFunc::Count | AggFunc::CountStar | AggFunc::CountDistinct),
                    "{func:?}({t}): group 0 got nothing"
                );
                // The one-value states cannot take an event back: refused.
                if matches!(func, AggFunc::Min | AggFunc::Max | AggFunc::First | AggFunc::Last) {
                    assert_eq!(status(r), Status::Internal, "{func:?}({t})");
                }
            }
        }
        assert_eq!(runs, 1 + 7 + 7 + 4 + 4 + 7 + 7 + 4 + 4 + 7 + 7);
    }

    // -----------------------------------------------------------------------
    // Snapshots and state size.

    /// An accumulator with a few groups of varied state.
    fn filled(func: AggFunc, dt: &DataType, fifo: bool) -> Box<dyn GroupsAccumulator> {
        let arg = (func != AggFunc::CountStar).then_some(dt);
        let mut acc = new_accumulator(func, arg, fifo).unwrap();
        let mut rng = Rng(77);
        let vals: Vec<Option<V>> = (0..40).map(|_| gen_value(dt, &mut rng, false)).collect();
        let col = array(dt, &vals);
        let ops: Vec<AggOp> = (0..40)
            .map(|k| AggOp {
                row: k,
                group: k % 3,
                seq: k as u64 + 1,
                retract: false,
                emit: false,
            })
            .chain((0..5).map(|k| AggOp {
                row: k,
                group: k % 3,
                seq: k as u64 + 1,
                retract: true,
                emit: false,
            }))
            .collect();
        acc.apply(arg.map(|_| &col), &ops).unwrap();
        acc
    }

    fn results(acc: &mut Box<dyn GroupsAccumulator>) -> Vec<Option<V>> {
        acc.emit_groups(&[0, 1, 2, 3]);
        cells(&acc.take_output())
    }

    #[test]
    fn snapshot_restores_identical_results() {
        for func in ALL_FUNCS {
            for t in all_types() {
                let arg = (func != AggFunc::CountStar).then_some(&t);
                if func.result_type(arg).is_err() {
                    continue;
                }
                for fifo in [true, false] {
                    let mut acc = filled(func, &t, fifo);
                    let mut snap = Vec::new();
                    acc.snapshot(&mut snap);
                    let mut copy = new_accumulator(func, arg, fifo).unwrap();
                    copy.restore(&snap).unwrap();
                    assert_same(&results(&mut copy), &results(&mut acc));
                    // Further events land the same way on both.
                    let col = array(
                        &t,
                        &[gen_value(&t, &mut Rng(5), false), Some(ordered(&t)[2].clone())],
                    );
                    let more = [
                        op(1, 0, 100, false),
                        op(0, 1, 101, false),
                        op(1, 3, 102, false),
                        op(1, 3, 102, true),
                    ];
                    acc.apply(arg.map(|_| &col), &more).unwrap();
                    copy.apply(arg.map(|_| &col), &more).unwrap();
                    assert_same(&cells(&copy.take_output()), &cells(&acc.take_output()));
                    assert_same(&results(&mut copy), &results(&mut acc));
                }
            }
        }
    }

    #[test]
    fn malformed_snapshots_are_corrupt_and_change_nothing() {
        let mut rng = Rng(0xC0FFEE);
        for func in ALL_FUNCS {
            for t in all_types() {
                let arg = (func != AggFunc::CountStar).then_some(&t);
                if func.result_type(arg).is_err() {
                    continue;
                }
                for fifo in [true, false] {
                    let mut acc = filled(func, &t, fifo);
                    let mut snap = Vec::new();
                    acc.snapshot(&mut snap);
                    let before = results(&mut acc);
                    for cut in 0..snap.len() {
                        assert_eq!(
                            status(acc.restore(&snap[..cut])),
                            Status::Corrupt,
                            "{func:?} cut {cut}"
                        );
                    }
                    let mut long = snap.clone();
                    long.push(0);
                    assert_eq!(status(acc.restore(&long)), Status::Corrupt);
                    for _ in 0..200 {
                        let garbage: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
                        assert_eq!(status(acc.restore(&garbage)), Status::Corrupt);
                    }
                    assert_same(&results(&mut acc), &before);
                    // Flipped bytes past the header: either refused or a usable state, never a panic.
                    for _ in 0..200 {
                        let mut bad = snap.clone();
                        let k = 7 + rng.below((bad.len() - 7) as u64) as usize;
                        bad[k] ^= 1 << rng.below(8);
                        let mut victim = new_accumulator(func, arg, fifo).unwrap();
                        if victim.restore(&bad).is_ok() {
                            results(&mut victim);
                            victim.state_bytes();
                        }
                    }
                }
            }
        }
        // A snapshot restores only into the same kind of aggregate.
        let mut snap = Vec::new();
        filled(AggFunc::Sum, &DataType::Int64, true).snapshot(&mut snap);
        for (func, t, fifo) in [
            (AggFunc::Min, DataType::Int64, true),
            (AggFunc::Sum, DataType::Int32, true),
            (AggFunc::Sum, DataType::Int64, false),
        ] {
            let mut other = new_accumulator(func, Some(&t), fifo).unwrap();
            assert_eq!(status(other.restore(&snap)), Status::Corrupt);
        }
    }

    #[test]
    fn state_bytes_follow_values_held() {
        let strings: Vec<Option<V>> = (0..200).map(|k| s(&format!("value number {k:04}"))).collect();
        let col = array(&DataType::Utf8, &strings);
        for (func, fifo) in [
            (AggFunc::Min, false),
            (AggFunc::Max, true),
            (AggFunc::First, true),
            (AggFunc::Last, false),
            (AggFunc::CountDistinct, true),
        ] {
            let mut acc = new_accumulator(func, Some(&DataType::Utf8), fifo).unwrap();
            assert_eq!(acc.state_bytes(), 0);
            let mut last = 0;
            for k in 0..200u32 {
                // Ascending strings: MAX's deque keeps only the newest, so feed MAX a MIN-like order.
                let row = if func == AggFunc::Max { 199 - k } else { k };
                acc.apply(Some(&col), &[op(row, k % 4, k as u64 + 1, false)])
                    .unwrap();
                let now = acc.state_bytes();
                assert!(now > last, "{func:?}: {now} after {last}");
                last = now;
            }
            assert!(last > 200 * 16, "{func:?}: {last}");
            for g in [3, 1, 2, 0] {
                acc.reset_groups(&[g]);
                let now = acc.state_bytes();
                assert!(now < last, "{func:?}: {now} after reset, {last} before");
                last = now;
            }
            assert_eq!(last, 0);
        }
        // Fixed-size states grow with groups and shrink as the top ones are freed.
        let col = array(&DataType::Float64, &[f(1.0)]);
        let mut acc = new_accumulator(AggFunc::StddevSamp, Some(&DataType::Float64), true).unwrap();
        let ops: Vec<AggOp> = (0..100).map(|g| op(0, g, 1, false)).collect();
        acc.apply(Some(&col), &ops[..10]).unwrap();
        let ten = acc.state_bytes();
        acc.apply(Some(&col), &ops).unwrap();
        let hundred = acc.state_bytes();
        assert!(ten > 0 && hundred >= 10 * ten - 10, "{ten} {hundred}");
        for g in 50..100 {
            acc.reset_groups(&[g]);
        }
        assert!(acc.state_bytes() < hundred);
        acc.reset_groups(&[0]);
        assert!(acc.state_bytes() < hundred);
        acc.clear();
        assert_eq!(acc.state_bytes(), 0);
        // A FIFO MIN drops values that can no longer win.
        let col = array(
            &DataType::Int64,
            &(0..100).map(|k| i(100 - k)).collect::<Vec<_>>(),
        );
        let mut acc = new_accumulator(AggFunc::Min, Some(&DataType::Int64), true).unwrap();
        let ops: Vec<AggOp> = (0..100).map(|k| op(k, 0, k as u64 + 1, false)).collect();
        acc.apply(Some(&col), &ops).unwrap();
        let mut fresh = new_accumulator(AggFunc::Min, Some(&DataType::Int64), true).unwrap();
        fresh.apply(Some(&col), &ops[99..]).unwrap();
        assert_eq!(acc.state_bytes(), fresh.state_bytes());
    }
}
