//! Helpers shared by the integration suites that read results as text.
#![allow(dead_code)] // each suite uses its own subset

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use eddy::Engine;

/// EDDY_TEST_ENGINE_OPTIONS (e.g. `worker=caller`) is added to every
/// engine's options: the suites run once per way of running the dataflow.
pub fn open(opts: &str) -> Engine {
    let extra = std::env::var("EDDY_TEST_ENGINE_OPTIONS").unwrap_or_default();
    Engine::open(&format!("{opts};{extra}")).unwrap()
}

/// One string per row: the values joined by ',', NULL as `NULL`.
pub fn lines(b: &RecordBatch) -> Vec<String> {
    let opts = FormatOptions::default().with_null("NULL");
    let fmts: Vec<ArrayFormatter> = b
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
        .collect();
    (0..b.num_rows())
        .map(|r| {
            fmts.iter()
                .map(|f| f.value(r).to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

pub fn v(rows: &[&str]) -> Vec<String> {
    rows.iter().map(|s| s.to_string()).collect()
}

/// A number from a stats JSON text: the first `"key":<n>` after `after`.
pub fn stat(json: &str, after: &str, key: &str) -> i64 {
    let start = json
        .find(after)
        .unwrap_or_else(|| panic!("{after} not in {json}"));
    let rest = &json[start..];
    let k = format!("\"{key}\":");
    let at = rest.find(&k).unwrap() + k.len();
    let num: String = rest[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    num.parse().unwrap()
}
