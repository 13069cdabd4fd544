//! `WINDOW('kind', args...)`: checks the kind and its arguments and turns
//! them into a `WindowPlan`. The arguments are parsed as expressions; each
//! kind says what it expects at each position (a count, a duration, a
//! column, a word).

use arrow::datatypes::{DataType, SchemaRef};
use sqlparser::ast::Value;

use crate::error::{Error, Result};
use crate::expr::{Expr, Scalar};
use crate::sql::analyze::interval;
use crate::sql::ast::{ExprAt, SqlExpr, WindowSpec};
use crate::sql::plan::WindowPlan;
use crate::types::type_name;

/// Most windows one event may belong to (a sliding window's size / slide).
pub(crate) const MAX_WINDOWS_PER_EVENT: u64 = 10_000;

/// Every kind, as written in messages.
const KINDS: &str = "length, lengthBatch, time, timeBatch, tumbling, sliding (hopping), session, \
                     externalTime, externalTimeBatch, delay, sort, unique, firstUnique";

pub fn analyze(w: &WindowSpec, stream: &str, schema: &SchemaRef) -> Result<WindowPlan> {
    let kind = w.kind.value.to_ascii_lowercase();
    let a = Args {
        w,
        stream,
        schema,
        kind: &w.kind.value,
    };
    Ok(match kind.as_str() {
        "length" => {
            a.arity(1, 1, "length(n)")?;
            WindowPlan::Length(a.count(0)?)
        }
        "lengthbatch" => {
            a.arity(1, 1, "lengthBatch(n)")?;
            WindowPlan::LengthBatch(a.count(0)?)
        }
        "time" => {
            a.arity(1, 1, "time(duration)")?;
            WindowPlan::Time(a.duration(0)?)
        }
        "timebatch" => {
            a.arity(1, 2, "timeBatch(duration [, start_ms])")?;
            WindowPlan::TimeBatch {
                size: a.duration(0)?,
                start: a.opt_int(1)?,
            }
        }
        "tumbling" => {
            a.arity(1, 1, "tumbling(duration)")?;
            WindowPlan::Tumbling(a.duration(0)?)
        }
        "sliding" | "hopping" => {
            a.arity(2, 2, "sliding(size, slide)")?;
            let size = a.duration(0)?;
            let slide = a.duration(1)?;
            if slide > size {
                return Err(Error::sql(format!(
                    "{}: the slide ({slide} ms) of window '{}' is larger than its size ({size} ms): \
                     some events would fall in no window",
                    a.pos(1),
                    a.kind
                )));
            }
            // Every event goes into ceil(size / slide) windows: bound it, or
            // one row of `sliding(INTERVAL '2' DAY, 1)` asked for 173 million
            // panes and gigabytes (found by the sql_grammar fuzz target).
            let per_event = (size as u64).div_ceil(slide as u64);
            if per_event > MAX_WINDOWS_PER_EVENT {
                return Err(Error::sql(format!(
                    "{}: window '{}' of size {size} ms and slide {slide} ms would put every event in {per_event} windows; at most {MAX_WINDOWS_PER_EVENT} are allowed (use a larger slide)",
                    a.pos(1),
                    a.kind
                )));
            }
            WindowPlan::Hopping { size, slide }
        }
        "session" => {
            a.arity(1, 2, "session(gap [, key_column])")?;
            let gap = a.duration(0)?;
            let key = if w.args.len() > 1 {
                Some(a.column(1)?.0)
            } else {
                None
            };
            WindowPlan::Session { gap, key }
        }
        "externaltime" => {
            a.arity(2, 2, "externalTime(ts_column, duration)")?;
            WindowPlan::ExternalTime {
                column: a.time_column(0)?,
                size: a.duration(1)?,
            }
        }
        "externaltimebatch" => {
            a.arity(2, 3, "externalTimeBatch(ts_column, duration [, start_ms])")?;
            WindowPlan::ExternalTimeBatch {
                column: a.time_column(0)?,
                size: a.duration(1)?,
                start: a.opt_int(2)?,
            }
        }
        "delay" => {
            a.arity(1, 1, "delay(duration)")?;
            WindowPlan::Delay(a.duration(0)?)
        }
        "sort" => {
            a.arity(2, 3, "sort(n, column [, 'asc'|'desc'])")?;
            let n = a.count(0)?;
            let column = a.column(1)?.0;
            let descending = match w.args.get(2) {
                None => false,
                Some(_) => match a.word(2)?.to_ascii_lowercase().as_str() {
                    "asc" => false,
                    "desc" => true,
                    other => {
                        return Err(Error::sql(format!(
                            "{}: sort order must be 'asc' or 'desc', got '{other}'",
                            a.pos(2)
                        )))
                    }
                },
            };
            WindowPlan::Sort {
                n,
                column,
                descending,
            }
        }
        "unique" => {
            a.arity(1, 1, "unique(column)")?;
            WindowPlan::Unique(a.column(0)?.0)
        }
        "firstunique" => {
            a.arity(1, 1, "firstUnique(column)")?;
            WindowPlan::FirstUnique(a.column(0)?.0)
        }
        _ => {
            return Err(Error::sql(format!(
                "{}: unknown window kind '{}' (known: {KINDS})",
                w.kind.pos, w.kind.value
            )))
        }
    })
}

