//! The engine: its catalog and dataflow, its worker thread, and the
//! entry points every host call goes through.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::clock::Clock;
use super::dataflow::{Dataflow, Delivery};
use super::input::Input;
use super::options::{Options, WorkerKind};
use super::queue::{InputQueue, Item, Producer, PushOrder};
use super::subscription::{Delivered, SubShared, Subscription};
use crate::error::{Error, Result, Status};
use crate::sql;

pub(crate) struct EngineShared {
    pub(crate) options: Options,
    pub(crate) clock: Clock,
    dataflow: Mutex<Dataflow>,
    /// Open input queues; the worker keeps a copy, refreshed when `inputs_gen`
    /// moves.
    inputs: Mutex<Vec<Arc<InputQueue>>>,
    inputs_gen: AtomicU64,
    /// On a line of its own: producers read it on every push.
    pub(crate) worker_parked: CachePadded<AtomicBool>,
    worker_thread: std::sync::OnceLock<Thread>,
    flush_req: AtomicU64,
    flush_done: Mutex<u64>,
    flush_cv: Condvar,
    /// Set by close: no new inputs, subscriptions or statements.
    pub(crate) closing: AtomicBool,
    /// The worker has drained everything and stopped.
    finished: AtomicBool,
    /// Subscriptions with a callback, for poll.
    callbacks: Mutex<Vec<Weak<SubShared>>>,
    poll_seq: Mutex<u64>,
    poll_cv: Condvar,
    next_sub_id: AtomicU64,
    /// A panic inside the worker; the engine is unusable after it.
    panicked: Mutex<Option<String>>,
    /// The earliest processing-time deadline of any window or output period
    /// (ms; i64::MAX: none): the runner's, and worker=caller's waiting
    /// threads', to wake for.
    next_timer: AtomicI64,
    /// worker=caller: the dataflow's runner, taken in turn by the host
    /// threads that call in.
    pub(crate) runner: Option<Mutex<Runner>>,
    /// Numbers pushes once a query needs different inputs' rows in push
    /// order.
    pub(crate) order: Arc<PushOrder>,
    /// worker=caller: a `block` subscriber is full and the runner stopped
    /// for it; whoever reads a subscriber then runs what waits. Set before
    /// the runner checks its subscribers, so a reader that emptied one
    /// after the check sees it.
    stalled: AtomicBool,
}

impl EngineShared {
    pub(crate) fn lock_dataflow(&self) -> MutexGuard<'_, Dataflow> {
        // A poisoned lock means the worker panicked mid-batch; the panic is
        // reported through `panicked`, the data is still consistent enough
        // to read stats and fail calls cleanly.
        self.dataflow.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn check_usable(&self) -> Result<()> {
        if let Some(msg) = self.panicked.lock().unwrap().as_ref() {
            return Err(Error::new(
                Status::Panic,
                format!("the engine stopped after a panic: {msg}"),
            ));
        }
        if self.closing.load(Ordering::Acquire) {
            return Err(Error::closed("the engine is closed"));
        }
        Ok(())
    }

    /// Called after publishing work. While the worker is parked (or about
    /// to be), the first caller to see it clears the flag and unparks it;
    /// later calls see the flag clear with a plain load, rather than every
    /// push writing to the parker until the worker runs again.
    #[inline]
    pub(crate) fn wake_worker(&self) {
        if self.worker_parked.load(Ordering::SeqCst) && self.worker_parked.swap(false, Ordering::SeqCst) {
            if let Some(t) = self.worker_thread.get() {
                t.unpark();
            }
        }
    }

    pub(crate) fn register_input(&self, q: Arc<InputQueue>) -> Result<()> {
        let mut inputs = self.inputs.lock().unwrap();
        // Checked under the same lock the closing worker takes to seal.
        self.check_usable()?;
        inputs.push(q);
        self.inputs_gen.fetch_add(1, Ordering::Release);
        Ok(())
    }

