//! Errors carried through the engine and out of the C ABI.
//!
//! Every fallible engine function returns `Result<T>`; the C layer turns the
//! `Error` into an `eddy_status` plus an owned `eddy_error` message.

use std::fmt;

/// Status codes. The numeric values are part of the frozen C ABI
/// (`eddy_status` in eddy.h mirrors them one to one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok = 0,
    InvalidArgument = 1,
    Sql = 2,
    Schema = 3,
    NotFound = 4,
    Full = 5,
    Timeout = 6,
    Closed = 7,
    EndOfStream = 8,
    Io = 9,
    Corrupt = 10,
    Internal = 11,
    Panic = 12,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "EDDY_OK",
            Status::InvalidArgument => "EDDY_ERR_INVALID_ARGUMENT",
            Status::Sql => "EDDY_ERR_SQL",
            Status::Schema => "EDDY_ERR_SCHEMA",
            Status::NotFound => "EDDY_ERR_NOT_FOUND",
            Status::Full => "EDDY_ERR_FULL",
            Status::Timeout => "EDDY_ERR_TIMEOUT",
            Status::Closed => "EDDY_ERR_CLOSED",
            Status::EndOfStream => "EDDY_ERR_END_OF_STREAM",
            Status::Io => "EDDY_ERR_IO",
            Status::Corrupt => "EDDY_ERR_CORRUPT",
            Status::Internal => "EDDY_ERR_INTERNAL",
            Status::Panic => "EDDY_ERR_PANIC",
        }
    }

    pub fn from_i32(v: i32) -> Option<Status> {
        use Status::*;
        Some(match v {
            0 => Ok,
            1 => InvalidArgument,
            2 => Sql,
            3 => Schema,
            4 => NotFound,
            5 => Full,
            6 => Timeout,
            7 => Closed,
            8 => EndOfStream,
            9 => Io,
            10 => Corrupt,
            11 => Internal,
            12 => Panic,
            _ => return None,
        })
    }
}

/// An error: a status and a message that names the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Status::InvalidArgument, message)
    }
    pub fn sql(message: impl Into<String>) -> Error {
        Error::new(Status::Sql, message)
    }
    pub fn schema(message: impl Into<String>) -> Error {
        Error::new(Status::Schema, message)
    }
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Status::NotFound, message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Status::Internal, message)
    }
    pub fn closed(message: impl Into<String>) -> Error {
        Error::new(Status::Closed, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Error {
        Error::new(Status::Internal, format!("arrow: {e}"))
    }
}
