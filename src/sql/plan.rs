//! What the SQL layer hands to the runtime: validated, typed statements.

use arrow::datatypes::SchemaRef;

use crate::expr::Expr;
use crate::ops::aggregate::AggFunc;
pub use crate::sql::ast::{Every, OutputEvents, OutputMode};

/// One analyzed statement. A multi-statement call yields several, in order;
/// the runtime applies all of them or none.
// A handful per call; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Plan {
    CreateStream(CreateStream),
    Insert(QueryPlan),
}

/// One `key = value` of a WITH clause, with where it was written so the
/// runtime can report an unknown key or bad value at its position.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamOption {
    pub key: String,
    pub value: OptionValue,
    /// 1-based line and column of the key.
    pub line: u64,
    pub column: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// 'text'
    String(String),
    /// An integer literal.
    Integer(i64),
    /// A decimal literal.
    Number(f64),
    /// INTERVAL 'n' UNIT, in milliseconds.
    Interval(i64),
    Bool(bool),
    /// A bare word such as `drop_oldest`.
    Ident(String),
}

#[derive(Clone, Debug)]
pub struct CreateStream {
    /// The name as declared (lookups are case-insensitive).
    pub name: String,
    pub schema: SchemaRef,
    /// `WITH (key = value, ...)`: keys lower-cased, in the order written.
    pub options: Vec<StreamOption>,
    pub if_not_exists: bool,
}

/// `INSERT INTO out SELECT ... FROM input [WHERE ...]`.
#[derive(Clone, Debug)]
pub struct QueryPlan {
    /// Source text of the statement (for stats and EXPLAIN).
    pub sql: String,
    /// Canonical name of the input stream (as declared in the catalog); for
    /// a join or pattern, the first of `inputs`.
    pub input: String,
    /// Every stream the query reads, once each, in the order their rows reach
    /// the query's operator ("ports").
    pub inputs: Vec<String>,
    /// Schema of the rows the rest of the query sees: the input stream's, or
    /// for a join or pattern every side's columns one after the other.
    pub input_schema: SchemaRef,
    /// How rows of `inputs` become rows of `input_schema`.
    pub source: SourcePlan,
    /// Canonical name of the output stream (as declared, or as written when
    /// the query creates it).
    pub output: String,
    /// Schema of the rows the query emits (column names from aliases or the
    /// expression text, types from the expressions).
    pub output_schema: SchemaRef,
    /// True when the output stream did not exist and this statement creates it
    /// with `output_schema`.
    pub create_output: bool,
    /// WHERE, evaluated over input rows before any window; rows where it is
    /// not TRUE are dropped.
    pub filter: Option<Expr>,
    pub window: Option<WindowPlan>,
    /// GROUP BY and aggregate calls; None when the query does not aggregate.
    pub aggregate: Option<AggregatePlan>,
    /// HAVING, over the selection row layout (see `projection`).
    pub having: Option<Expr>,
    /// SELECT list, one expression per output column, already cast to the
    /// output column type. Evaluated over the selection row layout: the
    /// input's columns, then `window_start`, `window_end` (TIMESTAMP) and
    /// `_expired` (BOOL), then one column per aggregate call. Without a
    /// window or aggregates that is just the input's columns (plus the three
    /// extra columns, which are then not referenced).
    pub projection: Vec<Expr>,
    /// ORDER BY, applied to each emitted chunk.
    pub order_by: Vec<SortKey>,
    pub limit: Option<u64>,
    pub offset: u64,
    /// Which window events reach the output; `All` appends `_expired BOOL`.
    pub events: OutputEvents,
    pub output_rate: Option<OutputRate>,
}

impl QueryPlan {
    /// True when the query is a plain filter/projection (no window, no
    /// aggregates, no per-chunk clauses): it runs as a stateless operator.
    pub fn is_stateless(&self) -> bool {
        self.window.is_none()
            && self.aggregate.is_none()
            && self.having.is_none()
            && self.order_by.is_empty()
            && self.limit.is_none()
            && self.offset == 0
            && self.output_rate.is_none()
            && self.events == OutputEvents::Current
    }
}

/// What turns the rows of a query's input streams into the rows its WHERE,
/// GROUP BY and SELECT see.
// One per query; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum SourcePlan {
    /// One stream's rows, as they are.
    Stream,
    Join(JoinPlan),
    Pattern(PatternPlan),
}

/// One stream read by a join or a pattern.
#[derive(Clone, Debug)]
pub struct SidePlan {
    /// Canonical stream name.
    pub stream: String,
    /// Index of the stream in `QueryPlan::inputs`.
    pub port: usize,
    pub schema: SchemaRef,
    /// Where the side's columns start in the combined row.
    pub offset: usize,
    /// 1-based line and column of the stream's name in the statement.
    pub line: u64,
    pub column: u64,
}

/// `A [WINDOW] JOIN B [WINDOW] ON cond` (inner join).
#[derive(Clone, Debug)]
pub struct JoinPlan {
    pub sides: [JoinSidePlan; 2],
    /// The whole ON condition over the combined row (left columns, then
    /// right): checked for every candidate pair.
    pub on: Expr,
    /// `left_expr = right_expr` conjuncts of ON, each over the combined row
    /// but reading only its own side: candidates are found by these keys.
    pub keys: Vec<(Expr, Expr)>,
    /// Per side: an arriving row that joins nothing comes out alone, the
    /// other side's columns NULL (LEFT: [true, false], RIGHT, FULL).
    pub outer: [bool; 2],
}

