//! Input files (CSV, JSON Lines, Arrow IPC; a path or stdin) read as batches
//! of a stream's schema. Columns match the stream's by name; a stream column
//! the file lacks is NULL, a file column the stream lacks is an error (most
//! often a typo). Errors name the file, the line and the column.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{make_array, new_null_array, Array, ArrayRef, RecordBatch};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::ipc::reader::{FileReader, StreamReader};

use crate::values::{column_index, column_names, BatchBuilder};
use crate::{CliError, CliResult, InputFormat};

/// Where an input comes from, and how to call it in messages.
#[derive(Clone, Debug)]
pub enum Location {
    Stdin,
    File(PathBuf),
}

impl Location {
    pub fn parse(s: &str) -> Location {
        if s == "-" {
            Location::Stdin
        } else {
            Location::File(PathBuf::from(s))
        }
    }

    pub fn display(&self) -> String {
        match self {
            Location::Stdin => "<stdin>".to_string(),
            Location::File(p) => p.display().to_string(),
        }
    }

    /// The size in bytes, when known up front (for the progress bar).
    pub fn size(&self) -> Option<u64> {
        match self {
            Location::Stdin => None,
            Location::File(p) => std::fs::metadata(p).ok().filter(|m| m.is_file()).map(|m| m.len()),
        }
    }
}

/// The format an extension names, if any.
pub fn format_of_extension(path: &Path) -> Option<InputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(InputFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(InputFormat::Jsonl),
        "arrow" | "arrows" | "ipc" | "feather" => Some(InputFormat::Arrow),
        _ => None,
    }
}

