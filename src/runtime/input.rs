//! The producer handle: a row appender and an Arrow batch entry point for
//! one stream, used by one thread at a time.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, ArrayRef, RecordBatch, StructArray};
use arrow::datatypes::{DataType, SchemaRef};

use super::dataflow::StreamSettings;
use super::engine::EngineShared;
use super::queue::{copy_bytes, ColKind, InputQueue, Producer, Pushed, RowCells, Stage};
use super::stats::add;
use crate::error::{Error, Result, Status};
use crate::types::type_name;

pub struct Input {
    engine: Arc<EngineShared>,
    producer: Producer,
    stage: Stage,
    /// Where the open row's cells go: the free slot at the ring's tail
    /// (`in_slot`) or the stage. Chosen by begin_row; unused otherwise.
    cells: RowCells,
    in_slot: bool,
    row_open: bool,
    closed: bool,
    /// Per column, the bit of its ColKind (`kind_bit`): one AND tells a
    /// setter whether it may set the column.
    kind_bits: Box<[u8]>,
    /// Validity words per row.
    null_words: usize,
    /// The engine's max_string_bytes.
    max_string_bytes: usize,
    /// Rows whose strings total more than this travel as a one-row batch.
    max_row_str_bytes: usize,
    settings: StreamSettings,
    timeout: Duration,
}

#[inline(always)]
const fn kind_bit(k: ColKind) -> u8 {
    1 << (k as u8)
}

const ANY_KIND: u8 = kind_bit(ColKind::Bool)
    | kind_bit(ColKind::I32)
    | kind_bit(ColKind::I64)
    | kind_bit(ColKind::F32)
    | kind_bit(ColKind::F64)
    | kind_bit(ColKind::Str)
    | kind_bit(ColKind::Ts);

