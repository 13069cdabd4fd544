//! Target `arrow_import`: record batches built by hand through the Arrow C
//! Data Interface and passed to `eddy_input_push_arrow`.
//!
//! The input first describes a *valid* batch for the stream
//! `S (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP)`:
//! values (with NULLs), column order and name case, a per-column array
//! offset with junk before it, validity bitmaps present or not, null_count
//! given or -1, strings as `u`, `U` or `vu` (inline and out-of-line views
//! over one or two data buffers). Then, for most inputs, up to four lies
//! from [`Lie`] are told about it (see fuzz/README.md for the line between
//! what a consumer must check and what a producer must get right).
//!
//! Checked:
//! * never EDDY_ERR_PANIC / EDDY_ERR_INTERNAL or a crash;
//! * the batch is released exactly once, by eddy, even on error;
//! * an honest batch is accepted and comes out of the stream exactly as it
//!   went in (compared value by value with an arrow-rs batch built from the
//!   same values), and a query over it sees every row;
//! * a refused batch ingests nothing; an accepted one ingests its declared
//!   length.

use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use arbitrary::{Arbitrary, Result, Unstructured};
use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use crate::abi::{self, Engine, Input, Sub};
use crate::raw_arrow::*;

pub const STREAM: &str =
    "CREATE STREAM S (b BOOL, i INT, l BIGINT, f FLOAT, d DOUBLE, s STRING, t TIMESTAMP) \
     WITH (overflow = 'block', queue_capacity = 4096);\
     INSERT INTO O SELECT UPPER(s) || CAST(i AS STRING) AS u, LENGTH(s) AS n, l + i AS x, d / f AS q FROM S";

#[derive(Clone, Debug)]
pub enum Val {
    Bool(bool),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Str(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Arbitrary)]
pub enum StrFormat {
    Utf8,
    LargeUtf8,
    View,
}

/// The stream's columns: name, format, kind.
const COLUMNS: &[(&str, &str)] = &[
    ("b", "b"),
    ("i", "i"),
    ("l", "l"),
    ("f", "f"),
    ("d", "g"),
    ("s", "u"),
    ("t", "tsm:"),
];

fn gen_value(u: &mut Unstructured, col: usize) -> Result<Val> {
    Ok(match col {
        0 => Val::Bool(u.arbitrary()?),
        1 => Val::I32(u.arbitrary()?),
        2 | 6 => Val::I64(u.arbitrary()?),
        3 => Val::F32(u.arbitrary()?),
        4 => Val::F64(u.arbitrary()?),
        _ => {
            let n = u.int_in_range(0..=20)?;
            let b = u.bytes(n.min(u.len()))?;
            Val::Str(String::from_utf8_lossy(b).into_owned())
        }
    })
}

fn bitmap(valid: &[bool]) -> Buf {
    let mut b = Buf::zeroed(valid.len().div_ceil(8));
    for (i, v) in valid.iter().enumerate() {
        if *v {
            b.bytes_mut()[i / 8] |= 1 << (i % 8);
        }
    }
    b
}