    pub(crate) fn register_callback(&self, s: &Arc<SubShared>) {
        let mut cbs = self.callbacks.lock().unwrap();
        cbs.retain(|w| w.strong_count() > 0);
        if !cbs.iter().any(|w| w.upgrade().is_some_and(|x| x.id == s.id)) {
            cbs.push(Arc::downgrade(s));
        }
        drop(cbs);
        // Results may already be waiting.
        self.notify_poll();
    }

    pub(crate) fn unsubscribe(&self, id: u64) {
        let mut df = self.lock_dataflow();
        for st in df.streams.iter_mut() {
            st.subscribers.retain(|s| s.id != id);
        }
    }

    fn notify_poll(&self) {
        *self.poll_seq.lock().unwrap() += 1;
        self.poll_cv.notify_all();
    }

    /// Hands results to their subscribers. worker=caller: a `block`
    /// subscriber left full goes into `stalled` (its queue never waits).
    fn deliver(&self, deliveries: &mut Vec<Delivery>, stalled: &mut Vec<Arc<SubShared>>) {
        let mut to_callbacks = false;
        for (sub, batch) in deliveries.drain(..) {
            let d = sub.deliver(batch);
            if d != Delivered::Not && sub.has_callback.load(Ordering::Acquire) {
                to_callbacks = true;
            }
            if d == Delivered::Full && !stalled.iter().any(|s| s.id == sub.id) {
                stalled.push(sub);
            }
        }
        if to_callbacks {
            self.notify_poll();
        }
    }

    fn set_next_timer(&self, t: Option<i64>) {
        self.next_timer.store(t.unwrap_or(i64::MAX), Ordering::Release);
    }

    /// How long a thread waiting on the engine may sleep before a
    /// processing-time deadline is due: at most `max`.
    pub(crate) fn until_next_timer(&self, max: Duration) -> Duration {
        match self.next_timer.load(Ordering::Acquire) {
            i64::MAX => max,
            t => max.min(Duration::from_millis(
                t.saturating_sub(self.clock.now_ms()).max(0) as u64,
            )),
        }
    }

    /// Each open input and its tail now: what a flush must see processed.
    fn input_tails(&self) -> Vec<(Arc<InputQueue>, u64)> {
        self.inputs
            .lock()
            .unwrap()
            .iter()
            .map(|q| (q.clone(), q.tail_pos()))
            .collect()
    }

    /// Called after publishing a row, batch, watermark or close: wakes the
    /// worker thread, or (worker=caller) runs the dataflow on this thread.
    #[inline]
    pub(crate) fn published(&self, producer: &Producer) -> Result<()> {
        if self.runner.is_some() {
            return self.run_for(Some((&producer.q, producer.published_pos())));
        }
        self.wake_worker();
        Ok(())
    }

