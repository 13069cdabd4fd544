//! `eddy shell`: SQL statements (ending in `;`, over as many lines as they
//! take) and `.commands`. With a terminal it has line editing and history;
//! without one it reads stdin as a script, so it can be driven and tested.
//! Results of subscribed streams print after every command.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use arrow::array::RecordBatch;
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use eddy::{Engine, Input, Status, Subscription};

use crate::explain::{columns, explain_all, EngineCatalog};
use crate::read::{self, Location};
use crate::stats::Stats;
use crate::values::{column_names, BatchBuilder};
use crate::write;
use crate::{open_engine, read_sql, CliError, CliResult, InputFormat, OutputFormat, ShellArgs};

const HELP: &str = "\
SQL statements end with ';' and may span lines. EXPLAIN <statement>; shows a plan without applying it.
.streams                 list streams and their columns
.schema STREAM           columns of one stream
.subscribe STREAM        print what STREAM emits after each command
.unsubscribe STREAM      stop printing it
.insert STREAM v1, ...   push one row ('text', numbers, true/false, NULL)
.load STREAM FILE [FMT]  push a CSV, JSON Lines or Arrow IPC file (FMT: csv, jsonl, arrow)
.flush                   wait until everything pushed is processed, print results
.format table|csv|jsonl  how results print
.stats                   engine counters
.help                    this text
.quit                    close the engine (queries emit what they hold), print, leave
";

/// Where lines come from: the line editor, or a script on stdin.
enum Lines {
    Editor {
        editor: Box<DefaultEditor>,
        history: Option<PathBuf>,
    },
    Script {
        stdin: io::StdinLock<'static>,
        line: u64,
    },
}

enum Line {
    Text(String),
    /// Ctrl-C: drop the statement being typed.
    Interrupted,
    Eof,
}

/// $XDG_STATE_HOME/eddy/history, else ~/.eddy_history.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty());
    if let Some(dir) = state {
        let dir = PathBuf::from(dir).join("eddy");
        std::fs::create_dir_all(&dir).ok()?;
        return Some(dir.join("history"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".eddy_history"))
}

impl Lines {
    fn read(&mut self, prompt: &str) -> CliResult<Line> {
        match self {
            Lines::Editor { editor, .. } => match editor.readline(prompt) {
                Ok(l) => Ok(Line::Text(l)),
                Err(ReadlineError::Interrupted) => Ok(Line::Interrupted),
                Err(ReadlineError::Eof) => Ok(Line::Eof),
                Err(e) => Err(CliError::data(format!("cannot read the terminal: {e}"))),
            },
            Lines::Script { stdin, line } => {
                let mut s = String::new();
                match stdin.read_line(&mut s) {
                    Ok(0) => Ok(Line::Eof),
                    Ok(_) => {
                        *line += 1;
                        Ok(Line::Text(s.trim_end_matches(['\n', '\r']).to_string()))
                    }
                    Err(e) => Err(CliError::data(format!("cannot read stdin: {e}"))),
                }
            }
        }
    }

    fn remember(&mut self, entry: &str) {
        if let Lines::Editor { editor, .. } = self {
            let _ = editor.add_history_entry(entry);
        }
    }

    fn line_number(&self) -> Option<u64> {
        match self {
            Lines::Script { line, .. } => Some(*line),
            Lines::Editor { .. } => None,
        }
    }

    fn save(&mut self) {
        if let Lines::Editor {
            editor,
            history: Some(p),
        } = self
        {
            let _ = editor.save_history(p);
        }
    }
}

/// True when `text` ends with a `;` that is not inside a string, a quoted
/// name or a comment (so the statement is complete).
pub fn is_complete(text: &str) -> bool {
    #[derive(PartialEq)]
    enum S {
        Code,
        Str,
        Ident,
        Line,
        Block,
    }
    let mut state = S::Code;
    let mut last = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match state {
            S::Code => match c {
                '\'' => state = S::Str,
                '"' => state = S::Ident,
                '-' if chars.peek() == Some(&'-') => {
                    chars.next();
                    state = S::Line;
                    continue;
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    state = S::Block;
                    continue;
                }
                c if c.is_whitespace() => continue,
                _ => {}
            },
            // A doubled quote re-enters the string at once, which is the
            // same as staying in it.
            S::Str if c == '\'' => state = S::Code,
            S::Ident if c == '"' => state = S::Code,
            S::Line if c == '\n' => state = S::Code,
            S::Block if c == '*' && chars.peek() == Some(&'/') => {
                chars.next();
                state = S::Code;
                continue;
            }
            _ => continue,
        }
        last = Some(c);
    }
    matches!(state, S::Code | S::Line) && last == Some(';')
}

