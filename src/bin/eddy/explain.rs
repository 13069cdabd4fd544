//! EXPLAIN: analyzed plans as text. One match arm per plan variant; a
//! variant added to `Plan` or `Expr` fails to compile here until it has one.

use std::fmt::Write;

use arrow::array::temporal_conversions::as_datetime;
use arrow::datatypes::{SchemaRef, TimestampMillisecondType};

use eddy::expr::{BinaryOp, Expr, Func, Scalar, UnaryOp};
use eddy::sql::plan::OptionValue;
use eddy::sql::{Catalog, Plan};
use eddy::types::type_name;
use eddy::Engine;

/// Resolves names against a live engine, for `plan_statements`.
pub struct EngineCatalog<'a>(pub &'a Engine);

impl Catalog for EngineCatalog<'_> {
    fn stream(&self, name: &str) -> Option<(String, SchemaRef)> {
        self.0
            .streams()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// `name TYPE, ...`
pub fn columns(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), type_name(f.data_type())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn option_value(v: &OptionValue) -> String {
    match v {
        OptionValue::String(s) => quote(s),
        OptionValue::Integer(i) => i.to_string(),
        OptionValue::Number(n) => format!("{n:?}"),
        OptionValue::Interval(ms) => format!("INTERVAL '{ms}' MILLISECOND"),
        OptionValue::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        OptionValue::Ident(s) => s.clone(),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The plan of one statement. `input_schema` gives a query's input columns
/// (expressions refer to them by index).
pub fn explain(plan: &Plan, input_schema: &dyn Fn(&str) -> Option<SchemaRef>) -> String {
    let mut s = String::new();
    match plan {
        Plan::CreateStream(c) => {
            let _ = writeln!(
                s,
                "CREATE STREAM {}{}",
                c.name,
                if c.if_not_exists { " (if not exists)" } else { "" }
            );
            let _ = writeln!(s, "  columns: {}", columns(&c.schema));
            if !c.options.is_empty() {
                let opts: Vec<String> = c
                    .options
                    .iter()
                    .map(|o| format!("{} = {}", o.key, option_value(&o.value)))
                    .collect();
                let _ = writeln!(s, "  options: {}", opts.join(", "));
            }
        }
        Plan::Insert(q) => {
            // Expressions after the window see the selection row layout:
            // input columns, window_start, window_end, _expired, then one
            // column per aggregate call.
            // A join's or pattern's rows: every side's columns in turn.
            let source_schema = match q.source {
                eddy::sql::SourcePlan::Stream => input_schema(&q.input),
                _ => Some(q.input_schema.clone()),
            };
            let input = source_schema.map(|sch| {
                let mut fields: Vec<arrow::datatypes::Field> =
                    sch.fields().iter().map(|f| f.as_ref().clone()).collect();
                let ts = eddy::types::SqlType::Timestamp.to_arrow();
                fields.push(arrow::datatypes::Field::new("window_start", ts.clone(), true));
                fields.push(arrow::datatypes::Field::new("window_end", ts, true));
                fields.push(arrow::datatypes::Field::new(
                    "_expired",
                    arrow::datatypes::DataType::Boolean,
                    true,
                ));
                if let Some(a) = &q.aggregate {
                    for c in &a.calls {
                        let arg = c
                            .arg
                            .as_ref()
                            .map(|e| expr(e, Some(&sch), true))
                            .unwrap_or_else(|| "*".into());
                        fields.push(arrow::datatypes::Field::new(
                            format!("{}({arg})", c.func.name()),
                            c.result_type.clone(),
                            true,
                        ));
                    }
                }
                std::sync::Arc::new(arrow::datatypes::Schema::new(fields))
            });
            let names = |e: &Expr| expr(e, input.as_ref(), true);
            // On one line; spaces inside a line (and so inside most literals) stay.
            let sql: Vec<&str> = q.sql.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let _ = writeln!(s, "QUERY {}", sql.join(" "));
            let _ = writeln!(s, "  input:   {}", q.inputs.join(", "));
            match &q.source {
                eddy::sql::SourcePlan::Stream => {}
                eddy::sql::SourcePlan::Join(j) => {
                    for (side, label) in j.sides.iter().zip(["left ", "right"]) {
                        let _ = writeln!(
                            s,
                            "  {label}:   {} window {:?}{}",
                            side.side.stream,
                            side.window,
                            side.filter
                                .as_ref()
                                .map(|f| format!(" where {}", names(f)))
                                .unwrap_or_default()
                        );
                    }
                    let keys: Vec<String> = j
                        .keys
                        .iter()
                        .map(|(l, r)| format!("{} = {}", names(l), names(r)))
                        .collect();
                    let _ = writeln!(s, "  join on: {} (keys: {})", names(&j.on), keys.join(", "));
                }
                eddy::sql::SourcePlan::Pattern(p) => {
                    let _ = writeln!(
                        s,
                        "  pattern: {}{} events{}",
                        if p.every { "every " } else { "once, " },
                        p.elements.len(),
                        p.within.map(|w| format!(" within {w} ms")).unwrap_or_default()
                    );
                    for (k, e) in p.elements.iter().enumerate() {
                        let cond: Vec<String> = e.own.iter().chain(e.residual.iter()).map(&names).collect();
                        let _ = writeln!(
                            s,
                            "    e{}: {} [{}]{}",
                            k + 1,
                            e.side.stream,
                            cond.join(" AND "),
                            if e.keys.is_empty() {
                                String::new()
                            } else {
                                format!(" keyed by {}", e.keys.len())
                            }
                        );
                    }
                }
            }
            let _ = writeln!(
                s,
                "  output:  {}{}",
                q.output,
                if q.create_output { " (created)" } else { "" }
            );
            let _ = writeln!(s, "  schema:  {}", columns(&q.output_schema));
            if let Some(f) = &q.filter {
                let _ = writeln!(s, "  filter:  {}", names(f));
            }
            if let Some(w) = &q.window {
                let _ = writeln!(s, "  window:  {w:?}");
            }
            if let Some(a) = &q.aggregate {
                if !a.group_by.is_empty() {
                    let g: Vec<String> = a.group_by.iter().map(names).collect();
                    let _ = writeln!(s, "  group:   {}", g.join(", "));
                }
            }
            if let Some(h) = &q.having {
                let _ = writeln!(s, "  having:  {}", names(h));
            }
            if !q.order_by.is_empty() || q.limit.is_some() || q.offset > 0 {
                let keys: Vec<String> = q
                    .order_by
                    .iter()
                    .map(|k| {
                        let e = match &k.key {
                            eddy::sql::plan::SortExpr::Output(i) => q.output_schema.field(*i).name().clone(),
                            eddy::sql::plan::SortExpr::Expr(e) => names(e),
                        };
                        format!("{e}{}", if k.descending { " DESC" } else { "" })
                    })
                    .collect();
                let _ = writeln!(
                    s,
                    "  order:   {} limit {} offset {} (per chunk)",
                    if keys.is_empty() {
                        "-".to_string()
                    } else {
                        keys.join(", ")
                    },
                    q.limit.map_or("-".to_string(), |l| l.to_string()),
                    q.offset
                );
            }
            if q.events != eddy::sql::plan::OutputEvents::Current {
                let _ = writeln!(s, "  events:  {:?}", q.events);
            }
            if let Some(r) = &q.output_rate {
                let _ = writeln!(s, "  output:  {:?} every {:?}", r.mode, r.every);
            }
            let _ = writeln!(s, "  project:");
            let width = q
                .output_schema
                .fields()
                .iter()
                .map(|f| f.name().chars().count())
                .max()
                .unwrap_or(0);
            for (f, e) in q.output_schema.fields().iter().zip(&q.projection) {
                let pad = width - f.name().chars().count();
                let _ = writeln!(s, "    {}{} <- {}", f.name(), " ".repeat(pad), names(e));
            }
        }
    }
    s
}

fn binary_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Eq => "=",
        BinaryOp::NotEq => "<>",
        BinaryOp::Lt => "<",
        BinaryOp::LtEq => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::GtEq => ">=",
        BinaryOp::And => "AND",
        BinaryOp::Or => "OR",
        BinaryOp::Concat => "||",
    }
}

fn func_name(f: Func) -> &'static str {
    match f {
        Func::Coalesce => "COALESCE",
        Func::Upper => "UPPER",
        Func::Lower => "LOWER",
        Func::Length => "LENGTH",
        Func::Concat => "CONCAT",
        Func::Substring => "SUBSTRING",
        Func::Abs => "ABS",
        Func::Round => "ROUND",
        Func::Floor => "FLOOR",
        Func::Ceil => "CEIL",
        Func::Sqrt => "SQRT",
        Func::Power => "POWER",
    }
}