    /// worker=caller: takes the runner (waiting for the thread that holds
    /// it, whose run is short: a producer can add at most one item while it
    /// waits here), then runs until `own`'s item (queue, published position)
    /// was taken, which another thread may have done meanwhile, or, with no
    /// item of its own, until the inputs are empty; either way it stops at a
    /// full `block` subscriber. Fails only when the dataflow panicked (the
    /// engine is then stopped).
    pub(crate) fn run_for(&self, own: Option<(&InputQueue, u64)>) -> Result<()> {
        let Some(runner) = &self.runner else {
            return Ok(());
        };
        let mut r = runner.lock().unwrap_or_else(|p| p.into_inner());
        if self.finished.load(Ordering::SeqCst) {
            return self.panic_status();
        }
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| r.run(self, own)));
        if let Err(p) = ran {
            end_engine(self, Some(panic_message(p)));
            return self.panic_status();
        }
        Ok(())
    }

    /// worker=caller: whether a thread that reads results or waits should
    /// run the dataflow: a full subscriber held it up, or a deadline is due.
    pub(crate) fn run_wanted(&self) -> bool {
        self.runner.is_some()
            && (self.stalled.load(Ordering::SeqCst)
                || self.next_timer.load(Ordering::Acquire) <= self.clock.now_ms())
    }

    /// `run_for(None)` when `run_wanted`.
    pub(crate) fn run_if_wanted(&self) -> Result<()> {
        if self.run_wanted() {
            return self.run_for(None);
        }
        Ok(())
    }

    /// worker=caller's flush: runs the dataflow here until every input has
    /// been taken up to its tail at the call (another caller may be running
    /// it meanwhile; a full `block` subscriber holds it up until read).
    fn flush_here(&self, timeout: Option<Duration>) -> Result<()> {
        let tails = self.input_tails();
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.run_for(None)?;
            if tails.iter().all(|(q, t)| q.head_pos() >= *t) || self.finished.load(Ordering::SeqCst) {
                return Ok(());
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::new(
                    Status::Timeout,
                    "flush did not complete within the timeout",
                ));
            }
            let nap = Duration::from_micros(200);
            std::thread::sleep(deadline.map_or(nap, |d| nap.min(d - now)));
        }
    }

    /// worker=caller's close, on the closing thread: everything the sealed
    /// inputs hold runs, then every query emits what it holds.
    fn close_here(&self, runner: &Mutex<Runner>) {
        let mut r = runner.lock().unwrap_or_else(|p| p.into_inner());
        if self.finished.load(Ordering::SeqCst) {
            return; // stopped by a panic already
        }
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| loop {
            r.run(self, None);
            if r.all_drained(self) {
                r.finish(self);
                return;
            }
            // A producer that passed its seal check before close is still
            // writing its row.
            std::thread::yield_now();
        }));
        end_engine(self, ran.err().map(panic_message));
    }

    fn panic_status(&self) -> Result<()> {
        match self.panicked.lock().unwrap().as_ref() {
            Some(m) => Err(Error::new(
                Status::Panic,
                format!("the engine stopped after a panic: {m}"),
            )),
            None => Ok(()),
        }
    }
}

/// An engine. Cloning gives another reference to the same engine; when the
/// last one is dropped the engine is closed (as `eddy_engine_free` does),
/// so its worker thread never outlives every handle to it.
#[derive(Clone)]
pub struct Engine {
    pub(crate) shared: Arc<EngineShared>,
    worker: Arc<Worker>,
}

/// The worker thread's handle, shared by every clone of an `Engine`.
struct Worker {
    shared: Arc<EngineShared>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Not closed yet: nobody can close it any more, and the worker
        // would park forever (it holds `shared` itself).
        if !self.shared.closing.load(Ordering::Acquire) {
            let _ = close_engine(&self.shared, &self.handle);
        }
    }
}

fn timeout_of(ms: i32) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

impl Engine {
    /// Opens an engine with `key=value;...` options and starts its worker
    /// thread (none with worker=caller).
    pub fn open(options: &str) -> Result<Engine> {
        let options = Options::parse(options)?;
        let caller_runs = options.worker == WorkerKind::Caller;
        let shared = Arc::new(EngineShared {
            clock: Clock::new(options.clock),
            options,
            dataflow: Mutex::new(Dataflow::default()),
            inputs: Mutex::new(Vec::new()),
            inputs_gen: AtomicU64::new(0),
            worker_parked: CachePadded::new(AtomicBool::new(false)),
            worker_thread: std::sync::OnceLock::new(),
            flush_req: AtomicU64::new(0),
            flush_done: Mutex::new(0),
            flush_cv: Condvar::new(),
            closing: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            callbacks: Mutex::new(Vec::new()),
            poll_seq: Mutex::new(0),
            poll_cv: Condvar::new(),
            next_sub_id: AtomicU64::new(1),
            panicked: Mutex::new(None),
            next_timer: AtomicI64::new(i64::MAX),
            runner: caller_runs.then(|| Mutex::new(Runner::new())),
            stalled: AtomicBool::new(false),
            order: Arc::new(PushOrder::default()),
        });
        let mut handle = None;
        if shared.runner.is_none() {
            let s2 = shared.clone();
            let h = std::thread::Builder::new()
                .name("eddy-worker".into())
                .spawn(move || worker_main(s2))
                .map_err(|e| Error::new(Status::Io, format!("cannot start the worker thread: {e}")))?;
            let _ = shared.worker_thread.set(h.thread().clone());
            handle = Some(h);
        }
        Ok(Engine {
            worker: Arc::new(Worker {
                shared: shared.clone(),
                handle: Mutex::new(handle),
            }),
            shared,
        })
    }

