//! Target `appender`: random sequences of row-appender calls through the C
//! ABI (begin_row, set_null / set_bool / set_i32 / set_i64 / set_f32 /
//! set_f64 / set_str with random column indexes and types, end_row,
//! abort_row, watermark, flush, close and reopen, column_index /
//! column_type) on one of a few stream schemas, checked against a model.
//!
//! The model predicts every call's status (EDDY_OK, or which error), the
//! rows that were accepted with their values (unset columns NULL, last set
//! wins), and, on the event-time schema, which rows are late (the same
//! rule as the engine: behind the watermark minus allowed lateness, or
//! without a time). At the end, after a flush, the stream's subscription
//! and a pass-through query (`SELECT * FROM S`) must both have delivered
//! exactly the accepted, non-late rows, in order, value for value, and the
//! stream's `late` counter must match.

use std::cell::RefCell;
use std::ffi::CString;
use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};
use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Float32Type, Float64Type, SchemaRef};
use eddy::capi::eddy_type;

use crate::abi::{self, stream_stat, Engine, Failure, Input, Res, Sub};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    I32,
    I64,
    F32,
    F64,
    Str,
    Ts,
}

pub struct StreamDef {
    pub sql: &'static str,
    pub cols: &'static [(&'static str, Kind)],
    /// (event-time column, watermark_delay, allowed_lateness)
    pub event_time: Option<(usize, i64, i64)>,
}

pub const STREAMS: &[StreamDef] = &[
    StreamDef {
        sql: "CREATE STREAM S (a INT, b BIGINT, c DOUBLE, d STRING, e BOOL, f FLOAT, g TIMESTAMP)",
        cols: &[
            ("a", Kind::I32),
            ("b", Kind::I64),
            ("c", Kind::F64),
            ("d", Kind::Str),
            ("e", Kind::Bool),
            ("f", Kind::F32),
            ("g", Kind::Ts),
        ],
        event_time: None,
    },
    StreamDef {
        sql: "CREATE STREAM S (s STRING)",
        cols: &[("s", Kind::Str)],
        event_time: None,
    },
    StreamDef {
        sql: "CREATE STREAM S (x BIGINT, t TIMESTAMP, s STRING) \
              WITH (event_time = 't', watermark_delay = 5, allowed_lateness = 3)",
        cols: &[("x", Kind::I64), ("t", Kind::Ts), ("s", Kind::Str)],
        event_time: Some((1, 5, 3)),
    },
    StreamDef {
        sql:
            "CREATE STREAM S (k1 STRING, k2 VARCHAR, \"Mixed Case\" STRING, v1 DOUBLE, v2 REAL, n1 INTEGER, \
              n2 INT, flag BOOLEAN, big LONG)",
        cols: &[
            ("k1", Kind::Str),
            ("k2", Kind::Str),
            ("Mixed Case", Kind::Str),
            ("v1", Kind::F64),
            ("v2", Kind::F32),
            ("n1", Kind::I32),
            ("n2", Kind::I32),
            ("flag", Kind::Bool),
            ("big", Kind::I64),
        ],
        event_time: None,
    },
];

/// Small queues so rows wrap the ring and the producer waits for the
/// worker now and then.
pub const OPTIONS: &str = "clock=manual;queue_capacity=16;queue_bytes=4096;idle_spin_us=0";

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Bool(bool),
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    Str(String),
}

#[derive(Debug, Arbitrary)]
pub enum Op {
    BeginRow,
    AbortRow,
    EndRow,
    SetNull(u8),
    SetBool(u8, bool),
    SetI32(u8, i32),
    SetI64(u8, i64),
    SetSmallI64(u8, i8),
    SetF32(u8, f32),
    SetF64(u8, f64),
    SetStr(u8, Vec<u8>),
    SetText(u8, String),
    Watermark(i64),
    SmallWatermark(i8),
    Flush,
    Close,
    Reopen,
    ColumnIndex(Vec<u8>),
    ColumnType(u8),
}

