//! Time as an abstraction: operators ask the clock, never the OS directly,
//! so replay and tests can drive time by hand (`clock=manual`).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::options::ClockKind;
use crate::error::{Error, Result};

pub struct Clock {
    kind: ClockKind,
    manual_now: AtomicI64,
}

impl Clock {
    pub fn new(kind: ClockKind) -> Clock {
        Clock {
            kind,
            manual_now: AtomicI64::new(0),
        }
    }

    pub fn kind(&self) -> ClockKind {
        self.kind
    }

    /// Milliseconds since the Unix epoch (or the host-set time).
    pub fn now_ms(&self) -> i64 {
        match self.kind {
            ClockKind::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            ClockKind::Manual => self.manual_now.load(Ordering::Acquire),
        }
    }

    /// Moves a manual clock forward. Time never goes backwards.
    pub fn advance(&self, now_ms: i64) -> Result<()> {
        if self.kind != ClockKind::Manual {
            return Err(Error::invalid(
                "advance_time needs the engine option clock=manual",
            ));
        }
        let prev = self.manual_now.load(Ordering::Acquire);
        if now_ms < prev {
            return Err(Error::invalid(format!(
                "time cannot go backwards: now is {prev} ms, asked for {now_ms} ms"
            )));
        }
        self.manual_now.store(now_ms, Ordering::Release);
        Ok(())
    }
}