/// One column, encoded: `offset` junk slots, then the values.
fn encode(
    u: &mut Unstructured,
    col: usize,
    vals: &[Option<Val>],
    sf: StrFormat,
) -> Result<(ArrayNode, SchemaNode)> {
    let offset = if u.ratio(1, 3)? { u.int_in_range(1..=9)? } else { 0 };
    let mut slots: Vec<Option<Val>> = Vec::new();
    for _ in 0..offset {
        // Junk before the offset: a consumer must not see it.
        slots.push(if u.ratio(1, 2)? {
            None
        } else {
            Some(gen_value(u, col)?)
        });
    }
    slots.extend(vals.iter().cloned());
    let nulls = vals.iter().filter(|v| v.is_none()).count() as i64;
    let any_null_in_slots = slots.iter().any(|v| v.is_none());
    let validity = if nulls > 0 || any_null_in_slots || u.ratio(1, 4)? {
        Some(bitmap(&slots.iter().map(|v| v.is_some()).collect::<Vec<_>>()))
    } else {
        None
    };
    let null_count = if u.ratio(1, 4)? { -1 } else { nulls };
    let (format, mut buffers): (String, Vec<Option<Buf>>) = match col {
        0 => {
            let bits: Vec<bool> = slots.iter().map(|v| matches!(v, Some(Val::Bool(true)))).collect();
            ("b".into(), vec![Some(bitmap(&bits))])
        }
        1..=4 | 6 => {
            let width = match col {
                1 | 3 => 4,
                _ => 8,
            };
            let mut b = Buf::zeroed(slots.len() * width);
            for (i, v) in slots.iter().enumerate() {
                let bytes: Vec<u8> = match v {
                    Some(Val::I32(x)) => x.to_le_bytes().to_vec(),
                    Some(Val::I64(x)) => x.to_le_bytes().to_vec(),
                    Some(Val::F32(x)) => x.to_le_bytes().to_vec(),
                    Some(Val::F64(x)) => x.to_le_bytes().to_vec(),
                    // A NULL slot holds whatever: garbage, say.
                    _ => vec![0xA5; width],
                };
                b.bytes_mut()[i * width..(i + 1) * width].copy_from_slice(&bytes);
            }
            (COLUMNS[col].1.into(), vec![Some(b)])
        }
        _ => {
            let strs: Vec<&[u8]> = slots
                .iter()
                .map(|v| match v {
                    Some(Val::Str(s)) => s.as_bytes(),
                    _ => b"",
                })
                .collect();
            match sf {
                StrFormat::Utf8 | StrFormat::LargeUtf8 => {
                    let large = sf == StrFormat::LargeUtf8;
                    let w = if large { 8 } else { 4 };
                    let mut offs = Buf::zeroed((strs.len() + 1) * w);
                    let mut data = Vec::new();
                    for (i, s) in strs.iter().enumerate() {
                        data.extend_from_slice(s);
                        if large {
                            offs.write_i64(i + 1, data.len() as i64);
                        } else {
                            offs.write_i32(i + 1, data.len() as i32);
                        }
                    }
                    (
                        if large { "U" } else { "u" }.into(),
                        vec![Some(offs), Some(Buf::from_bytes(&data))],
                    )
                }
                StrFormat::View => {
                    // Long strings go to one of two data buffers.
                    let mut datas: Vec<Vec<u8>> = vec![Vec::new(), Vec::new()];
                    let mut views = Buf::zeroed(strs.len() * 16);
                    for (i, s) in strs.iter().enumerate() {
                        let mut v = [0u8; 16];
                        v[..4].copy_from_slice(&(s.len() as i32).to_le_bytes());
                        if s.len() <= 12 {
                            v[4..4 + s.len()].copy_from_slice(s);
                        } else {
                            let which = i % 2;
                            v[4..8].copy_from_slice(&s[..4]);
                            v[8..12].copy_from_slice(&(which as i32).to_le_bytes());
                            v[12..16].copy_from_slice(&(datas[which].len() as i32).to_le_bytes());
                            datas[which].extend_from_slice(s);
                        }
                        views.bytes_mut()[i * 16..i * 16 + 16].copy_from_slice(&v);
                    }
                    let mut bufs = vec![Some(views)];
                    bufs.extend(datas.iter().map(|d| Some(Buf::from_bytes(d))));
                    // The variadic lengths, filled in by honour_producer_duties.
                    bufs.push(Some(Buf::zeroed(16)));
                    ("vu".into(), bufs)
                }
            }
        }
    };
    buffers.insert(0, validity);
    let name = COLUMNS[col].0;
    let name = if u.ratio(1, 4)? {
        name.to_uppercase()
    } else {
        name.to_string()
    };
    Ok((
        ArrayNode {
            length: vals.len() as i64,
            null_count,
            offset: offset as i64,
            buffers,
            ..Default::default()
        },
        SchemaNode {
            format: Some(format.into_bytes()),
            name: Some(name.into_bytes()),
            flags: 2, // ARROW_FLAG_NULLABLE
            ..Default::default()
        },
    ))
}