    pub fn options(&self) -> &Options {
        &self.shared.options
    }

    /// Runs one or more `;`-separated statements, all or none.
    pub fn execute(&self, sql_text: &str) -> Result<()> {
        self.shared.check_usable()?;
        let mut df = self.shared.lock_dataflow();
        let plans = sql::plan_statements(sql_text, &*df)?;
        df.apply(plans, &self.shared.options)?;
        if df.needs_push_order {
            self.shared.order.enabled.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Opens a producer handle on `stream`.
    pub fn open_input(&self, stream: &str) -> Result<Input> {
        self.shared.check_usable()?;
        let mut df = self.shared.lock_dataflow();
        let id = df
            .lookup(stream)
            .ok_or_else(|| Error::not_found(format!("unknown stream '{stream}'")))?;
        let node = &mut df.streams[id];
        let q = InputQueue::new(
            id,
            node.schema.clone(),
            node.stats.clone(),
            node.settings.queue_capacity,
            self.shared.options.queue_bytes,
        );
        q.set_order(self.shared.order.clone());
        let settings = node.settings.clone();
        df.input_opened(id);
        drop(df);
        if let Err(e) = self.shared.register_input(q.clone()) {
            self.shared.lock_dataflow().streams[id].open_inputs -= 1;
            return Err(e);
        }
        Ok(Input::new(self.shared.clone(), q, settings))
    }

    /// Subscribes to everything `stream` emits from now on.
    pub fn subscribe(&self, stream: &str) -> Result<Subscription> {
        self.shared.check_usable()?;
        let mut df = self.shared.lock_dataflow();
        let id = df
            .lookup(stream)
            .ok_or_else(|| Error::not_found(format!("unknown stream '{stream}'")))?;
        let node = &mut df.streams[id];
        let sub = Arc::new(SubShared::new(
            self.shared.next_sub_id.fetch_add(1, Ordering::Relaxed),
            node.name.clone(),
            node.schema.clone(),
            self.shared.options.subscriber_capacity,
            self.shared.options.subscriber_overflow,
            self.shared.runner.is_some(),
            node.stats.clone(),
        ));
        node.subscribers.push(sub.clone());
        Ok(Subscription {
            shared: sub,
            engine: self.shared.clone(),
        })
    }

    /// The schema of a stream (lookup is case-insensitive).
    pub fn stream_schema(&self, stream: &str) -> Option<arrow::datatypes::SchemaRef> {
        let df = self.shared.lock_dataflow();
        df.lookup(stream).map(|i| df.streams[i].schema.clone())
    }

    /// Names and schemas of every stream, in creation order.
    pub fn streams(&self) -> Vec<(String, arrow::datatypes::SchemaRef)> {
        self.shared
            .lock_dataflow()
            .streams
            .iter()
            .map(|s| (s.name.clone(), s.schema.clone()))
            .collect()
    }

    /// Returns once every event pushed before the call has been processed
    /// and its results queued for subscribers. timeout_ms < 0 waits forever.
    pub fn flush(&self, timeout_ms: i32) -> Result<()> {
        self.shared.check_usable()?;
        if self.shared.runner.is_some() {
            return self.shared.flush_here(timeout_of(timeout_ms));
        }
        let target = self.shared.flush_req.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.wake_worker();
        let deadline = timeout_of(timeout_ms).map(|t| Instant::now() + t);
        let mut done = self.shared.flush_done.lock().unwrap();
        while *done < target {
            if let Some(m) = self.shared.panicked.lock().unwrap().as_ref() {
                return Err(Error::new(
                    Status::Panic,
                    format!("the engine stopped after a panic: {m}"),
                ));
            }
            if self.shared.finished.load(Ordering::SeqCst) {
                // Close drained everything.
                return Ok(());
            }
            match deadline {
                None => done = self.shared.flush_cv.wait(done).unwrap(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::new(
                            Status::Timeout,
                            "flush did not complete within the timeout",
                        ));
                    }
                    done = self.shared.flush_cv.wait_timeout(done, d - now).unwrap().0;
                }
            }
        }
        Ok(())
    }