/// `.insert` values: 'quoted text' ('' for a quote), NULL, or bare words
/// and numbers, separated by commas. None is NULL.
pub fn parse_values(text: &str) -> Result<Vec<Option<String>>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => s.push(c),
                    None => return Err(format!("value {} has no closing quote", out.len() + 1)),
                }
            }
            out.push(Some(s));
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                None => break,
                Some(',') => continue,
                Some(c) => return Err(format!("expected ',' after value {}, found '{c}'", out.len())),
            }
        } else {
            let mut s = String::new();
            let mut ended = true;
            for c in chars.by_ref() {
                if c == ',' {
                    ended = false;
                    break;
                }
                s.push(c);
            }
            let s = s.trim();
            if s.is_empty() {
                return Err(format!(
                    "value {} is empty (write '' for an empty string, or NULL)",
                    out.len() + 1
                ));
            }
            out.push((!s.eq_ignore_ascii_case("null")).then(|| s.to_string()));
            if ended {
                break;
            }
        }
    }
    Ok(out)
}

struct Shell {
    engine: Engine,
    format: OutputFormat,
    inputs: Vec<(String, Input)>,
    subs: Vec<Subscription>,
}

impl Shell {
    fn stream_name(&self, name: &str) -> CliResult<String> {
        self.engine
            .streams()
            .into_iter()
            .map(|(n, _)| n)
            .find(|n| n.eq_ignore_ascii_case(name))
            .ok_or_else(|| CliError::data(format!("no stream '{name}' (.streams lists them)")))
    }

    fn input(&mut self, stream: &str) -> CliResult<&mut Input> {
        let i = match self.inputs.iter().position(|(n, _)| n == stream) {
            Some(i) => i,
            None => {
                let input = self.engine.open_input(stream)?;
                self.inputs.push((stream.to_string(), input));
                self.inputs.len() - 1
            }
        };
        Ok(&mut self.inputs[i].1)
    }

    /// Prints results queued so far; `ended` waits for every subscription
    /// to end (after close) instead of taking only what is there.
    fn print_results(&mut self, ended: bool) -> CliResult<()> {
        if self.subs.is_empty() {
            return Ok(());
        }
        if !ended {
            self.engine.flush(-1)?;
        }
        for sub in &self.subs {
            let mut batches: Vec<RecordBatch> = Vec::new();
            loop {
                let wait = if ended { None } else { Some(Duration::ZERO) };
                match sub.next(wait) {
                    Ok(b) => batches.push(b),
                    Err(e) if matches!(e.status, Status::Timeout | Status::EndOfStream) => break,
                    Err(e) => return Err(e.into()),
                }
            }
            if batches.iter().all(|b| b.num_rows() == 0) {
                continue;
            }
            let mut out = io::stdout().lock();
            let _ = writeln!(out, "== {} ==", sub.stream());
            drop(out);
            let mut sink = write::sink(self.format, sub.schema(), Box::new(io::stdout()), false)
                .map_err(|e| CliError::data(format!("cannot print: {e}")))?;
            for b in &batches {
                sink.write(b)
                    .map_err(|e| CliError::data(format!("cannot print: {e}")))?;
            }
            sink.finish()
                .map_err(|e| CliError::data(format!("cannot print: {e}")))?;
        }
        Ok(())
    }

    fn sql(&mut self, text: &str) -> CliResult<()> {
        let trimmed = text.trim_start();
        let is_explain = trimmed.len() >= 8
            && trimmed[..7].eq_ignore_ascii_case("explain")
            && trimmed[7..].starts_with(char::is_whitespace);
        if is_explain {
            let plans = eddy::sql::plan_statements(&trimmed[7..], &EngineCatalog(&self.engine))?;
            print!("{}", explain_all(&plans, &self.engine));
            return Ok(());
        }
        self.engine.execute(text)?;
        Ok(())
    }

