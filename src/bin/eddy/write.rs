//! Result batches → text (aligned table, CSV, JSON Lines) or Arrow IPC.
//! Values print as the engine's CAST to STRING spells them (floats as the
//! shortest text that reads back, timestamps as zone-less ISO 8601).

use std::io::{self, Write};
use std::path::Path;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::writer::{FileWriter, StreamWriter};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::OutputFormat;

/// Where one output's batches go.
pub trait Sink: Send {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()>;
    /// Writes whatever is held back (the table; a CSV header with no rows).
    fn finish(&mut self) -> io::Result<()>;
}

/// The format a file name asks for, if its extension names one.
pub fn format_of_extension(path: &Path) -> Option<OutputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" => Some(OutputFormat::Csv),
        "jsonl" | "ndjson" | "json" => Some(OutputFormat::Jsonl),
        "arrow" | "arrows" | "ipc" | "feather" => Some(OutputFormat::Arrow),
        "txt" => Some(OutputFormat::Table),
        _ => None,
    }
}

/// A sink of `format` writing to `out`. `ipc_file` picks the Arrow IPC file
/// format (seekable outputs named .arrow) over the stream format.
pub fn sink(
    format: OutputFormat,
    schema: SchemaRef,
    out: Box<dyn Write + Send>,
    ipc_file: bool,
) -> io::Result<Box<dyn Sink>> {
    Ok(match format {
        OutputFormat::Table => Box::new(TableSink {
            schema,
            out,
            batches: Vec::new(),
        }),
        OutputFormat::Csv => Box::new(CsvSink {
            schema,
            out,
            header_done: false,
        }),
        OutputFormat::Jsonl => Box::new(JsonlSink { out }),
        OutputFormat::Arrow if ipc_file => Box::new(IpcFileSink {
            writer: FileWriter::try_new(out, &schema).map_err(io::Error::other)?,
        }),
        OutputFormat::Arrow => Box::new(IpcStreamSink {
            writer: StreamWriter::try_new(out, &schema).map_err(io::Error::other)?,
        }),
    })
}

fn formatters<'a>(
    batch: &'a RecordBatch,
    options: &FormatOptions<'a>,
) -> io::Result<Vec<ArrayFormatter<'a>>> {
    batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), options).map_err(io::Error::other))
        .collect()
}

// ---- table ------------------------------------------------------------------

/// psql-style aligned text. Held until the end: widths need every row.
struct TableSink {
    schema: SchemaRef,
    out: Box<dyn Write + Send>,
    batches: Vec<RecordBatch>,
}

