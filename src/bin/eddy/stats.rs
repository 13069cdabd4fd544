//! The engine's counters (`Engine::stats_json`) as a short text summary.

use serde_json::Value;

use eddy::Engine;

pub struct Stats(Value);

fn num(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], |a| a.as_slice())
}

impl Stats {
    pub fn of(engine: &Engine) -> Stats {
        // The engine writes this JSON itself; unreadable would be a bug, and
        // an empty summary is the harmless way to show it.
        Stats(serde_json::from_str(&engine.stats_json()).unwrap_or(Value::Null))
    }

    /// One line per stream (rows in, out to subscribers, dropped, rejected)
    /// and per query (rows in and out, errors).
    pub fn render(&self) -> String {
        let streams = items(&self.0, "streams");
        let width = streams
            .iter()
            .map(|s| text(s, "name").chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let mut out = format!(
            "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}\n",
            "stream", "rows in", "rows out", "dropped", "rejected"
        );
        for s in streams {
            out.push_str(&format!(
                "{:<width$}  {:>10}  {:>10}  {:>8}  {:>8}\n",
                text(s, "name"),
                num(s, "events_in"),
                num(s, "events_out"),
                num(s, "dropped") + num(s, "subscriber_dropped"),
                num(s, "rejected"),
            ));
        }
        for q in items(&self.0, "queries") {
            out.push_str(&format!(
                "query {}: {} -> {}: {} rows in, {} rows out, {} errors\n",
                num(q, "id"),
                text(q, "input"),
                text(q, "output"),
                num(q, "rows_in"),
                num(q, "rows_out"),
                num(q, "errors"),
            ));
        }
        out
    }

    /// A message for each query that failed on some batch.
    pub fn query_failures(&self) -> Vec<String> {
        items(&self.0, "queries")
            .iter()
            .filter(|q| num(q, "errors") > 0)
            .map(|q| {
                format!(
                    "query {} ({}) failed on {} batches; last error: {}",
                    num(q, "id"),
                    text(q, "sql"),
                    num(q, "errors"),
                    text(q, "last_error")
                )
            })
            .collect()
    }
}
