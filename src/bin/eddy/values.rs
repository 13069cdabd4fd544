//! Text and JSON values → typed Arrow columns of a stream, with one set of
//! rules for CSV fields, JSON Lines values and `.insert` literals.

use std::sync::{Arc, OnceLock};

use arrow::array::timezone::Tz;
use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Float32Builder, Float64Builder, Int32Builder, Int64Builder,
    RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use arrow::compute::kernels::cast_utils::string_to_datetime;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use serde_json::Value;

use eddy::types::type_name;

/// A column being built. The stream types are the only ones there are.
pub enum Builder {
    Bool(BooleanBuilder),
    Int(Int32Builder),
    BigInt(Int64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    Str(StringBuilder),
    Ts(TimestampMillisecondBuilder),
}

/// Why one value did not convert; the reader adds file, line and column.
pub type ValueError = String;

fn utc() -> &'static Tz {
    static UTC: OnceLock<Tz> = OnceLock::new();
    UTC.get_or_init(|| "+00:00".parse().expect("a fixed offset parses"))
}

/// TIMESTAMP from text: epoch milliseconds (an integer) or ISO 8601 (`T` or
/// space, optional fraction, optional `Z`/offset; no offset means UTC, like
/// the engine's zone-less timestamps).
pub fn parse_timestamp(s: &str) -> Result<i64, ValueError> {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|_| format!("'{s}' is out of range for TIMESTAMP (epoch milliseconds)"));
    }
    string_to_datetime(utc(), t).map(|d| d.timestamp_millis()).map_err(|_| {
        format!("'{s}' is not a TIMESTAMP (write ISO 8601 like 2024-01-02T03:04:05.123, or epoch milliseconds)")
    })
}

/// BOOL from text, as the engine's CAST reads it: true/false/t/f/1/0.
fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" => Some(true),
        "false" | "f" | "0" => Some(false),
        _ => None,
    }
}

/// `a_ty` is the type with its article ("an INT").
fn int_error(s: &str, a_ty: &str) -> ValueError {
    let t = s.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let ty = a_ty.split_once(' ').map_or(a_ty, |(_, t)| t);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("'{s}' is out of range for {ty}")
    } else {
        format!("'{s}' is not {a_ty}")
    }
}

impl Builder {
    /// A builder for a stream column; None for a type no stream carries.
    pub fn new(data_type: &DataType, capacity: usize) -> Option<Builder> {
        Some(match data_type {
            DataType::Boolean => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Int32 => Builder::Int(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => Builder::BigInt(Int64Builder::with_capacity(capacity)),
            DataType::Float32 => Builder::Float(Float32Builder::with_capacity(capacity)),
            DataType::Float64 => Builder::Double(Float64Builder::with_capacity(capacity)),
            DataType::Utf8 => Builder::Str(StringBuilder::with_capacity(capacity, capacity * 8)),
            DataType::Timestamp(TimeUnit::Millisecond, None) => {
                Builder::Ts(TimestampMillisecondBuilder::with_capacity(capacity))
            }
            _ => return None,
        })
    }

    pub fn append_null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::BigInt(b) => b.append_null(),
            Builder::Float(b) => b.append_null(),
            Builder::Double(b) => b.append_null(),
            Builder::Str(b) => b.append_null(),
            Builder::Ts(b) => b.append_null(),
        }
    }

    /// Appends a value given as text. Numbers may have surrounding spaces;
    /// strings are taken as they are (so "" is an empty string here).
    pub fn append_text(&mut self, s: &str) -> Result<(), ValueError> {
        match self {
            Builder::Bool(b) => b.append_value(
                parse_bool(s).ok_or_else(|| format!("'{s}' is not a BOOL (write true/false, t/f or 1/0)"))?,
            ),
            Builder::Int(b) => b.append_value(s.trim().parse().map_err(|_| int_error(s, "an INT"))?),
            Builder::BigInt(b) => b.append_value(s.trim().parse().map_err(|_| int_error(s, "a BIGINT"))?),
            Builder::Float(b) => {
                b.append_value(s.trim().parse().map_err(|_| format!("'{s}' is not a FLOAT"))?)
            }
            Builder::Double(b) => {
                b.append_value(s.trim().parse().map_err(|_| format!("'{s}' is not a DOUBLE"))?)
            }
            Builder::Str(b) => b.append_value(s),
            Builder::Ts(b) => b.append_value(parse_timestamp(s)?),
        }
        Ok(())
    }

    /// Appends a JSON value: null is NULL; strings are read as text (so
    /// "12.5" fills a DOUBLE); numbers and booleans must fit the column,
    /// except that a STRING column takes any scalar as its JSON text.
    pub fn append_json(&mut self, v: &Value) -> Result<(), ValueError> {
        match (&mut *self, v) {
            (_, Value::Null) => self.append_null(),
            (_, Value::String(s)) => return self.append_text(s),
            (Builder::Str(b), Value::Number(n)) => b.append_value(n.to_string()),
            (Builder::Str(b), Value::Bool(x)) => b.append_value(if *x { "true" } else { "false" }),
            (Builder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (Builder::Int(b), Value::Number(n)) => b.append_value(
                n.as_i64()
                    .and_then(|i| i32::try_from(i).ok())
                    .ok_or_else(|| json_int_error(n, "an INT"))?,
            ),
            (Builder::BigInt(b), Value::Number(n)) => {
                b.append_value(n.as_i64().ok_or_else(|| json_int_error(n, "a BIGINT"))?)
            }
            (Builder::Ts(b), Value::Number(n)) => b.append_value(
                n.as_i64()
                    .ok_or_else(|| format!("{n} is not a TIMESTAMP (epoch milliseconds are integers)"))?,
            ),
            (Builder::Float(b), Value::Number(n)) => b.append_value(n.as_f64().unwrap_or(f64::NAN) as f32),
            (Builder::Double(b), Value::Number(n)) => b.append_value(n.as_f64().unwrap_or(f64::NAN)),
            (b, v) => {
                return Err(format!(
                    "expected {}, got {}",
                    type_name(&b.data_type()),
                    json_kind(v)
                ))
            }
        }
        Ok(())
    }

    fn data_type(&self) -> DataType {
        match self {
            Builder::Bool(_) => DataType::Boolean,
            Builder::Int(_) => DataType::Int32,
            Builder::BigInt(_) => DataType::Int64,
            Builder::Float(_) => DataType::Float32,
            Builder::Double(_) => DataType::Float64,
            Builder::Str(_) => DataType::Utf8,
            Builder::Ts(_) => DataType::Timestamp(TimeUnit::Millisecond, None),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Builder::Bool(b) => b.len(),
            Builder::Int(b) => b.len(),
            Builder::BigInt(b) => b.len(),
            Builder::Float(b) => b.len(),
            Builder::Double(b) => b.len(),
            Builder::Str(b) => b.len(),
            Builder::Ts(b) => b.len(),
        }
    }

    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::BigInt(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Double(b) => Arc::new(b.finish()),
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Ts(b) => Arc::new(b.finish()),
        }
    }
}