    /// Runs pending callbacks on this thread. Waits up to timeout_ms (0: no
    /// wait, < 0: forever) for at least one. Returns batches delivered.
    pub fn poll(&self, timeout_ms: i32) -> Result<usize> {
        let deadline = timeout_of(timeout_ms).map(|t| Instant::now() + t);
        loop {
            // worker=caller: due deadlines fire, and rows held up by a full
            // subscriber run once it was read.
            self.shared.run_if_wanted()?;
            let seq = *self.shared.poll_seq.lock().unwrap();
            let subs: Vec<Arc<SubShared>> = self
                .shared
                .callbacks
                .lock()
                .unwrap()
                .iter()
                .filter_map(|w| w.upgrade())
                .collect();
            let mut delivered = 0;
            for s in &subs {
                delivered += s.run_callback();
            }
            if delivered > 0 {
                // worker=caller: the callbacks' reads may have made room
                // for rows held up.
                self.shared.run_if_wanted()?;
                return Ok(delivered);
            }
            let finished = self.shared.finished.load(Ordering::SeqCst);
            if finished && !subs.iter().any(|s| s.has_pending()) {
                return Err(Error::closed(
                    "the engine is closed and every result was delivered",
                ));
            }
            if let Some(m) = self.shared.panicked.lock().unwrap().as_ref() {
                return Err(Error::new(
                    Status::Panic,
                    format!("the engine stopped after a panic: {m}"),
                ));
            }
            let g = self.shared.poll_seq.lock().unwrap();
            if *g != seq {
                continue;
            }
            // worker=caller: nobody else fires processing-time deadlines.
            let mut wait = self
                .shared
                .runner
                .as_ref()
                .map(|_| self.shared.until_next_timer(Duration::from_secs(3600)));
            if let Some(d) = deadline {
                let now = Instant::now();
                if now >= d {
                    return Ok(0);
                }
                wait = Some(wait.map_or(d - now, |w| w.min(d - now)));
            }
            match wait {
                None => drop(self.shared.poll_cv.wait(g).unwrap()),
                Some(w) => drop(self.shared.poll_cv.wait_timeout(g, w).unwrap()),
            }
        }
    }

    /// Moves a manual clock (option clock=manual) to `now_ms`. A barrier:
    /// rows pushed before the call are processed at the old time, then the
    /// clock moves and every processing-time window due by `now_ms` fires
    /// before the call returns.
    pub fn advance_time(&self, now_ms: i64) -> Result<()> {
        self.shared.check_usable()?;
        if self.shared.clock.kind() != super::options::ClockKind::Manual {
            return self.shared.clock.advance(now_ms);
        }
        self.flush(-1)?;
        self.shared.clock.advance(now_ms)?;
        self.flush(-1)
    }

    pub fn stats_json(&self) -> String {
        let inputs = self.shared.inputs.lock().unwrap().clone();
        let df = self.shared.lock_dataflow();
        let depth = |stream: usize| {
            inputs
                .iter()
                .filter(|q| q.stream == stream)
                .map(|q| q.depth())
                .sum()
        };
        let body = df.stats_json(&depth);
        let closed = self.shared.closing.load(Ordering::Acquire);
        format!("{{\"closed\":{closed},{}", &body[1..])
    }

    /// Drains every input, lets queries emit what they hold, ends every
    /// subscription, and stops the worker. Results stay readable.
    pub fn close(&self) -> Result<()> {
        close_engine(&self.shared, &self.worker.handle)
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }
}