impl Input {
    pub(crate) fn new(engine: Arc<EngineShared>, q: Arc<InputQueue>, settings: StreamSettings) -> Input {
        let ncols = q.kinds.len();
        let kind_bits = q.kinds.iter().map(|k| kind_bit(*k)).collect();
        let null_words = q.null_words();
        let max_row_str_bytes = (q.arena_size() / 2) as usize;
        let max_string_bytes = engine.options.max_string_bytes;
        Input {
            engine,
            producer: Producer::new(q),
            stage: Stage::new(ncols),
            cells: RowCells::none(),
            in_slot: false,
            row_open: false,
            closed: false,
            kind_bits,
            null_words,
            max_string_bytes,
            max_row_str_bytes,
            timeout: Duration::from_millis(settings.push_timeout_ms),
            settings,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        self.producer.q.schema.clone()
    }

    fn usable(&self) -> Result<()> {
        if self.closed {
            return Err(Error::closed("this input is closed"));
        }
        if self.producer.is_sealed() {
            return Err(Error::closed("the engine is closed"));
        }
        Ok(())
    }

    pub fn begin_row(&mut self) -> Result<()> {
        self.usable()?;
        if self.row_open {
            return Err(Error::invalid(
                "a row is already open; finish it with end_row first",
            ));
        }
        match self.producer.free_slot() {
            Some(cells) => {
                self.cells = cells;
                self.in_slot = true;
            }
            None => {
                self.cells = self.stage.cells();
                self.in_slot = false;
            }
        }
        // SAFETY: the target was just taken and has null_words words.
        unsafe { self.cells.clear(self.null_words) };
        self.stage.strs.clear();
        self.row_open = true;
        Ok(())
    }

    /// Discards the open row, if any (nothing of it is ingested).
    pub fn abort_row(&mut self) {
        self.row_open = false;
    }

    /// The column a setter may set: a row is open, `col` is in range and
    /// its kind is one of `want` (kind bits).
    #[inline(always)]
    fn column(&self, col: u32, want: u8, setter: &str) -> Result<usize> {
        let c = col as usize;
        if self.row_open {
            if let Some(bits) = self.kind_bits.get(c) {
                if bits & want != 0 {
                    return Ok(c);
                }
            }
        }
        self.column_error(col, setter)
    }

    /// Sets cell `c` of the open row; `c` came from `column`.
    #[inline(always)]
    fn put(&mut self, c: usize, bits: u64) {
        debug_assert!(self.row_open && c < self.kind_bits.len());
        // SAFETY: a row is open, so `cells` is the live target begin_row
        // chose, and c < ncols (checked by `column`).
        unsafe { self.cells.set(c, bits) }
    }

    #[cold]
    fn column_error(&self, col: u32, setter: &str) -> Result<usize> {
        if !self.row_open {
            return Err(Error::invalid("no row is open; call begin_row first"));
        }
        let kinds = &self.producer.q.kinds;
        let c = col as usize;
        let Some(kind) = kinds.get(c) else {
            return Err(Error::invalid(format!(
                "column index {col} is out of range: stream has {} columns",
                kinds.len()
            )));
        };
        let f = self.producer.q.schema.field(c);
        Err(Error::schema(format!(
            "column {col} '{}' is {}; {setter} cannot set it (use {})",
            f.name(),
            type_name(f.data_type()),
            setter_for(*kind)
        )))
    }

    pub fn set_null(&mut self, col: u32) -> Result<()> {
        let c = self.column(col, ANY_KIND, "set_null")?;
        debug_assert!(self.row_open && c < self.kind_bits.len());
        // SAFETY: as in `put`.
        unsafe { self.cells.set_null(c) };
        Ok(())
    }
    pub fn set_bool(&mut self, col: u32, v: bool) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::Bool), "set_bool")?;
        self.put(c, v as u64);
        Ok(())
    }
    pub fn set_i32(&mut self, col: u32, v: i32) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::I32), "set_i32")?;
        self.put(c, v as u32 as u64);
        Ok(())
    }
    pub fn set_i64(&mut self, col: u32, v: i64) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::I64) | kind_bit(ColKind::Ts), "set_i64")?;
        self.put(c, v as u64);
        Ok(())
    }
    pub fn set_f32(&mut self, col: u32, v: f32) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::F32), "set_f32")?;
        self.put(c, v.to_bits() as u64);
        Ok(())
    }
    pub fn set_f64(&mut self, col: u32, v: f64) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::F64), "set_f64")?;
        self.put(c, v.to_bits());
        Ok(())
    }
    /// Sets a string column from bytes, which must be UTF-8.
    pub fn set_str(&mut self, col: u32, v: &[u8]) -> Result<()> {
        let c = self.column(col, kind_bit(ColKind::Str), "set_str")?;
        // ASCII (the common case) is UTF-8; anything else gets the full check.
        if !v.is_ascii() {
            if let Err(e) = std::str::from_utf8(v) {
                return Err(not_utf8(col, e));
            }
        }
        if v.len() > self.max_string_bytes {
            return Err(too_long(col, v.len(), self.max_string_bytes));
        }
        // Cells hold the offset into the row's string bytes in 32 bits.
        let off = self.stage.strs.len();
        if off + v.len() > u32::MAX as usize {
            return Err(row_strings_too_long(col));
        }
        append(&mut self.stage.strs, v);
        self.put(c, ((off as u64) << 32) | v.len() as u64);
        Ok(())
    }

    /// Commits the open row. Unset columns are NULL. On any error the row is
    /// discarded and nothing of it was ingested.
    pub fn end_row(&mut self) -> Result<()> {
        if !self.row_open {
            return Err(Error::invalid("no row is open; call begin_row first"));
        }
        self.row_open = false;
        if self.closed {
            return Err(Error::closed("this input is closed"));
        }
        if self.stage.strs.len() > self.max_row_str_bytes {
            return self.end_row_as_batch();
        }
        // An engine close is caught by the publish itself (the tail is sealed).
        let r = self
            .producer
            .push_row_from(self.in_slot, &self.stage, self.settings.overflow, self.timeout);
        self.after_push(r, 1)
    }

    /// A row whose strings do not fit the queue's string arena (at most half
    /// of `queue_bytes`) travels as a one-row Arrow batch instead, in order
    /// with the rows around it, so the only per-value limit a host meets is
    /// `max_string_bytes`. Rare and large, so the copy does not matter.
    #[cold]
    fn end_row_as_batch(&mut self) -> Result<()> {
        use arrow::array::{
            BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, StringArray,
            TimestampMillisecondArray,
        };
        let q = self.producer.q.clone();
        let stage = &self.stage;
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(q.kinds.len());
        for (c, kind) in q.kinds.iter().enumerate() {
            // SAFETY: end_row closed the row just now and nothing was
            // published since begin_row chose the target: it is still live.
            let (valid, v) = unsafe { self.cells.get(c) };
            let a: ArrayRef = match kind {
                ColKind::Bool => Arc::new(BooleanArray::from(vec![valid.then_some(v != 0)])),
                ColKind::I32 => Arc::new(Int32Array::from(vec![valid.then_some(v as u32 as i32)])),
                ColKind::I64 => Arc::new(Int64Array::from(vec![valid.then_some(v as i64)])),
                ColKind::Ts => Arc::new(TimestampMillisecondArray::from(vec![valid.then_some(v as i64)])),
                ColKind::F32 => Arc::new(Float32Array::from(vec![valid.then(|| f32::from_bits(v as u32))])),
                ColKind::F64 => Arc::new(Float64Array::from(vec![valid.then(|| f64::from_bits(v))])),
                ColKind::Str => {
                    let s = valid.then(|| {
                        let (off, len) = ((v >> 32) as usize, (v & 0xffff_ffff) as usize);
                        // Validated as UTF-8 by set_str.
                        std::str::from_utf8(&stage.strs[off..off + len]).unwrap_or_default()
                    });
                    Arc::new(StringArray::from(vec![s]))
                }
            };
            cols.push(a);
        }
        let batch = RecordBatch::try_new(q.schema.clone(), cols)?;
        let r = self
            .producer
            .push_batch(batch, self.settings.overflow, self.timeout);
        self.after_push(r, 1)
    }

    fn after_push(&self, r: Result<Pushed>, rows: u64) -> Result<()> {
        match r {
            Ok(Pushed::Queued) => self.engine.published(&self.producer),
            Ok(Pushed::Dropped) => Ok(()),
            Err(e) => {
                if e.status == Status::Full {
                    add(&self.producer.q.stats.rejected, rows);
                }
                Err(e)
            }
        }
    }

    /// Pushes an Arrow batch whose columns match the stream by name (in any
    /// order) and type. Checked before anything is queued.
    pub fn push_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.usable()?;
        if self.row_open {
            return Err(Error::invalid("a row is open; end it before pushing a batch"));
        }
        let aligned = match align_batch(&self.producer.q.schema, batch) {
            Ok(b) => b,
            Err(e) => {
                add(&self.producer.q.stats.rejected, batch.num_rows() as u64);
                return Err(e);
            }
        };
        if aligned.num_rows() == 0 {
            return Ok(());
        }
        if let Err(e) = check_string_lengths(&aligned, self.engine.options.max_string_bytes) {
            add(&self.producer.q.stats.rejected, aligned.num_rows() as u64);
            return Err(e);
        }
        let rows = aligned.num_rows() as u64;
        let r = self
            .producer
            .push_batch(aligned, self.settings.overflow, self.timeout);
        self.after_push(r, rows)
    }

    /// Pushes the columns of a struct array (as imported from the C Data
    /// Interface) as one batch.
    pub fn push_struct(&mut self, array: &StructArray) -> Result<()> {
        if array.null_count() > 0 {
            add(&self.producer.q.stats.rejected, array.len() as u64);
            return Err(Error::invalid("the batch's top-level struct array has null rows"));
        }
        let batch = RecordBatch::from(array.clone());
        self.push_batch(&batch)
    }

    /// Declares that no row with an event time below `ts_ms` follows on this
    /// stream: windows ending at or before it may fire. Travels in order with
    /// the rows pushed before it. Watermarks only move forward; a lower value
    /// than the stream's current one changes nothing.
    pub fn watermark(&mut self, ts_ms: i64) -> Result<()> {
        self.usable()?;
        if self.row_open {
            return Err(Error::invalid("a row is open; end it before setting a watermark"));
        }
        if self.settings.event_time.is_none() {
            return Err(Error::invalid(
                "this stream has no event time; declare it WITH (event_time = 'column') to use watermarks",
            ));
        }
        self.producer.push_watermark(ts_ms, self.timeout)?;
        self.engine.published(&self.producer)
    }

    /// Ends this input: later pushes fail with EDDY_ERR_CLOSED.
    pub fn close(&mut self) -> Result<()> {
        self.usable()?;
        self.row_open = false;
        self.producer.push_close(self.timeout)?;
        self.closed = true;
        self.engine.published(&self.producer)
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if !self.closed && !self.producer.is_sealed() {
            // A freed input ends like a closed one; don't wait long for room.
            let _ = self.producer.push_close(Duration::from_millis(100));
            let _ = self.engine.published(&self.producer);
        }
    }
}

