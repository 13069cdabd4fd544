//! Counters shared between producers, the worker and stats readers.
//! Relaxed atomics: each is an independent tally, read for reporting.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct StreamStats {
    /// Rows that entered the stream (from inputs or from queries).
    pub events_in: AtomicU64,
    /// Rows handed to subscribers (counted once per subscriber).
    pub events_out: AtomicU64,
    /// Rows discarded by an overflow policy the host chose.
    pub dropped: AtomicU64,
    /// Rows refused with an error (queue full under `block`, bad batches).
    pub rejected: AtomicU64,
    /// Rows behind the watermark that were dropped.
    pub late: AtomicU64,
}

#[derive(Default, Debug)]
pub struct QueryStats {
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
    /// Batches the query failed on (the message is kept in `last_error`).
    pub errors: AtomicU64,
}

#[inline]
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

#[inline]
pub(crate) fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Minimal JSON string escaping for names and messages.
pub(crate) fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}
