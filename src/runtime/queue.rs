//! The bounded single-producer, single-consumer queue between one input
//! handle and the worker.
//!
//! Rows are written in place into a ring laid out for the stream's schema:
//! one 8-byte cell per column per slot, a validity bitmap per slot, and a
//! circular byte arena for string data. Nothing is allocated per row; the
//! producer pays a few stores and one release-store of `tail`. The worker
//! copies whole runs of rows out into Arrow arrays (one allocation per column
//! per run, not per row), so a per-event host and an Arrow host meet the same
//! operators. Arrow batches travel in a side FIFO, with a marker slot in the
//! ring so rows and batches of one input keep their order.
//!
//! Overflow: `block` waits for room; `drop_newest` refuses the new item and
//! counts it; `drop_oldest` lets the producer advance `head` itself with a
//! CAS. While the worker copies rows out it sets the READING bit in `head`,
//! so the producer never evicts a slot that is being read.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array};
use arrow::array::{RecordBatch, StringArray, TimestampMillisecondArray};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, SchemaRef};
use crossbeam_utils::CachePadded;

use super::options::Overflow;
use super::stats::StreamStats;
use crate::error::{Error, Result, Status};
use crate::types::SqlType;

const READING: u64 = 1 << 63;
/// Set in `tail` when the engine closes: no push can land after it.
const SEALED: u64 = 1 << 62;

const SLOT_ROW: u8 = 0;
const SLOT_BATCH: u8 = 1;
const SLOT_CLOSE: u8 = 2;
/// A host watermark; its value sits in the slot's first cell.
const SLOT_WATERMARK: u8 = 3;

/// How a column is stored in its 8-byte cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ColKind {
    Bool,
    I32,
    I64,
    F32,
    F64,
    /// (arena offset << 32) | byte length
    Str,
    Ts,
}

