//! Target `sql`: arbitrary bytes as a statement string, through the whole
//! front end (parse → analyze → plan) and, when they plan, through a fresh
//! engine that installs the plans and runs a few rows through them.
//!
//! Per input:
//! 1. The bytes (cut at the first NUL, as C would) go to
//!    `eddy::sql::plan_statements` against a catalog holding [`PRELUDE`]'s
//!    streams.
//! 2. If that fails (or the bytes are not UTF-8), `eddy_engine_execute` on a
//!    long-lived engine that ran the same prelude must fail with the same
//!    status: a failed call applies nothing, so that engine never changes.
//! 3. If it plans, a fresh engine (manual clock, small queues) runs the
//!    prelude and the text, then every stream gets a few rows, watermarks
//!    and clock moves, is flushed, closed and drained.
//!
//! An error is fine anywhere; EDDY_ERR_PANIC / EDDY_ERR_INTERNAL, a panic,
//! a hang (flush timing out) or a crash is a bug.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use arrow::datatypes::{DataType, SchemaRef};
use eddy::{Engine as RustEngine, Status};

use crate::abi::{self, c_string};

/// Streams and a query every input can refer to.
pub const PRELUDE: &str =
    "CREATE STREAM Trades (symbol STRING, price DOUBLE, volume BIGINT, ts TIMESTAMP);\n\
     CREATE STREAM Ev (id INT, k VARCHAR, v FLOAT, ok BOOL, t BIGINT) \
     WITH (event_time = 't', watermark_delay = 10, allowed_lateness = 5);\n\
     INSERT INTO Big SELECT symbol, price FROM Trades WHERE price > 100.0;";

/// Options of the engines a target builds per input: a manual clock (so a
/// run does not depend on the wall clock), small queues (cheap to allocate,
/// and they wrap), no idle spinning (the fuzzer has the CPU).
pub const FRESH_OPTIONS: &str =
    "clock=manual;queue_capacity=64;queue_bytes=8192;subscriber_capacity=4096;subscriber_overflow=drop_oldest;idle_spin_us=0";

/// The catalog of a Rust engine, as the planner sees it.
struct EngineCatalog<'a>(&'a RustEngine);

impl eddy::sql::Catalog for EngineCatalog<'_> {
    fn stream(&self, name: &str) -> Option<(String, SchemaRef)> {
        let schema = self.0.stream_schema(name)?;
        let canonical = self
            .0
            .streams()
            .into_iter()
            .find(|(_, s)| Arc::ptr_eq(s, &schema))
            .map(|(n, _)| n)?;
        Some((canonical, schema))
    }
}

struct State {
    catalog: RustEngine,
    c_engine: abi::Engine,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&State) -> R) -> R {
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        let st = s.get_or_insert_with(|| {
            let catalog = RustEngine::open(&abi::options(FRESH_OPTIONS)).expect("engine opens");
            catalog.execute(PRELUDE).expect("prelude plans");
            let c_engine = abi::Engine::open("idle_spin_us=0");
            c_engine.execute(PRELUDE).expect("prelude runs");
            State { catalog, c_engine }
        });
        f(st)
    })
}

pub fn run(data: &[u8]) {
    let sql_c = c_string(data);
    let text = std::str::from_utf8(sql_c.to_bytes()).ok();
    let planned = text.map(|t| with_state(|s| eddy::sql::plan_statements(t, &EngineCatalog(&s.catalog))));
    match planned {
        Some(Ok(_)) => run_fresh(text.unwrap()),
        Some(Err(e)) => {
            assert!(
                !matches!(e.status, Status::Panic | Status::Internal),
                "planner: {e}"
            );
            let r = with_state(|s| s.c_engine.execute_c(&sql_c));
            let f = r.expect_err("planning failed but eddy_engine_execute succeeded");
            assert_eq!(
                f.status,
                e.status.into(),
                "plan error '{}' but execute error '{}'",
                e.message,
                f.message
            );
        }
        None => {
            let f = with_state(|s| s.c_engine.execute_c(&sql_c)).expect_err("non-UTF-8 SQL accepted");
            assert_eq!(f.status, abi::EDDY_ERR_INVALID_ARGUMENT, "{}", f.message);
        }
    }
}