struct Model {
    ncols: usize,
    kinds: Vec<Kind>,
    row_open: bool,
    closed: bool,
    staged: Vec<Option<Val>>,
    staged_str_bytes: usize,
    /// Rows that reached the stream, in order, and whether each is kept.
    rows: Vec<Vec<Option<Val>>>,
    event_time: Option<(usize, i64, i64)>,
    wm: i64,
    max_ts: i64,
    late: u64,
}

impl Model {
    /// A column index from a fuzz byte: mostly in range, sometimes just
    /// past it, 255 is u32::MAX.
    fn col(&self, b: u8) -> u32 {
        if b == 255 {
            u32::MAX
        } else {
            b as u32 % (self.ncols as u32 + 2)
        }
    }

    /// The status a setter of `kinds` on column `col` must return.
    fn setter(&self, col: u32, accepts: &[Kind]) -> Option<abi::eddy_status> {
        if !self.row_open || col as usize >= self.ncols {
            return Some(abi::EDDY_ERR_INVALID_ARGUMENT);
        }
        if !accepts.contains(&self.kinds[col as usize]) {
            return Some(abi::EDDY_ERR_SCHEMA);
        }
        None
    }

    /// Event-time bookkeeping of one row reaching the stream (the engine's
    /// rule, src/runtime/dataflow.rs `event_times`). True if kept.
    fn arrive(&mut self, row: &[Option<Val>]) -> bool {
        let Some((c, delay, lateness)) = self.event_time else {
            return true;
        };
        match row[c] {
            Some(Val::I64(t)) if self.wm == i64::MIN || t >= self.wm.saturating_sub(lateness) => {
                self.max_ts = self.max_ts.max(t);
                self.wm = self.wm.max(self.max_ts.saturating_sub(delay));
                true
            }
            _ => {
                self.late += 1;
                false
            }
        }
    }
}

fn expect(r: Res, want: Option<abi::eddy_status>, what: &str) {
    match (r, want) {
        (Ok(()), None) => {}
        (Err(Failure { status, .. }), Some(w)) if status == w => {}
        (r, w) => panic!("{what}: expected {w:?} (None = EDDY_OK), got {r:?}"),
    }
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let _ = run_ops(&mut u);
}

/// An engine with stream S, the pass-through query O, a subscription to
/// each and an input held open so the stream never ends when the fuzzed
/// input closes; plus the counters the inputs run on it so far have added
/// to S's `late` and `events_in` (its stats are cumulative).
struct Setup {
    sub_s: Sub,
    sub_o: Sub,
    _keeper: Input,
    schema: SchemaRef,
    late: u64,
    events_in: u64,
    /// Last: fields drop in order, the handles before their engine.
    e: Engine,
}

impl Setup {
    fn new(def: &StreamDef) -> Setup {
        let e = Engine::open(OPTIONS);
        e.execute(def.sql).expect("stream");
        e.execute("INSERT INTO O SELECT * FROM S").expect("query");
        let sub_s = e.subscribe("S").unwrap();
        let sub_o = e.subscribe("O").unwrap();
        let keeper = e.input("S").unwrap();
        let schema = e.stream_schema("S").expect("schema");
        Setup {
            sub_s,
            sub_o,
            _keeper: keeper,
            schema,
            late: 0,
            events_in: 0,
            e,
        }
    }
}

thread_local! {
    /// One long-lived engine per schema without event time: opening an
    /// engine and planning its SQL for every input cost more than the
    /// input's calls. Each input ends with everything it pushed flushed and
    /// read, so the next one starts from an empty stream and subscriptions;
    /// the state an input cannot see (the ring's position, which wraps more
    /// often this way) is all that carries over. An event-time stream keeps
    /// its watermark, which the model would have to inherit, so that schema
    /// gets a fresh engine per input and every input replays alone.
    static SETUPS: RefCell<Vec<Option<Setup>>> = RefCell::new((0..STREAMS.len()).map(|_| None).collect());
}

fn run_ops(u: &mut Unstructured) -> Result<()> {
    let which = u.choose_index(STREAMS.len())?;
    let def = &STREAMS[which];
    if def.event_time.is_some() {
        let mut fresh = Setup::new(def);
        return run_on(u, def, &mut fresh);
    }
    SETUPS.with(|s| {
        let mut s = s.borrow_mut();
        let setup = s[which].get_or_insert_with(|| Setup::new(def));
        run_on(u, def, setup)
    })
}