#[derive(Clone, Debug)]
pub struct JoinSidePlan {
    pub side: SidePlan,
    pub window: JoinWindow,
    /// Conjuncts of ON that read only this side: rows failing them never
    /// join, so they are neither kept nor probed.
    pub filter: Option<Expr>,
}

/// How long a join side keeps its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinWindow {
    /// Not at all: the side's rows only probe the other side.
    None,
    /// Its last n rows.
    Length(u64),
    /// Rows whose time is within this many milliseconds (see semantics.md).
    Time(i64),
    /// The latest row per value of this column (of the side's stream).
    Unique(usize),
}

impl JoinWindow {
    /// A time window's size (milliseconds).
    pub fn time(self) -> Option<i64> {
        match self {
            JoinWindow::Time(size) => Some(size),
            _ => None,
        }
    }
}

/// `PATTERN (EVERY e1=S[c1] -> e2=T[c2] -> ...) WITHIN d`.
#[derive(Clone, Debug)]
pub struct PatternPlan {
    /// Every event matching the first element starts a match (else only one
    /// match is ever made).
    pub every: bool,
    /// Milliseconds from the first event to the last, inclusive.
    pub within: Option<i64>,
    pub elements: Vec<PatternElementPlan>,
}

#[derive(Clone, Debug)]
pub struct PatternElementPlan {
    pub side: SidePlan,
    /// Conjuncts of the condition that read only this element's columns.
    pub own: Option<Expr>,
    /// `own_expr = earlier_expr` conjuncts: the first reads only this
    /// element, the second only earlier ones.
    pub keys: Vec<(Expr, Expr)>,
    /// The rest of the condition plus the key equalities (hashing finds
    /// candidates; this decides), over the combined row.
    pub residual: Option<Expr>,
}

/// Index of `window_start` in the selection row layout, given the input's
/// column count; `window_end` and `_expired` follow it.
pub fn window_start_index(input_columns: usize) -> usize {
    input_columns
}

/// Index of the first aggregate result in the selection row layout.
pub fn first_aggregate_index(input_columns: usize) -> usize {
    input_columns + 3
}

#[derive(Clone, Debug, PartialEq)]
pub enum WindowPlan {
    /// The last n events.
    Length(u64),
    /// Tumbling every n events.
    LengthBatch(u64),
    /// The last `ms` of stream time (event time or processing time).
    Time(i64),
    /// Tumbling batches of `size` anchored at the first event (or `start`).
    TimeBatch { size: i64, start: Option<i64> },
    /// Epoch-aligned tumbling windows.
    Tumbling(i64),
    /// Epoch-aligned windows of `size` starting every `slide`.
    Hopping { size: i64, slide: i64 },
    /// Sessions closing after `gap` without events, per key column.
    Session { gap: i64, key: Option<usize> },
    /// As Time, in the time of column `column` (BIGINT ms or TIMESTAMP).
    ExternalTime { column: usize, size: i64 },
    /// As TimeBatch, in the time of column `column`.
    ExternalTimeBatch {
        column: usize,
        size: i64,
        start: Option<i64>,
    },
    /// Each event released `ms` after its time.
    Delay(i64),
    /// The first n events in the order of `column`.
    Sort { n: u64, column: usize, descending: bool },
    /// The latest event per value of `column`.
    Unique(usize),
    /// The first event per value of `column`; later ones are discarded.
    FirstUnique(usize),
}

impl WindowPlan {
    /// Windows that emit whole batches (one row per group with aggregates)
    /// rather than one output per arriving event.
    pub fn is_batch(&self) -> bool {
        matches!(
            self,
            WindowPlan::LengthBatch(_)
                | WindowPlan::TimeBatch { .. }
                | WindowPlan::Tumbling(_)
                | WindowPlan::Hopping { .. }
                | WindowPlan::Session { .. }
                | WindowPlan::ExternalTimeBatch { .. }
        )
    }

    /// Windows whose chunks have a start and an end (`window_start`,
    /// `window_end`).
    pub fn has_bounds(&self) -> bool {
        self.is_batch() && !matches!(self, WindowPlan::LengthBatch(_))
    }

    /// Events leave in the order they arrived (aggregates may use FIFO
    /// structures).
    pub fn expires_fifo(&self) -> bool {
        !matches!(self, WindowPlan::Sort { .. } | WindowPlan::Unique(_))
    }
}

#[derive(Clone, Debug)]
pub struct AggregatePlan {
    /// GROUP BY expressions over the input row layout (input columns, then
    /// window_start, window_end).
    pub group_by: Vec<Expr>,
    pub calls: Vec<AggCall>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// The argument over the input row layout; None for COUNT(*).
    pub arg: Option<Expr>,
    pub result_type: arrow::datatypes::DataType,
}

#[derive(Clone, Debug)]
pub struct SortKey {
    pub key: SortExpr,
    pub descending: bool,
    pub nulls_first: bool,
}

#[derive(Clone, Debug)]
pub enum SortExpr {
    /// An output column (by alias or ordinal).
    Output(usize),
    /// An expression over the selection row layout.
    Expr(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputRate {
    pub mode: OutputMode,
    pub every: Every,
}