impl ColKind {
    pub(crate) fn of(dt: &DataType) -> ColKind {
        match SqlType::from_arrow(dt) {
            Some(SqlType::Bool) => ColKind::Bool,
            Some(SqlType::Int) => ColKind::I32,
            Some(SqlType::BigInt) => ColKind::I64,
            Some(SqlType::Float) => ColKind::F32,
            Some(SqlType::Double) => ColKind::F64,
            Some(SqlType::String) => ColKind::Str,
            Some(SqlType::Timestamp) => ColKind::Ts,
            // Streams are built from SqlType only.
            None => ColKind::I64,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Meta {
    kind: u8,
    /// Absolute arena position where this slot's string bytes begin
    /// (including any bytes skipped to stay contiguous).
    arena_start: u64,
}

/// What the worker takes out of a queue, in push order.
pub(crate) enum Item {
    Batch(RecordBatch),
    /// The host declared that no row with an earlier event time follows.
    Watermark(i64),
    /// The producer closed its input.
    Close,
}

/// A count an engine's input queues share. Once a query needs rows of
/// different streams in the order they were pushed (semantics.md, "Arrival
/// order across streams"), `enabled` is set and every pushed item takes the
/// next number, so the runner can take the items of several inputs in push
/// order. Until then a push pays one relaxed load.
#[derive(Default)]
pub(crate) struct PushOrder {
    pub(crate) enabled: AtomicBool,
    next: AtomicU64,
}

impl PushOrder {
    /// The next item's number, or 0 (no order) while not enabled.
    #[inline]
    fn stamp(&self) -> u64 {
        if self.enabled.load(Ordering::Relaxed) {
            // Relaxed is enough: pushes ordered by happens-before get
            // increasing numbers (coherence of one atomic).
            self.next.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        }
    }
}

pub(crate) struct InputQueue {
    /// Index of the stream this input feeds.
    pub(crate) stream: usize,
    pub(crate) schema: SchemaRef,
    pub(crate) kinds: Box<[ColKind]>,
    pub(crate) stats: Arc<StreamStats>,
    /// Indices of the STRING columns, whose cells get the arena offset of
    /// the row's string bytes when it is committed.
    str_cols: Box<[usize]>,
    ncols: usize,
    null_words: usize,
    cap: u64,
    mask: u64,
    vals: Box<[UnsafeCell<u64>]>,
    valid: Box<[UnsafeCell<u64>]>,
    meta: Box<[UnsafeCell<Meta>]>,
    arena: Box<[UnsafeCell<u8>]>,
    arena_size: u64,
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    batches: Mutex<VecDeque<RecordBatch>>,
    /// Rows inside queued Arrow batches (bounded by `cap` too).
    batch_rows: AtomicU64,
    producer_waiting: AtomicBool,
    producer_thread: Mutex<Option<Thread>>,
    /// The worker has taken the end-of-input marker.
    ended: AtomicBool,
    /// The highest host watermark whose marker drop_oldest evicted: the
    /// worker still applies it (late rather than never).
    evicted_watermark: std::sync::atomic::AtomicI64,
    /// The engine's push order (set once, before the first push).
    order: std::sync::OnceLock<Arc<PushOrder>>,
    /// Each slot's number in the push order (0: none).
    seqs: Box<[AtomicU64]>,
}

// SAFETY: the cells are written only by the single producer (the `Producer`
// owns that right and is not Clone) in slots it has not yet published, and read
// only by the single consumer in slots published (tail, Release/Acquire) and
// not yet released (head). Eviction by the producer is excluded while the
// consumer holds READING.
unsafe impl Sync for InputQueue {}
unsafe impl Send for InputQueue {}

fn cells<T: Default>(n: usize) -> Box<[UnsafeCell<T>]> {
    (0..n).map(|_| UnsafeCell::new(T::default())).collect()
}

impl InputQueue {
    pub(crate) fn new(
        stream: usize,
        schema: SchemaRef,
        stats: Arc<StreamStats>,
        capacity: usize,
        arena_bytes: usize,
    ) -> Arc<InputQueue> {
        let kinds: Box<[ColKind]> = schema
            .fields()
            .iter()
            .map(|f| ColKind::of(f.data_type()))
            .collect();
        let ncols = kinds.len();
        let null_words = ncols.div_ceil(64).max(1);
        // Bounded by MAX_RING_BYTES: a wide stream gets fewer slots than
        // asked for instead of a huge allocation (which would abort).
        let slot_bytes = (ncols + null_words) * 8 + std::mem::size_of::<Meta>();
        let max_slots = (crate::limits::MAX_RING_BYTES / slot_bytes).max(2);
        let max_slots = 1usize << (usize::BITS - 1 - max_slots.leading_zeros());
        let cap = capacity.max(2).next_power_of_two().min(max_slots) as u64;
        let str_cols: Box<[usize]> = (0..ncols).filter(|&c| kinds[c] == ColKind::Str).collect();
        let has_str = !str_cols.is_empty();
        let arena_size = if has_str { arena_bytes as u64 } else { 0 };
        Arc::new(InputQueue {
            stream,
            schema,
            kinds,
            stats,
            str_cols,
            ncols,
            null_words,
            cap,
            mask: cap - 1,
            vals: cells(cap as usize * ncols),
            valid: cells(cap as usize * null_words),
            meta: cells(cap as usize),
            arena: cells(arena_size as usize),
            arena_size,
            head: CachePadded::new(AtomicU64::new(0)),
            tail: CachePadded::new(AtomicU64::new(0)),
            batches: Mutex::new(VecDeque::new()),
            batch_rows: AtomicU64::new(0),
            producer_waiting: AtomicBool::new(false),
            producer_thread: Mutex::new(None),
            ended: AtomicBool::new(false),
            evicted_watermark: std::sync::atomic::AtomicI64::new(i64::MIN),
            order: std::sync::OnceLock::new(),
            seqs: (0..cap).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// Shares the engine's push order (before the queue is pushed to).
    pub(crate) fn set_order(&self, order: Arc<PushOrder>) {
        let _ = self.order.set(order);
    }

    /// The push-order number of the next item to take, if any (0: pushed
    /// before the order was enabled).
    pub(crate) fn next_seq(&self) -> Option<u64> {
        let h = self.head.load(Ordering::Acquire) & !READING;
        let t = self.tail.load(Ordering::Acquire) & !SEALED;
        (h < t).then(|| self.seqs[(h & self.mask) as usize].load(Ordering::Relaxed))
    }

    /// Rows waiting (rows in slots plus rows in queued batches).
    pub(crate) fn depth(&self) -> u64 {
        let h = self.head.load(Ordering::Relaxed) & !READING;
        let t = self.tail.load(Ordering::Relaxed) & !SEALED;
        t.saturating_sub(h) + self.batch_rows.load(Ordering::Relaxed)
    }

    /// Bytes of the string arena (0 for a stream without STRING columns).
    pub(crate) fn arena_size(&self) -> u64 {
        self.arena_size
    }

    /// Words of the validity bitmap of one slot.
    pub(crate) fn null_words(&self) -> usize {
        self.null_words
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Acquire) & !READING == self.tail.load(Ordering::Acquire) & !SEALED
    }

    /// Sealed by close and drained: nothing more can arrive.
    pub(crate) fn is_sealed_and_empty(&self) -> bool {
        let t = self.tail.load(Ordering::Acquire);
        t & SEALED != 0 && self.head.load(Ordering::Acquire) & !READING == t & !SEALED
    }

    pub(crate) fn is_closed_and_empty(&self) -> bool {
        self.ended.load(Ordering::Acquire) && self.is_empty()
    }

    /// Refuses every later push; returns the final tail.
    pub(crate) fn seal(&self) -> u64 {
        self.tail.fetch_or(SEALED, Ordering::SeqCst) & !SEALED
    }

    pub(crate) fn head_pos(&self) -> u64 {
        self.head.load(Ordering::Acquire) & !READING
    }

    pub(crate) fn tail_pos(&self) -> u64 {
        self.tail.load(Ordering::Acquire) & !SEALED
    }

    /// Pointer to arena byte `at`, derived from the whole arena: a pointer
    /// from one cell (`arena[at].get()`) may only touch that one byte, and
    /// copying a whole string through it is undefined behaviour (Miri).
    #[inline]
    fn arena_ptr(&self, at: usize) -> *mut u8 {
        debug_assert!(at <= self.arena.len());
        // SAFETY: in bounds; UnsafeCell<u8> has u8's layout.
        UnsafeCell::raw_get(unsafe { self.arena.as_ptr().add(at) })
    }

    /// Pointer to the first value cell of `slot`, derived from the whole
    /// cell array (as `arena_ptr`) so it may address the slot's every cell.
    #[inline]
    fn vals_ptr(&self, slot: usize) -> *mut u64 {
        debug_assert!(slot < self.cap as usize);
        // SAFETY: slot < cap, so slot * ncols <= vals.len(); UnsafeCell<u64>
        // has u64's layout.
        UnsafeCell::raw_get(unsafe { self.vals.as_ptr().add(slot * self.ncols) })
    }

    /// Pointer to the first validity word of `slot` (as `vals_ptr`).
    #[inline]
    fn valid_ptr(&self, slot: usize) -> *mut u64 {
        debug_assert!(slot < self.cap as usize);
        // SAFETY: as for vals_ptr.
        UnsafeCell::raw_get(unsafe { self.valid.as_ptr().add(slot * self.null_words) })
    }

    #[inline]
    fn meta(&self, pos: u64) -> *mut Meta {
        self.meta[(pos & self.mask) as usize].get()
    }

    /// Takes up to `max_rows` items out (a run of rows becomes one batch) and
    /// hands them to `sink` in order. Only the worker calls this.
    pub(crate) fn drain(&self, max_rows: usize, sink: &mut dyn FnMut(Item)) -> usize {
        self.drain_before(max_rows, u64::MAX, sink)
    }

    /// As `drain`, stopping before the first item numbered `limit` or more
    /// in the push order (the next item of another input).
    pub(crate) fn drain_before(&self, max_rows: usize, limit: u64, sink: &mut dyn FnMut(Item)) -> usize {
        // Plain loads first: an idle worker polling an empty ring must not
        // keep taking the producer's cache line with read-modify-writes.
        if self.is_empty() {
            return 0;
        }
        let h = self.head.fetch_or(READING, Ordering::AcqRel) & !READING;
        let t = self.tail.load(Ordering::Acquire) & !SEALED;
        let mut end = t.min(h + max_rows.max(1) as u64);
        if limit != u64::MAX {
            // Numbers rise along one queue; the first item is below the limit.
            let mut pos = h + 1;
            while pos < end {
                let s = self.seqs[(pos & self.mask) as usize].load(Ordering::Relaxed);
                if s >= limit {
                    end = pos;
                    break;
                }
                pos += 1;
            }
        }
        let mut items: Vec<Item> = Vec::new();
        let mut pos = h;
        let mut taken = 0usize;
        while pos < end {
            // SAFETY: slots in [h, t) are published and ours until head moves.
            let kind = unsafe { (*self.meta(pos)).kind };
            match kind {
                SLOT_ROW => {
                    let mut run_end = pos + 1;
                    while run_end < end && unsafe { (*self.meta(run_end)).kind } == SLOT_ROW {
                        run_end += 1;
                    }
                    items.push(Item::Batch(self.rows_to_batch(pos, run_end)));
                    taken += (run_end - pos) as usize;
                    pos = run_end;
                }
                SLOT_BATCH => {
                    let b = self.batches.lock().unwrap().pop_front();
                    if let Some(b) = b {
                        self.batch_rows.fetch_sub(b.num_rows() as u64, Ordering::Relaxed);
                        taken += b.num_rows();
                        items.push(Item::Batch(b));
                    }
                    pos += 1;
                }
                SLOT_WATERMARK => {
                    // SAFETY: as for rows; the first cell holds the value.
                    let v = unsafe { *self.vals[(pos & self.mask) as usize * self.ncols].get() };
                    items.push(Item::Watermark(v as i64));
                    pos += 1;
                }
                _ => {
                    self.ended.store(true, Ordering::Release);
                    items.push(Item::Close);
                    pos += 1;
                }
            }
        }
        let evicted = self.evicted_watermark.swap(i64::MIN, Ordering::AcqRel);
        if evicted != i64::MIN {
            items.push(Item::Watermark(evicted));
        }
        // Releases the slots and clears READING in one store.
        self.head.store(end, Ordering::Release);
        if self.producer_waiting.load(Ordering::SeqCst) {
            if let Some(t) = self.producer_thread.lock().unwrap().as_ref() {
                t.unpark();
            }
        }
        for it in items {
            sink(it);
        }
        taken
    }

    /// Copies rows [from, to) into an Arrow batch.
    fn rows_to_batch(&self, from: u64, to: u64) -> RecordBatch {
        let n = (to - from) as usize;
        let slot = |pos: u64| (pos & self.mask) as usize;
        let cell = |pos: u64, col: usize| unsafe { *self.vals[slot(pos) * self.ncols + col].get() };
        let is_valid = |pos: u64, col: usize| unsafe {
            (*self.valid[slot(pos) * self.null_words + col / 64].get() >> (col % 64)) & 1 == 1
        };
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.ncols);
        for (c, kind) in self.kinds.iter().enumerate() {
            let mut nulls: Option<Vec<bool>> = None;
            for (i, pos) in (from..to).enumerate() {
                if !is_valid(pos, c) {
                    nulls.get_or_insert_with(|| vec![true; n])[i] = false;
                }
            }
            let nulls = nulls.map(|v| NullBuffer::from(BooleanBuffer::from(v)));
            let array: ArrayRef = match kind {
                ColKind::I64 | ColKind::Ts => {
                    let v: Vec<i64> = (from..to).map(|p| cell(p, c) as i64).collect();
                    if *kind == ColKind::Ts {
                        Arc::new(TimestampMillisecondArray::new(ScalarBuffer::from(v), nulls))
                    } else {
                        Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls))
                    }
                }
                ColKind::I32 => {
                    let v: Vec<i32> = (from..to).map(|p| cell(p, c) as u32 as i32).collect();
                    Arc::new(Int32Array::new(ScalarBuffer::from(v), nulls))
                }
                ColKind::F64 => {
                    let v: Vec<f64> = (from..to).map(|p| f64::from_bits(cell(p, c))).collect();
                    Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls))
                }
                ColKind::F32 => {
                    let v: Vec<f32> = (from..to).map(|p| f32::from_bits(cell(p, c) as u32)).collect();
                    Arc::new(Float32Array::new(ScalarBuffer::from(v), nulls))
                }
                ColKind::Bool => {
                    let v: BooleanBuffer = (from..to).map(|p| cell(p, c) != 0).collect();
                    Arc::new(BooleanArray::new(v, nulls))
                }
                ColKind::Str => {
                    let mut offsets: Vec<i32> = Vec::with_capacity(n + 1);
                    offsets.push(0);
                    let mut data: Vec<u8> = Vec::new();
                    for (i, p) in (from..to).enumerate() {
                        let valid = nulls.as_ref().map_or(true, |nb| nb.is_valid(i));
                        if valid {
                            let v = cell(p, c);
                            let (off, len) = ((v >> 32) as usize, (v & 0xffff_ffff) as usize);
                            // SAFETY: the producer wrote [off, off+len) before
                            // publishing this slot; the range never wraps.
                            let bytes = unsafe { std::slice::from_raw_parts(self.arena_ptr(off), len) };
                            data.extend_from_slice(bytes);
                        }
                        offsets.push(data.len() as i32);
                    }
                    // SAFETY: offsets are monotonic and within data; the bytes
                    // were validated as UTF-8 when the row was set.
                    Arc::new(unsafe {
                        StringArray::new_unchecked(
                            OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)),
                            Buffer::from_vec(data),
                            nulls,
                        )
                    })
                }
            };
            columns.push(array);
        }
        RecordBatch::try_new(self.schema.clone(), columns).expect("ring columns match schema")
    }
}