/// The extension decides; `fallback` (--input-format) covers stdin and
/// extensions that say nothing.
pub fn choose_format(loc: &Location, fallback: Option<InputFormat>) -> CliResult<InputFormat> {
    let by_ext = match loc {
        Location::File(p) => format_of_extension(p),
        Location::Stdin => None,
    };
    by_ext.or(fallback).ok_or_else(|| {
        CliError::usage(format!(
            "cannot tell the format of {} from its name: give --input-format csv, jsonl or arrow",
            loc.display()
        ))
    })
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// A source of batches already shaped like the stream's schema.
pub trait BatchSource {
    fn next_batch(&mut self) -> CliResult<Option<RecordBatch>>;
}

/// Opens `loc` as `format`, producing batches of `schema` (stream `stream`)
/// of at most `batch_rows` rows. Bytes read are added to `counter`.
pub fn open(
    loc: &Location,
    format: InputFormat,
    stream: &str,
    schema: SchemaRef,
    batch_rows: usize,
    counter: Arc<AtomicU64>,
) -> CliResult<Box<dyn BatchSource>> {
    let name = loc.display();
    let reader: Box<dyn Read> = match loc {
        Location::Stdin => Box::new(Counting {
            inner: std::io::stdin(),
            counter,
        }),
        Location::File(p) => {
            let f = File::open(p).map_err(|e| CliError::data(format!("cannot open {name}: {e}")))?;
            if format == InputFormat::Arrow {
                // The IPC file format needs to seek to its footer.
                return open_arrow_seekable(name, Counting { inner: f, counter }, stream, schema);
            }
            Box::new(Counting { inner: f, counter })
        }
    };
    match format {
        InputFormat::Csv => Ok(Box::new(CsvSource::new(
            name, reader, stream, schema, batch_rows,
        )?)),
        InputFormat::Jsonl => Ok(Box::new(JsonlSource::new(
            name, reader, stream, schema, batch_rows,
        )?)),
        InputFormat::Arrow => {
            // stdin cannot seek: a file-format stream is read into memory.
            let mut reader = reader;
            let mut magic = [0u8; 6];
            let mut n = 0;
            while n < magic.len() {
                match reader.read(&mut magic[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(read_error(&name, e)),
                }
            }
            let mut whole = Cursor::new(magic[..n].to_vec()).chain(reader);
            if &magic[..n] == b"ARROW1" {
                let mut all = Vec::new();
                whole.read_to_end(&mut all).map_err(|e| read_error(&name, e))?;
                return open_arrow_seekable(name, Cursor::new(all), stream, schema);
            }
            let reader = StreamReader::try_new(BufReader::new(whole), None)
                .map_err(|e| CliError::data(format!("{name}: not an Arrow IPC stream or file: {e}")))?;
            ArrowSource::boxed(name, Box::new(reader), stream, schema)
        }
    }
}

fn read_error(name: &str, e: std::io::Error) -> CliError {
    CliError::data(format!("cannot read {name}: {e}"))
}

fn open_arrow_seekable<R: Read + Seek + 'static>(
    name: String,
    mut r: R,
    stream: &str,
    schema: SchemaRef,
) -> CliResult<Box<dyn BatchSource>> {
    let mut magic = [0u8; 6];
    let n = r.read(&mut magic).map_err(|e| read_error(&name, e))?;
    r.seek(SeekFrom::Start(0)).map_err(|e| read_error(&name, e))?;
    let batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>> =
        if n == 6 && &magic == b"ARROW1" {
            Box::new(
                FileReader::try_new(r, None)
                    .map_err(|e| CliError::data(format!("{name}: not a valid Arrow IPC file: {e}")))?,
            )
        } else {
            Box::new(
                StreamReader::try_new(BufReader::new(r), None)
                    .map_err(|e| CliError::data(format!("{name}: not an Arrow IPC stream or file: {e}")))?,
            )
        };
    ArrowSource::boxed(name, batches, stream, schema)
}

fn unknown_column(name: &str, at: &str, col: &str, stream: &str, schema: &SchemaRef) -> CliError {
    CliError::data(format!(
        "{name}{at}: column '{col}' is not in stream {stream} (its columns: {})",
        column_names(schema)
    ))
}

// ---- CSV --------------------------------------------------------------------

/// CSV with a header row. Empty fields are NULL.
struct CsvSource {
    name: String,
    reader: csv::Reader<Box<dyn Read>>,
    /// For each file column, the stream column it fills.
    targets: Vec<usize>,
    /// Stream columns no file column fills (always NULL).
    missing: Vec<usize>,
    builder: BatchBuilder,
    batch_rows: usize,
    record: csv::StringRecord,
    /// An error found after some good rows: those are returned first, so
    /// everything before the bad row is fed.
    failed: Option<CliError>,
}

impl CsvSource {
    fn new(
        name: String,
        reader: Box<dyn Read>,
        stream: &str,
        schema: SchemaRef,
        batch_rows: usize,
    ) -> CliResult<CsvSource> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(reader);
        let headers = reader.headers().map_err(|e| csv_error(&name, e))?.clone();
        let mut targets = Vec::with_capacity(headers.len());
        for h in headers.iter() {
            let h = h.trim();
            let idx =
                column_index(&schema, h).ok_or_else(|| unknown_column(&name, ":1", h, stream, &schema))?;
            if targets.contains(&idx) {
                return Err(CliError::data(format!(
                    "{name}:1: column '{}' appears twice in the header",
                    schema.field(idx).name()
                )));
            }
            targets.push(idx);
        }
        let missing = (0..schema.fields().len())
            .filter(|i| !targets.contains(i))
            .collect();
        let builder = BatchBuilder::new(schema, batch_rows).map_err(CliError::data)?;
        Ok(CsvSource {
            name,
            reader,
            targets,
            missing,
            builder,
            batch_rows,
            record: csv::StringRecord::new(),
            failed: None,
        })
    }
}

fn csv_error(name: &str, e: csv::Error) -> CliError {
    let line = e.position().map(|p| format!(":{}", p.line())).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => CliError::data(format!(
            "{name}{line}: row has {len} fields, the header has {expected_len}"
        )),
        csv::ErrorKind::Utf8 { .. } => CliError::data(format!("{name}{line}: not valid UTF-8")),
        csv::ErrorKind::Io(io) => CliError::data(format!("cannot read {name}: {io}")),
        _ => CliError::data(format!("{name}{line}: {e}")),
    }
}

