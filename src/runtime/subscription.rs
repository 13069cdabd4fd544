//! Subscriptions: a bounded queue of result batches per subscriber, read by
//! pull (`next`) or delivered to a callback inside `Engine::poll`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::engine::EngineShared;
use super::options::Overflow;
use super::stats::{add, StreamStats};
use crate::error::{Error, Result, Status};

/// A host callback. Dropping it releases the host's user data.
pub type Callback = Box<dyn FnMut(&RecordBatch) + Send>;

struct Queue {
    batches: VecDeque<RecordBatch>,
    rows: usize,
    /// No more batches will come (the engine closed).
    ended: bool,
    /// The handle was freed: discard instead of queueing.
    detached: bool,
    /// The engine is closing: accept everything so close never waits on a
    /// subscriber that is not being read.
    unbounded: bool,
}

/// What `SubShared::deliver` did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Dropped by the policy, or nobody reads this subscription any more.
    Not,
    Queued,
    /// Queued, and a `block` subscriber that never waits (worker=caller)
    /// now holds its capacity or more: the runner stops until it is read.
    Full,
}

pub(crate) struct SubShared {
    pub(crate) id: u64,
    pub(crate) stream: String,
    pub(crate) schema: SchemaRef,
    capacity: usize,
    policy: Overflow,
    /// worker=caller: `block` never waits here (the reader may be the very
    /// thread delivering); the runner stops instead while this is full.
    never_wait: bool,
    stats: Arc<StreamStats>,
    queue: Mutex<Queue>,
    cv: Condvar,
    /// Rows this subscriber lost to its overflow policy.
    pub(crate) dropped: AtomicU64,
    pub(crate) has_callback: AtomicBool,
    callback: Mutex<Option<Callback>>,
    /// Bumped whenever the callback is replaced or removed, so a poll that
    /// had taken the old one out knows not to put it back.
    callback_gen: AtomicU64,
}

impl SubShared {
    pub(crate) fn new(
        id: u64,
        stream: String,
        schema: SchemaRef,
        capacity: usize,
        policy: Overflow,
        never_wait: bool,
        stats: Arc<StreamStats>,
    ) -> SubShared {
        SubShared {
            id,
            stream,
            schema,
            capacity,
            policy,
            never_wait,
            stats,
            queue: Mutex::new(Queue {
                batches: VecDeque::new(),
                rows: 0,
                ended: false,
                detached: false,
                unbounded: false,
            }),
            cv: Condvar::new(),
            dropped: AtomicU64::new(0),
            has_callback: AtomicBool::new(false),
            callback: Mutex::new(None),
            callback_gen: AtomicU64::new(0),
        }
    }

    /// Called by the worker. Applies the overflow policy; under `block` it
    /// waits for the subscriber to read (the worker holds no engine lock),
    /// except with worker=caller, where it queues past the capacity and the
    /// runner stops until the subscriber is read (`is_over_capacity`).
    pub(crate) fn deliver(&self, batch: RecordBatch) -> Delivered {
        let n = batch.num_rows();
        let mut q = self.queue.lock().unwrap();
        loop {
            if q.detached || q.ended {
                return Delivered::Not;
            }
            if q.unbounded || q.rows == 0 || q.rows + n <= self.capacity {
                break;
            }
            match self.policy {
                Overflow::Block if self.never_wait => break,
                Overflow::Block => q = self.cv.wait(q).unwrap(),
                Overflow::DropNewest => {
                    self.count_drop(n);
                    return Delivered::Not;
                }
                Overflow::DropOldest => {
                    while q.rows > 0 && q.rows + n > self.capacity {
                        let old = q.batches.pop_front().expect("rows > 0");
                        q.rows -= old.num_rows();
                        self.count_drop(old.num_rows());
                    }
                }
            }
        }
        q.rows += n;
        q.batches.push_back(batch);
        add(&self.stats.events_out, n as u64);
        self.cv.notify_all();
        if self.never_wait && self.policy == Overflow::Block && q.rows >= self.capacity && !q.unbounded {
            Delivered::Full
        } else {
            Delivered::Queued
        }
    }

    /// A `block` subscriber holding its capacity or more, still read.
    pub(crate) fn is_over_capacity(&self) -> bool {
        if self.policy != Overflow::Block {
            return false;
        }
        let q = self.queue.lock().unwrap();
        q.rows >= self.capacity && !(q.unbounded || q.detached || q.ended)
    }

    fn count_drop(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
        add(&self.stats.dropped, n as u64);
    }

    pub(crate) fn pop(&self) -> Option<RecordBatch> {
        let mut q = self.queue.lock().unwrap();
        let b = q.batches.pop_front()?;
        q.rows -= b.num_rows();
        self.cv.notify_all();
        Some(b)
    }

