//! SQL types and their Arrow representation.
//!
//! Every stream is an Arrow schema; these are the only column types a stream
//! may declare. TIMESTAMP is milliseconds since the Unix epoch, without zone.

use arrow::datatypes::{DataType, TimeUnit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SqlType {
    Bool,
    Int,
    BigInt,
    Float,
    Double,
    String,
    Timestamp,
}

impl SqlType {
    pub fn to_arrow(self) -> DataType {
        match self {
            SqlType::Bool => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::BigInt => DataType::Int64,
            SqlType::Float => DataType::Float32,
            SqlType::Double => DataType::Float64,
            SqlType::String => DataType::Utf8,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        }
    }

    /// The SQL type of an Arrow type, if it is one a stream may carry.
    pub fn from_arrow(dt: &DataType) -> Option<SqlType> {
        Some(match dt {
            DataType::Boolean => SqlType::Bool,
            DataType::Int32 => SqlType::Int,
            DataType::Int64 => SqlType::BigInt,
            DataType::Float32 => SqlType::Float,
            DataType::Float64 => SqlType::Double,
            DataType::Utf8 => SqlType::String,
            DataType::Timestamp(TimeUnit::Millisecond, None) => SqlType::Timestamp,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SqlType::Bool => "BOOL",
            SqlType::Int => "INT",
            SqlType::BigInt => "BIGINT",
            SqlType::Float => "FLOAT",
            SqlType::Double => "DOUBLE",
            SqlType::String => "STRING",
            SqlType::Timestamp => "TIMESTAMP",
        }
    }

    /// Parses a type name as written in CREATE STREAM (case-insensitive).
    pub fn parse(name: &str) -> Option<SqlType> {
        Some(match name.to_ascii_uppercase().as_str() {
            "BOOL" | "BOOLEAN" => SqlType::Bool,
            "INT" | "INTEGER" | "INT4" => SqlType::Int,
            "BIGINT" | "LONG" | "INT8" => SqlType::BigInt,
            "FLOAT" | "REAL" | "FLOAT4" => SqlType::Float,
            "DOUBLE" | "FLOAT8" | "DOUBLE PRECISION" => SqlType::Double,
            "STRING" | "VARCHAR" | "TEXT" => SqlType::String,
            "TIMESTAMP" => SqlType::Timestamp,
            _ => return None,
        })
    }
}

/// Display name of an Arrow type in SQL terms, for error messages.
pub fn type_name(dt: &DataType) -> String {
    match SqlType::from_arrow(dt) {
        Some(t) => t.name().to_string(),
        None if *dt == DataType::Null => "NULL".to_string(),
        None => format!("{dt}"),
    }
}
