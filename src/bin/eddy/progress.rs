//! A progress line on stderr while inputs are read: bytes against the total
//! size when it is known, rows and their rate. Drawn only after a moment, so
//! short runs never show it, and erased at the end; stdout is never touched.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::feed::Counters;

pub struct Progress {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

const FIRST_DRAW: Duration = Duration::from_millis(700);
const TICK: Duration = Duration::from_millis(150);
const BAR: usize = 28;

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn human_count(n: f64) -> String {
    match n {
        n if n >= 1e9 => format!("{:.1}G", n / 1e9),
        n if n >= 1e6 => format!("{:.1}M", n / 1e6),
        n if n >= 1e3 => format!("{:.1}k", n / 1e3),
        n => format!("{n:.0}"),
    }
}

/// The line for `bytes` of `total` and `rows` after `secs`.
pub fn line(bytes: u64, total: Option<u64>, rows: u64, secs: f64) -> String {
    let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
    let counts = format!("{} rows  {} rows/s", human_count(rows as f64), human_count(rate));
    match total {
        Some(t) if t > 0 => {
            let frac = (bytes as f64 / t as f64).min(1.0);
            let filled = (frac * BAR as f64).round() as usize;
            format!(
                "[{}{}] {:3.0}%  {} / {}  {counts}",
                "#".repeat(filled),
                "-".repeat(BAR - filled),
                frac * 100.0,
                human_bytes(bytes.min(t)),
                human_bytes(t)
            )
        }
        _ => format!("{} read  {counts}", human_bytes(bytes)),
    }
}

impl Progress {
    pub fn start(counters: Arc<Counters>, total: Option<u64>) -> Progress {
        let (stop, rx) = channel::<()>();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut drawn = false;
            let mut wait = FIRST_DRAW;
            while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(wait) {
                wait = TICK;
                let text = line(
                    counters.bytes.load(Ordering::Relaxed),
                    total,
                    counters.rows.load(Ordering::Relaxed),
                    start.elapsed().as_secs_f64(),
                );
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{text}");
                let _ = err.flush();
                drawn = true;
            }
            if drawn {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        Progress { stop, thread }
    }

    /// Erases the line and waits for the drawing thread.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_share_and_counts() {
        assert_eq!(
            line(512 * 1024, Some(1024 * 1024), 1500, 2.0),
            "[##############--------------]  50%  512.0 KiB / 1.0 MiB  1.5k rows  750 rows/s"
        );
        assert_eq!(line(100, None, 3, 0.0), "100 B read  3 rows  0 rows/s");
    }
}