/// `ptr::copy_nonoverlapping(src, dst, n)`, with up to 16 bytes (a short
/// string) copied by two loads and two stores rather than a call to memcpy.
///
/// # Safety
/// As for `ptr::copy_nonoverlapping`.
#[inline(always)]
pub(crate) unsafe fn copy_bytes(src: *const u8, dst: *mut u8, n: usize) {
    // Two possibly overlapping accesses, one from each end, cover n bytes.
    if n > 16 {
        std::ptr::copy_nonoverlapping(src, dst, n);
    } else if n >= 8 {
        let (a, b) = (
            src.cast::<u64>().read_unaligned(),
            src.add(n - 8).cast::<u64>().read_unaligned(),
        );
        dst.cast::<u64>().write_unaligned(a);
        dst.add(n - 8).cast::<u64>().write_unaligned(b);
    } else if n >= 4 {
        let (a, b) = (
            src.cast::<u32>().read_unaligned(),
            src.add(n - 4).cast::<u32>().read_unaligned(),
        );
        dst.cast::<u32>().write_unaligned(a);
        dst.add(n - 4).cast::<u32>().write_unaligned(b);
    } else if n >= 2 {
        let (a, b) = (
            src.cast::<u16>().read_unaligned(),
            src.add(n - 2).cast::<u16>().read_unaligned(),
        );
        dst.cast::<u16>().write_unaligned(a);
        dst.add(n - 2).cast::<u16>().write_unaligned(b);
    } else if n == 1 {
        *dst = *src;
    }
}

