//! Feeding input files into the engine: files of streams without an event
//! time one after another, then every file of the streams with one merged by
//! that column (a k-way merge, ties to the earlier --input).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Int64Type, TimestampMillisecondType};

use eddy::Input;

use crate::read::BatchSource;
use crate::{CliError, CliResult};

/// One stream being fed, with rows waiting to be pushed in one batch.
pub struct StreamFeed {
    pub name: String,
    pub input: Input,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

impl StreamFeed {
    pub fn new(name: String, input: Input) -> StreamFeed {
        StreamFeed {
            name,
            input,
            pending: Vec::new(),
            pending_rows: 0,
        }
    }

    fn push(&mut self, batch: &RecordBatch) -> CliResult<()> {
        self.input
            .push_batch(batch)
            .map_err(|e| CliError::data(format!("cannot feed stream {}: {}", self.name, e.message)))
    }

    /// Queues a slice; merged slices are pushed together so a fine-grained
    /// interleaving does not become one tiny batch per row.
    fn queue(&mut self, batch: RecordBatch, batch_rows: usize) -> CliResult<()> {
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> CliResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = if self.pending.len() == 1 {
            self.pending.pop().expect("one batch")
        } else {
            let b = concat_batches(&self.pending[0].schema(), &self.pending)
                .map_err(|e| CliError::data(format!("stream {}: {e}", self.name)))?;
            self.pending.clear();
            b
        };
        self.pending_rows = 0;
        self.push(&batch)
    }
}

/// One input file: which stream it feeds and, for event-time streams, the
/// index of the time column.
pub struct FileFeed {
    pub label: String,
    pub stream: usize,
    pub time_col: Option<usize>,
    pub source: Box<dyn BatchSource>,
    pub rows: u64,
}

/// Counters the progress bar and the summary read.
#[derive(Default)]
pub struct Counters {
    pub bytes: Arc<AtomicU64>,
    pub rows: AtomicU64,
    /// Set when an output can take no more (stdout closed): stop feeding.
    pub stop: AtomicBool,
}

/// Feeds every file; returns early (Ok) when `counters.stop` is set.
pub fn feed_all(
    streams: &mut [StreamFeed],
    files: &mut [FileFeed],
    batch_rows: usize,
    counters: &Counters,
) -> CliResult<()> {
    for f in files.iter_mut().filter(|f| f.time_col.is_none()) {
        while let Some(batch) = f.source.next_batch()? {
            if counters.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            streams[f.stream].push(&batch)?;
            f.rows += batch.num_rows() as u64;
            counters
                .rows
                .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        }
    }
    // Rows merged before a failure are still fed.
    let merged = merge(streams, files, batch_rows, counters);
    for s in streams.iter_mut() {
        s.flush()?;
    }
    merged
}

/// A file's current batch and position in the merge.
struct Head {
    file: usize,
    batch: RecordBatch,
    /// Event time of each row; NULL sorts first.
    times: Vec<i64>,
    row: usize,
}

fn times_of(batch: &RecordBatch, col: usize) -> Vec<i64> {
    let a = batch.column(col);
    let values: Vec<i64> = match a.data_type() {
        DataType::Timestamp(_, _) => a.as_primitive::<TimestampMillisecondType>().values().to_vec(),
        _ => a.as_primitive::<Int64Type>().values().to_vec(),
    };
    match a.nulls() {
        None => values,
        Some(n) => values
            .into_iter()
            .enumerate()
            .map(|(i, v)| if n.is_null(i) { i64::MIN } else { v })
            .collect(),
    }
}

/// The next non-empty batch of a file, as a merge head.
fn next_head(files: &mut [FileFeed], file: usize) -> CliResult<Option<Head>> {
    let col = files[file].time_col.expect("only event-time files merge");
    while let Some(batch) = files[file].source.next_batch()? {
        if batch.num_rows() > 0 {
            let times = times_of(&batch, col);
            return Ok(Some(Head {
                file,
                batch,
                times,
                row: 0,
            }));
        }
    }
    Ok(None)
}

fn merge(
    streams: &mut [StreamFeed],
    files: &mut [FileFeed],
    batch_rows: usize,
    counters: &Counters,
) -> CliResult<()> {
    let mut heads: Vec<Head> = Vec::new();
    for i in 0..files.len() {
        if files[i].time_col.is_some() {
            if let Some(h) = next_head(files, i)? {
                heads.push(h);
            }
        }
    }
    // `heads` stays in --input order, which breaks ties.
    let mut last_stream: Option<usize> = None;
    while !heads.is_empty() {
        if counters.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let key = |h: &Head| h.times[h.row];
        let mut best = 0;
        for (i, h) in heads.iter().enumerate().skip(1) {
            if key(h) < key(&heads[best]) {
                best = i;
            }
        }
        // The run of `best` that comes before every other head: rows up to
        // the earliest later file's head (ties go first) and strictly before
        // any earlier file's head.
        let mut upto_le = i64::MAX;
        let mut below = i64::MAX;
        for (i, h) in heads.iter().enumerate() {
            if i < best {
                below = below.min(key(h));
            } else if i > best {
                upto_le = upto_le.min(key(h));
            }
        }
        let h = &mut heads[best];
        let start = h.row;
        let mut end = start + 1;
        while end < h.times.len() && h.times[end] <= upto_le && h.times[end] < below {
            end += 1;
        }
        h.row = end;
        let file = h.file;
        let slice = h.batch.slice(start, end - start);
        let stream = files[file].stream;
        if last_stream.is_some_and(|s| s != stream) {
            // Keep the order across streams at push granularity.
            streams[last_stream.expect("checked")].flush()?;
        }
        last_stream = Some(stream);
        let n = (end - start) as u64;
        files[file].rows += n;
        counters.rows.fetch_add(n, Ordering::Relaxed);
        streams[stream].queue(slice, batch_rows)?;
        if heads[best].row == heads[best].times.len() {
            match next_head(files, file)? {
                Some(next) => heads[best] = next,
                None => {
                    heads.remove(best);
                }
            }
        }
    }
    Ok(())
}