fn scalar(v: &Scalar) -> String {
    match v {
        Scalar::Null(_) => "NULL".to_string(),
        Scalar::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::BigInt(i) => i.to_string(),
        Scalar::Float(x) => format!("{x:?}"),
        Scalar::Double(x) => format!("{x:?}"),
        Scalar::String(s) => quote(s),
        Scalar::Timestamp(ms) => match as_datetime::<TimestampMillisecondType>(*ms) {
            Some(t) => format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%S%.f")),
            None => format!("CAST({ms} AS TIMESTAMP)"),
        },
    }
}

fn list(items: &[Expr], input: Option<&SchemaRef>) -> String {
    items
        .iter()
        .map(|e| expr(e, input, true))
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQL text of an analyzed expression: columns by name, implicit casts
/// shown. Nested operators get parentheses so precedence is never a guess.
pub fn expr(e: &Expr, input: Option<&SchemaRef>, top: bool) -> String {
    let paren = |s: String| if top { s } else { format!("({s})") };
    match e {
        Expr::Column { index, .. } => match input.and_then(|s| s.fields().get(*index)) {
            Some(f) => f.name().clone(),
            None => format!("#{index}"),
        },
        Expr::Literal(v) => scalar(v),
        Expr::Unary {
            op: UnaryOp::Neg,
            arg,
        } => format!("-{}", expr(arg, input, false)),
        Expr::Unary {
            op: UnaryOp::Not,
            arg,
        } => paren(format!("NOT {}", expr(arg, input, false))),
        Expr::Binary { op, left, right } => paren(format!(
            "{} {} {}",
            expr(left, input, false),
            binary_op(*op),
            expr(right, input, false)
        )),
        Expr::IsNull { arg, negated } => paren(format!(
            "{} IS {}NULL",
            expr(arg, input, false),
            if *negated { "NOT " } else { "" }
        )),
        Expr::InList {
            arg,
            list: items,
            negated,
        } => paren(format!(
            "{} {}IN ({})",
            expr(arg, input, false),
            if *negated { "NOT " } else { "" },
            list(items, input)
        )),
        Expr::Like {
            arg,
            pattern,
            negated,
            case_insensitive,
        } => paren(format!(
            "{} {}{} {}",
            expr(arg, input, false),
            if *negated { "NOT " } else { "" },
            if *case_insensitive { "ILIKE" } else { "LIKE" },
            expr(pattern, input, false)
        )),
        Expr::Case {
            branches, else_expr, ..
        } => {
            let mut s = String::from("CASE");
            for (when, then) in branches {
                let _ = write!(
                    s,
                    " WHEN {} THEN {}",
                    expr(when, input, true),
                    expr(then, input, true)
                );
            }
            if let Some(e) = else_expr {
                let _ = write!(s, " ELSE {}", expr(e, input, true));
            }
            s.push_str(" END");
            s
        }
        Expr::Cast { arg, to } => format!("CAST({} AS {})", expr(arg, input, true), type_name(to)),
        Expr::Function { func, args, .. } => format!("{}({})", func_name(*func), list(args, input)),
    }
}

/// Every plan's text, blank-line separated. A query's input schema comes
/// from an earlier plan of the same text or else from the engine.
pub fn explain_all(plans: &[Plan], engine: &Engine) -> String {
    let schema_of = |name: &str| {
        plans
            .iter()
            .find_map(|p| match p {
                Plan::CreateStream(c) if c.name.eq_ignore_ascii_case(name) => Some(c.schema.clone()),
                Plan::Insert(q) if q.create_output && q.output.eq_ignore_ascii_case(name) => {
                    Some(q.output_schema.clone())
                }
                _ => None,
            })
            .or_else(|| engine.stream_schema(name))
    };
    plans
        .iter()
        .map(|p| explain(p, &schema_of))
        .collect::<Vec<_>>()
        .join("\n")
}