/// A row being built by the producer when the ring had no free slot at
/// `begin_row` (the overflow policy decides at commit), and the string bytes
/// of every row.
pub(crate) struct Stage {
    pub(crate) vals: Vec<u64>,
    pub(crate) valid: Vec<u64>,
    /// String bytes of the row; string cells hold (offset in here, len).
    pub(crate) strs: Vec<u8>,
}

impl Stage {
    pub(crate) fn new(ncols: usize) -> Stage {
        Stage {
            vals: vec![0; ncols],
            valid: vec![0; ncols.div_ceil(64).max(1)],
            strs: Vec::new(),
        }
    }
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        self.valid.iter_mut().for_each(|w| *w = 0);
        self.strs.clear();
    }
    #[cfg(test)]
    pub(crate) fn set(&mut self, col: usize, bits: u64) {
        self.vals[col] = bits;
        self.valid[col / 64] |= 1 << (col % 64);
    }

    /// The stage's cells as a write target. Valid until the stage's `vals`
    /// or `valid` are touched through a reference again.
    pub(crate) fn cells(&mut self) -> RowCells {
        RowCells {
            vals: self.vals.as_mut_ptr(),
            valid: self.valid.as_mut_ptr(),
        }
    }
}

/// Where the open row's cells are written: the free ring slot at the tail,
/// or the stage. `ncols` value cells and `ncols.div_ceil(64).max(1)`
/// validity words; the caller keeps column indices below `ncols`.
#[derive(Clone, Copy)]
pub(crate) struct RowCells {
    vals: *mut u64,
    valid: *mut u64,
}