/// The batch arrow-rs would build from the same values: what must come out.
fn expected(rows: &[Vec<Option<Val>>]) -> RecordBatch {
    let col = |c: usize| rows.iter().map(move |r| r[c].clone());
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            col(0)
                .map(|v| v.map(|v| matches!(v, Val::Bool(true))))
                .collect::<BooleanArray>(),
        ),
        Arc::new(
            col(1)
                .map(|v| v.map(|v| if let Val::I32(x) = v { x } else { 0 }))
                .collect::<Int32Array>(),
        ),
        Arc::new(
            col(2)
                .map(|v| v.map(|v| if let Val::I64(x) = v { x } else { 0 }))
                .collect::<Int64Array>(),
        ),
        Arc::new(
            col(3)
                .map(|v| v.map(|v| if let Val::F32(x) = v { x } else { 0.0 }))
                .collect::<Float32Array>(),
        ),
        Arc::new(
            col(4)
                .map(|v| v.map(|v| if let Val::F64(x) = v { x } else { 0.0 }))
                .collect::<Float64Array>(),
        ),
        Arc::new(
            col(5)
                .map(|v| v.map(|v| if let Val::Str(s) = v { s } else { String::new() }))
                .collect::<StringArray>(),
        ),
        Arc::new(
            col(6)
                .map(|v| v.map(|v| if let Val::I64(x) = v { x } else { 0 }))
                .collect::<TimestampMillisecondArray>(),
        ),
    ];
    let schema = Schema::new(vec![
        Field::new("b", DataType::Boolean, true),
        Field::new("i", DataType::Int32, true),
        Field::new("l", DataType::Int64, true),
        Field::new("f", DataType::Float32, true),
        Field::new("d", DataType::Float64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
    ]);
    RecordBatch::try_new(Arc::new(schema), cols).unwrap()
}

/// The lies. Each is applied to a node picked by the input.
#[derive(Debug, Arbitrary)]
pub enum Lie {
    Format(u8),
    FormatBytes(Vec<u8>),
    AddBuffer,
    DropBuffer,
    NullBuffer(u8),
    AddArrayChild(u8),
    DropArrayChild(u8),
    AddSchemaChild(u8),
    DropSchemaChild(u8),
    NullCount(i64),
    Length(i8),
    LengthWild(i64),
    Offset(i8),
    OffsetWild(i64),
    FlipBit {
        buffer: u8,
        bit: u16,
    },
    SetOffset {
        index: u16,
        value: i32,
    },
    SetLargeOffset {
        index: u16,
        value: i64,
    },
    DataByte {
        index: u16,
        byte: u8,
    },
    /// A negative size in a view array's variadic-lengths buffer.
    NegativeViewSize {
        index: u8,
        value: i64,
    },
    ViewField {
        view: u16,
        field: u8,
        value: i32,
    },
    ReleasedArray,
    ReleasedSchema,
    ArrayDictionary,
    SchemaDictionary,
    Name(Option<Vec<u8>>),
    DuplicateName(u8),
    Flags(i64),
    Metadata(Vec<u8>),
    StructNulls(u16),
}

const FORMATS: &[&str] = &[
    "b", "c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g", "u", "U", "z", "Z", "vu", "vz", "n", "+s",
    "+l", "+L", "+w:2", "+m", "+us:0,1", "w:4", "d:10,2", "tsm:", "tss:", "tsu:", "tsn:", "tsm:UTC", "tdD",
    "tdm", "tts", "ttm", "tDs", "tiM", "", "tsm", "ts", "t",
];

/// Picks a node: 0 the struct itself, k its child k-1.
fn node<'a>(
    a: &'a mut ArrayNode,
    s: &'a mut SchemaNode,
    which: u8,
) -> (&'a mut ArrayNode, &'a mut SchemaNode) {
    let n = a.children.len().min(s.children.len());
    let k = which as usize % (n + 1);
    if k == 0 {
        (a, s)
    } else {
        (&mut a.children[k - 1], &mut s.children[k - 1])
    }
}

fn int32_node(len: i64) -> (ArrayNode, SchemaNode) {
    (
        ArrayNode {
            length: len,
            buffers: vec![None, Some(Buf::zeroed(len.max(0) as usize * 4))],
            ..Default::default()
        },
        SchemaNode {
            format: Some(b"i".to_vec()),
            name: Some(b"extra".to_vec()),
            flags: 2,
            ..Default::default()
        },
    )
}