/// Hands out the good rows before an error, then the error.
fn batch_or_error(
    builder: &mut BatchBuilder,
    failed: &mut Option<CliError>,
    result: CliResult<()>,
) -> CliResult<Option<RecordBatch>> {
    if let Err(e) = result {
        *failed = Some(e);
    }
    if builder.rows() > 0 {
        return Ok(Some(builder.finish()));
    }
    builder.finish();
    match failed.take() {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

impl BatchSource for CsvSource {
    fn next_batch(&mut self) -> CliResult<Option<RecordBatch>> {
        let r = self.fill();
        batch_or_error(&mut self.builder, &mut self.failed, r)
    }
}

impl CsvSource {
    fn fill(&mut self) -> CliResult<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        while self.builder.rows() < self.batch_rows {
            let more = self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| csv_error(&self.name, e))?;
            if !more {
                break;
            }
            for (field, &col) in self.record.iter().zip(&self.targets) {
                let b = &mut self.builder.columns[col];
                let r = if field.is_empty() {
                    b.append_null();
                    Ok(())
                } else {
                    b.append_text(field)
                };
                if let Err(msg) = r {
                    let line = self.record.position().map_or(0, |p| p.line());
                    return Err(CliError::data(format!(
                        "{}:{line}: column '{}': {msg}",
                        self.name,
                        self.builder.schema.field(col).name()
                    )));
                }
            }
            for &col in &self.missing {
                self.builder.columns[col].append_null();
            }
        }
        Ok(())
    }
}

// ---- JSON Lines -------------------------------------------------------------

/// One JSON object per line; blank lines are skipped, missing keys are NULL.
struct JsonlSource {
    name: String,
    stream: String,
    reader: BufReader<Box<dyn Read>>,
    line: u64,
    buf: String,
    /// Keys seen so far → stream column (saves the case-insensitive search).
    keys: HashMap<String, usize>,
    set: Vec<bool>,
    builder: BatchBuilder,
    batch_rows: usize,
    failed: Option<CliError>,
}

impl JsonlSource {
    fn new(
        name: String,
        reader: Box<dyn Read>,
        stream: &str,
        schema: SchemaRef,
        batch_rows: usize,
    ) -> CliResult<JsonlSource> {
        let set = vec![false; schema.fields().len()];
        Ok(JsonlSource {
            name,
            stream: stream.to_string(),
            reader: BufReader::with_capacity(1 << 16, reader),
            line: 0,
            buf: String::new(),
            keys: HashMap::new(),
            set,
            builder: BatchBuilder::new(schema, batch_rows).map_err(CliError::data)?,
            batch_rows,
            failed: None,
        })
    }

    fn row(&mut self) -> CliResult<()> {
        let (name, line) = (&self.name, self.line);
        let obj: serde_json::Map<String, serde_json::Value> =
            match serde_json::from_str::<serde_json::Value>(self.buf.trim_end()) {
                Ok(serde_json::Value::Object(o)) => o,
                Ok(_) => return Err(CliError::data(format!("{name}:{line}: expected a JSON object"))),
                Err(e) => {
                    let text = e.to_string();
                    let what = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
                    return Err(CliError::data(format!(
                        "{name}:{line}: invalid JSON at column {}: {what}",
                        e.column()
                    )));
                }
            };
        self.set.iter_mut().for_each(|s| *s = false);
        for (k, v) in &obj {
            let col = match self.keys.get(k) {
                Some(&c) => c,
                None => {
                    let schema = &self.builder.schema;
                    let c = column_index(schema, k)
                        .ok_or_else(|| unknown_column(name, &format!(":{line}"), k, &self.stream, schema))?;
                    self.keys.insert(k.clone(), c);
                    c
                }
            };
            let field = self.builder.schema.field(col).name();
            if std::mem::replace(&mut self.set[col], true) {
                return Err(CliError::data(format!(
                    "{name}:{line}: column '{field}' given twice"
                )));
            }
            self.builder.columns[col]
                .append_json(v)
                .map_err(|msg| CliError::data(format!("{name}:{line}: column '{field}': {msg}")))?;
        }
        for (col, set) in self.set.iter().enumerate() {
            if !set {
                self.builder.columns[col].append_null();
            }
        }
        Ok(())
    }
}

impl BatchSource for JsonlSource {
    fn next_batch(&mut self) -> CliResult<Option<RecordBatch>> {
        let r = self.fill();
        batch_or_error(&mut self.builder, &mut self.failed, r)
    }
}

impl JsonlSource {
    fn fill(&mut self) -> CliResult<()> {
        if self.failed.is_some() {
            return Ok(());
        }
        while self.builder.rows() < self.batch_rows {
            self.buf.clear();
            let n = self.reader.read_line(&mut self.buf).map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    CliError::data(format!("{}:{}: not valid UTF-8", self.name, self.line + 1))
                } else {
                    read_error(&self.name, e)
                }
            })?;
            if n == 0 {
                break;
            }
            self.line += 1;
            if self.buf.trim().is_empty() {
                continue;
            }
            self.row()?;
        }
        Ok(())
    }
}