/// A small deterministic generator for row values.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[(self.next_u64() % xs.len() as u64) as usize]
    }
}

const I64S: &[i64] = &[
    0,
    1,
    -1,
    7,
    100,
    1_000,
    86_400_000,
    i64::MAX,
    i64::MIN,
    1_700_000_000_000,
];
const I32S: &[i32] = &[0, 1, -1, 3, 42, i32::MAX, i32::MIN];
const F64S: &[f64] = &[
    0.0,
    -0.0,
    1.5,
    101.0,
    -3.25,
    1e308,
    f64::NAN,
    f64::INFINITY,
    f64::MIN_POSITIVE,
];
const STRS: &[&str] = &["", "a", "ACME", "é", "ß%_\\", "x'y", "🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀"];

/// Pushes `rows` rows of values from `rng` into `input` (errors allowed,
/// bugs not).
pub fn push_rows(input: &mut eddy::Input, schema: &SchemaRef, rng: &mut Rng, rows: usize) {
    for _ in 0..rows {
        input.begin_row().expect("begin_row on an open input");
        for (c, f) in schema.fields().iter().enumerate() {
            let c = c as u32;
            if rng.next_u64().is_multiple_of(8) {
                input.set_null(c).unwrap();
                continue;
            }
            let r = match f.data_type() {
                DataType::Boolean => input.set_bool(c, rng.next_u64().is_multiple_of(2)),
                DataType::Int32 => input.set_i32(c, rng.pick(I32S)),
                DataType::Int64 | DataType::Timestamp(_, _) => {
                    // Mostly small increasing-ish times, sometimes edges.
                    let v = if rng.next_u64().is_multiple_of(4) {
                        rng.pick(I64S)
                    } else {
                        (rng.next_u64() % 5_000) as i64
                    };
                    input.set_i64(c, v)
                }
                DataType::Float32 => input.set_f32(c, rng.pick(F64S) as f32),
                DataType::Float64 => input.set_f64(c, rng.pick(F64S)),
                DataType::Utf8 => input.set_str(c, rng.pick(STRS).as_bytes()),
                other => panic!("stream column of type {other}"),
            };
            r.expect("a setter of the column's own type");
        }
        // A stream may be declared with a tiny queue and no push timeout:
        // EDDY_ERR_FULL is then an answer, not a bug.
        no_bug(input.end_row());
    }
}

fn no_bug<T>(r: eddy::Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(
                !matches!(e.status, Status::Panic | Status::Internal | Status::Timeout),
                "{:?}: {}",
                e.status,
                e.message
            );
            None
        }
    }
}

fn drain(sub: &eddy::Subscription) -> usize {
    let mut n = 0;
    loop {
        match sub.next(Some(Duration::ZERO)) {
            Ok(b) => n += b.num_rows(),
            Err(e) if matches!(e.status, Status::Timeout | Status::EndOfStream) => return n,
            Err(e) => panic!("next: {e}"),
        }
    }
}

/// Installs `text` on a fresh engine and runs rows through every stream.
pub fn run_fresh(text: &str) {
    let e = RustEngine::open(&abi::options(FRESH_OPTIONS)).expect("engine opens");
    e.execute(PRELUDE).expect("prelude");
    if no_bug(e.execute(text)).is_none() {
        return;
    }
    let mut rng = Rng::new(text.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let streams = e.streams();
    let subs: Vec<_> = streams
        .iter()
        .filter_map(|(n, _)| no_bug(e.subscribe(n)))
        .collect();
    let mut inputs: Vec<_> = streams
        .iter()
        .filter_map(|(n, s)| no_bug(e.open_input(n)).map(|i| (i, s.clone())))
        .collect();
    for round in 0..3i64 {
        for (input, schema) in inputs.iter_mut() {
            push_rows(input, schema, &mut rng, 3);
            // Only event-time streams take watermarks; others refuse.
            let _ = no_bug(input.watermark(round * 2_000));
        }
        no_bug(e.flush(abi::FLUSH_TIMEOUT_MS)).expect("flush");
        no_bug(e.advance_time(1_000 * (round + 1)));
        for s in &subs {
            drain(s);
        }
    }
    let _ = e.stats_json();
    no_bug(e.close()).expect("close");
    for s in &subs {
        drain(s);
    }
}
