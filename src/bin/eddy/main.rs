//! `eddy`: run streaming SQL over files, check it, or try it in a shell.
//! See docs/cli.md. Everything here uses the library's public API only.

mod check;
mod explain;
mod feed;
mod progress;
mod read;
mod run;
mod shell;
mod stats;
mod values;
mod write;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use eddy::sql::ast::StatementKind;
use eddy::sql::plan::OptionValue;
use eddy::Engine;

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "Streaming SQL over files: run, check, or explore in a shell"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Feed input files through the queries in event time and print the outputs
    Run(RunArgs),
    /// Validate SQL and print each statement's plan
    Check(CheckArgs),
    /// Interactive prompt: SQL statements ending in ';' and .commands (.help)
    Shell(ShellArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// SQL file: CREATE STREAM and INSERT INTO ... SELECT statements ('-' reads stdin)
    pub queries: PathBuf,
    /// Feed a file into a stream (repeatable). '-' reads stdin
    #[arg(short, long = "input", value_name = "STREAM=PATH")]
    pub inputs: Vec<String>,
    /// Format of inputs whose extension does not tell it (stdin, other extensions)
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,
    /// Stream to print (repeatable); STREAM=PATH writes it to a file instead.
    /// Default: every query output not fed by --input
    #[arg(short, long = "output", value_name = "STREAM[=PATH]")]
    pub outputs: Vec<String>,
    /// Output format [default: table when stdout is a terminal, else csv]
    #[arg(short, long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Print a summary of rows and engine counters to stderr at the end
    #[arg(long)]
    pub stats: bool,
    /// Show the progress bar even when stderr is not a terminal
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,
    /// Never show the progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Engine options, 'key=value;...' (docs/c-api.md)
    #[arg(long, value_name = "OPTIONS")]
    pub options: Option<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// SQL file to validate ('-' reads stdin)
    pub queries: PathBuf,
}

#[derive(Args)]
pub struct ShellArgs {
    /// SQL file to run before the prompt appears
    #[arg(long, value_name = "FILE")]
    pub init: Option<PathBuf>,
    /// Result format [default: table]
    #[arg(short, long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Engine options, 'key=value;...' (docs/c-api.md)
    #[arg(long, value_name = "OPTIONS")]
    pub options: Option<String>,
    /// Do not read or write the history file
    #[arg(long)]
    pub no_history: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Csv,
    #[value(alias = "json", alias = "ndjson")]
    Jsonl,
    #[value(alias = "ipc")]
    Arrow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    #[value(alias = "json", alias = "ndjson")]
    Jsonl,
    #[value(alias = "ipc")]
    Arrow,
}

/// A failure to report: its message and the exit status it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

pub const DATA_ERROR: u8 = 1;
pub const USAGE_ERROR: u8 = 2;

impl CliError {
    /// Bad SQL, bad data, I/O: exit status 1.
    pub fn data(message: impl Into<String>) -> CliError {
        CliError {
            code: DATA_ERROR,
            message: message.into(),
        }
    }

    /// Arguments that cannot work together: exit status 2.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: USAGE_ERROR,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<eddy::Error> for CliError {
    fn from(e: eddy::Error) -> CliError {
        CliError::data(e.message)
    }
}

pub type CliResult<T> = Result<T, CliError>;

/// Reads a SQL file, or stdin for '-'.
pub fn read_sql(path: &std::path::Path) -> CliResult<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::data(format!("cannot read SQL from stdin: {e}")))?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::data(format!("cannot read {}: {e}", path.display())))
    }
}

/// Engine options for batch use: a blocked push waits as long as it takes
/// (the CLI's own consumers keep draining), unless the user says otherwise.
pub fn open_engine(user_options: Option<&str>) -> CliResult<Engine> {
    let options = format!(
        "push_timeout_ms={};{}",
        30u64 * 24 * 3600 * 1000,
        user_options.unwrap_or("")
    );
    Engine::open(&options).map_err(|e| CliError::usage(format!("bad --options: {}", e.message)))
}

/// What the CLI reads from the SQL text itself.
#[derive(Default)]
pub struct SqlInfo {
    /// (stream, column) of each `WITH (event_time = 'column')`; the first
    /// declaration of a stream wins, as IF NOT EXISTS keeps it.
    pub event_time: Vec<(String, String)>,
    /// Targets of INSERT INTO, first appearance first.
    pub query_outputs: Vec<String>,
}

impl SqlInfo {
    pub fn of(sql: &str) -> CliResult<SqlInfo> {
        let mut info = SqlInfo::default();
        let mut declared: Vec<String> = Vec::new();
        for st in eddy::sql::parser::parse(sql)? {
            match st.kind {
                StatementKind::CreateStream(c) => {
                    if declared.iter().any(|d| c.name.matches(d)) {
                        continue;
                    }
                    declared.push(c.name.value.clone());
                    for o in &c.options {
                        if let (true, OptionValue::String(col) | OptionValue::Ident(col)) =
                            (o.key.matches("event_time"), &o.value)
                        {
                            info.event_time.push((c.name.value.clone(), col.clone()));
                        }
                    }
                }
                StatementKind::Insert(i) => {
                    if !info.query_outputs.iter().any(|o| i.target.matches(o)) {
                        info.query_outputs.push(i.target.value.clone());
                    }
                }
            }
        }
        Ok(info)
    }

    pub fn event_time_of(&self, stream: &str) -> Option<&str> {
        self.event_time
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(stream))
            .map(|(_, c)| c.as_str())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::check(args),
        Command::Shell(args) => shell::shell(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("eddy: {e}");
            ExitCode::from(e.code)
        }
    }
}
