//! `eddy run`: queries from a file, inputs from files, outputs to stdout or
//! files. Outputs are subscribed before anything is fed and drained by one
//! thread each while the main thread feeds; closing the engine at the end
//! lets every query emit what it holds and ends the subscriptions.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use eddy::{Engine, Status, Subscription};

use crate::feed::{feed_all, Counters, FileFeed, StreamFeed};
use crate::progress::Progress;
use crate::read::{self, Location};
use crate::write::{self, Sink};
use crate::{open_engine, read_sql, CliError, CliResult, OutputFormat, RunArgs, SqlInfo};

/// The declared spelling of a stream, or a usage error naming the flag.
fn canonical(engine: &Engine, name: &str, flag: &str) -> CliResult<String> {
    let streams = engine.streams();
    streams
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, _)| n.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = streams.iter().map(|(n, _)| n.as_str()).collect();
            CliError::usage(format!(
                "{flag} {name}: no such stream (streams: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })
}

/// An in-memory output, printed as a section once the run ends (several
/// outputs cannot share stdout while they stream).
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Dest {
    Stdout,
    Section(Buffer),
    File(PathBuf),
}

struct Output {
    stream: String,
    dest: Dest,
    rows: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Output {
    fn describe(&self) -> String {
        match &self.dest {
            Dest::File(p) => p.display().to_string(),
            _ => "stdout".to_string(),
        }
    }
}

/// Drains one subscription into its sink. A closed stdout (`| head`) stops
/// the run quietly; other write errors are reported.
fn consume(
    sub: Subscription,
    mut sink: Box<dyn Sink>,
    rows: Arc<std::sync::atomic::AtomicU64>,
    counters: Arc<Counters>,
) -> io::Result<()> {
    let result = (|| {
        loop {
            match sub.next(None) {
                Ok(batch) => {
                    rows.fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
                    sink.write(&batch)?;
                }
                Err(e) if e.status == Status::EndOfStream => break,
                Err(e) => return Err(io::Error::other(e.message)),
            }
        }
        sink.finish()
    })();
    if result.is_err() {
        counters.stop.store(true, Ordering::Relaxed);
    }
    // Dropping the subscription detaches it, so the engine never waits on it.
    drop(sub);
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

pub fn run(args: RunArgs) -> CliResult<u8> {
    let started = Instant::now();
    let stdin_users = args.inputs.iter().filter(|i| i.ends_with("=-")).count()
        + usize::from(args.queries.as_os_str() == "-");
    if stdin_users > 1 {
        return Err(CliError::usage(
            "only one of the queries and the inputs can be read from stdin ('-')",
        ));
    }
    let sql = read_sql(&args.queries)?;
    let sql_name = args.queries.display().to_string();
    let engine = open_engine(args.options.as_deref())?;
    engine
        .execute(&sql)
        .map_err(|e| CliError::data(format!("{sql_name}: {}", e.message)))?;
    let info = SqlInfo::of(&sql)?;

    // Inputs: every file is opened before anything runs, so a missing one
    // fails the run before it has printed anything.
    let counters = Arc::new(Counters::default());
    let batch_rows = engine.options().batch_rows;
    let mut streams: Vec<StreamFeed> = Vec::new();
    let mut files: Vec<FileFeed> = Vec::new();
    let mut total_size = Some(0u64);
    for spec in &args.inputs {
        let (name, path) = spec
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| CliError::usage(format!("--input {spec}: expected STREAM=PATH")))?;
        let name = canonical(&engine, name.trim(), "--input")?;
        let schema = engine.stream_schema(&name).expect("the stream exists");
        let loc = Location::parse(path);
        let format = read::choose_format(&loc, args.input_format)?;
        total_size = total_size.zip(loc.size()).map(|(a, b)| a + b);
        let source = read::open(
            &loc,
            format,
            &name,
            schema.clone(),
            batch_rows,
            counters.bytes.clone(),
        )?;
        let stream = match streams.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                // One input handle per stream: its queue keeps the merged order.
                streams.push(StreamFeed::new(name.clone(), engine.open_input(&name)?));
                streams.len() - 1
            }
        };
        let time_col = info
            .event_time_of(&name)
            .map(|c| crate::values::column_index(&schema, c).expect("the engine checked the column"));
        files.push(FileFeed {
            label: format!("{name} <- {}", loc.display()),
            stream,
            time_col,
            source,
            rows: 0,
        });
    }

    // Outputs.
    let wanted: Vec<(String, Option<PathBuf>)> = if args.outputs.is_empty() {
        let mut v = Vec::new();
        for o in &info.query_outputs {
            let name = canonical(&engine, o, "output")?;
            if !streams.iter().any(|s| s.name == name) {
                v.push((name, None));
            }
        }
        v
    } else {
        let mut v = Vec::new();
        for spec in &args.outputs {
            let (name, path) = match spec.split_once('=') {
                Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
                Some(_) => {
                    return Err(CliError::usage(format!(
                        "--output {spec}: expected STREAM or STREAM=PATH"
                    )))
                }
                None => (spec.as_str(), None),
            };
            v.push((
                canonical(&engine, name.trim(), "--output")?,
                path.filter(|p| p.as_os_str() != "-"),
            ));
        }
        v
    };
    if wanted.is_empty() {
        eprintln!("eddy: nothing to print: no query outputs (name one with --output)");
    }
    let stdout_tty = io::stdout().is_terminal();
    let stdout_format = args.format.unwrap_or(if stdout_tty {
        OutputFormat::Table
    } else {
        OutputFormat::Csv
    });
    let to_stdout = wanted.iter().filter(|(_, p)| p.is_none()).count();
    if stdout_format == OutputFormat::Arrow && to_stdout > 1 {
        return Err(CliError::usage(
            "Arrow IPC carries one schema: print one output, or write others with --output STREAM=PATH",
        ));
    }
    if stdout_format == OutputFormat::Arrow && to_stdout == 1 && stdout_tty {
        return Err(CliError::usage(
            "refusing to write Arrow IPC to a terminal: redirect stdout or use --output STREAM=PATH",
        ));
    }

    let mut outputs: Vec<Output> = Vec::new();
    for (stream, path) in wanted {
        let sub = engine.subscribe(&stream)?;
        let schema = sub.schema();
        let (dest, out, format, ipc_file): (Dest, Box<dyn Write + Send>, OutputFormat, bool) = match path {
            Some(p) => {
                let format = write::format_of_extension(&p).or(args.format).ok_or_else(|| {
                    CliError::usage(format!(
                        "--output {stream}={}: cannot tell the format from the name: add --format",
                        p.display()
                    ))
                })?;
                let f = File::create(&p)
                    .map_err(|e| CliError::data(format!("cannot create {}: {e}", p.display())))?;
                let ipc_file = !p.extension().is_some_and(|e| e.eq_ignore_ascii_case("arrows"));
                (Dest::File(p), Box::new(BufWriter::new(f)), format, ipc_file)
            }
            None if to_stdout > 1 => {
                let b = Buffer::default();
                (Dest::Section(b.clone()), Box::new(b), stdout_format, false)
            }
            None => (
                Dest::Stdout,
                Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
                stdout_format,
                false,
            ),
        };
        let sink = write::sink(format, schema, out, ipc_file)
            .map_err(|e| CliError::data(format!("cannot write {stream}: {e}")))?;
        let rows = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (r, c) = (rows.clone(), counters.clone());
        let thread = std::thread::Builder::new()
            .name(format!("eddy-out-{stream}"))
            .spawn(move || consume(sub, sink, r, c))
            .map_err(|e| CliError::data(format!("cannot start an output thread: {e}")))?;
        outputs.push(Output {
            stream,
            dest,
            rows,
            thread: Some(thread),
        });
    }

    let show_progress = args.progress || (!args.no_progress && io::stderr().is_terminal());
    let progress = show_progress.then(|| Progress::start(counters.clone(), total_size));
    let fed = feed_all(&mut streams, &mut files, batch_rows, &counters);
    if let Some(p) = progress {
        p.finish();
    }
    // Closing the inputs ends their streams; closing the engine drains
    // everything, lets queries emit what they hold and ends subscriptions.
    let mut closed = Ok(());
    for s in &mut streams {
        if let Err(e) = s.input.close() {
            closed = closed.and(Err(CliError::data(format!(
                "cannot close input {}: {}",
                s.name, e.message
            ))));
        }
    }
    let engine_closed = engine.close();
    let mut write_error = None;
    for o in &mut outputs {
        let r = o.thread.take().expect("joined once").join();
        let r = r.unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")));
        if let (Err(e), None) = (r, &write_error) {
            write_error = Some(CliError::data(format!(
                "cannot write {} to {}: {e}",
                o.stream,
                o.describe()
            )));
        }
    }
    fed?;
    closed?;
    engine_closed?;
    if let Some(e) = write_error {
        return Err(e);
    }

    let sections: Vec<&Output> = outputs
        .iter()
        .filter(|o| matches!(o.dest, Dest::Section(_)))
        .collect();
    if !sections.is_empty() {
        let mut out = io::stdout().lock();
        let r = (|| {
            for (i, o) in sections.iter().enumerate() {
                let Dest::Section(buf) = &o.dest else {
                    unreachable!()
                };
                if i > 0 {
                    writeln!(out)?;
                }
                writeln!(out, "== {} ==", o.stream)?;
                out.write_all(&buf.0.lock().unwrap_or_else(|p| p.into_inner()))?;
            }
            out.flush()
        })();
        match r {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                return Err(CliError::data(format!("cannot write to stdout: {e}")))
            }
            _ => {}
        }
    }

    let stats = crate::stats::Stats::of(&engine);
    if args.stats {
        let mut s = String::new();
        for f in &files {
            s.push_str(&format!("input   {}: {} rows\n", f.label, f.rows));
        }
        for o in &outputs {
            s.push_str(&format!(
                "output  {} -> {}: {} rows\n",
                o.stream,
                o.describe(),
                o.rows.load(Ordering::Relaxed)
            ));
        }
        s.push_str(&stats.render());
        let secs = started.elapsed().as_secs_f64();
        let rows = counters.rows.load(Ordering::Relaxed);
        s.push_str(&format!(
            "{rows} rows in {secs:.3} s ({:.0} rows/s)\n",
            rows as f64 / secs.max(1e-9)
        ));
        eprint!("{s}");
    }
    // Queries skip a batch they fail on and keep running; the run still
    // reports it, as its output is incomplete.
    let failed = stats.query_failures();
    for f in &failed {
        eprintln!("eddy: {f}");
    }
    Ok(if failed.is_empty() { 0 } else { crate::DATA_ERROR })
}