struct Args<'a> {
    w: &'a WindowSpec,
    stream: &'a str,
    schema: &'a SchemaRef,
    kind: &'a str,
}

impl Args<'_> {
    fn pos(&self, i: usize) -> crate::sql::ast::Pos {
        self.w.args.get(i).map(|a| a.pos).unwrap_or(self.w.kind.pos)
    }

    fn arg(&self, i: usize) -> &ExprAt {
        &self.w.args[i]
    }

    fn arity(&self, min: usize, max: usize, usage: &str) -> Result<()> {
        let n = self.w.args.len();
        if n < min || n > max {
            return Err(Error::sql(format!(
                "{}: window '{}' takes {}, got {n} argument{} (usage: WINDOW('{}'{}))",
                self.w.kind.pos,
                self.kind,
                if min == max {
                    format!("{min} argument{}", if min == 1 { "" } else { "s" })
                } else {
                    format!("{min} to {max} arguments")
                },
                if n == 1 { "" } else { "s" },
                self.kind,
                usage
                    .split_once('(')
                    .map(|(_, r)| format!(", {}", r.trim_end_matches(')')))
                    .unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// An integer literal, possibly negative.
    fn int(&self, i: usize) -> Option<i64> {
        match &self.arg(i).expr {
            SqlExpr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse().ok(),
                _ => None,
            },
            SqlExpr::UnaryOp {
                op: sqlparser::ast::UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                SqlExpr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.parse::<i64>().ok().map(|x| -x),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    fn count(&self, i: usize) -> Result<u64> {
        match self.int(i) {
            Some(n) if n > 0 => Ok(n as u64),
            _ => Err(Error::sql(format!(
                "{}: window '{}' needs a positive whole number of events, got '{}'",
                self.pos(i),
                self.kind,
                self.arg(i).text
            ))),
        }
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        if i >= self.w.args.len() {
            return Ok(None);
        }
        self.int(i).map(Some).ok_or_else(|| {
            Error::sql(format!(
                "{}: window '{}' needs a start time in epoch milliseconds, got '{}'",
                self.pos(i),
                self.kind,
                self.arg(i).text
            ))
        })
    }

    /// `INTERVAL 'n' UNIT` or a bare integer of milliseconds; positive.
    fn duration(&self, i: usize) -> Result<i64> {
        let a = self.arg(i);
        let ms = match &a.expr {
            SqlExpr::Interval(iv) => match interval(iv, a.pos)? {
                Expr::Literal(Scalar::BigInt(ms)) => Some(ms),
                _ => None,
            },
            _ => self.int(i),
        };
        match ms {
            Some(ms) if ms > 0 => Ok(ms),
            _ => Err(Error::sql(format!(
                "{}: window '{}' needs a positive duration (INTERVAL 'n' UNIT or milliseconds), got '{}'",
                a.pos, self.kind, a.text
            ))),
        }
    }

    /// A column of the input, by bare name or in quotes.
    fn column(&self, i: usize) -> Result<(usize, DataType)> {
        let a = self.arg(i);
        let name = match &a.expr {
            SqlExpr::Identifier(id) => id.value.clone(),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => parts[1].value.clone(),
            SqlExpr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => s.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        if name.is_empty() {
            return Err(Error::sql(format!(
                "{}: window '{}' needs a column name, got '{}'",
                a.pos, self.kind, a.text
            )));
        }
        self.schema
            .fields()
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(&name))
            .map(|c| (c, self.schema.field(c).data_type().clone()))
            .ok_or_else(|| {
                let names: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
                Error::sql(format!(
                    "{}: unknown column '{name}' in stream '{}' (columns: {})",
                    a.pos,
                    self.stream,
                    names.join(", ")
                ))
            })
    }

    /// A BIGINT (milliseconds) or TIMESTAMP column.
    fn time_column(&self, i: usize) -> Result<usize> {
        let (c, t) = self.column(i)?;
        match t {
            DataType::Int64 | DataType::Timestamp(..) => Ok(c),
            other => Err(Error::schema(format!(
                "{}: window '{}' needs a BIGINT (milliseconds) or TIMESTAMP column for time, \
                 column '{}' is {}",
                self.pos(i),
                self.kind,
                self.schema.field(c).name(),
                type_name(&other)
            ))),
        }
    }

    /// A word in quotes ('asc') or bare (asc).
    fn word(&self, i: usize) -> Result<String> {
        let a = self.arg(i);
        match &a.expr {
            SqlExpr::Identifier(id) => Ok(id.value.clone()),
            SqlExpr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) => Ok(s.clone()),
                _ => Err(Error::sql(format!(
                    "{}: expected a word, got '{}'",
                    a.pos, a.text
                ))),
            },
            _ => Err(Error::sql(format!(
                "{}: expected a word, got '{}'",
                a.pos, a.text
            ))),
        }
    }
}