/// Engine::close, also run when the last handle of an unclosed engine is
/// dropped.
fn close_engine(shared: &Arc<EngineShared>, worker: &Mutex<Option<JoinHandle<()>>>) -> Result<()> {
    if shared.closing.swap(true, Ordering::SeqCst) {
        return Err(Error::closed("the engine is already closed"));
    }
    {
        // Seal under the lock register_input checks closing under.
        let inputs = shared.inputs.lock().unwrap();
        for q in inputs.iter() {
            q.seal();
        }
    }
    // Close never waits on a subscriber nobody reads.
    for st in shared.lock_dataflow().streams.iter() {
        for s in &st.subscribers {
            s.set_unbounded();
        }
    }
    if let Some(r) = &shared.runner {
        shared.close_here(r);
    }
    if let Some(t) = shared.worker_thread.get() {
        t.unpark();
    }
    let handle = worker.lock().unwrap().take();
    if let Some(h) = handle {
        if h.join().is_err() {
            return Err(Error::new(Status::Panic, "the worker thread panicked"));
        }
    }
    if let Some(m) = shared.panicked.lock().unwrap().as_ref() {
        return Err(Error::new(
            Status::Panic,
            format!("the engine stopped after a panic: {m}"),
        ));
    }
    Ok(())
}

/// A flush being waited on: its number and each input's tail at the time.
type PendingFlush = (u64, Vec<(Arc<InputQueue>, u64)>);

/// What runs the dataflow: owned by the worker thread, or (worker=caller)
/// behind `EngineShared::runner` for whichever host thread gets it. One
/// `step` takes what every input holds (up to `batch_rows` each), fires
/// due processing-time deadlines and hands the results to subscribers.
pub(crate) struct Runner {
    inputs: Vec<Arc<InputQueue>>,
    gen: u64,
    deliveries: Vec<Delivery>,
    items: Vec<Item>,
    /// worker=caller: `block` subscribers left at or over their capacity.
    /// Nothing runs until they are read, so a caller never waits on a
    /// reader that may be itself; rows wait in the input queues instead,
    /// whose own `overflow` policy then applies, as with a worker thread.
    stalled: Vec<Arc<SubShared>>,
}

impl Runner {
    fn new() -> Runner {
        Runner {
            inputs: Vec::new(),
            gen: u64::MAX,
            deliveries: Vec::new(),
            items: Vec::new(),
            stalled: Vec::new(),
        }
    }

    fn refresh_inputs(&mut self, shared: &EngineShared) {
        let g = shared.inputs_gen.load(Ordering::Acquire);
        if g != self.gen {
            self.inputs = shared.inputs.lock().unwrap().clone();
            self.gen = g;
        }
    }

    /// One pass over the timers and every input. Returns a count of the
    /// work done (0: nothing was waiting).
    fn step(&mut self, shared: &EngineShared) -> usize {
        self.refresh_inputs(shared);
        let mut work = 0usize;
        let mut ended = false;
        // Read after the caller's flush target: a flush that follows
        // advance_time sees the new time applied before it is acknowledged.
        let now = shared.clock.now_ms();
        if shared.next_timer.load(Ordering::Acquire) <= now {
            let mut df = shared.lock_dataflow();
            df.fire_timers(now, &mut self.deliveries);
            shared.set_next_timer(df.next_timer());
            drop(df);
            shared.deliver(&mut self.deliveries, &mut self.stalled);
            work += 1;
        }
        if shared.order.enabled.load(Ordering::Relaxed) && self.inputs.len() > 1 {
            // Push order across inputs: always the input whose next item was
            // pushed first, up to the next item of another input. Bounded
            // like the plain round (each input's batch, at most).
            let mut budget = self.inputs.len() * shared.options.batch_rows.max(1);
            loop {
                let mut first: Option<(usize, u64)> = None;
                let mut next_other = u64::MAX;
                for (i, q) in self.inputs.iter().enumerate() {
                    let Some(s) = q.next_seq() else { continue };
                    match first {
                        Some((_, f)) if s >= f => next_other = next_other.min(s),
                        _ => {
                            if let Some((_, f)) = first.replace((i, s)) {
                                next_other = next_other.min(f);
                            }
                        }
                    }
                }
                let Some((i, f)) = first else { break };
                // Items pushed before the order was enabled (0) go first.
                let limit = if f == 0 { 1 } else { next_other };
                let (q, items) = (&self.inputs[i], &mut self.items);
                let n = q.drain_before(shared.options.batch_rows, limit, &mut |it| items.push(it));
                if self.items.is_empty() {
                    break;
                }
                work += n;
                let stream = q.stream;
                ended |= self.apply_items(shared, stream, now, &mut work);
                if n >= budget {
                    break;
                }
                budget -= n.max(1);
            }
        } else {
            for i in 0..self.inputs.len() {
                let (q, items) = (&self.inputs[i], &mut self.items);
                work += q.drain(shared.options.batch_rows, &mut |it| items.push(it));
                let stream = q.stream;
                ended |= self.apply_items(shared, stream, now, &mut work);
            }
        }
        if ended {
            // Closed inputs leave the list once drained.
            let mut all = shared.inputs.lock().unwrap();
            let before = all.len();
            all.retain(|q| !(q.is_closed_and_empty()));
            if all.len() != before {
                shared.inputs_gen.fetch_add(1, Ordering::Release);
            }
        }
        work
    }

