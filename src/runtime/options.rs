//! Engine options: `key=value;key=value`, validated up front so a typo is an
//! error that names it rather than a setting silently ignored.

use std::time::Duration;

use crate::error::{Error, Result};

/// What to do when a bounded queue (an input's or a subscriber's) is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait up to `push_timeout_ms`, then fail with EDDY_ERR_FULL having
    /// ingested nothing of that row or batch.
    Block,
    /// Discard the new row or batch and count it as dropped.
    DropNewest,
    /// Discard the oldest queued rows to make room and count them as dropped.
    DropOldest,
}

impl Overflow {
    pub fn parse(v: &str) -> Option<Overflow> {
        match v.to_ascii_lowercase().as_str() {
            "block" => Some(Overflow::Block),
            "drop_newest" => Some(Overflow::DropNewest),
            "drop_oldest" => Some(Overflow::DropOldest),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Overflow::Block => "block",
            Overflow::DropNewest => "drop_newest",
            Overflow::DropOldest => "drop_oldest",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockKind {
    /// The engine reads the wall clock.
    System,
    /// Time only moves when the host calls `eddy_engine_advance_time`.
    Manual,
}

/// Which thread runs the dataflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerKind {
    /// The engine's own worker thread: a push only queues, so producers
    /// never wait for a query, at the cost of a hand-off between threads.
    Thread,
    /// No engine thread: the host thread that pushes runs the queries on
    /// what it pushed before the push returns (another producer's rows may
    /// be run by whichever caller gets there first). No hand-off and no
    /// thread to schedule, so input to output is the queries' own time.
    Caller,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Rows an input queue holds (rounded up to a power of two).
    pub queue_capacity: usize,
    /// Bytes of string data an input queue holds.
    pub queue_bytes: usize,
    pub overflow: Overflow,
    /// How long a blocked push waits for room (`overflow=block`).
    pub push_timeout: Duration,
    /// Rows a subscriber may have waiting before its policy applies.
    pub subscriber_capacity: usize,
    pub subscriber_overflow: Overflow,
    /// Most rows the worker takes from one input before running them.
    pub batch_rows: usize,
    /// How long the idle worker spins before it parks.
    pub idle_spin: Duration,
    pub clock: ClockKind,
    /// Longest STRING value accepted from a host, in bytes.
    pub max_string_bytes: usize,
    pub worker: WorkerKind,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            queue_capacity: 65536,
            queue_bytes: 4 << 20,
            overflow: Overflow::Block,
            push_timeout: Duration::from_millis(5000),
            subscriber_capacity: 1 << 20,
            subscriber_overflow: Overflow::Block,
            batch_rows: 8192,
            idle_spin: Duration::from_micros(50),
            clock: ClockKind::System,
            max_string_bytes: crate::limits::DEFAULT_MAX_STRING_BYTES,
            worker: WorkerKind::Thread,
        }
    }
}

/// The option keys, for error messages and docs.
pub const OPTION_KEYS: &[&str] = &[
    "queue_capacity",
    "queue_bytes",
    "overflow",
    "push_timeout_ms",
    "subscriber_capacity",
    "subscriber_overflow",
    "batch_rows",
    "idle_spin_us",
    "clock",
    "max_string_bytes",
    "worker",
];

impl Options {
    /// Parses `key=value;key=value` (whitespace around keys and values is
    /// ignored, empty items are skipped). `subscriber_overflow` defaults to
    /// the value of `overflow`.
    pub fn parse(text: &str) -> Result<Options> {
        let mut o = Options::default();
        let mut sub_overflow_set = false;
        for item in text.split(';') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (key, value) = item
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| Error::invalid(format!("option '{item}' is not key=value")))?;
            let bad =
                |what: &str| Error::invalid(format!("option '{key}': bad value '{value}' (expected {what})"));
            let int = |lo: u64, hi: u64| -> Result<u64> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|v| *v >= lo && *v <= hi)
                    .ok_or_else(|| bad(&format!("an integer from {lo} to {hi}")))
            };
            match key.to_ascii_lowercase().as_str() {
                "queue_capacity" => o.queue_capacity = int(2, 1 << 30)? as usize,
                // At most 1 GiB: the worker copies a run of rows' strings
                // into one Arrow utf8 array, whose offsets are 32-bit.
                "queue_bytes" => o.queue_bytes = int(1024, 1 << 30)? as usize,
                "overflow" => {
                    o.overflow =
                        Overflow::parse(value).ok_or_else(|| bad("block, drop_newest or drop_oldest"))?
                }
                "push_timeout_ms" => o.push_timeout = Duration::from_millis(int(0, 1 << 40)?),
                "subscriber_capacity" => o.subscriber_capacity = int(1, 1 << 40)? as usize,
                "subscriber_overflow" => {
                    o.subscriber_overflow =
                        Overflow::parse(value).ok_or_else(|| bad("block, drop_newest or drop_oldest"))?;
                    sub_overflow_set = true;
                }
                "batch_rows" => o.batch_rows = int(1, 1 << 20)? as usize,
                "idle_spin_us" => o.idle_spin = Duration::from_micros(int(0, 1_000_000)?),
                "max_string_bytes" => {
                    o.max_string_bytes = int(1, crate::limits::MAX_STRING_BYTES_LIMIT as u64)? as usize
                }
                "clock" => {
                    o.clock = match value.to_ascii_lowercase().as_str() {
                        "system" | "processing" => ClockKind::System,
                        "manual" => ClockKind::Manual,
                        _ => return Err(bad("system or manual")),
                    }
                }
                "worker" => {
                    o.worker = match value.to_ascii_lowercase().as_str() {
                        "thread" => WorkerKind::Thread,
                        "caller" => WorkerKind::Caller,
                        _ => return Err(bad("thread or caller")),
                    }
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "unknown option '{key}' (known: {})",
                        OPTION_KEYS.join(", ")
                    )))
                }
            }
        }
        if !sub_overflow_set {
            o.subscriber_overflow = o.overflow;
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_defaults() {
        let o = Options::parse(" overflow = drop_oldest ; queue_capacity=100;;").unwrap();
        assert_eq!(o.overflow, Overflow::DropOldest);
        assert_eq!(o.subscriber_overflow, Overflow::DropOldest);
        assert_eq!(o.queue_capacity, 100);
        assert_eq!(Options::parse("").unwrap(), Options::default());
    }

    #[test]
    fn unknown_key_and_bad_value_are_named() {
        let e = Options::parse("queue_capacty=5").unwrap_err();
        assert_eq!(e.status, crate::Status::InvalidArgument);
        assert!(
            e.message.contains("unknown option 'queue_capacty'"),
            "{}",
            e.message
        );
        let e = Options::parse("overflow=sometimes").unwrap_err();
        assert!(e.message.contains("'overflow'") && e.message.contains("'sometimes'"));
        let e = Options::parse("queue_capacity=-1").unwrap_err();
        assert!(e.message.contains("queue_capacity"));
        let e = Options::parse("worker=none").unwrap_err();
        assert!(e.message.contains("'worker'") && e.message.contains("thread or caller"));
        assert_eq!(
            Options::parse("worker=Caller").unwrap().worker,
            WorkerKind::Caller
        );
        let e = Options::parse("clock").unwrap_err();
        assert!(e.message.contains("not key=value"));
    }
}