    /// Runs one `.command`. Returns false for `.quit`.
    fn command(&mut self, line: &str) -> CliResult<bool> {
        let line = line.trim();
        let (cmd, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let one_arg = |what: &str| -> CliResult<&str> {
            if rest.is_empty() || rest.contains(char::is_whitespace) {
                Err(CliError::data(format!("usage: {cmd} {what}")))
            } else {
                Ok(rest)
            }
        };
        match cmd.to_ascii_lowercase().as_str() {
            ".quit" | ".exit" | ".q" => return Ok(false),
            ".help" => print!("{HELP}"),
            ".streams" => {
                for (name, schema) in self.engine.streams() {
                    println!("{name} ({})", columns(&schema));
                }
            }
            ".schema" => {
                let name = self.stream_name(one_arg("STREAM")?)?;
                let schema = self.engine.stream_schema(&name).expect("the stream exists");
                println!("{name}");
                let w = schema
                    .fields()
                    .iter()
                    .map(|f| f.name().chars().count())
                    .max()
                    .unwrap_or(0);
                for f in schema.fields() {
                    let pad = w - f.name().chars().count();
                    println!(
                        "  {}{}  {}",
                        f.name(),
                        " ".repeat(pad),
                        eddy::types::type_name(f.data_type())
                    );
                }
            }
            ".subscribe" => {
                let name = self.stream_name(one_arg("STREAM")?)?;
                if !self.subs.iter().any(|s| s.stream() == name) {
                    self.subs.push(self.engine.subscribe(&name)?);
                }
            }
            ".unsubscribe" => {
                let name = self.stream_name(one_arg("STREAM")?)?;
                self.subs.retain(|s| s.stream() != name);
            }
            ".insert" => {
                let (name, values) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if name.is_empty() {
                    return Err(CliError::data("usage: .insert STREAM value, value, ..."));
                }
                let name = self.stream_name(name)?;
                let schema = self.engine.stream_schema(&name).expect("the stream exists");
                let values = parse_values(values).map_err(CliError::data)?;
                if values.len() != schema.fields().len() {
                    return Err(CliError::data(format!(
                        "{name} has {} columns ({}); got {} values",
                        schema.fields().len(),
                        column_names(&schema),
                        values.len()
                    )));
                }
                let mut b = BatchBuilder::new(schema.clone(), 1).map_err(CliError::data)?;
                for (i, v) in values.iter().enumerate() {
                    match v {
                        None => b.columns[i].append_null(),
                        Some(t) => b.columns[i].append_text(t).map_err(|m| {
                            CliError::data(format!("column '{}': {m}", schema.field(i).name()))
                        })?,
                    }
                }
                let batch = b.finish();
                self.input(&name)?.push_batch(&batch)?;
            }
            ".load" => {
                let mut parts = rest.split_whitespace();
                let (Some(name), Some(path)) = (parts.next(), parts.next()) else {
                    return Err(CliError::data("usage: .load STREAM FILE [csv|jsonl|arrow]"));
                };
                let fallback = match parts.next() {
                    None => None,
                    Some(f) => {
                        Some(<InputFormat as clap::ValueEnum>::from_str(f, true).map_err(|_| {
                            CliError::data(format!("unknown format '{f}': csv, jsonl or arrow"))
                        })?)
                    }
                };
                let name = self.stream_name(name)?;
                let schema = self.engine.stream_schema(&name).expect("the stream exists");
                let loc = Location::File(PathBuf::from(path));
                let format = read::choose_format(&loc, fallback)
                    .map_err(|e| CliError::data(format!("{e} (or .load {name} {path} FORMAT)")))?;
                let batch_rows = self.engine.options().batch_rows;
                let mut source = read::open(&loc, format, &name, schema, batch_rows, Default::default())?;
                let mut rows = 0;
                while let Some(batch) = source.next_batch()? {
                    rows += batch.num_rows();
                    self.input(&name)?.push_batch(&batch)?;
                }
                eprintln!("loaded {rows} rows into {name}");
            }
            ".flush" => self.engine.flush(-1)?,
            ".format" => {
                self.format = match one_arg("table|csv|jsonl")?.to_ascii_lowercase().as_str() {
                    "table" => OutputFormat::Table,
                    "csv" => OutputFormat::Csv,
                    "jsonl" | "json" => OutputFormat::Jsonl,
                    f => {
                        return Err(CliError::data(format!(
                            "unknown format '{f}': table, csv or jsonl"
                        )))
                    }
                }
            }
            ".stats" => print!("{}", Stats::of(&self.engine).render()),
            _ => {
                return Err(CliError::data(format!(
                    "unknown command {cmd} (.help lists them)"
                )))
            }
        }
        Ok(true)
    }

    /// Ends the inputs and the engine, then prints what the queries emitted
    /// on the way out.
    fn finish(&mut self) -> CliResult<()> {
        for (_, input) in &mut self.inputs {
            let _ = input.close();
        }
        self.engine.close()?;
        self.print_results(true)
    }
}

pub fn shell(args: ShellArgs) -> CliResult<u8> {
    let format = args.format.unwrap_or(OutputFormat::Table);
    if format == OutputFormat::Arrow {
        return Err(CliError::usage("the shell prints table, csv or jsonl"));
    }
    // Results wait in their subscription until the next command prints
    // them, so the queue must not make the worker wait for a reader.
    let options = format!(
        "subscriber_capacity={};{}",
        1u64 << 40,
        args.options.as_deref().unwrap_or("")
    );
    let engine = open_engine(Some(&options))?;
    if let Some(init) = &args.init {
        let sql = read_sql(init)?;
        engine
            .execute(&sql)
            .map_err(|e| CliError::data(format!("{}: {}", init.display(), e.message)))?;
    }
    let interactive = io::stdin().is_terminal();
    let mut lines = if interactive {
        let mut editor =
            DefaultEditor::new().map_err(|e| CliError::data(format!("cannot open the terminal: {e}")))?;
        let history = if args.no_history { None } else { history_path() };
        if let Some(p) = &history {
            let _ = editor.load_history(p);
        }
        println!(
            "eddy {} shell: statements end with ';', .help for commands",
            env!("CARGO_PKG_VERSION")
        );
        Lines::Editor {
            editor: Box::new(editor),
            history,
        }
    } else {
        Lines::Script {
            stdin: io::stdin().lock(),
            line: 0,
        }
    };
    let mut shell = Shell {
        engine,
        format,
        inputs: Vec::new(),
        subs: Vec::new(),
    };
    let mut failed = false;
    let mut buffer = String::new();
    let mut started_at = 0;
    loop {
        let prompt = if buffer.is_empty() { "eddy> " } else { "  ..> " };
        let line = match lines.read(prompt)? {
            Line::Text(l) => l,
            Line::Interrupted => {
                buffer.clear();
                continue;
            }
            Line::Eof => break,
        };
        if buffer.is_empty() {
            if line.trim().is_empty() {
                continue;
            }
            started_at = lines.line_number().unwrap_or(0);
        }
        let result = if buffer.is_empty() && line.trim_start().starts_with('.') {
            lines.remember(line.trim());
            match shell.command(&line) {
                Ok(false) => break,
                Ok(true) => Ok(()),
                Err(e) => Err(e),
            }
        } else {
            if !buffer.is_empty() {
                buffer.push('\n');
            }
            buffer.push_str(&line);
            if !is_complete(&buffer) {
                continue;
            }
            lines.remember(&buffer);
            let text = std::mem::take(&mut buffer);
            shell.sql(&text)
        };
        let result = result.and_then(|()| shell.print_results(false));
        if let Err(e) = result {
            failed = true;
            match lines.line_number() {
                Some(_) => eprintln!("error (input line {started_at}): {e}"),
                None => eprintln!("error: {e}"),
            }
        }
    }
    if !buffer.trim().is_empty() {
        failed = true;
        eprintln!("error (input line {started_at}): statement not ended with ';'");
    }
    lines.save();
    if let Err(e) = shell.finish() {
        eprintln!("error: {e}");
        failed = true;
    }
    // A script that hit errors says so; a person at the prompt has seen them.
    Ok(if failed && !interactive {
        crate::DATA_ERROR
    } else {
        0
    })
}