    /// Runs the items just taken from an input of `stream` through the
    /// dataflow and hands out the results; true when the input closed.
    fn apply_items(&mut self, shared: &EngineShared, stream: usize, now: i64, work: &mut usize) -> bool {
        if self.items.is_empty() {
            return false;
        }
        let mut ended = false;
        let mut df = shared.lock_dataflow();
        for it in self.items.drain(..) {
            match it {
                Item::Batch(b) => df.push(stream, b, now, &mut self.deliveries),
                Item::Watermark(ts) => {
                    *work += 1;
                    df.watermark(stream, ts, now, &mut self.deliveries);
                }
                Item::Close => {
                    *work += 1;
                    df.input_closed(stream, now, &mut self.deliveries);
                    ended = true;
                }
            }
        }
        shared.set_next_timer(df.next_timer());
        drop(df);
        shared.deliver(&mut self.deliveries, &mut self.stalled);
        ended
    }

    /// worker=caller: steps until `own`'s item (queue, published position)
    /// was taken or, with none, until nothing is waiting; stops at a full
    /// `block` subscriber, with `EngineShared::stalled` raised.
    fn run(&mut self, shared: &EngineShared, own: Option<(&InputQueue, u64)>) {
        loop {
            if !self.stalled.is_empty() {
                // Raised before the check: a reader that empties the
                // subscriber after it sees the flag and runs what waits.
                shared.stalled.store(true, Ordering::SeqCst);
                self.stalled.retain(|s| s.is_over_capacity());
                if !self.stalled.is_empty() {
                    return;
                }
                shared.stalled.store(false, Ordering::SeqCst);
            }
            if own.is_some_and(|(q, pos)| q.head_pos() >= pos) || self.step(shared) == 0 {
                return;
            }
        }
    }

    /// True once close sealed every input and all of them are drained.
    fn all_drained(&self, shared: &EngineShared) -> bool {
        self.inputs.iter().all(|q| q.is_empty())
            && shared
                .inputs
                .lock()
                .unwrap()
                .iter()
                .all(|q| q.is_sealed_and_empty())
    }