// ---- Arrow IPC --------------------------------------------------------------

/// How a file column becomes a stream column.
enum Map {
    Same(usize),
    Cast(usize),
    Null,
}

struct ArrowSource {
    name: String,
    stream: String,
    batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>>,
    schema: SchemaRef,
    /// Worked out from the first batch: an IPC file or stream has one schema.
    maps: Option<Vec<Map>>,
}

/// Conversions that lose nothing a stream can hold: wider numbers, other
/// string layouts, other timestamp units or zones (to UTC milliseconds),
/// BIGINT epoch milliseconds as TIMESTAMP.
fn convertible(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    match to {
        Int64 => matches!(from, Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32),
        Int32 => matches!(from, Int8 | Int16 | UInt8 | UInt16),
        Float64 => matches!(
            from,
            Float16 | Float32 | Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32
        ),
        Float32 => matches!(from, Float16 | Int8 | Int16 | UInt8 | UInt16),
        Utf8 => matches!(from, LargeUtf8 | Utf8View | Dictionary(_, _)),
        Timestamp(TimeUnit::Millisecond, None) => matches!(from, Timestamp(_, _) | Int64 | Date32 | Date64),
        _ => false,
    }
}

impl ArrowSource {
    fn boxed(
        name: String,
        batches: Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>>,
        stream: &str,
        schema: SchemaRef,
    ) -> CliResult<Box<dyn BatchSource>> {
        Ok(Box::new(ArrowSource {
            name,
            stream: stream.to_string(),
            batches,
            schema,
            maps: None,
        }))
    }

    fn plan(&self, file: &SchemaRef) -> CliResult<Vec<Map>> {
        for f in file.fields() {
            if column_index(&self.schema, f.name()).is_none() {
                return Err(unknown_column(
                    &self.name,
                    "",
                    f.name(),
                    &self.stream,
                    &self.schema,
                ));
            }
        }
        let mut maps = Vec::with_capacity(self.schema.fields().len());
        for want in self.schema.fields() {
            let found = file
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(want.name()));
            maps.push(match found {
                None => Map::Null,
                Some(i) if file.field(i).data_type() == want.data_type() => Map::Same(i),
                Some(i) if convertible(file.field(i).data_type(), want.data_type()) => Map::Cast(i),
                Some(i) => {
                    return Err(CliError::data(format!(
                        "{}: column '{}' is {} in the file; stream column '{}' is {}",
                        self.name,
                        file.field(i).name(),
                        file.field(i).data_type(),
                        want.name(),
                        eddy::types::type_name(want.data_type())
                    )))
                }
            });
        }
        Ok(maps)
    }
}

/// Casts a file column to the stream's type (see `convertible`).
fn convert(from: &ArrayRef, to: &DataType) -> Result<ArrayRef, arrow::error::ArrowError> {
    let from = match from.data_type() {
        // The values are UTC instants whatever the zone; Arrow's cast would
        // shift them to local time, so relabel instead.
        DataType::Timestamp(unit, Some(_)) => make_array(
            from.to_data()
                .into_builder()
                .data_type(DataType::Timestamp(*unit, None))
                .build()?,
        ),
        _ => from.clone(),
    };
    let opts = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&from, to, &opts)
}

impl BatchSource for ArrowSource {
    fn next_batch(&mut self) -> CliResult<Option<RecordBatch>> {
        let Some(batch) = self.batches.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(|e| CliError::data(format!("{}: {e}", self.name)))?;
        if self.maps.is_none() {
            self.maps = Some(self.plan(&batch.schema())?);
        }
        let maps = self.maps.as_ref().expect("just set");
        let rows = batch.num_rows();
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(maps.len());
        for (map, want) in maps.iter().zip(self.schema.fields()) {
            cols.push(match *map {
                Map::Same(i) => batch.column(i).clone(),
                Map::Null => new_null_array(want.data_type(), rows),
                Map::Cast(i) => convert(batch.column(i), want.data_type())
                    .map_err(|e| CliError::data(format!("{}: column '{}': {e}", self.name, want.name())))?,
            });
        }
        let out = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| CliError::data(format!("{}: {e}", self.name)))?;
        Ok(Some(out))
    }
}