fn run_on(u: &mut Unstructured, def: &StreamDef, setup: &mut Setup) -> Result<()> {
    let e = &setup.e;
    let mut input: Input = e.input("S").unwrap();
    assert_eq!(input.num_columns() as usize, def.cols.len());
    let mut m = Model {
        ncols: def.cols.len(),
        kinds: def.cols.iter().map(|c| c.1).collect(),
        row_open: false,
        closed: false,
        staged: vec![None; def.cols.len()],
        staged_str_bytes: 0,
        rows: Vec::new(),
        event_time: def.event_time,
        wm: i64::MIN,
        max_ts: i64::MIN,
        late: 0,
    };
    let mut kept: Vec<Vec<Option<Val>>> = Vec::new();
    // Running out of bytes ends the calls, never the checks: the engine
    // may be reused, so what this input pushed must be read out here.
    let n_ops = u.int_in_range(0..=200).unwrap_or(0);
    for _ in 0..n_ops {
        if u.is_empty() {
            break;
        }
        let Ok(op) = u.arbitrary::<Op>() else {
            break;
        };
        match op {
            Op::BeginRow => {
                let want = if m.closed {
                    Some(abi::EDDY_ERR_CLOSED)
                } else if m.row_open {
                    Some(abi::EDDY_ERR_INVALID_ARGUMENT)
                } else {
                    None
                };
                expect(input.begin_row(), want, "begin_row");
                if want.is_none() {
                    m.row_open = true;
                    m.staged = vec![None; m.ncols];
                    m.staged_str_bytes = 0;
                }
            }
            Op::AbortRow => {
                expect(input.abort_row(), None, "abort_row");
                m.row_open = false;
            }
            Op::EndRow => {
                if !m.row_open {
                    expect(input.end_row(), Some(abi::EDDY_ERR_INVALID_ARGUMENT), "end_row");
                    continue;
                }
                m.row_open = false;
                let r = input.end_row();
                // A row carries at most half of queue_bytes of strings; a
                // small one must go through.
                if m.staged_str_bytes <= 512 {
                    expect(r.clone(), None, "end_row");
                }
                if r.is_ok() {
                    let row = m.staged.clone();
                    if m.arrive(&row) {
                        kept.push(row.clone());
                    }
                    m.rows.push(row);
                }
            }
            Op::SetNull(c) => {
                let col = m.col(c);
                let all = [
                    Kind::Bool,
                    Kind::I32,
                    Kind::I64,
                    Kind::F32,
                    Kind::F64,
                    Kind::Str,
                    Kind::Ts,
                ];
                let want = m.setter(col, &all);
                expect(input.set_null(col), want, "set_null");
                if want.is_none() {
                    m.staged[col as usize] = None;
                }
            }
            Op::SetBool(c, v) => {
                let col = m.col(c);
                let want = m.setter(col, &[Kind::Bool]);
                expect(input.set_bool(col, v), want, "set_bool");
                if want.is_none() {
                    m.staged[col as usize] = Some(Val::Bool(v));
                }
            }
            Op::SetI32(c, v) => {
                let col = m.col(c);
                let want = m.setter(col, &[Kind::I32]);
                expect(input.set_i32(col, v), want, "set_i32");
                if want.is_none() {
                    m.staged[col as usize] = Some(Val::I32(v));
                }
            }
            Op::SetI64(c, v) => set_i64(&mut m, &input, c, v),
            Op::SetSmallI64(c, v) => set_i64(&mut m, &input, c, v as i64),
            Op::SetF32(c, v) => {
                let col = m.col(c);
                let want = m.setter(col, &[Kind::F32]);
                expect(input.set_f32(col, v), want, "set_f32");
                if want.is_none() {
                    m.staged[col as usize] = Some(Val::F32(v.to_bits()));
                }
            }
            Op::SetF64(c, v) => {
                let col = m.col(c);
                let want = m.setter(col, &[Kind::F64]);
                expect(input.set_f64(col, v), want, "set_f64");
                if want.is_none() {
                    m.staged[col as usize] = Some(Val::F64(v.to_bits()));
                }
            }
            Op::SetStr(c, bytes) => set_str(&mut m, &input, c, &bytes),
            Op::SetText(c, s) => set_str(&mut m, &input, c, s.as_bytes()),
            Op::Watermark(ts) => watermark(&mut m, &input, ts),
            Op::SmallWatermark(d) => {
                let base = if m.max_ts == i64::MIN { 0 } else { m.max_ts };
                watermark(&mut m, &input, base.saturating_add(d as i64))
            }
            Op::Flush => {
                e.flush().expect("flush");
            }
            Op::Close => {
                let want = if m.closed {
                    Some(abi::EDDY_ERR_CLOSED)
                } else {
                    None
                };
                expect(input.close(), want, "close");
                m.closed = true;
                m.row_open = false;
            }
            Op::Reopen => {
                // Rows of two inputs interleave in no set order: let the old
                // one's be processed before the new one pushes any.
                e.flush().expect("flush");
                input = e.input("S").expect("reopen");
                m.closed = false;
                m.row_open = false;
            }
            Op::ColumnIndex(name) => {
                let c = abi::c_string(&name);
                let r = input.column_index(&c);
                match std::str::from_utf8(c.to_bytes()) {
                    Err(_) => assert_eq!(r.unwrap_err().status, abi::EDDY_ERR_INVALID_ARGUMENT),
                    Ok(n) => match def.cols.iter().position(|(cn, _)| cn.eq_ignore_ascii_case(n)) {
                        Some(i) => assert_eq!(r.expect("column_index"), i as u32),
                        None => assert_eq!(r.unwrap_err().status, abi::EDDY_ERR_NOT_FOUND),
                    },
                }
                let _ = CString::default();
            }
            Op::ColumnType(c) => {
                let col = m.col(c);
                let want = match m.kinds.get(col as usize) {
                    None => eddy_type::EDDY_TYPE_INVALID,
                    Some(Kind::Bool) => eddy_type::EDDY_TYPE_BOOL,
                    Some(Kind::I32) => eddy_type::EDDY_TYPE_INT,
                    Some(Kind::I64) => eddy_type::EDDY_TYPE_BIGINT,
                    Some(Kind::F32) => eddy_type::EDDY_TYPE_FLOAT,
                    Some(Kind::F64) => eddy_type::EDDY_TYPE_DOUBLE,
                    Some(Kind::Str) => eddy_type::EDDY_TYPE_STRING,
                    Some(Kind::Ts) => eddy_type::EDDY_TYPE_TIMESTAMP,
                };
                assert_eq!(input.column_type(col), want);
            }
        }
    }
    // The rest is read out even when the input ran out of bytes early.
    finish(setup, &m, &kept);
    Ok(())
}

