//! The statement AST produced by `parser.rs` and consumed by `analyze.rs`.
//!
//! Statement structure (CREATE STREAM, INSERT ... SELECT, the clauses of a
//! SELECT) is ours; scalar expressions are sqlparser's `Expr`, which carries
//! spans for error positions. Every clause a later milestone adds (WINDOW,
//! GROUP BY, HAVING, ORDER BY, LIMIT/OFFSET, OUTPUT EVERY, event kinds, joins,
//! patterns) is meant to become one more optional field or enum variant here.

use std::fmt;

use crate::sql::plan::OptionValue;
use crate::types::SqlType;

/// A scalar expression as parsed by sqlparser.
pub use sqlparser::ast::Expr as SqlExpr;

/// A 1-based source position. Displays as `line L:C`, the prefix every SQL
/// error message starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub fn new(line: u64, column: u64) -> Pos {
        Pos { line, column }
    }

    /// True when the position is unknown (sqlparser's empty span).
    pub fn is_unknown(&self) -> bool {
        self.line == 0
    }
}

impl From<sqlparser::tokenizer::Location> for Pos {
    fn from(l: sqlparser::tokenizer::Location) -> Pos {
        Pos {
            line: l.line,
            column: l.column,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.column)
    }
}

/// An identifier as written (quotes removed) and where it starts. Names are
/// matched case-insensitively by the analyzer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub value: String,
    pub pos: Pos,
}

impl Name {
    pub fn new(value: impl Into<String>, pos: Pos) -> Name {
        Name {
            value: value.into(),
            pos,
        }
    }

    /// Case-insensitive comparison with another name.
    pub fn matches(&self, other: &str) -> bool {
        self.value.eq_ignore_ascii_case(other)
    }
}

/// One statement of a (possibly multi-statement) SQL string.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    /// The statement's source text, trimmed, without the terminating `;`.
    pub sql: String,
    /// Where the statement's first token starts.
    pub pos: Pos,
}

// A handful per call; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    CreateStream(CreateStream),
    Insert(Insert),
}

/// `CREATE STREAM [IF NOT EXISTS] name (col TYPE, ...) [WITH (key = value, ...)]`
#[derive(Clone, Debug, PartialEq)]
pub struct CreateStream {
    pub name: Name,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub options: Vec<OptionDef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDef {
    pub name: Name,
    pub data_type: SqlType,
    /// Where the type name starts.
    pub type_pos: Pos,
}

/// `key = value` of a WITH clause. The key is kept as written (the analyzer
/// lower-cases it).
#[derive(Clone, Debug, PartialEq)]
pub struct OptionDef {
    pub key: Name,
    pub value: OptionValue,
    pub value_pos: Pos,
}

/// `INSERT [CURRENT|EXPIRED|ALL EVENTS] INTO target <select>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Insert {
    pub target: Name,
    pub events: OutputEvents,
    pub query: Select,
}

/// Which window events a query emits (the Siddhi model): arrivals, departures
/// or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputEvents {
    #[default]
    Current,
    Expired,
    All,
}

/// `SELECT items FROM source [WHERE cond] [GROUP BY ...] [HAVING cond]
/// [ORDER BY ...] [LIMIT n] [OFFSET n] [OUTPUT ... EVERY ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    /// Where the SELECT keyword starts.
    pub pos: Pos,
    pub items: Vec<SelectItem>,
    pub from: Source,
    /// The WHERE condition.
    pub selection: Option<ExprAt>,
    pub group_by: Vec<ExprAt>,
    pub having: Option<ExprAt>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<CountAt>,
    pub offset: Option<CountAt>,
    pub output: Option<OutputRate>,
}

/// `expr [ASC|DESC] [NULLS FIRST|LAST]`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    pub expr: ExprAt,
    pub descending: bool,
    /// None: NULLs sort as the largest value (last ascending, first
    /// descending).
    pub nulls_first: Option<bool>,
}

/// A non-negative count (LIMIT, OFFSET) and where it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountAt {
    pub value: u64,
    pub pos: Pos,
}

/// `OUTPUT [ALL|FIRST|LAST|SNAPSHOT] EVERY (n EVENTS | INTERVAL ...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputRate {
    pub mode: OutputMode,
    pub every: Every,
    pub pos: Pos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputMode {
    All,
    First,
    Last,
    Snapshot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    Events(u64),
    /// Milliseconds.
    Interval(i64),
}

/// What a query reads: one stream, a join of two, or a pattern over events
/// of one or more streams.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Stream(StreamRef),
    Join(Box<JoinSource>),
    Pattern(PatternSource),
}

/// `left [INNER] JOIN right ON condition`; each side may have a window.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinSource {
    pub left: StreamRef,
    pub right: StreamRef,
    pub kind: JoinKind,
    pub on: ExprAt,
    /// Where the join keyword (`JOIN`, `INNER`, `LEFT`, ...) starts.
    pub pos: Pos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

/// `PATTERN ([EVERY] a=S[cond] -> b=T[cond] -> ...) [WITHIN INTERVAL ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternSource {
    /// Where PATTERN starts.
    pub pos: Pos,
    pub elements: Vec<PatternElement>,
    /// WITHIN, in milliseconds, and where it was written.
    pub within: Option<(i64, Pos)>,
}

/// One step of a pattern: `[EVERY] alias=Stream[condition]`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternElement {
    /// Where EVERY was written, when it was.
    pub every: Option<Pos>,
    pub alias: Name,
    pub stream: Name,
    pub condition: Option<ExprAt>,
}

/// `name [[AS] alias] [WINDOW('kind', args...) [[AS] alias]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRef {
    pub name: Name,
    pub alias: Option<Name>,
    pub window: Option<WindowSpec>,
}

/// `WINDOW('kind', arg, ...)`: the kind as written (in quotes) and the
/// arguments as expressions; the analyzer checks them per kind.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSpec {
    pub kind: Name,
    pub args: Vec<ExprAt>,
    /// Where WINDOW starts.
    pub pos: Pos,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard { pos: Pos },
    /// `qualifier.*`
    QualifiedWildcard { qualifier: Name },
    /// `expr [[AS] alias]`
    Expr { expr: ExprAt, alias: Option<Name> },
}

/// A parsed expression with its source text and start position (the
/// fallback position for errors inside it that carry no span).
#[derive(Clone, Debug, PartialEq)]
pub struct ExprAt {
    pub expr: SqlExpr,
    /// The expression's source text, trimmed.
    pub text: String,
    pub pos: Pos,
}