fn tell(lie: &Lie, which: u8, a: &mut ArrayNode, s: &mut SchemaNode) {
    let top_len = a.length;
    let (a, s) = node(a, s, which);
    match lie {
        Lie::Format(k) => s.format = Some(FORMATS[*k as usize % FORMATS.len()].as_bytes().to_vec()),
        Lie::FormatBytes(b) => s.format = Some(b.clone()),
        Lie::AddBuffer => a.buffers.push(Some(Buf::zeroed(64))),
        Lie::DropBuffer => {
            a.buffers.pop();
        }
        Lie::NullBuffer(i) => {
            if !a.buffers.is_empty() {
                let n = a.buffers.len();
                a.buffers[*i as usize % n] = None;
            }
        }
        Lie::AddArrayChild(k) => {
            let (c, _) = int32_node(top_len + (*k as i64 % 3) - 1);
            a.children.push(c);
        }
        Lie::DropArrayChild(k) => {
            if !a.children.is_empty() {
                let n = a.children.len();
                a.children.remove(*k as usize % n);
            }
        }
        Lie::AddSchemaChild(_) => s.children.push(int32_node(0).1),
        Lie::DropSchemaChild(k) => {
            if !s.children.is_empty() {
                let n = s.children.len();
                s.children.remove(*k as usize % n);
            }
        }
        Lie::NullCount(n) => a.null_count = *n,
        Lie::Length(d) => a.length = (a.length + *d as i64 % 24).max(-3),
        Lie::LengthWild(v) => {
            // Only lies a consumer can see: a negative length. A large one
            // would need buffers that large (a producer's duty).
            if *v < 0 {
                a.length = *v;
            }
        }
        Lie::Offset(d) => a.offset = (a.offset + *d as i64 % 24).max(-3),
        Lie::OffsetWild(v) => {
            if *v < 0 {
                a.offset = *v;
            }
        }
        Lie::FlipBit { buffer, bit } => {
            if !a.buffers.is_empty() {
                let n = a.buffers.len();
                if let Some(b) = a.buffers[*buffer as usize % n].as_mut() {
                    if !b.is_empty() {
                        let bit = *bit as usize % (b.len() * 8);
                        b.bytes_mut()[bit / 8] ^= 1 << (bit % 8);
                    }
                }
            }
        }
        Lie::SetOffset { index, value } => {
            if let Some(Some(b)) = a.buffers.get_mut(1) {
                let n = (b.len() / 4).max(1);
                b.write_i32(*index as usize % n, *value);
            }
        }
        Lie::SetLargeOffset { index, value } => {
            if let Some(Some(b)) = a.buffers.get_mut(1) {
                let n = (b.len() / 8).max(1);
                b.write_i64(*index as usize % n, *value);
            }
        }
        Lie::DataByte { index, byte } => {
            if let Some(Some(b)) = a.buffers.get_mut(2) {
                if !b.is_empty() {
                    let n = b.len();
                    b.bytes_mut()[*index as usize % n] = *byte;
                }
            }
        }
        Lie::NegativeViewSize { index, value } => {
            let n = a.buffers.len();
            if n >= 4 {
                if let Some(b) = a.buffers[n - 1].as_mut() {
                    b.grow((n - 3) * 8);
                    b.write_i64(
                        *index as usize % (n - 3),
                        -1 - value.unsigned_abs().min(i64::MAX as u64) as i64,
                    );
                }
            }
        }
        Lie::ViewField { view, field, value } => {
            if let Some(Some(b)) = a.buffers.get_mut(1) {
                let n = b.len() / 16;
                if n > 0 {
                    let at = (*view as usize % n) * 16 + (*field as usize % 4) * 4;
                    b.bytes_mut()[at..at + 4].copy_from_slice(&value.to_le_bytes());
                }
            }
        }
        Lie::ReleasedArray => a.released = true,
        Lie::ReleasedSchema => s.released = true,
        Lie::ArrayDictionary => a.dictionary = Some(Box::new(int32_node(2).0)),
        Lie::SchemaDictionary => s.dictionary = Some(Box::new(int32_node(0).1)),
        Lie::Name(n) => s.name = n.clone(),
        Lie::DuplicateName(k) => {
            if !s.children.is_empty() {
                let n = s.children.len();
                let name = s.children[*k as usize % n].name.clone();
                s.name = name;
            }
        }
        Lie::Flags(f) => s.flags = *f,
        Lie::Metadata(m) => s.metadata = Some(metadata_bytes(m)),
        Lie::StructNulls(bits) => {
            let len = (a.length.max(0) + a.offset.max(0)) as usize;
            let valid: Vec<bool> = (0..len).map(|i| bits >> (i % 16) & 1 == 1).collect();
            if a.buffers.is_empty() {
                a.buffers.push(None);
            }
            a.buffers[0] = Some(bitmap(&valid));
            a.null_count = valid.iter().filter(|v| !**v).count() as i64;
        }
    }
}

