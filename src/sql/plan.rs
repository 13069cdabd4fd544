//! What the SQL layer hands to the runtime: validated, typed statements.

use arrow::datatypes::SchemaRef;

use crate::expr::Expr;

/// One analyzed statement. A multi-statement call yields several, in order;
/// the runtime applies all of them or none.
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
    /// Canonical name of the input stream (as declared in the catalog).
    pub input: String,
    /// Canonical name of the output stream (as declared, or as written when
    /// the query creates it).
    pub output: String,
    /// Schema of the rows the query emits (column names from aliases or the
    /// expression text, types from the expressions).
    pub output_schema: SchemaRef,
    /// True when the output stream did not exist and this statement creates it
    /// with `output_schema`.
    pub create_output: bool,
    /// WHERE, evaluated over input rows; rows where it is not TRUE are dropped.
    pub filter: Option<Expr>,
    /// SELECT list, evaluated over the rows that passed the filter, one
    /// expression per output column, already cast to the output column type.
    pub projection: Vec<Expr>,
}
