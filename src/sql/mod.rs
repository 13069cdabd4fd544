//! SQL: parse (sqlparser's tokenizer and expression parser driven by our own
//! grammar for the streaming statements) → analyze (names, types, coercions)
//! → plan (`plan::Plan`, what the runtime executes).

pub mod analyze;
pub mod ast;
pub mod parser;
pub mod plan;
pub mod window;

use arrow::datatypes::SchemaRef;

use crate::error::Result;
pub use plan::{CreateStream, Plan, QueryPlan, SourcePlan};

/// What the analyzer needs to know about existing streams.
pub trait Catalog {
    /// Looks a stream up by name, case-insensitively. Returns its canonical
    /// (declared) name and schema.
    fn stream(&self, name: &str) -> Option<(String, SchemaRef)>;
}

/// Parses and analyzes every statement of `sql` (separated by `;`) against
/// `catalog`. Statements see the streams that earlier statements of the same
/// call create. Nothing is applied here; an error in any statement fails the
/// whole call.
pub fn plan_statements(sql: &str, catalog: &dyn Catalog) -> Result<Vec<Plan>> {
    if sql.len() > crate::limits::MAX_SQL_BYTES {
        return Err(crate::Error::sql(format!(
            "line 1:1: SQL text is {} bytes; one call takes at most {} (split it into several calls)",
            sql.len(),
            crate::limits::MAX_SQL_BYTES
        )));
    }
    let statements = parser::parse(sql)?;
    analyze::analyze(sql, statements, catalog)
}
