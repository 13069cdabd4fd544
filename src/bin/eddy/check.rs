//! `eddy check`: parse and analyze against a scratch engine, then print
//! every statement's plan.

use crate::explain::{explain_all, EngineCatalog};
use crate::{open_engine, read_sql, CheckArgs, CliError, CliResult};

pub fn check(args: CheckArgs) -> CliResult<u8> {
    let sql = read_sql(&args.queries)?;
    let name = args.queries.display();
    let engine = open_engine(None)?;
    let at = |e: eddy::Error| CliError::data(format!("{name}: {}", e.message));
    // Planning alone misses what only applying checks (stream options,
    // cycles), so the statements are also executed on the scratch engine.
    let plans = eddy::sql::plan_statements(&sql, &EngineCatalog(&engine)).map_err(at)?;
    engine.execute(&sql).map_err(at)?;
    if plans.is_empty() {
        eprintln!("eddy: {name}: no statements");
    }
    print!("{}", explain_all(&plans, &engine));
    let _ = engine.close();
    Ok(0)
}