/// `buf.extend_from_slice(v)`, without a call to memcpy for short strings.
#[inline(always)]
fn append(buf: &mut Vec<u8>, v: &[u8]) {
    let n = v.len();
    if buf.capacity() - buf.len() < n {
        buf.reserve(n);
    }
    let len = buf.len();
    // SAFETY: the spare capacity holds n bytes, which the copy initialises
    // before set_len; v and the spare capacity do not overlap.
    unsafe {
        copy_bytes(v.as_ptr(), buf.as_mut_ptr().add(len), n);
        buf.set_len(len + n);
    }
}

#[cold]
fn not_utf8(col: u32, e: std::str::Utf8Error) -> Error {
    Error::invalid(format!("column {col}: value is not valid UTF-8 ({e})"))
}

#[cold]
fn too_long(col: u32, len: usize, max: usize) -> Error {
    Error::invalid(format!(
        "column {col}: string of {len} bytes is longer than max_string_bytes ({max})"
    ))
}

#[cold]
fn row_strings_too_long(col: u32) -> Error {
    Error::invalid(format!(
        "column {col}: the row's strings would total more than {} bytes",
        u32::MAX
    ))
}

fn setter_for(k: ColKind) -> &'static str {
    match k {
        ColKind::Bool => "set_bool",
        ColKind::I32 => "set_i32",
        ColKind::I64 | ColKind::Ts => "set_i64",
        ColKind::F32 => "set_f32",
        ColKind::F64 => "set_f64",
        ColKind::Str => "set_str",
    }
}