fn json_int_error(n: &serde_json::Number, a_ty: &str) -> ValueError {
    if n.is_f64() {
        format!("{n} is not {a_ty}")
    } else {
        format!(
            "{n} is out of range for {}",
            a_ty.split_once(' ').map_or(a_ty, |(_, t)| t)
        )
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One builder per column of a stream's schema, finished into batches of it.
pub struct BatchBuilder {
    pub schema: SchemaRef,
    pub columns: Vec<Builder>,
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef, capacity: usize) -> Result<BatchBuilder, String> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                Builder::new(f.data_type(), capacity).ok_or_else(|| {
                    format!(
                        "column '{}' has type {}, which no stream carries",
                        f.name(),
                        f.data_type()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BatchBuilder { schema, columns })
    }

    /// Rows every column has a value for (a failed row may have filled some).
    pub fn rows(&self) -> usize {
        self.columns.iter().map(|c| c.len()).min().unwrap_or(0)
    }

    /// The complete rows as a batch; a partly filled row is dropped.
    pub fn finish(&mut self) -> RecordBatch {
        let rows = self.rows();
        let arrays = self
            .columns
            .iter_mut()
            .map(|c| c.finish().slice(0, rows))
            .collect();
        RecordBatch::try_new(self.schema.clone(), arrays).expect("every column has `rows` values")
    }
}

/// Finds a stream column by name, case-insensitively (as the engine does).
pub fn column_index(schema: &SchemaRef, name: &str) -> Option<usize> {
    schema
        .fields()
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(name))
}

/// "symbol, price, ts": a schema's column names for error messages.
pub fn column_names(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use arrow::array::Array;

    use super::*;

    #[test]
    fn timestamps_from_iso_and_epoch_ms() {
        assert_eq!(parse_timestamp("1700000000123"), Ok(1_700_000_000_123));
        assert_eq!(parse_timestamp("-5"), Ok(-5));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.123"), Ok(1_700_000_000_123));
        assert_eq!(parse_timestamp("2023-11-14 22:13:20Z"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20+01:00"),
            Ok(1_700_000_000_000)
        );
        assert_eq!(parse_timestamp("1970-01-02"), Ok(86_400_000));
        assert!(parse_timestamp("yesterday")
            .unwrap_err()
            .contains("is not a TIMESTAMP"));
        assert!(parse_timestamp("99999999999999999999")
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn text_and_json_follow_the_column_type() {
        let mut b = Builder::new(&DataType::Int32, 4).unwrap();
        b.append_text(" 42 ").unwrap();
        assert_eq!(b.append_text("4.5").unwrap_err(), "'4.5' is not an INT");
        assert_eq!(
            b.append_text("3000000000").unwrap_err(),
            "'3000000000' is out of range for INT"
        );
        b.append_json(&serde_json::json!(7)).unwrap();
        assert_eq!(
            b.append_json(&serde_json::json!(1.5)).unwrap_err(),
            "1.5 is not an INT"
        );
        assert_eq!(
            b.append_json(&serde_json::json!([1])).unwrap_err(),
            "expected INT, got an array"
        );
        assert_eq!(b.len(), 2);

        let mut s = Builder::new(&DataType::Utf8, 4).unwrap();
        s.append_json(&serde_json::json!(12)).unwrap();
        s.append_json(&serde_json::json!(true)).unwrap();
        s.append_text("").unwrap();
        let a = s.finish();
        let a = a.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
        assert_eq!(
            (a.value(0), a.value(1), a.value(2), a.null_count()),
            ("12", "true", "", 0)
        );

        let mut t = Builder::new(&DataType::Boolean, 2).unwrap();
        t.append_text("T").unwrap();
        assert!(t.append_text("yes").unwrap_err().contains("is not a BOOL"));
    }
}