/// Flushes and checks what reached the stream, its query and its counters
/// against the model.
fn finish(setup: &mut Setup, m: &Model, kept: &[Vec<Option<Val>>]) {
    let e = &setup.e;
    e.flush().expect("flush");
    let schema = &setup.schema;
    let want = expected(schema, kept);
    for (name, sub) in [("S", &setup.sub_s), ("O", &setup.sub_o)] {
        let got = sub.drain();
        let got = if got.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            arrow::compute::concat_batches(&got[0].schema(), &got).unwrap()
        };
        compare(name, &got, &want);
    }
    setup.late += m.late;
    setup.events_in += m.rows.len() as u64 - m.late;
    let stats = e.stats_json();
    assert_eq!(
        stream_stat(&stats, "S", "late"),
        Some(setup.late),
        "late rows: {stats}"
    );
    assert_eq!(
        stream_stat(&stats, "S", "events_in"),
        Some(setup.events_in),
        "events_in: {stats}"
    );
}

fn set_i64(m: &mut Model, input: &Input, c: u8, v: i64) {
    let col = m.col(c);
    let want = m.setter(col, &[Kind::I64, Kind::Ts]);
    expect(input.set_i64(col, v), want, "set_i64");
    if want.is_none() {
        m.staged[col as usize] = Some(Val::I64(v));
    }
}