// SAFETY: the pointers address either the unpublished tail slot of a ring
// (written only by the queue's single Producer, which moves with them) or a
// Stage's buffers owned by the same Input; sending them to another thread
// sends that exclusive right along. They are never shared between threads.
unsafe impl Send for RowCells {}

impl RowCells {
    /// A target that must be replaced before use (no row open).
    pub(crate) fn none() -> RowCells {
        RowCells {
            vals: std::ptr::null_mut(),
            valid: std::ptr::null_mut(),
        }
    }

    /// Marks every column NULL.
    ///
    /// # Safety
    /// The target is live and has `words` validity words.
    #[inline]
    pub(crate) unsafe fn clear(self, words: usize) {
        if words == 1 {
            // Up to 64 columns: one store rather than a call to memset.
            *self.valid = 0;
        } else {
            std::ptr::write_bytes(self.valid, 0, words);
        }
    }

    /// # Safety
    /// The target is live and `col` < its column count.
    #[inline(always)]
    pub(crate) unsafe fn set(self, col: usize, bits: u64) {
        *self.vals.add(col) = bits;
        *self.valid.add(col / 64) |= 1 << (col % 64);
    }

    /// # Safety
    /// As for `set`.
    #[inline(always)]
    pub(crate) unsafe fn set_null(self, col: usize) {
        *self.valid.add(col / 64) &= !(1 << (col % 64));
    }

