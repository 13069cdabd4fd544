//! Operator state snapshots: the byte encoding every operator writes its
//! state in, so the durability work can checkpoint a query and restore it.
//!
//! Numbers are LEB128 varints (zigzag for signed), floats little-endian
//! bits, byte strings length-prefixed, and rows Arrow IPC streams. A reader
//! never trusts a length: a corrupt snapshot gives `Status::Corrupt`, never
//! a panic or an allocation larger than the snapshot itself.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;

use crate::error::{Error, Result, Status};

/// No count restored from a snapshot is above this; bounding them keeps
/// arithmetic on them from overflowing.
pub(crate) const MAX_COUNT: u64 = 1 << 53;

pub(crate) fn corrupt(what: &str) -> Error {
    Error::new(Status::Corrupt, format!("snapshot: {what}"))
}

pub(crate) fn put_var(w: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        w.push(v as u8 | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

pub(crate) fn put_i64(w: &mut Vec<u8>, v: i64) {
    put_var(w, ((v << 1) ^ (v >> 63)) as u64)
}

pub(crate) fn put_f64(w: &mut Vec<u8>, v: f64) {
    w.extend_from_slice(&v.to_bits().to_le_bytes())
}

pub(crate) fn put_bool(w: &mut Vec<u8>, v: bool) {
    w.push(v as u8)
}

pub(crate) fn put_bytes(w: &mut Vec<u8>, v: &[u8]) {
    put_var(w, v.len() as u64);
    w.extend_from_slice(v);
}

pub(crate) fn put_opt_i64(w: &mut Vec<u8>, v: Option<i64>) {
    put_bool(w, v.is_some());
    if let Some(v) = v {
        put_i64(w, v);
    }
}

/// Rows as one Arrow IPC stream (schema and one batch), length-prefixed.
pub(crate) fn put_batch(w: &mut Vec<u8>, b: &RecordBatch) -> Result<()> {
    let mut ipc = Vec::new();
    {
        let mut sw = StreamWriter::try_new(&mut ipc, &b.schema())?;
        sw.write(b)?;
        sw.finish()?;
    }
    put_bytes(w, &ipc);
    Ok(())
}

/// Frames a finished snapshot: `magic`, the body, and a CRC-32C of both,
/// so a damaged snapshot is refused before anything is read from it.
pub(crate) fn seal(magic: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(body.len() + 8);
    w.extend_from_slice(magic);
    w.extend_from_slice(body);
    let crc = crc32c::crc32c(&w);
    w.extend_from_slice(&crc.to_le_bytes());
    w
}

/// The body of a snapshot `seal` framed with `magic`.
pub(crate) fn unseal<'a>(magic: &[u8; 4], data: &'a [u8]) -> Result<&'a [u8]> {
    if data.len() < 8 || &data[..4] != magic {
        return Err(corrupt("not a snapshot of this kind"));
    }
    let (framed, crc) = data.split_at(data.len() - 4);
    if crc32c::crc32c(framed).to_le_bytes() != crc {
        return Err(corrupt("checksum mismatch (damaged or truncated)"));
    }
    Ok(&framed[4..])
}

pub(crate) struct Reader<'a> {
    pub rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { rest: data }
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.rest.len() {
            return Err(corrupt("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.bytes(N)?.try_into().map_err(|_| corrupt("truncated"))
    }

    pub fn var(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let [b] = self.array::<1>()?;
            if i == 9 && b > 1 {
                return Err(corrupt("varint overflows"));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }

    pub fn i64(&mut self) -> Result<i64> {
        let u = self.var()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.array()?)))
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.array::<1>()? {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(corrupt("not a boolean")),
        }
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>> {
        Ok(if self.bool()? { Some(self.i64()?) } else { None })
    }

    pub fn count(&mut self) -> Result<u64> {
        let n = self.var()?;
        if n > MAX_COUNT {
            return Err(corrupt("count out of range"));
        }
        Ok(n)
    }

    /// A number of items that each take at least one byte, so a corrupt
    /// length cannot make the reader reserve more than the input's size.
    pub fn len(&mut self) -> Result<usize> {
        let n = self.var()?;
        if n > self.rest.len() as u64 {
            return Err(corrupt("length beyond the end of the snapshot"));
        }
        Ok(n as usize)
    }

    /// A length-prefixed byte string.
    pub fn blob(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.bytes(n)
    }

    /// Rows written by `put_batch`, which must have `schema`'s column types.
    /// The batch takes `schema` itself (names and metadata are ours).
    pub fn batch(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let ipc = self.blob()?;
        // arrow's IPC reader can panic on some malformed buffers rather than
        // return an error; a corrupt snapshot is an error, never a crash.
        let decoded = std::panic::catch_unwind(|| -> Result<RecordBatch> {
            let mut sr = StreamReader::try_new(ipc, None).map_err(|e| corrupt(&format!("rows: {e}")))?;
            let b = match sr.next() {
                Some(b) => b.map_err(|e| corrupt(&format!("rows: {e}")))?,
                None => return Err(corrupt("rows: no batch")),
            };
            if sr.next().is_some() {
                return Err(corrupt("rows: more than one batch"));
            }
            Ok(b)
        });
        let b = decoded.map_err(|_| corrupt("rows: malformed Arrow IPC"))??;
        let same = b.num_columns() == schema.fields().len()
            && b.columns()
                .iter()
                .zip(schema.fields())
                .all(|(c, f)| c.data_type() == f.data_type());
        if !same {
            return Err(corrupt("rows do not have the query's column types"));
        }
        RecordBatch::try_new(Arc::clone(schema), b.columns().to_vec())
            .map_err(|e| corrupt(&format!("rows: {e}")))
    }

    /// Everything was read.
    pub fn end(&self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn values_round_trip_and_truncation_is_corrupt() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, Some(-7)])),
                Arc::new(StringArray::from(vec![Some("x"), Some("yz"), None])),
            ],
        )
        .unwrap();
        let mut w = Vec::new();
        put_var(&mut w, 300);
        put_i64(&mut w, -5);
        put_f64(&mut w, 2.5);
        put_opt_i64(&mut w, None);
        put_opt_i64(&mut w, Some(i64::MIN));
        put_bytes(&mut w, b"key");
        put_batch(&mut w, &b).unwrap();
        let mut r = Reader::new(&w);
        assert_eq!(r.var().unwrap(), 300);
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.f64().unwrap(), 2.5);
        assert_eq!(r.opt_i64().unwrap(), None);
        assert_eq!(r.opt_i64().unwrap(), Some(i64::MIN));
        assert_eq!(r.blob().unwrap(), b"key");
        assert_eq!(r.batch(&schema).unwrap(), b);
        r.end().unwrap();
        // Every prefix is refused as corrupt, none panics.
        for cut in 0..w.len() {
            let mut r = Reader::new(&w[..cut]);
            let res = (|| -> Result<()> {
                r.var()?;
                r.i64()?;
                r.f64()?;
                r.opt_i64()?;
                r.opt_i64()?;
                r.blob()?;
                r.batch(&schema)?;
                r.end()
            })();
            assert_eq!(res.unwrap_err().status, Status::Corrupt, "cut at {cut}");
        }
        // Rows of other types are refused.
        let other = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        let mut w2 = Vec::new();
        put_batch(&mut w2, &b).unwrap();
        let err = Reader::new(&w2).batch(&other).unwrap_err();
        assert_eq!(err.status, Status::Corrupt);
    }
}