    pub(crate) fn queued_rows(&self) -> usize {
        self.queue.lock().unwrap().rows
    }

    pub(crate) fn end(&self) {
        let mut q = self.queue.lock().unwrap();
        q.ended = true;
        self.cv.notify_all();
    }

    pub(crate) fn set_unbounded(&self) {
        let mut q = self.queue.lock().unwrap();
        q.unbounded = true;
        self.cv.notify_all();
    }

    fn detach(&self) {
        let mut q = self.queue.lock().unwrap();
        q.detached = true;
        q.batches.clear();
        q.rows = 0;
        self.cv.notify_all();
    }

    /// Waits for a batch. Timeout: None waits forever.
    pub(crate) fn next(&self, timeout: Option<Duration>) -> Result<RecordBatch> {
        if self.has_callback.load(Ordering::Acquire) {
            return Err(Error::invalid(
                "this subscription delivers through a callback; eddy_subscription_next is not available",
            ));
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut q = self.queue.lock().unwrap();
        loop {
            if let Some(b) = q.batches.pop_front() {
                q.rows -= b.num_rows();
                self.cv.notify_all();
                return Ok(b);
            }
            if q.ended {
                return Err(Error::new(
                    Status::EndOfStream,
                    format!("stream '{}' ended", self.stream),
                ));
            }
            match deadline {
                None => q = self.cv.wait(q).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::new(Status::Timeout, "no result within the timeout"));
                    }
                    q = self.cv.wait_timeout(q, d - now).unwrap().0;
                }
            }
        }
    }

    /// Installs (or with None removes) the callback. The previous one is
    /// dropped here, or by the poll that is running it when it returns.
    pub(crate) fn set_callback(&self, cb: Option<Callback>) {
        self.callback_gen.fetch_add(1, Ordering::AcqRel);
        self.has_callback.store(cb.is_some(), Ordering::Release);
        let old = std::mem::replace(&mut *self.callback.lock().unwrap(), cb);
        drop(old);
    }

    /// Runs the callback on every queued batch. Returns how many batches it
    /// delivered. Called only from `Engine::poll`, on the host's thread.
    pub(crate) fn run_callback(&self) -> usize {
        let gen = self.callback_gen.load(Ordering::Acquire);
        let Some(mut cb) = self.callback.lock().unwrap().take() else {
            return 0;
        };
        let mut n = 0;
        // Only the batches queued now: a callback that pushes rows must not
        // keep this poll running forever.
        let limit = self.queue.lock().unwrap().batches.len();
        while n < limit {
            if self.callback_gen.load(Ordering::Acquire) != gen {
                break;
            }
            let Some(b) = self.pop() else { break };
            cb(&b);
            n += 1;
        }
        let mut slot = self.callback.lock().unwrap();
        if self.callback_gen.load(Ordering::Acquire) == gen && slot.is_none() {
            *slot = Some(cb);
        } else {
            drop(slot);
            drop(cb);
        }
        n
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.queue.lock().unwrap().batches.is_empty()
    }
}

/// A host's subscription to a stream.
pub struct Subscription {
    pub(crate) shared: Arc<SubShared>,
    pub(crate) engine: Arc<EngineShared>,
}

impl Subscription {
    pub fn schema(&self) -> SchemaRef {
        self.shared.schema.clone()
    }

    pub fn stream(&self) -> &str {
        &self.shared.stream
    }

    /// The next result batch; `EndOfStream` once the engine closed and all
    /// was read, `Timeout` when nothing came in time (None = wait forever).
    pub fn next(&self, timeout: Option<Duration>) -> Result<RecordBatch> {
        if self.engine.runner.is_none() {
            return self.shared.next(timeout);
        }
        // worker=caller: this thread may be the one to fire a deadline, or
        // to run rows held up while this subscriber was full.
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            // A panic ends the subscription: the queue says so below.
            let _ = self.engine.run_if_wanted();
            let now = Instant::now();
            let mut wait = self.engine.until_next_timer(Duration::from_secs(3600));
            if let Some(d) = deadline {
                wait = wait.min(d.saturating_duration_since(now));
            }
            match self.shared.next(Some(wait)) {
                Ok(b) => {
                    // This read may have made room for rows held up.
                    let _ = self.engine.run_if_wanted();
                    return Ok(b);
                }
                Err(e) if e.status == Status::Timeout && !deadline.is_some_and(|d| Instant::now() >= d) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Delivers results to `cb` inside `Engine::poll` from now on.
    pub fn set_callback(&self, cb: Callback) -> Result<()> {
        self.shared.set_callback(Some(cb));
        self.engine.register_callback(&self.shared);
        Ok(())
    }

    /// Rows lost to this subscriber's overflow policy.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.engine.unsubscribe(self.shared.id);
        self.shared.detach();
        self.shared.set_callback(None);
    }
}