    /// Whether `col` is set, and its cell.
    ///
    /// # Safety
    /// As for `set`.
    pub(crate) unsafe fn get(self, col: usize) -> (bool, u64) {
        let valid = (*self.valid.add(col / 64) >> (col % 64)) & 1 == 1;
        (valid, *self.vals.add(col))
    }
}

/// The producer's side of a queue. Exactly one exists per queue.
pub(crate) struct Producer {
    pub(crate) q: Arc<InputQueue>,
    tail: u64,
    wpos: u64,
    /// `wpos % arena_size` (0 without an arena), kept so the common push
    /// needs no division.
    woff: u64,
    cached_head: u64,
}

/// What a push did under the overflow policy.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Refused by drop_newest (counted).
    Dropped,
}

impl Producer {
    pub(crate) fn new(q: Arc<InputQueue>) -> Producer {
        Producer {
            q,
            tail: 0,
            wpos: 0,
            woff: 0,
            cached_head: 0,
        }
    }

    fn released_arena(&self, head: u64) -> u64 {
        if head == self.tail {
            self.wpos
        } else {
            // SAFETY: the slot at head was written by this producer and is
            // not rewritten until head passes it.
            unsafe { (*self.q.meta(head)).arena_start }
        }
    }

    /// Whether a new slot with `bytes` of contiguous string data and
    /// `rows` batch rows fits, given `head`. Returns the arena position.
    fn fits(&self, head: u64, bytes: u64, batch_rows: u64) -> Option<u64> {
        let q = &*self.q;
        if self.tail - head >= q.cap {
            return None;
        }
        if batch_rows > 0 {
            let queued = q.batch_rows.load(Ordering::Acquire);
            if queued > 0 && queued + batch_rows > q.cap {
                return None;
            }
        }
        if bytes == 0 {
            return Some(self.wpos);
        }
        let mut pos = self.wpos;
        if pos % q.arena_size + bytes > q.arena_size {
            pos += q.arena_size - pos % q.arena_size;
        }
        (pos + bytes - self.released_arena(head) <= q.arena_size).then_some(pos)
    }

    /// `fits(cached_head, bytes, 0)` for a row, without the division:
    /// Some((arena position, its offset in the arena)) when the row fits as
    /// last seen; None sends the caller to `reserve`.
    #[inline(always)]
    fn fits_row_fast(&self, bytes: u64) -> Option<(u64, u64)> {
        let q = &*self.q;
        if self.tail - self.cached_head >= q.cap {
            return None;
        }
        if bytes == 0 {
            return Some((self.wpos, 0));
        }
        if bytes > q.arena_size / 2 {
            // reserve reports it.
            return None;
        }
        debug_assert_eq!(self.woff, self.wpos % q.arena_size);
        let (pos, base) = if self.woff + bytes > q.arena_size {
            (self.wpos + (q.arena_size - self.woff), 0)
        } else {
            (self.wpos, self.woff)
        };
        (pos + bytes - self.released_arena(self.cached_head) <= q.arena_size).then_some((pos, base))
    }