/// Metadata in the C Data Interface encoding (int32 count, then int32
/// length-prefixed keys and values), well-formed in size (a consumer cannot
/// know where the block ends) but with fuzz bytes as content: invalid UTF-8
/// included.
fn metadata_bytes(m: &[u8]) -> Vec<u8> {
    let pairs: Vec<&[u8]> = m.split(|&b| b == b'=').take(6).collect();
    let n = pairs.len() / 2;
    let mut out = (n as i32).to_le_bytes().to_vec();
    for kv in pairs.chunks(2).take(n) {
        for part in kv {
            out.extend_from_slice(&(part.len() as i32).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

struct State {
    engine: Engine,
    input: Input,
    sub_s: Sub,
    sub_o: Sub,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// One input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok((mut a, mut s, rows, lies)) = generate(&mut u) else {
        return;
    };
    let honest = lies.is_empty();
    for (lie, which) in &lies {
        tell(lie, *which, &mut a, &mut s);
    }
    honour_producer_duties(&mut a, Some(&s));
    STATE.with(|st| {
        let mut st = st.borrow_mut();
        let st = st.get_or_insert_with(|| {
            let engine =
                Engine::open("idle_spin_us=0;subscriber_capacity=100000;subscriber_overflow=drop_oldest");
            engine.execute(STREAM).expect("stream");
            let sub_s = engine.subscribe("S").unwrap();
            let sub_o = engine.subscribe("O").unwrap();
            let input = engine.input("S").unwrap();
            State {
                engine,
                input,
                sub_s,
                sub_o,
            }
        });
        push(st, &a, &s, honest.then_some(&rows));
    });
}

type Generated = (ArrayNode, SchemaNode, Vec<Vec<Option<Val>>>, Vec<(Lie, u8)>);

fn generate(u: &mut Unstructured) -> Result<Generated> {
    let n = u.int_in_range(0..=40)?;
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let mut r = Vec::with_capacity(COLUMNS.len());
        for c in 0..COLUMNS.len() {
            r.push(if u.ratio(1, 5)? {
                None
            } else {
                Some(gen_value(u, c)?)
            });
        }
        rows.push(r);
    }
    let sf: StrFormat = u.arbitrary()?;
    let mut order: Vec<usize> = (0..COLUMNS.len()).collect();
    for i in (1..order.len()).rev() {
        let j = u.int_in_range(0..=i)?;
        order.swap(i, j);
    }
    let mut top_a = ArrayNode {
        length: n as i64,
        null_count: 0,
        offset: 0,
        buffers: vec![None],
        ..Default::default()
    };
    let mut top_s = SchemaNode {
        format: Some(b"+s".to_vec()),
        name: Some(Vec::new()),
        ..Default::default()
    };
    for &c in &order {
        let vals: Vec<Option<Val>> = rows.iter().map(|r| r[c].clone()).collect();
        let (ca, cs) = encode(u, c, &vals, sf)?;
        top_a.children.push(ca);
        top_s.children.push(cs);
    }
    let mut lies = Vec::new();
    if !u.ratio(1, 4)? {
        for _ in 0..u.int_in_range(1..=4)? {
            lies.push((u.arbitrary::<Lie>()?, u.arbitrary::<u8>()?));
        }
    }
    Ok((top_a, top_s, rows, lies))
}

fn push(st: &State, a: &ArrayNode, s: &SchemaNode, honest_rows: Option<&Vec<Vec<Option<Val>>>>) {
    let mut ra = export_array(a);
    let mut rs = export_schema(s);
    // eddy moves the array out (and must release it); keep a copy of the
    // struct to free one exported as already released.
    let saved_private = ra.private_data;
    let r = unsafe {
        st.input.push_arrow(
            &mut *ra as *mut RawArray as *mut arrow::ffi::FFI_ArrowArray,
            &*rs as *const RawSchema as *const arrow::ffi::FFI_ArrowSchema,
        )
    };
    if a.released {
        let mut copy = RawArray {
            private_data: saved_private,
            ..empty_like()
        };
        free_array(&mut copy);
    }
    // A refused batch is released before the call returns; an accepted one
    // may be held (zero-copy) until its rows were processed and read.
    if r.is_err() {
        assert_eq!(LIVE.load(Ordering::SeqCst), 0, "a refused batch was not released");
    }
    // The schema is borrowed: ours to release.
    if rs.release.is_some() {
        unsafe { (rs.release.unwrap())(&mut *rs) };
    } else {
        free_schema(&mut rs);
    }
    if let Err(f) = &r {
        assert!(honest_rows.is_none(), "an honest batch was refused: {f:?}");
        // Refused: nothing may have been queued. Not flushed per input (a
        // worker round trip costs more than the rest of the input); a row
        // that leaked in would show up at the next accepted batch, whose
        // output is checked row for row.
        return;
    }
    st.engine.flush().expect("flush");
    let out: Vec<RecordBatch> = st.sub_s.drain();
    let out_rows: usize = out.iter().map(|b| b.num_rows()).sum();
    let query_rows: usize = st.sub_o.drain().iter().map(|b| b.num_rows()).sum();
    assert_eq!(out_rows, query_rows, "the query saw a different number of rows");
    check_output(a, &r, honest_rows, &out, out_rows);
    // Everything that referenced the batch is gone now (the results read
    // here share its buffers): it must have been released, exactly once.
    drop(out);
    assert_eq!(
        LIVE.load(Ordering::SeqCst),
        0,
        "the batch was not released once its rows were read"
    );
}

fn check_output(
    a: &ArrayNode,
    r: &abi::Res,
    honest_rows: Option<&Vec<Vec<Option<Val>>>>,
    out: &[RecordBatch],
    out_rows: usize,
) {
    match (r, honest_rows) {
        (Err(f), Some(_)) => panic!("an honest batch was refused: {f:?}"),
        (Ok(()), Some(rows)) => {
            let want = expected(rows);
            if rows.is_empty() {
                assert!(out.is_empty());
                return;
            }
            let got = arrow::compute::concat_batches(&want.schema(), out).expect("same schema");
            assert_eq!(got.num_rows(), want.num_rows());
            for c in 0..want.num_columns() {
                let (g, w) = (got.column(c), want.column(c));
                // Floats: compare bit patterns (NaN == NaN, -0 != 0).
                let same = match w.data_type() {
                    DataType::Float32 | DataType::Float64 => {
                        use arrow::array::Array;
                        (0..w.len()).all(|i| {
                            g.is_null(i) == w.is_null(i)
                                && (w.is_null(i) || float_bits(g, i) == float_bits(w, i))
                        })
                    }
                    _ => g == w,
                };
                assert!(same, "column {c} differs:\n got {g:?}\nwant {w:?}");
            }
        }
        (Ok(()), None) => {
            let declared = a.length as usize;
            assert_eq!(
                out_rows, declared,
                "an accepted batch ingested another number of rows"
            );
        }
        (Err(f), None) => unreachable!("refused batches return early: {f:?}"),
    }
}

fn float_bits(a: &ArrayRef, i: usize) -> u64 {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float32Type, Float64Type};
    match a.data_type() {
        DataType::Float32 => a.as_primitive::<Float32Type>().value(i).to_bits() as u64,
        _ => a.as_primitive::<Float64Type>().value(i).to_bits(),
    }
}

fn empty_like() -> RawArray {
    RawArray {
        length: 0,
        null_count: 0,
        offset: 0,
        n_buffers: 0,
        n_children: 0,
        buffers: std::ptr::null_mut(),
        children: std::ptr::null_mut(),
        dictionary: std::ptr::null_mut(),
        release: None,
        private_data: std::ptr::null_mut(),
    }
}