/// One cell's text: control characters escaped so rows stay one line.
fn cell(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Renders rows as an aligned table, without the row-count footer.
pub fn render_table(schema: &SchemaRef, batches: &[RecordBatch], out: &mut dyn Write) -> io::Result<usize> {
    let options = FormatOptions::default().with_null("NULL");
    let ncols = schema.fields().len();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for b in batches {
        let fmts = formatters(b, &options)?;
        for r in 0..b.num_rows() {
            rows.push(fmts.iter().map(|f| cell(&f.value(r).to_string())).collect());
        }
    }
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = schema.fields().iter().map(|f| width(&cell(f.name()))).collect();
    for row in &rows {
        for (w, v) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(v));
        }
    }
    let right: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| f.data_type().is_numeric())
        .collect();
    let mut line = String::new();
    for (i, f) in schema.fields().iter().enumerate() {
        let name = cell(f.name());
        let pad = widths[i] - width(&name);
        // Headers centred, as psql does.
        line.push_str(&format!(
            " {}{}{} ",
            " ".repeat(pad / 2),
            name,
            " ".repeat(pad - pad / 2)
        ));
        if i + 1 < ncols {
            line.push('|');
        }
    }
    writeln!(out, "{}", line.trim_end())?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    writeln!(out, "{}", rule.join("+"))?;
    for row in &rows {
        line.clear();
        for (i, v) in row.iter().enumerate() {
            let pad = " ".repeat(widths[i] - width(v));
            if right[i] {
                line.push_str(&format!(" {pad}{v} "));
            } else {
                line.push_str(&format!(" {v}{pad} "));
            }
            if i + 1 < ncols {
                line.push('|');
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(rows.len())
}

impl Sink for TableSink {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.batches.push(batch.clone());
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        let n = render_table(&self.schema, &self.batches, &mut self.out)?;
        writeln!(self.out, "({n} {})", if n == 1 { "row" } else { "rows" })?;
        self.batches.clear();
        self.out.flush()
    }
}

// ---- CSV --------------------------------------------------------------------

/// RFC 4180: a header row; NULL is an empty field, an empty string is "".
struct CsvSink {
    schema: SchemaRef,
    out: Box<dyn Write + Send>,
    header_done: bool,
}

fn csv_field(s: &str, out: &mut String) {
    if s.is_empty() || s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl CsvSink {
    fn header(&mut self) -> io::Result<()> {
        if !self.header_done {
            let mut line = String::new();
            for (i, f) in self.schema.fields().iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                csv_field(f.name(), &mut line);
            }
            writeln!(self.out, "{line}")?;
            self.header_done = true;
        }
        Ok(())
    }
}

impl Sink for CsvSink {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.header()?;
        let options = FormatOptions::default();
        let fmts = formatters(batch, &options)?;
        let mut line = String::new();
        for r in 0..batch.num_rows() {
            line.clear();
            for (i, (f, col)) in fmts.iter().zip(batch.columns()).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                if col.is_valid(r) {
                    csv_field(&f.value(r).to_string(), &mut line);
                }
            }
            line.push('\n');
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}

// ---- JSON Lines -------------------------------------------------------------

/// One object per row: numbers and booleans as JSON values (NaN and
/// infinities, which JSON cannot hold, as null), strings and timestamps as
/// strings, NULL as null.
struct JsonlSink {
    out: Box<dyn Write + Send>,
}

pub fn json_rows(batch: &RecordBatch, mut emit: impl FnMut(&str) -> io::Result<()>) -> io::Result<()> {
    let options = FormatOptions::default();
    let fmts = formatters(batch, &options)?;
    let schema = batch.schema();
    let keys: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| serde_json::to_string(f.name()).expect("strings serialize"))
        .collect();
    let mut line = String::new();
    for r in 0..batch.num_rows() {
        line.clear();
        line.push('{');
        for (i, (f, col)) in fmts.iter().zip(batch.columns()).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&keys[i]);
            line.push(':');
            if col.is_null(r) {
                line.push_str("null");
                continue;
            }
            let text = f.value(r).to_string();
            match col.data_type() {
                DataType::Float32 | DataType::Float64 => {
                    let finite = text.parse::<f64>().is_ok_and(f64::is_finite);
                    line.push_str(if finite { &text } else { "null" });
                }
                dt if dt.is_integer() || *dt == DataType::Boolean => line.push_str(&text),
                _ => line.push_str(&serde_json::to_string(&text).expect("strings serialize")),
            }
        }
        line.push_str("}\n");
        emit(&line)?;
    }
    Ok(())
}

impl Sink for JsonlSink {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        let out = &mut self.out;
        json_rows(batch, |line| out.write_all(line.as_bytes()))
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

// ---- Arrow IPC --------------------------------------------------------------

struct IpcStreamSink {
    writer: StreamWriter<Box<dyn Write + Send>>,
}

impl Sink for IpcStreamSink {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.writer.write(batch).map_err(arrow_io)?;
        // A reader downstream of a pipe sees each batch as it comes.
        self.writer.flush().map_err(arrow_io)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.writer.finish().map_err(arrow_io)?;
        self.writer.get_mut().flush()
    }
}

struct IpcFileSink {
    writer: FileWriter<Box<dyn Write + Send>>,
}

impl Sink for IpcFileSink {
    fn write(&mut self, batch: &RecordBatch) -> io::Result<()> {
        self.writer.write(batch).map_err(arrow_io)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.writer.finish().map_err(arrow_io)?;
        self.writer.get_mut().flush()
    }
}

/// Keeps a broken pipe recognisable through Arrow's error type.
fn arrow_io(e: arrow::error::ArrowError) -> io::Error {
    match e {
        arrow::error::ArrowError::IoError(_, io) => io,
        e => io::Error::other(e),
    }
}
