//! Shared pieces of eddy's fuzz targets (fuzz/README.md): a thin safe layer
//! over the C ABI that turns every "this must never happen" status into a
//! panic (libFuzzer then reports the input), the raw Arrow C Data Interface
//! builder of `arrow_import`, the SQL grammar of `sql_grammar`, and the
//! bodies of the targets themselves so they can also be replayed from tests.

pub mod abi;
pub mod appender;
pub mod arrow_import;
pub mod grammar;
pub mod raw_arrow;
pub mod sql_text;