    /// The end of the engine: every stream's input ended; queries emit
    /// what they hold.
    fn finish(&mut self, shared: &EngineShared) {
        shared
            .lock_dataflow()
            .finish_all(shared.clock.now_ms(), &mut self.deliveries);
        shared.deliver(&mut self.deliveries, &mut self.stalled);
        *shared.flush_done.lock().unwrap() = shared.flush_req.load(Ordering::SeqCst);
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The engine's last act, whoever ran it: after a panic the engine is
/// unusable; either way nobody may wait on it any longer.
fn end_engine(shared: &EngineShared, panic: Option<String>) {
    if let Some(msg) = panic {
        *shared.panicked.lock().unwrap() = Some(msg);
        shared.closing.store(true, Ordering::SeqCst);
        for q in shared.inputs.lock().unwrap().iter() {
            q.seal();
        }
    }
    for st in shared.lock_dataflow().streams.iter() {
        for s in &st.subscribers {
            s.end();
        }
    }
    shared.finished.store(true, Ordering::SeqCst);
    {
        // Under the lock flush waits with, so a flush that just checked
        // `finished` cannot miss this wake-up.
        let _g = shared.flush_done.lock().unwrap();
        shared.flush_cv.notify_all();
    }
    shared.notify_poll();
}

/// The worker: takes rows and batches from every input in turn, runs them
/// through the dataflow, hands results to subscribers, acknowledges flushes,
/// and parks when there is nothing to do.
fn worker_main(shared: Arc<EngineShared>) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker_loop(&shared)));
    end_engine(&shared, result.err().map(panic_message));
}

fn worker_loop(shared: &Arc<EngineShared>) {
    let mut runner = Runner::new();
    let mut pending_flush: Option<PendingFlush> = None;
    let mut idle_since: Option<Instant> = None;
    // Pauses between two idle polls, doubled up to IDLE_BACKOFF: each poll
    // reads the producers' tail line, and every read makes their next
    // publish wait for the line to come back. Fewer polls let a producer
    // publish a run of rows per transfer, for at most about a microsecond
    // more latency.
    let mut backoff = 1u32;
    // Only this thread writes `flush_done`: its own copy spares the idle
    // loop a lock per poll.
    let mut flushed = *shared.flush_done.lock().unwrap();
    loop {
        runner.refresh_inputs(shared);
        let gen = runner.gen;
        let closing = shared.closing.load(Ordering::Acquire);
        let flush_target = shared.flush_req.load(Ordering::SeqCst);
        if pending_flush.is_none() && flush_target > flushed {
            pending_flush = Some((flush_target, shared.input_tails()));
        }

        let work = runner.step(shared);

        if let Some((target, tails)) = &pending_flush {
            if tails.iter().all(|(q, t)| q.head_pos() >= *t) {
                flushed = *target;
                *shared.flush_done.lock().unwrap() = flushed;
                shared.flush_cv.notify_all();
                pending_flush = None;
                continue;
            }
        }
        if work > 0 {
            idle_since = None;
            backoff = 1;
            continue;
        }
        // `closing` is set before close seals the queues: a push may still
        // land in between, so only sealed and drained queues (every one
        // registered: close seals under the same lock) end the engine.
        if closing && runner.all_drained(shared) {
            runner.finish(shared);
            return;
        }
        let now = Instant::now();
        let since = *idle_since.get_or_insert(now);
        if now - since < shared.options.idle_spin {
            if backoff < IDLE_BACKOFF {
                for _ in 0..backoff {
                    std::hint::spin_loop();
                }
                backoff *= 2;
            } else {
                // Past the first microseconds, poll between yields: on a
                // machine with no spare core the host's producer or
                // consumer thread may be waiting for this one's CPU, and
                // a pure spin would hold it for a whole time slice
                // (milliseconds of delivery latency). With nothing else
                // runnable the yield returns at once.
                std::thread::yield_now();
            }
            continue;
        }
        shared.worker_parked.store(true, Ordering::SeqCst);
        let ready = runner.inputs.iter().any(|q| !q.is_empty())
            || shared.inputs_gen.load(Ordering::Acquire) != gen
            || shared.flush_req.load(Ordering::SeqCst) > flushed
            || shared.closing.load(Ordering::SeqCst) != closing;
        if !ready {
            // Sleep until the next window deadline at most (system clock;
            // a manual clock wakes the worker when it moves).
            std::thread::park_timeout(shared.until_next_timer(Duration::from_millis(100)));
        }
        shared.worker_parked.store(false, Ordering::SeqCst);
        idle_since = None;
        backoff = 1;
    }
}

/// Most `spin_loop` hints between two idle polls: 0.1 to 1.5 µs, as the
/// hint costs 10 to 140 cycles by processor; past it the idle worker yields.
const IDLE_BACKOFF: u32 = 32;