/// Reorders a batch's columns to the stream's schema, matching names
/// case-insensitively. Types must be equal, except that LargeUtf8 and
/// Utf8View are accepted for STRING (converted).
pub(crate) fn align_batch(schema: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let bs = batch.schema();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let found = bs
            .fields()
            .iter()
            .position(|b| b.name().eq_ignore_ascii_case(f.name()));
        let Some(i) = found else {
            return Err(Error::schema(format!(
                "batch has no column '{}' (stream columns: {}; batch columns: {})",
                f.name(),
                names(schema.fields().iter().map(|f| f.name().as_str())),
                names(bs.fields().iter().map(|f| f.name().as_str())),
            )));
        };
        let col = batch.column(i);
        let col = if col.data_type() == f.data_type() {
            col.clone()
        } else if *f.data_type() == DataType::Utf8
            && matches!(col.data_type(), DataType::LargeUtf8 | DataType::Utf8View)
        {
            arrow::compute::cast(col, &DataType::Utf8)?
        } else {
            return Err(Error::schema(format!(
                "batch column '{}' is {}, stream column is {}",
                f.name(),
                type_name(col.data_type()),
                type_name(f.data_type())
            )));
        };
        cols.push(col);
    }
    if bs.fields().len() != schema.fields().len() {
        let extra: Vec<&str> = bs
            .fields()
            .iter()
            .map(|b| b.name().as_str())
            .filter(|n| !schema.fields().iter().any(|f| f.name().eq_ignore_ascii_case(n)))
            .collect();
        return Err(Error::schema(format!(
            "batch has columns the stream does not: {} (or a column twice)",
            if extra.is_empty() {
                "-".to_string()
            } else {
                extra.join(", ")
            }
        )));
    }
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

/// Refuses a batch with a STRING value longer than `max` bytes (the same
/// limit the row appender's set_str applies).
fn check_string_lengths(batch: &RecordBatch, max: usize) -> Result<()> {
    use arrow::array::AsArray;
    for (i, col) in batch.columns().iter().enumerate() {
        if *col.data_type() != DataType::Utf8 {
            continue;
        }
        let offsets = col.as_string::<i32>().value_offsets();
        if let Some(row) = offsets.windows(2).position(|w| (w[1] - w[0]) as usize > max) {
            let len = offsets[row + 1] - offsets[row];
            return Err(Error::invalid(format!(
                "batch column '{}' row {row}: string of {len} bytes is longer than max_string_bytes ({max})",
                batch.schema().field(i).name()
            )));
        }
    }
    Ok(())
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}