    /// Waits for room as the policy says. Returns the arena position to write
    /// at, or None when drop_newest refuses the item.
    fn reserve(
        &mut self,
        bytes: u64,
        batch_rows: u64,
        policy: Overflow,
        timeout: Duration,
    ) -> Result<Option<u64>> {
        if bytes > self.q.arena_size / 2 {
            return Err(Error::invalid(format!(
                "row carries {bytes} bytes of strings; an input queue takes at most {} per row (raise queue_bytes)",
                self.q.arena_size / 2
            )));
        }
        if let Some(p) = self.fits(self.cached_head, bytes, batch_rows) {
            return Ok(Some(p));
        }
        let q = self.q.clone();
        self.cached_head = q.head.load(Ordering::Acquire) & !READING;
        if let Some(p) = self.fits(self.cached_head, bytes, batch_rows) {
            return Ok(Some(p));
        }
        match policy {
            Overflow::DropNewest => Ok(None),
            Overflow::DropOldest => loop {
                let h = q.head.load(Ordering::Acquire);
                if h & READING != 0 {
                    std::hint::spin_loop();
                    continue;
                }
                self.cached_head = h;
                if let Some(p) = self.fits(h, bytes, batch_rows) {
                    return Ok(Some(p));
                }
                if h == self.tail {
                    // Nothing left to evict; can only happen if batch rows
                    // accounting lags the consumer for an instant.
                    std::thread::yield_now();
                    continue;
                }
                let kind = unsafe { (*q.meta(h)).kind };
                if q.head
                    .compare_exchange(h, h + 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    match kind {
                        SLOT_BATCH => {
                            if let Some(b) = q.batches.lock().unwrap().pop_front() {
                                q.batch_rows.fetch_sub(b.num_rows() as u64, Ordering::AcqRel);
                                q.stats.dropped.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                            }
                        }
                        SLOT_CLOSE => {}
                        SLOT_WATERMARK => {
                            let v = unsafe { *q.vals[(h & q.mask) as usize * q.ncols].get() } as i64;
                            q.evicted_watermark.fetch_max(v, Ordering::AcqRel);
                        }
                        _ => {
                            q.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            },
            Overflow::Block => {
                let deadline = Instant::now() + timeout;
                let mut spins = 0u32;
                loop {
                    self.cached_head = q.head.load(Ordering::Acquire) & !READING;
                    if let Some(p) = self.fits(self.cached_head, bytes, batch_rows) {
                        return Ok(Some(p));
                    }
                    if self.is_sealed() {
                        return Err(Error::closed("the engine is closed"));
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::new(
                            Status::Full,
                            format!(
                                "input queue full ({} rows queued) for {} ms; nothing of this push was ingested",
                                q.depth(),
                                timeout.as_millis()
                            ),
                        ));
                    }
                    spins += 1;
                    if spins < 100 {
                        std::hint::spin_loop();
                    } else if spins < 200 {
                        std::thread::yield_now();
                    } else {
                        *q.producer_thread.lock().unwrap() = Some(std::thread::current());
                        q.producer_waiting.store(true, Ordering::SeqCst);
                        let h = q.head.load(Ordering::SeqCst) & !READING;
                        if self.fits(h, bytes, batch_rows).is_none() {
                            std::thread::park_timeout((deadline - now).min(Duration::from_millis(1)));
                        }
                        q.producer_waiting.store(false, Ordering::SeqCst);
                    }
                }
            }
        }
    }

    /// Makes the written slot visible. A CAS rather than a store so a push
    /// racing with engine close either lands before the seal (and is
    /// processed) or fails with EDDY_ERR_CLOSED; it is also the full fence
    /// that orders the publish before the caller's check of the worker's
    /// parked flag.
    fn publish(&mut self, kind: u8, arena_start: u64) -> Result<()> {
        unsafe {
            *self.q.meta(self.tail) = Meta { kind, arena_start };
        }
        if let Some(o) = self.q.order.get() {
            let s = o.stamp();
            if s != 0 {
                self.q.seqs[(self.tail & self.q.mask) as usize].store(s, Ordering::Relaxed);
            }
        }
        match self
            .q
            .tail
            .compare_exchange(self.tail, self.tail + 1, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                self.tail += 1;
                Ok(())
            }
            Err(_) => Err(Error::closed("the engine is closed")),
        }
    }

    pub(crate) fn is_sealed(&self) -> bool {
        self.q.tail.load(Ordering::Relaxed) & SEALED != 0
    }

    /// Slots this producer has published: its last item is taken once the
    /// queue's head reaches it.
    pub(crate) fn published_pos(&self) -> u64 {
        self.tail
    }

    /// The cells of the slot at the tail when it is free, for a row to be
    /// written in place; None when the ring is full (the row is staged and
    /// the overflow policy decides when it is committed). A free slot stays
    /// free until this producer publishes: the consumer only frees slots.
    #[inline]
    pub(crate) fn free_slot(&mut self) -> Option<RowCells> {
        let q = &*self.q;
        if self.tail - self.cached_head >= q.cap {
            self.cached_head = q.head.load(Ordering::Acquire) & !READING;
            if self.tail - self.cached_head >= q.cap {
                return None;
            }
        }
        let slot = (self.tail & q.mask) as usize;
        Some(RowCells {
            vals: q.vals_ptr(slot),
            valid: q.valid_ptr(slot),
        })
    }

    /// Commits a staged row. On Err nothing was queued.
    #[cfg(test)]
    pub(crate) fn push_row(&mut self, stage: &Stage, policy: Overflow, timeout: Duration) -> Result<Pushed> {
        self.push_row_from(false, stage, policy, timeout)
    }

    /// Commits the open row: its cells are in the tail slot already
    /// (`in_slot`, written through `free_slot` since the last publish) or in
    /// `stage`; its string bytes are in `stage.strs` either way. On Err
    /// nothing was queued.
    #[inline]
    pub(crate) fn push_row_from(
        &mut self,
        in_slot: bool,
        stage: &Stage,
        policy: Overflow,
        timeout: Duration,
    ) -> Result<Pushed> {
        // SAFETY: `self.q` is never reassigned while the Producer lives; a
        // plain reference avoids two atomic refcount updates per row.
        let q: &InputQueue = unsafe { &*Arc::as_ptr(&self.q) };
        let bytes = stage.strs.len() as u64;
        let (pos, base) = match self.fits_row_fast(bytes) {
            Some(room) => room,
            None => match self.reserve(bytes, 0, policy, timeout)? {
                Some(pos) => (pos, if bytes > 0 { pos % q.arena_size } else { 0 }),
                None => {
                    q.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(Pushed::Dropped);
                }
            },
        };
        let slot = (self.tail & q.mask) as usize;
        let vals = q.vals_ptr(slot);
        let valid = q.valid_ptr(slot);
        // SAFETY: fits_row_fast or reserve found the slot at the tail free:
        // only this producer writes it until publish hands it to the consumer. The
        // stage holds ncols cells and null_words words; string ranges were
        // checked against the arena by reserve and never wrap.
        unsafe {
            if !in_slot {
                std::ptr::copy_nonoverlapping(stage.vals.as_ptr(), vals, q.ncols);
                std::ptr::copy_nonoverlapping(stage.valid.as_ptr(), valid, q.null_words);
            }
            if bytes > 0 {
                for &c in q.str_cols.iter() {
                    if (*valid.add(c / 64) >> (c % 64)) & 1 == 1 {
                        *vals.add(c) += base << 32;
                    }
                }
                let dst = q.arena_ptr(base as usize);
                copy_bytes(stage.strs.as_ptr(), dst, bytes as usize);
            }
        }
        let start = self.wpos;
        self.publish(SLOT_ROW, start)?;
        if bytes > 0 {
            self.wpos = pos + bytes;
            // fits() keeps [base, base + bytes) inside the arena.
            self.woff = if base + bytes == q.arena_size {
                0
            } else {
                base + bytes
            };
        }
        Ok(Pushed::Queued)
    }

    /// Queues an Arrow batch (already checked against the schema).
    pub(crate) fn push_batch(
        &mut self,
        batch: RecordBatch,
        policy: Overflow,
        timeout: Duration,
    ) -> Result<Pushed> {
        let rows = batch.num_rows() as u64;
        let q = self.q.clone();
        let Some(_) = self.reserve(0, rows.max(1), policy, timeout)? else {
            q.stats.dropped.fetch_add(rows, Ordering::Relaxed);
            return Ok(Pushed::Dropped);
        };
        if self.is_sealed() {
            return Err(Error::closed("the engine is closed"));
        }
        q.batch_rows.fetch_add(rows, Ordering::AcqRel);
        q.batches.lock().unwrap().push_back(batch);
        let start = self.wpos;
        if let Err(e) = self.publish(SLOT_BATCH, start) {
            // Sealed between the check and the publish: take it back.
            if let Some(b) = q.batches.lock().unwrap().pop_back() {
                q.batch_rows.fetch_sub(b.num_rows() as u64, Ordering::AcqRel);
            }
            return Err(e);
        }
        Ok(Pushed::Queued)
    }

    /// Queues a host watermark in order with the rows; waits for room
    /// regardless of policy (it carries no data to drop).
    pub(crate) fn push_watermark(&mut self, ts_ms: i64, timeout: Duration) -> Result<()> {
        self.reserve(0, 0, Overflow::Block, timeout)?;
        if self.is_sealed() {
            return Err(Error::closed("the engine is closed"));
        }
        let q = self.q.clone();
        let slot = (self.tail & q.mask) as usize;
        // SAFETY: the slot is reserved and not yet published.
        unsafe { *q.vals[slot * q.ncols].get() = ts_ms as u64 };
        let start = self.wpos;
        self.publish(SLOT_WATERMARK, start)
    }

    /// Queues the end-of-input marker; waits for room regardless of policy.
    pub(crate) fn push_close(&mut self, timeout: Duration) -> Result<()> {
        self.reserve(0, 0, Overflow::Block, timeout)?;
        let start = self.wpos;
        self.publish(SLOT_CLOSE, start)
    }
}