fn set_str(m: &mut Model, input: &Input, c: u8, bytes: &[u8]) {
    let col = m.col(c);
    let mut want = m.setter(col, &[Kind::Str]);
    let text = std::str::from_utf8(bytes);
    if want.is_none() && text.is_err() {
        want = Some(abi::EDDY_ERR_INVALID_ARGUMENT);
    }
    expect(input.set_str(col, bytes), want, "set_str");
    if want.is_none() {
        m.staged[col as usize] = Some(Val::Str(text.unwrap().to_string()));
        m.staged_str_bytes += bytes.len();
    }
}

fn watermark(m: &mut Model, input: &Input, ts: i64) {
    let want = if m.closed {
        Some(abi::EDDY_ERR_CLOSED)
    } else if m.row_open || m.event_time.is_none() {
        Some(abi::EDDY_ERR_INVALID_ARGUMENT)
    } else {
        None
    };
    expect(input.watermark(ts), want, "watermark");
    if want.is_none() && ts > m.wm {
        m.wm = ts;
    }
}

fn expected(schema: &SchemaRef, rows: &[Vec<Option<Val>>]) -> RecordBatch {
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| -> ArrayRef {
            let vals = rows.iter().map(|r| r[c].clone());
            match f.data_type() {
                DataType::Boolean => Arc::new(
                    vals.map(|v| v.map(|v| matches!(v, Val::Bool(true))))
                        .collect::<BooleanArray>(),
                ),
                DataType::Int32 => Arc::new(
                    vals.map(|v| v.map(|v| if let Val::I32(x) = v { x } else { unreachable!() }))
                        .collect::<Int32Array>(),
                ),
                DataType::Int64 => Arc::new(
                    vals.map(|v| v.map(|v| if let Val::I64(x) = v { x } else { unreachable!() }))
                        .collect::<Int64Array>(),
                ),
                DataType::Timestamp(_, _) => Arc::new(
                    vals.map(|v| v.map(|v| if let Val::I64(x) = v { x } else { unreachable!() }))
                        .collect::<TimestampMillisecondArray>(),
                ),
                DataType::Float32 => Arc::new(
                    vals.map(|v| {
                        v.map(|v| {
                            if let Val::F32(x) = v {
                                f32::from_bits(x)
                            } else {
                                unreachable!()
                            }
                        })
                    })
                    .collect::<Float32Array>(),
                ),
                DataType::Float64 => Arc::new(
                    vals.map(|v| {
                        v.map(|v| {
                            if let Val::F64(x) = v {
                                f64::from_bits(x)
                            } else {
                                unreachable!()
                            }
                        })
                    })
                    .collect::<Float64Array>(),
                ),
                DataType::Utf8 => Arc::new(
                    vals.map(|v| v.map(|v| if let Val::Str(x) = v { x } else { unreachable!() }))
                        .collect::<StringArray>(),
                ),
                other => panic!("unexpected stream type {other}"),
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), cols).unwrap()
}

fn compare(which: &str, got: &RecordBatch, want: &RecordBatch) {
    assert_eq!(got.num_rows(), want.num_rows(), "{which}: row count");
    assert_eq!(got.num_columns(), want.num_columns(), "{which}: columns");
    for c in 0..want.num_columns() {
        let (g, w) = (got.column(c), want.column(c));
        let same = match w.data_type() {
            DataType::Float32 => {
                let (g, w) = (g.as_primitive::<Float32Type>(), w.as_primitive::<Float32Type>());
                (0..w.len()).all(|i| {
                    g.is_null(i) == w.is_null(i)
                        && (w.is_null(i) || g.value(i).to_bits() == w.value(i).to_bits())
                })
            }
            DataType::Float64 => {
                let (g, w) = (g.as_primitive::<Float64Type>(), w.as_primitive::<Float64Type>());
                (0..w.len()).all(|i| {
                    g.is_null(i) == w.is_null(i)
                        && (w.is_null(i) || g.value(i).to_bits() == w.value(i).to_bits())
                })
            }
            _ => g.to_data() == w.to_data(),
        };
        assert!(same, "{which}: column {c} differs\n got {g:?}\nwant {w:?}");
    }
}

use arrow::array::Array;
