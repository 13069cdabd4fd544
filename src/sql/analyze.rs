//! Semantic analysis: resolves names against the catalog (plus the streams
//! earlier statements of the same call create), types every expression,
//! makes implicit conversions explicit `Cast` nodes and produces `Plan`s.
//! Nothing is applied here.
//!
//! Typing rules, in short:
//! - literals: integer → INT if it fits i32, else BIGINT; decimal → DOUBLE;
//!   `-<number>` is folded; NULL is typed by its context.
//! - arithmetic/comparison promote INT < BIGINT, any float with anything
//!   else numeric → DOUBLE (FLOAT op FLOAT stays FLOAT); TIMESTAMP ± integer
//!   is BIGINT math cast back to TIMESTAMP; TIMESTAMP - TIMESTAMP is BIGINT;
//!   TIMESTAMP compares with integers as BIGINT.
//! - assignment to an existing output allows only INT→BIGINT, FLOAT→DOUBLE,
//!   INT/BIGINT→DOUBLE and BIGINT↔TIMESTAMP.
//!
//! Errors: unknown streams are `NotFound`, type mismatches `Schema`, every
//! other problem `Sql`; all messages start with `line L:C:`.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use sqlparser::ast::{
    self as sq, BinaryOperator as SqBinOp, CeilFloorKind, DateTimeField, FunctionArg, FunctionArgExpr,
    FunctionArguments, Spanned, UnaryOperator as SqUnOp, Value,
};

use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Expr, Func, Scalar, UnaryOp};
use crate::limits::MAX_COLUMNS;
use crate::ops::aggregate::AggFunc;
use crate::sql::ast::OutputEvents;
use crate::sql::ast::{self, Insert, Name, Pos, SelectItem, Source, SqlExpr, Statement, StatementKind};
use crate::sql::parser::interval_ms;
use crate::sql::plan::{
    first_aggregate_index, window_start_index, AggCall, AggregatePlan, CreateStream, JoinPlan, JoinSidePlan,
    JoinWindow, OutputRate, PatternElementPlan, PatternPlan, Plan, QueryPlan, SidePlan, SortExpr, SortKey,
    SourcePlan, StreamOption, WindowPlan,
};
use crate::sql::window;
use crate::sql::Catalog;
use crate::types::{type_name, SqlType};

/// Analyzes `statements` (parsed from `sql`) in order against `catalog`.
pub fn analyze(_sql: &str, statements: Vec<Statement>, catalog: &dyn Catalog) -> Result<Vec<Plan>> {
    let mut a = Analyzer {
        catalog,
        created: HashMap::new(),
    };
    statements.into_iter().map(|s| a.statement(s)).collect()
}

struct Analyzer<'c> {
    catalog: &'c dyn Catalog,
    /// Streams created by earlier statements of this call, by lower-cased name.
    created: HashMap<String, (String, SchemaRef)>,
}

impl Analyzer<'_> {
    fn lookup(&self, name: &str) -> Option<(String, SchemaRef)> {
        self.created
            .get(&name.to_ascii_lowercase())
            .cloned()
            .or_else(|| self.catalog.stream(name))
    }

    fn statement(&mut self, s: Statement) -> Result<Plan> {
        match s.kind {
            StatementKind::CreateStream(c) => self.create_stream(c),
            StatementKind::Insert(i) => self.insert(s.sql, i),
        }
    }

    fn create_stream(&mut self, c: ast::CreateStream) -> Result<Plan> {
        let exists = self.lookup(&c.name.value).is_some();
        if exists && !c.if_not_exists {
            return Err(Error::sql(format!(
                "{}: stream '{}' already exists",
                c.name.pos, c.name.value
            )));
        }
        if c.columns.is_empty() {
            return Err(Error::sql(format!(
                "{}: stream '{}' needs at least one column",
                c.name.pos, c.name.value
            )));
        }
        if let Some(col) = c.columns.get(MAX_COLUMNS) {
            return Err(Error::sql(format!(
                "{}: stream '{}' has {} columns; a stream has at most {MAX_COLUMNS}",
                col.name.pos,
                c.name.value,
                c.columns.len()
            )));
        }
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(c.columns.len());
        for col in &c.columns {
            if !seen.insert(col.name.value.to_ascii_lowercase()) {
                return Err(Error::sql(format!(
                    "{}: duplicate column '{}' in stream '{}'",
                    col.name.pos, col.name.value, c.name.value
                )));
            }
            fields.push(Field::new(col.name.value.clone(), col.data_type.to_arrow(), true));
        }
        let mut keys = HashSet::new();
        let mut options = Vec::with_capacity(c.options.len());
        for o in c.options {
            let key = o.key.value.to_ascii_lowercase();
            if !keys.insert(key.clone()) {
                return Err(Error::sql(format!(
                    "{}: duplicate option '{}'",
                    o.key.pos, o.key.value
                )));
            }
            options.push(StreamOption {
                key,
                value: o.value,
                line: o.key.pos.line,
                column: o.key.pos.column,
            });
        }
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        if !exists {
            self.created.insert(
                c.name.value.to_ascii_lowercase(),
                (c.name.value.clone(), schema.clone()),
            );
        }
        Ok(Plan::CreateStream(CreateStream {
            name: c.name.value,
            schema,
            options,
            if_not_exists: c.if_not_exists,
        }))
    }

    fn insert(&mut self, sql: String, ins: Insert) -> Result<Plan> {
        let q = &ins.query;
        let source = self.source(&q.from)?;
        let Sources {
            sides,
            window,
            mut plan,
            names,
        } = source;
        for (name, pos) in &names {
            if ins.target.matches(name) {
                return Err(Error::sql(format!(
                    "{}: query reads and writes stream '{}'; a query cannot insert into its own input \
                     (read at {pos})",
                    ins.target.pos, ins.target.value
                )));
            }
        }
        let input = names[0].0.clone();
        let in_schema: SchemaRef = if sides.len() == 1 {
            sides[0].schema.clone()
        } else {
            // Qualified names (`a.k`), for plans and EXPLAIN; expressions
            // refer to columns by index.
            let fields: Vec<Field> = sides
                .iter()
                .flat_map(|s| {
                    s.schema.fields().iter().map(|f| {
                        f.as_ref()
                            .clone()
                            .with_name(format!("{}.{}", s.label(), f.name()))
                    })
                })
                .collect();
            Arc::new(Schema::new(fields))
        };
        let bounds = window.as_ref().is_some_and(|w| w.has_bounds());
        let calls = RefCell::new(Vec::new());
        // Row-level scope: WHERE, GROUP BY (no aggregates).
        let scope = Scope {
            sides: &sides,
            visible: sides.len(),
            home: None,
            bounds: false,
            aggs: None,
            in_agg: Cell::new(false),
        };
        self.source_conditions(&q.from, &scope, &mut plan)?;
        // Selection scope: SELECT, HAVING, ORDER BY (aggregates allowed).
        let sel = Scope {
            bounds,
            aggs: Some(&calls),
            ..scope.clone()
        };

        let filter = match &q.selection {
            None => None,
            Some(w) => Some(scope.condition(w, "WHERE")?),
        };
        let group_scope = Scope {
            bounds,
            ..scope.clone()
        };
        let group_by = q
            .group_by
            .iter()
            .map(|g| group_scope.expr(&g.expr, g.pos).map(settle))
            .collect::<Result<Vec<_>>>()?;

        // (name, expression, position) per output column.
        let mut cols: Vec<(String, Expr, Pos)> = Vec::new();
        for item in &q.items {
            match item {
                SelectItem::Wildcard { pos } => sel.push_all(&mut cols, None, *pos),
                SelectItem::QualifiedWildcard { qualifier } => {
                    let side = sel.side_of(qualifier.value.as_str(), qualifier.pos)?;
                    sel.push_all(&mut cols, Some(side), qualifier.pos);
                }
                SelectItem::Expr { expr, alias } => {
                    let e = sel.expr(&expr.expr, expr.pos)?;
                    let name = match alias {
                        Some(a) => a.value.clone(),
                        None => sel
                            .bare_column_name(&expr.expr)
                            .unwrap_or_else(|| expr.text.clone()),
                    };
                    cols.push((name, e, expr.pos));
                }
            }
        }
        if let Some((_, _, pos)) = cols.get(MAX_COLUMNS) {
            return Err(Error::sql(format!(
                "{pos}: the query has {} output columns; a stream has at most {MAX_COLUMNS}",
                cols.len()
            )));
        }
        let having = match &q.having {
            None => None,
            Some(h) => Some(sel.condition(h, "HAVING")?),
        };
        let mut order_by = Vec::with_capacity(q.order_by.len());
        for o in &q.order_by {
            let key = match &o.expr.expr {
                SqlExpr::Value(v) if matches!(v.value, Value::Number(..)) => {
                    let n = o.expr.text.parse::<usize>().unwrap_or(0);
                    if n == 0 || n > cols.len() {
                        return Err(Error::sql(format!(
                            "{}: ORDER BY position {} is not in the select list (1 to {})",
                            o.expr.pos,
                            o.expr.text,
                            cols.len()
                        )));
                    }
                    SortExpr::Output(n - 1)
                }
                SqlExpr::Identifier(id)
                    if cols
                        .iter()
                        .any(|(name, _, _)| name.eq_ignore_ascii_case(&id.value)) =>
                {
                    let i = cols
                        .iter()
                        .position(|(name, _, _)| name.eq_ignore_ascii_case(&id.value))
                        .unwrap();
                    SortExpr::Output(i)
                }
                e => SortExpr::Expr(settle(sel.expr(e, o.expr.pos)?)),
            };
            order_by.push(SortKey {
                key,
                descending: o.descending,
                // NULLs sort as the largest value unless told otherwise.
                nulls_first: o.nulls_first.unwrap_or(o.descending),
            });
        }
        let calls = calls.into_inner();
        let aggregate =
            (!calls.is_empty() || !group_by.is_empty()).then_some(AggregatePlan { group_by, calls });

        if ins.events != OutputEvents::Current && window.is_none() {
            return Err(Error::sql(format!(
                "{}: INSERT {} EVENTS needs a window: without one no event ever expires",
                ins.target.pos,
                if ins.events == OutputEvents::All {
                    "ALL"
                } else {
                    "EXPIRED"
                }
            )));
        }
        if ins.events == OutputEvents::All {
            cols.push((
                "_expired".into(),
                Expr::Column {
                    index: window_start_index(in_schema.fields().len()) + 2,
                    data_type: DataType::Boolean,
                },
                ins.target.pos,
            ));
        }
        let output_rate = q.output.map(|o| OutputRate {
            mode: o.mode,
            every: o.every,
        });

        let target = &ins.target;
        let (output, output_schema, create_output, projection) = match self.lookup(&target.value) {
            Some((out_name, out_schema)) => {
                let fields = out_schema.fields();
                if fields.len() != cols.len() {
                    return Err(Error::schema(format!(
                        "{}: stream '{}' has {} column(s) but the query produces {}",
                        target.pos,
                        out_name,
                        fields.len(),
                        cols.len()
                    )));
                }
                let mut projection = Vec::with_capacity(cols.len());
                for (i, ((_, e, pos), f)) in cols.into_iter().zip(fields.iter()).enumerate() {
                    let from_t = e.data_type();
                    let to_t = f.data_type();
                    if !assignable(&from_t, to_t) {
                        return Err(Error::schema(format!(
                            "{pos}: column {} '{}' of stream '{}' is {}, but the query produces {}",
                            i + 1,
                            f.name(),
                            out_name,
                            type_name(to_t),
                            type_name(&from_t)
                        )));
                    }
                    projection.push(coerce(e, to_t));
                }
                (out_name, out_schema, false, projection)
            }
            None => {
                let mut seen = HashSet::new();
                let mut fields = Vec::with_capacity(cols.len());
                let mut projection = Vec::with_capacity(cols.len());
                for (i, (name, e, pos)) in cols.into_iter().enumerate() {
                    if !seen.insert(name.to_ascii_lowercase()) {
                        return Err(Error::sql(format!(
                            "{pos}: duplicate output column '{name}'; use AS to give it a distinct name"
                        )));
                    }
                    let t = e.data_type();
                    if SqlType::from_arrow(&t).is_none() {
                        return Err(Error::schema(format!(
                            "{pos}: cannot infer the type of column {} '{name}' (a bare NULL); \
                             write CAST(NULL AS type)",
                            i + 1
                        )));
                    }
                    fields.push(Field::new(name, t, true));
                    projection.push(e);
                }
                let schema: SchemaRef = Arc::new(Schema::new(fields));
                self.created.insert(
                    target.value.to_ascii_lowercase(),
                    (target.value.clone(), schema.clone()),
                );
                (target.value.clone(), schema, true, projection)
            }
        };

        Ok(Plan::Insert(QueryPlan {
            sql,
            input,
            inputs: names.into_iter().map(|(n, _)| n).collect(),
            input_schema: in_schema.clone(),
            source: plan,
            output,
            output_schema,
            create_output,
            filter,
            window,
            aggregate,
            having,
            projection,
            order_by,
            limit: q.limit.map(|l| l.value),
            offset: q.offset.map(|o| o.value).unwrap_or(0),
            events: ins.events,
            output_rate,
        }))
    }
}

/// What a query's FROM reads, resolved.
struct Sources {
    sides: Vec<Side>,
    window: Option<WindowPlan>,
    plan: SourcePlan,
    /// The distinct streams read (the query's ports), with where each was
    /// first named.
    names: Vec<(String, Pos)>,
}

/// Most events one pattern may name.
const MAX_PATTERN_ELEMENTS: usize = 32;

impl Analyzer<'_> {
    fn stream(&self, name: &Name) -> Result<(String, SchemaRef)> {
        self.lookup(&name.value)
            .ok_or_else(|| Error::not_found(format!("{}: unknown stream '{}'", name.pos, name.value)))
    }

    fn source(&self, from: &Source) -> Result<Sources> {
        match from {
            Source::Stream(r) => {
                let (input, schema) = self.stream(&r.name)?;
                let window = match &r.window {
                    Some(w) => Some(window::analyze(w, &input, &schema)?),
                    None => None,
                };
                Ok(Sources {
                    sides: vec![Side {
                        stream: input.clone(),
                        alias: r.alias.clone(),
                        schema,
                        offset: 0,
                    }],
                    window,
                    plan: SourcePlan::Stream,
                    names: vec![(input, r.name.pos)],
                })
            }
            Source::Join(j) => self.join(j),
            Source::Pattern(p) => self.pattern(p),
        }
    }

    fn join(&self, j: &ast::JoinSource) -> Result<Sources> {
        let outer = match j.kind {
            ast::JoinKind::Inner => [false, false],
            ast::JoinKind::Left => [true, false],
            ast::JoinKind::Right => [false, true],
            ast::JoinKind::Full => [true, true],
        };
        let mut sides = Vec::with_capacity(2);
        let mut plans = Vec::with_capacity(2);
        let mut names: Vec<(String, Pos)> = Vec::new();
        let mut offset = 0;
        for r in [&j.left, &j.right] {
            let (stream, schema) = self.stream(&r.name)?;
            if names.iter().any(|(n, _)| *n == stream) {
                return Err(Error::sql(format!(
                    "{}: a stream joined with itself is not supported yet; insert it into a second \
                     stream and join the two",
                    r.name.pos
                )));
            }
            let window = match &r.window {
                None => JoinWindow::None,
                Some(w) => match window::analyze(w, &stream, &schema)? {
                    WindowPlan::Length(n) => JoinWindow::Length(n),
                    WindowPlan::Time(ms) => JoinWindow::Time(ms),
                    WindowPlan::Unique(c) => JoinWindow::Unique(c),
                    _ => {
                        return Err(Error::sql(format!(
                            "{}: a join side takes WINDOW('time', duration), WINDOW('length', n) or \
                             WINDOW('unique', column); '{}' is not supported in joins yet",
                            w.kind.pos, w.kind.value
                        )))
                    }
                },
            };
            if let (Some(a), Some(b)) = (&r.alias, sides.first().and_then(|s: &Side| s.alias.as_ref())) {
                if a.matches(&b.value) {
                    return Err(Error::sql(format!(
                        "{}: both sides of the join are called '{}'",
                        a.pos, a.value
                    )));
                }
            }
            let width = schema.fields().len();
            plans.push(JoinSidePlan {
                side: SidePlan {
                    stream: stream.clone(),
                    port: names.len(),
                    schema: schema.clone(),
                    offset,
                    line: r.name.pos.line,
                    column: r.name.pos.column,
                },
                window,
                filter: None,
            });
            names.push((stream.clone(), r.name.pos));
            sides.push(Side {
                stream,
                alias: r.alias.clone(),
                schema,
                offset,
            });
            offset += width;
        }
        let right = plans.pop().unwrap();
        let left = plans.pop().unwrap();
        Ok(Sources {
            sides,
            window: None,
            plan: SourcePlan::Join(JoinPlan {
                sides: [left, right],
                on: Expr::Literal(Scalar::Bool(true)),
                keys: Vec::new(),
                outer,
            }),
            names,
        })
    }

    fn pattern(&self, p: &ast::PatternSource) -> Result<Sources> {
        if p.elements.len() > MAX_PATTERN_ELEMENTS {
            return Err(Error::sql(format!(
                "{}: a pattern names at most {MAX_PATTERN_ELEMENTS} events, this one {}",
                p.pos,
                p.elements.len()
            )));
        }
        let mut sides: Vec<Side> = Vec::new();
        let mut elements = Vec::new();
        let mut names: Vec<(String, Pos)> = Vec::new();
        let mut offset = 0;
        for (k, e) in p.elements.iter().enumerate() {
            if let Some(at) = e.every {
                if k > 0 {
                    return Err(Error::sql(format!(
                        "{at}: EVERY is supported only on the pattern's first event"
                    )));
                }
            }
            if let Some(prev) = sides
                .iter()
                .find(|s| s.alias.as_ref().is_some_and(|a| a.matches(&e.alias.value)))
            {
                return Err(Error::sql(format!(
                    "{}: event alias '{}' is used twice in the pattern (first at {})",
                    e.alias.pos,
                    e.alias.value,
                    prev.alias.as_ref().unwrap().pos
                )));
            }
            let (stream, schema) = self.stream(&e.stream)?;
            let port = match names.iter().position(|(n, _)| *n == stream) {
                Some(i) => i,
                None => {
                    names.push((stream.clone(), e.stream.pos));
                    names.len() - 1
                }
            };
            let width = schema.fields().len();
            elements.push(PatternElementPlan {
                side: SidePlan {
                    stream: stream.clone(),
                    port,
                    schema: schema.clone(),
                    offset,
                    line: e.stream.pos.line,
                    column: e.stream.pos.column,
                },
                own: None,
                keys: Vec::new(),
                residual: None,
            });
            sides.push(Side {
                stream,
                alias: Some(e.alias.clone()),
                schema,
                offset,
            });
            offset += width;
        }
        Ok(Sources {
            sides,
            window: None,
            plan: SourcePlan::Pattern(PatternPlan {
                every: p.elements[0].every.is_some(),
                within: p.within.map(|(ms, _)| ms),
                elements,
            }),
            names,
        })
    }

    /// Analyzes a join's ON and a pattern's event conditions, splitting them
    /// into what reads one side (checked before anything is kept), equality
    /// keys (to find candidates by hash) and the rest.
    fn source_conditions(&self, from: &Source, scope: &Scope, plan: &mut SourcePlan) -> Result<()> {
        match (from, plan) {
            (Source::Join(j), SourcePlan::Join(jp)) => {
                let on = scope.condition(&j.on, "ON")?;
                let ranges = [side_range(&scope.sides[0]), side_range(&scope.sides[1])];
                let mut own: [Vec<Expr>; 2] = [Vec::new(), Vec::new()];
                let mut rest = Vec::new();
                for c in conjuncts(on) {
                    // ON sees only the two sides' columns (no window
                    // columns in a join), so a conjunct reading one side
                    // reads nothing else.
                    match [reads(&c, &ranges[0]), reads(&c, &ranges[1])] {
                        [true, false] => own[0].push(c),
                        [false, true] => own[1].push(c),
                        _ => {
                            if let Some((l, r)) = equality(&c, &ranges[0], &ranges[1]) {
                                jp.keys.push((l, r));
                            }
                            rest.push(c);
                        }
                    }
                }
                for (side, o) in jp.sides.iter_mut().zip(own) {
                    side.filter = and_all(o);
                }
                jp.on = and_all(rest).unwrap_or(Expr::Literal(Scalar::Bool(true)));
                Ok(())
            }
            (Source::Pattern(p), SourcePlan::Pattern(pp)) => {
                for (k, e) in p.elements.iter().enumerate() {
                    let Some(c) = &e.condition else { continue };
                    let s = Scope {
                        visible: k + 1,
                        home: Some(k),
                        ..scope.clone()
                    };
                    let cond = s.condition(c, "pattern condition")?;
                    let mine = side_range(&scope.sides[k]);
                    let before = 0..mine.start;
                    let el = &mut pp.elements[k];
                    let (mut own, mut rest) = (Vec::new(), Vec::new());
                    for c in conjuncts(cond) {
                        if !reads(&c, &before) {
                            own.push(c);
                        } else {
                            if let Some((a, b)) = equality(&c, &mine, &before) {
                                el.keys.push((a, b));
                            }
                            rest.push(c);
                        }
                    }
                    el.own = and_all(own);
                    el.residual = and_all(rest);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The columns of a side in the combined row.
fn side_range(s: &Side) -> std::ops::Range<usize> {
    s.offset..s.offset + s.schema.fields().len()
}

/// The AND-ed parts of a condition.
fn conjuncts(e: Expr) -> Vec<Expr> {
    match e {
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            let mut v = conjuncts(*left);
            v.extend(conjuncts(*right));
            v
        }
        e => vec![e],
    }
}

fn and_all(parts: Vec<Expr>) -> Option<Expr> {
    parts.into_iter().reduce(|a, b| bin(BinaryOp::And, a, b))
}

/// Whether `e` reads any column in `r`.
fn reads(e: &Expr, r: &std::ops::Range<usize>) -> bool {
    let mut hit = false;
    e.for_each_column(&mut |c| hit |= r.contains(&c));
    hit
}

/// `a = b` with one side reading only columns of `x` (and some) and the
/// other only of `y`: (the x part, the y part).
fn equality(e: &Expr, x: &std::ops::Range<usize>, y: &std::ops::Range<usize>) -> Option<(Expr, Expr)> {
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
    } = e
    else {
        return None;
    };
    let only = |e: &Expr, r: &std::ops::Range<usize>| {
        let (mut any, mut all) = (false, true);
        e.for_each_column(&mut |c| {
            any = true;
            all &= r.contains(&c);
        });
        any && all
    };
    if only(left, x) && only(right, y) {
        Some((left.as_ref().clone(), right.as_ref().clone()))
    } else if only(right, x) && only(left, y) {
        Some((right.as_ref().clone(), left.as_ref().clone()))
    } else {
        None
    }
}

// ---- types and coercions --------------------------------------------------

fn timestamp() -> DataType {
    SqlType::Timestamp.to_arrow()
}

fn is_timestamp(t: &DataType) -> bool {
    *t == timestamp()
}

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::Int32 | DataType::Int64)
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

fn is_numeric(t: &DataType) -> bool {
    is_integer(t) || is_float(t)
}

/// The type two numeric operands are brought to.
fn promote(a: &DataType, b: &DataType) -> DataType {
    if a == b {
        a.clone()
    } else if is_integer(a) && is_integer(b) {
        DataType::Int64
    } else {
        DataType::Float64
    }
}

/// The type both sides of a comparison (or IN) are brought to.
fn compare_type(a: &DataType, b: &DataType) -> Option<DataType> {
    match (a, b) {
        (DataType::Null, DataType::Null) => Some(DataType::Boolean),
        (DataType::Null, t) | (t, DataType::Null) => Some(t.clone()),
        _ if a == b => Some(a.clone()),
        _ if is_numeric(a) && is_numeric(b) => Some(promote(a, b)),
        _ if (is_timestamp(a) && is_integer(b)) || (is_integer(a) && is_timestamp(b)) => {
            Some(DataType::Int64)
        }
        _ => None,
    }
}

/// The common type of CASE branches and COALESCE arguments (Null while every
/// part so far is an untyped NULL).
fn unify(a: &DataType, b: &DataType) -> Option<DataType> {
    match (a, b) {
        (DataType::Null, t) | (t, DataType::Null) => Some(t.clone()),
        _ if a == b => Some(a.clone()),
        _ if is_numeric(a) && is_numeric(b) => Some(promote(a, b)),
        _ if (is_timestamp(a) && is_integer(b)) || (is_integer(a) && is_timestamp(b)) => Some(timestamp()),
        _ => None,
    }
}

/// Implicit conversions allowed when writing into an existing stream.
fn assignable(from: &DataType, to: &DataType) -> bool {
    from == to
        || *from == DataType::Null
        || matches!(
            (from, to),
            (DataType::Int32, DataType::Int64)
                | (DataType::Float32, DataType::Float64)
                | (DataType::Int32 | DataType::Int64, DataType::Float64)
        )
        || (*from == DataType::Int64 && is_timestamp(to))
        || (is_timestamp(from) && *to == DataType::Int64)
}

fn null_of(t: DataType) -> Expr {
    Expr::Literal(Scalar::Null(t))
}

/// An untyped NULL literal (its type comes from the context).
fn is_untyped(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Scalar::Null(DataType::Null)))
}

/// Converts literals where the result is exactly what a cast would give.
fn fold_cast(s: &Scalar, to: &DataType) -> Option<Scalar> {
    Some(match (s, to) {
        (Scalar::Int(i), DataType::Int64) => Scalar::BigInt(*i as i64),
        (Scalar::Int(i), DataType::Float64) => Scalar::Double(*i as f64),
        (Scalar::BigInt(i), DataType::Float64) => Scalar::Double(*i as f64),
        (Scalar::Float(f), DataType::Float64) => Scalar::Double(*f as f64),
        (Scalar::Double(d), DataType::Float32) => Scalar::Float(*d as f32),
        (Scalar::BigInt(i), DataType::Timestamp(..)) if is_timestamp(to) => Scalar::Timestamp(*i),
        (Scalar::Timestamp(i), DataType::Int64) => Scalar::BigInt(*i),
        _ => return None,
    })
}

/// `e` converted to `to`: unchanged if it already has that type, a typed NULL
/// for a NULL literal, a folded literal where exact, else a `Cast` node.
fn coerce(e: Expr, to: &DataType) -> Expr {
    let from = e.data_type();
    if from == *to {
        return e;
    }
    if from == DataType::Int32 && is_timestamp(to) {
        // INT → TIMESTAMP goes through BIGINT.
        return coerce(coerce(e, &DataType::Int64), to);
    }
    match e {
        Expr::Literal(Scalar::Null(_)) => null_of(to.clone()),
        Expr::Literal(s) => match fold_cast(&s, to) {
            Some(v) => Expr::Literal(v),
            None => Expr::Cast {
                arg: Box::new(Expr::Literal(s)),
                to: to.clone(),
            },
        },
        e => Expr::Cast {
            arg: Box::new(e),
            to: to.clone(),
        },
    }
}

fn bin(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    Expr::Binary {
        op,
        left: Box::new(left),
        right: Box::new(right),
    }
}

fn not(e: Expr) -> Expr {
    Expr::Unary {
        op: UnaryOp::Not,
        arg: Box::new(e),
    }
}

fn is_null(e: Expr) -> Expr {
    Expr::IsNull {
        arg: Box::new(e),
        negated: false,
    }
}

fn number_literal(digits: &str, negative: bool, pos: Pos) -> Result<Expr> {
    let text = if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    };
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Expr::Literal(match i32::try_from(i) {
                Ok(v) => Scalar::Int(v),
                Err(_) => Scalar::BigInt(i),
            }));
        }
    }
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Expr::Literal(Scalar::Double(x))),
        _ => Err(Error::sql(format!("{pos}: invalid number '{text}'"))),
    }
}

/// Position of an expression, or `at` when sqlparser has no span for it.
fn pos_of(e: &SqlExpr, at: Pos) -> Pos {
    let s = e.span();
    if s.start.line == 0 {
        at
    } else {
        s.start.into()
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---- name resolution and expressions --------------------------------------

/// One stream a query reads (a join side, a pattern element), as seen by
/// its expressions: its columns sit at `offset` in the query's row layout.
#[derive(Clone)]
struct Side {
    /// Canonical (declared) stream name.
    stream: String,
    alias: Option<Name>,
    schema: SchemaRef,
    offset: usize,
}

impl Side {
    fn find(&self, name: &str) -> Option<(usize, &Field)> {
        self.schema
            .fields()
            .iter()
            .enumerate()
            .find(|(_, f)| f.name().eq_ignore_ascii_case(name))
            .map(|(i, f)| (self.offset + i, f.as_ref()))
    }

    fn label(&self) -> String {
        match &self.alias {
            Some(a) => a.value.clone(),
            None => self.stream.clone(),
        }
    }
}

/// The streams a query reads, as seen by its expressions.
#[derive(Clone)]
struct Scope<'s> {
    sides: &'s [Side],
    /// Sides an expression here may name: a pattern element's condition sees
    /// itself and the elements before it.
    visible: usize,
    /// Where a bare column name is looked up first (a pattern element's own
    /// columns); None: in every visible side, and it must be in one only.
    home: Option<usize>,
    /// `window_start` and `window_end` are defined (batch time windows).
    bounds: bool,
    /// Where aggregate calls are collected, when they are allowed here.
    aggs: Option<&'s RefCell<Vec<AggCall>>>,
    /// Analyzing an aggregate's argument: no nested aggregates.
    in_agg: Cell<bool>,
}

impl Scope<'_> {
    /// Columns of the query's row layout (every side's, in order).
    fn width(&self) -> usize {
        self.sides
            .last()
            .map_or(0, |s| s.offset + s.schema.fields().len())
    }

    /// A boolean condition (WHERE, HAVING); NULL literal counts as BOOL.
    fn condition(&self, w: &ast::ExprAt, clause: &str) -> Result<Expr> {
        let e = self.expr(&w.expr, w.pos)?;
        let t = e.data_type();
        match t {
            DataType::Boolean => Ok(e),
            DataType::Null => Ok(null_of(DataType::Boolean)),
            _ => Err(Error::schema(format!(
                "{}: {clause} condition must be BOOL, got {}",
                w.pos,
                type_name(&t)
            ))),
        }
    }

    /// `window_start` / `window_end`, which follow the input's columns.
    fn window_column(&self, name: &str, pos: Pos) -> Option<Result<Expr>> {
        let offset = if name.eq_ignore_ascii_case("window_start") {
            0
        } else if name.eq_ignore_ascii_case("window_end") {
            1
        } else {
            return None;
        };
        if !self.bounds {
            return Some(Err(Error::sql(format!(
                "{pos}: {} is defined only over a batch time window (timeBatch, externalTimeBatch, \
                 tumbling, sliding, session) and not in WHERE",
                name.to_ascii_lowercase()
            ))));
        }
        Some(Ok(Expr::Column {
            index: window_start_index(self.width()) + offset,
            data_type: timestamp(),
        }))
    }

    /// An aggregate call: its argument is analyzed at row level, the call
    /// itself becomes a column of the selection row layout.
    fn aggregate(&self, f: &sq::Function, upper: &str, pos: Pos) -> Result<Expr> {
        let Some(calls) = self.aggs else {
            return Err(Error::sql(format!(
                "{pos}: aggregate {upper} is not allowed here (only in SELECT, HAVING and ORDER BY)"
            )));
        };
        if self.in_agg.get() {
            return Err(Error::sql(format!("{pos}: aggregate calls cannot be nested")));
        }
        let mut func = AggFunc::from_name(upper).expect("checked by the caller");
        let FunctionArguments::List(list) = &f.args else {
            return Err(Error::sql(format!("{pos}: {upper} needs an argument")));
        };
        if f.over.is_some() || f.filter.is_some() || !list.clauses.is_empty() {
            return Err(Error::sql(format!("{pos}: unsupported aggregate call '{f}'")));
        }
        let distinct = match list.duplicate_treatment {
            Some(sq::DuplicateTreatment::Distinct) => true,
            Some(sq::DuplicateTreatment::All) | None => false,
        };
        let arg = match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if func == AggFunc::Count && !distinct => {
                func = AggFunc::CountStar;
                None
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(e))] => {
                self.in_agg.set(true);
                let r = self.expr(e, pos_of(e, pos));
                self.in_agg.set(false);
                Some(settle(r?))
            }
            _ => {
                return Err(Error::sql(format!(
                    "{pos}: {upper} takes exactly one argument{}",
                    if func == AggFunc::Count { " (or *)" } else { "" }
                )))
            }
        };
        if distinct {
            if func != AggFunc::Count {
                return Err(Error::sql(format!(
                    "{pos}: DISTINCT is supported only in COUNT(DISTINCT x)"
                )));
            }
            func = AggFunc::CountDistinct;
        }
        let arg_type = arg.as_ref().map(|a| a.data_type());
        if arg_type == Some(DataType::Null) {
            return Err(Error::schema(format!(
                "{pos}: cannot infer the type of {upper}(NULL); write CAST(NULL AS type)"
            )));
        }
        let result_type = func
            .result_type(arg_type.as_ref())
            .map_err(|m| Error::schema(format!("{pos}: {m}")))?;
        let call = AggCall {
            func,
            arg,
            result_type: result_type.clone(),
        };
        let mut calls = calls.borrow_mut();
        let i = match calls.iter().position(|c| *c == call) {
            Some(i) => i,
            None => {
                calls.push(call);
                calls.len() - 1
            }
        };
        Ok(Expr::Column {
            index: first_aggregate_index(self.width()) + i,
            data_type: result_type,
        })
    }

    /// The side a qualifier names: an alias, else a stream name read once.
    fn side_of(&self, q: &str, pos: Pos) -> Result<usize> {
        let mut hits: Vec<usize> = (0..self.sides.len())
            .filter(|&i| self.sides[i].alias.as_ref().is_some_and(|a| a.matches(q)))
            .collect();
        if hits.is_empty() {
            hits = (0..self.sides.len())
                .filter(|&i| self.sides[i].stream.eq_ignore_ascii_case(q))
                .collect();
        }
        match hits.as_slice() {
            [i] if *i < self.visible => Ok(*i),
            [i] => Err(Error::sql(format!(
                "{pos}: '{}' is matched after this element of the pattern; a condition may name \
                 only the element itself and those before it",
                self.sides[*i].label()
            ))),
            [] => {
                let known: Vec<String> = self
                    .sides
                    .iter()
                    .map(|s| match &s.alias {
                        Some(a) if self.sides.len() == 1 => {
                            format!("'{}' or its alias '{}'", s.stream, a.value)
                        }
                        Some(a) => format!("'{}'", a.value),
                        None => format!("'{}'", s.stream),
                    })
                    .collect();
                Err(Error::sql(format!(
                    "{pos}: unknown stream or alias '{q}'; the query reads {}",
                    known.join(" and ")
                )))
            }
            _ => Err(Error::sql(format!(
                "{pos}: '{q}' names more than one stream of the query; use the aliases"
            ))),
        }
    }

    /// The column `id` (of side `qualifier`, if given): its index in the row
    /// layout and field.
    fn find(&self, qualifier: Option<usize>, id: &str) -> std::result::Result<(usize, &Field), Vec<usize>> {
        if let Some(q) = qualifier {
            return self.sides[q].find(id).ok_or_else(Vec::new);
        }
        if let Some(h) = self.home {
            if let Some(hit) = self.sides[h].find(id) {
                return Ok(hit);
            }
        }
        let hits: Vec<usize> = (0..self.visible)
            .filter(|&i| self.sides[i].find(id).is_some())
            .collect();
        match hits.as_slice() {
            [i] => Ok(self.sides[*i].find(id).unwrap()),
            _ => Err(hits),
        }
    }

    fn column(&self, qualifier: Option<&sq::Ident>, id: &sq::Ident, at: Pos) -> Result<Expr> {
        let side = match qualifier {
            Some(q) => Some(self.side_of(&q.value, ident_pos(q, at))?),
            None => None,
        };
        match self.find(side, &id.value) {
            Ok((index, f)) => Ok(Expr::Column {
                index,
                data_type: f.data_type().clone(),
            }),
            Err(hits) if hits.len() > 1 => {
                let names: Vec<String> = hits
                    .iter()
                    .map(|&i| format!("'{}'", self.sides[i].label()))
                    .collect();
                Err(Error::sql(format!(
                    "{}: column '{}' is ambiguous: {} all have it; qualify it (as in {}.{})",
                    ident_pos(id, at),
                    id.value,
                    names.join(" and "),
                    self.sides[hits[0]].label(),
                    id.value
                )))
            }
            Err(_) if side.is_none() && self.window_column(&id.value, at).is_some() => {
                self.window_column(&id.value, ident_pos(id, at)).unwrap()
            }
            Err(_) => {
                let sides: Vec<&Side> = match side {
                    Some(i) => vec![&self.sides[i]],
                    None => self.sides[..self.visible].iter().collect(),
                };
                let names: Vec<String> = sides
                    .iter()
                    .flat_map(|s| {
                        let qualify = self.sides.len() > 1;
                        s.schema.fields().iter().map(move |f| {
                            if qualify {
                                format!("{}.{}", s.label(), f.name())
                            } else {
                                f.name().clone()
                            }
                        })
                    })
                    .collect();
                let what = match sides.as_slice() {
                    [s] if self.sides.len() == 1 => format!("stream '{}'", s.stream),
                    [s] => format!("'{}' (stream '{}')", s.label(), s.stream),
                    _ => "the query's streams".to_string(),
                };
                Err(Error::sql(format!(
                    "{}: unknown column '{}' in {what} (columns: {})",
                    ident_pos(id, at),
                    id.value,
                    names.join(", ")
                )))
            }
        }
    }

    /// Every column of the visible sides (`*`), or of one side (`q.*`).
    fn push_all(&self, cols: &mut Vec<(String, Expr, Pos)>, only: Option<usize>, pos: Pos) {
        for (i, side) in self.sides[..self.visible].iter().enumerate() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            for (k, f) in side.schema.fields().iter().enumerate() {
                cols.push((
                    f.name().clone(),
                    Expr::Column {
                        index: side.offset + k,
                        data_type: f.data_type().clone(),
                    },
                    pos,
                ));
            }
        }
    }

    /// The declared name of a bare column reference (`c` or `s.c`).
    fn bare_column_name(&self, e: &SqlExpr) -> Option<String> {
        let (side, id) = match e {
            SqlExpr::Identifier(id) => (None, id),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => (
                Some(self.side_of(&parts[0].value, Pos::default()).ok()?),
                &parts[1],
            ),
            _ => return None,
        };
        self.find(side, &id.value).ok().map(|(_, f)| f.name().clone())
    }

    fn expr(&self, e: &SqlExpr, at: Pos) -> Result<Expr> {
        let pos = pos_of(e, at);
        match e {
            SqlExpr::Identifier(id) => self.column(None, id, pos),
            SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => self.column(Some(q), c, pos),
                _ => Err(Error::sql(format!("{pos}: invalid column reference '{e}'"))),
            },
            SqlExpr::Value(v) => value(&v.value, pos),
            SqlExpr::Nested(inner) => self.expr(inner, pos),
            SqlExpr::UnaryOp { op, expr } => self.unary(*op, expr, pos),
            SqlExpr::BinaryOp { left, op, right } => self.binary(left, op, right, pos),
            SqlExpr::IsNull(x) => Ok(is_null(settle(self.expr(x, pos)?))),
            SqlExpr::IsNotNull(x) => Ok(Expr::IsNull {
                arg: Box::new(settle(self.expr(x, pos)?)),
                negated: true,
            }),
            SqlExpr::IsUnknown(x) => Ok(is_null(self.boolean(x, pos, "IS UNKNOWN")?)),
            SqlExpr::IsNotUnknown(x) => Ok(Expr::IsNull {
                arg: Box::new(self.boolean(x, pos, "IS NOT UNKNOWN")?),
                negated: true,
            }),
            SqlExpr::IsTrue(x) => Ok(coalesce_false(self.boolean(x, pos, "IS TRUE")?)),
            SqlExpr::IsNotTrue(x) => Ok(not(coalesce_false(self.boolean(x, pos, "IS NOT TRUE")?))),
            SqlExpr::IsFalse(x) => Ok(coalesce_false(not(self.boolean(x, pos, "IS FALSE")?))),
            SqlExpr::IsNotFalse(x) => Ok(not(coalesce_false(not(self.boolean(x, pos, "IS NOT FALSE")?)))),
            SqlExpr::IsDistinctFrom(a, b) => self.distinct_from(a, b, pos),
            SqlExpr::IsNotDistinctFrom(a, b) => Ok(not(self.distinct_from(a, b, pos)?)),
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.expr(expr, pos)?;
                let lo = self.expr(low, pos_of(low, pos))?;
                let hi = self.expr(high, pos_of(high, pos))?;
                let (sym, lo_op, hi_op, join) = if *negated {
                    ("NOT BETWEEN", BinaryOp::Lt, BinaryOp::Gt, BinaryOp::Or)
                } else {
                    ("BETWEEN", BinaryOp::GtEq, BinaryOp::LtEq, BinaryOp::And)
                };
                let a = compare(lo_op, sym, x.clone(), lo, pos)?;
                let b = compare(hi_op, sym, x, hi, pos)?;
                Ok(bin(join, a, b))
            }
            SqlExpr::InList { expr, list, negated } => {
                let arg = self.expr(expr, pos)?;
                let mut t = arg.data_type();
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    let ipos = pos_of(item, pos);
                    let it = self.expr(item, ipos)?;
                    let it_t = it.data_type();
                    t = compare_type(&t, &it_t).ok_or_else(|| {
                        Error::schema(format!(
                            "{ipos}: IN list item of type {} does not match {}",
                            type_name(&it_t),
                            type_name(&t)
                        ))
                    })?;
                    items.push(it);
                }
                if t == DataType::Null {
                    t = DataType::Boolean;
                }
                Ok(Expr::InList {
                    arg: Box::new(coerce(arg, &t)),
                    list: items.into_iter().map(|i| coerce(i, &t)).collect(),
                    negated: *negated,
                })
            }
            SqlExpr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => self.like(*negated, *any, expr, pattern, escape_char.is_some(), false, pos),
            SqlExpr::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => self.like(*negated, *any, expr, pattern, escape_char.is_some(), true, pos),
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => self.case(operand.as_deref(), conditions, else_result.as_deref(), pos),
            SqlExpr::Cast {
                expr,
                data_type,
                format,
                ..
            } => {
                if format.is_some() {
                    return Err(Error::sql(format!("{pos}: CAST ... FORMAT is not supported")));
                }
                let to = sql_type(data_type, pos)?.to_arrow();
                let arg = self.expr(expr, pos)?;
                // BOOL <-> TIMESTAMP has no cast at run time (src/expr/eval/
                // cast.rs): refuse it here, or the query failed on every row
                // (found by the sql_grammar fuzz target).
                let from = arg.data_type();
                if (from == DataType::Boolean && is_timestamp(&to))
                    || (is_timestamp(&from) && to == DataType::Boolean)
                {
                    return Err(Error::schema(format!(
                        "{pos}: cannot CAST {} to {}",
                        type_name(&from),
                        type_name(&to)
                    )));
                }
                Ok(coerce(arg, &to))
            }
            SqlExpr::Function(f) => self.function(f, pos),
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![expr.as_ref()];
                args.extend(substring_from.as_deref());
                args.extend(substring_for.as_deref());
                self.call("SUBSTRING", "SUBSTRING", &args, pos)
            }
            SqlExpr::Floor { expr, field } => {
                check_ceil_floor(field, "FLOOR", pos)?;
                self.call("FLOOR", "FLOOR", &[expr.as_ref()], pos)
            }
            SqlExpr::Ceil { expr, field } => {
                check_ceil_floor(field, "CEIL", pos)?;
                self.call("CEIL", "CEIL", &[expr.as_ref()], pos)
            }
            SqlExpr::Interval(iv) => interval(iv, pos),
            other => Err(Error::sql(format!("{pos}: unsupported expression '{other}'"))),
        }
    }

    fn boolean(&self, e: &SqlExpr, at: Pos, what: &str) -> Result<Expr> {
        let pos = pos_of(e, at);
        expect_bool(self.expr(e, pos)?, what, pos)
    }

    fn unary(&self, op: SqUnOp, inner: &SqlExpr, pos: Pos) -> Result<Expr> {
        match op {
            SqUnOp::Minus => {
                if let SqlExpr::Value(v) = inner {
                    if let Value::Number(n, _) = &v.value {
                        return number_literal(n, true, pos);
                    }
                }
                let a = self.expr(inner, pos)?;
                if is_untyped(&a) {
                    return Ok(a);
                }
                let t = a.data_type();
                if !is_numeric(&t) {
                    return Err(Error::schema(format!(
                        "{pos}: operator '-' needs a number, got {}",
                        type_name(&t)
                    )));
                }
                Ok(match a {
                    Expr::Literal(Scalar::Int(i)) if i != i32::MIN => Expr::Literal(Scalar::Int(-i)),
                    Expr::Literal(Scalar::BigInt(i)) if i != i64::MIN => Expr::Literal(Scalar::BigInt(-i)),
                    Expr::Literal(Scalar::Float(f)) => Expr::Literal(Scalar::Float(-f)),
                    Expr::Literal(Scalar::Double(d)) => Expr::Literal(Scalar::Double(-d)),
                    a => Expr::Unary {
                        op: UnaryOp::Neg,
                        arg: Box::new(a),
                    },
                })
            }
            SqUnOp::Plus => {
                let a = self.expr(inner, pos)?;
                let t = a.data_type();
                if is_untyped(&a) || is_numeric(&t) {
                    Ok(a)
                } else {
                    Err(Error::schema(format!(
                        "{pos}: operator '+' needs a number, got {}",
                        type_name(&t)
                    )))
                }
            }
            SqUnOp::Not => {
                let ipos = pos_of(inner, pos);
                Ok(not(expect_bool(self.expr(inner, ipos)?, "operator 'NOT'", ipos)?))
            }
            other => Err(Error::sql(format!("{pos}: unsupported operator '{other}'"))),
        }
    }

    fn binary(&self, left: &SqlExpr, op: &SqBinOp, right: &SqlExpr, pos: Pos) -> Result<Expr> {
        let (arith_op, cmp_op, sym) = match op {
            SqBinOp::Plus => (Some(BinaryOp::Add), None, "+"),
            SqBinOp::Minus => (Some(BinaryOp::Sub), None, "-"),
            SqBinOp::Multiply => (Some(BinaryOp::Mul), None, "*"),
            SqBinOp::Divide => (Some(BinaryOp::Div), None, "/"),
            SqBinOp::Modulo => (Some(BinaryOp::Mod), None, "%"),
            SqBinOp::Eq => (None, Some(BinaryOp::Eq), "="),
            SqBinOp::NotEq => (None, Some(BinaryOp::NotEq), "<>"),
            SqBinOp::Lt => (None, Some(BinaryOp::Lt), "<"),
            SqBinOp::LtEq => (None, Some(BinaryOp::LtEq), "<="),
            SqBinOp::Gt => (None, Some(BinaryOp::Gt), ">"),
            SqBinOp::GtEq => (None, Some(BinaryOp::GtEq), ">="),
            SqBinOp::And | SqBinOp::Or | SqBinOp::StringConcat => (None, None, ""),
            other => return Err(Error::sql(format!("{pos}: unsupported operator '{other}'"))),
        };
        let lpos = pos_of(left, pos);
        let rpos = pos_of(right, pos);
        let l = self.expr(left, lpos)?;
        let r = self.expr(right, rpos)?;
        if let Some(op) = arith_op {
            return arith(op, sym, l, r, pos);
        }
        if let Some(op) = cmp_op {
            return compare(op, sym, l, r, pos);
        }
        match op {
            SqBinOp::And => Ok(bin(
                BinaryOp::And,
                expect_bool(l, "operator 'AND'", lpos)?,
                expect_bool(r, "operator 'AND'", rpos)?,
            )),
            SqBinOp::Or => Ok(bin(
                BinaryOp::Or,
                expect_bool(l, "operator 'OR'", lpos)?,
                expect_bool(r, "operator 'OR'", rpos)?,
            )),
            _ => Ok(bin(BinaryOp::Concat, to_string(l), to_string(r))),
        }
    }

    fn distinct_from(&self, a: &SqlExpr, b: &SqlExpr, pos: Pos) -> Result<Expr> {
        let l = self.expr(a, pos)?;
        let r = self.expr(b, pos_of(b, pos))?;
        let ne = compare(BinaryOp::NotEq, "IS DISTINCT FROM", l, r, pos)?;
        let Expr::Binary { left, right, .. } = &ne else {
            unreachable!()
        };
        let (l, r) = ((**left).clone(), (**right).clone());
        Ok(Expr::Case {
            branches: vec![
                (is_null(l), not(is_null(r.clone()))),
                (is_null(r), Expr::Literal(Scalar::Bool(true))),
            ],
            else_expr: Some(Box::new(ne)),
            data_type: DataType::Boolean,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn like(
        &self,
        negated: bool,
        any: bool,
        expr: &SqlExpr,
        pattern: &SqlExpr,
        has_escape: bool,
        case_insensitive: bool,
        pos: Pos,
    ) -> Result<Expr> {
        let what = if case_insensitive { "ILIKE" } else { "LIKE" };
        if any || has_escape {
            return Err(Error::sql(format!(
                "{pos}: {what} ANY and ESCAPE are not supported"
            )));
        }
        let ppos = pos_of(pattern, pos);
        let arg = expect_string(self.expr(expr, pos)?, what, pos)?;
        let pattern = expect_string(self.expr(pattern, ppos)?, what, ppos)?;
        Ok(Expr::Like {
            arg: Box::new(arg),
            pattern: Box::new(pattern),
            negated,
            case_insensitive,
        })
    }

    fn case(
        &self,
        operand: Option<&SqlExpr>,
        conditions: &[sq::CaseWhen],
        else_result: Option<&SqlExpr>,
        pos: Pos,
    ) -> Result<Expr> {
        let operand = operand.map(|o| self.expr(o, pos)).transpose()?;
        let mut conds = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len());
        for w in conditions {
            let cpos = pos_of(&w.condition, pos);
            let c = self.expr(&w.condition, cpos)?;
            conds.push(match &operand {
                Some(x) => compare(BinaryOp::Eq, "CASE ... WHEN", x.clone(), c, cpos)?,
                None => expect_bool(c, "CASE WHEN condition", cpos)?,
            });
            let rpos = pos_of(&w.result, pos);
            results.push((self.expr(&w.result, rpos)?, rpos));
        }
        let else_e = match else_result {
            Some(e) => {
                let epos = pos_of(e, pos);
                Some((self.expr(e, epos)?, epos))
            }
            None => None,
        };
        let mut t = DataType::Null;
        for (r, rpos) in results.iter().chain(else_e.iter()) {
            let rt = r.data_type();
            t = unify(&t, &rt).ok_or_else(|| {
                Error::schema(format!(
                    "{rpos}: CASE branches have incompatible types {} and {}",
                    type_name(&t),
                    type_name(&rt)
                ))
            })?;
        }
        if t == DataType::Null {
            return Err(Error::schema(format!(
                "{pos}: cannot infer the type of CASE (every branch is NULL); write CAST(NULL AS type)"
            )));
        }
        Ok(Expr::Case {
            branches: conds
                .into_iter()
                .zip(results)
                .map(|(c, (r, _))| (c, coerce(r, &t)))
                .collect(),
            else_expr: else_e.map(|(e, _)| Box::new(coerce(e, &t))),
            data_type: t,
        })
    }

    fn function(&self, f: &sq::Function, pos: Pos) -> Result<Expr> {
        let written = f.name.to_string();
        let upper = written.to_ascii_uppercase();
        if AggFunc::from_name(&upper).is_some() {
            return self.aggregate(f, &upper, pos);
        }
        if !is_known_function(&upper) {
            return Err(Error::sql(format!("{pos}: unknown function '{written}'")));
        }
        if f.over.is_some()
            || f.filter.is_some()
            || f.null_treatment.is_some()
            || !f.within_group.is_empty()
            || !matches!(f.parameters, FunctionArguments::None)
        {
            return Err(Error::sql(format!("{pos}: unsupported function call '{f}'")));
        }
        let args: Vec<&SqlExpr> = match &f.args {
            FunctionArguments::None => Vec::new(),
            FunctionArguments::Subquery(_) => {
                return Err(Error::sql(format!("{pos}: subqueries are not supported")))
            }
            FunctionArguments::List(list) => {
                if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                    return Err(Error::sql(format!("{pos}: unsupported function call '{f}'")));
                }
                list.args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Ok(e),
                        other => Err(Error::sql(format!(
                            "{pos}: unsupported argument '{other}' to function {written}"
                        ))),
                    })
                    .collect::<Result<_>>()?
            }
        };
        self.call(&upper, &written, &args, pos)
    }

    /// A scalar function by upper-cased name (`written` is for messages).
    fn call(&self, name: &str, written: &str, args: &[&SqlExpr], pos: Pos) -> Result<Expr> {
        let arity = |min: usize, max: usize| -> Result<()> {
            let n = args.len();
            if n >= min && n <= max {
                return Ok(());
            }
            let want = if min == max {
                format!("{min} argument{}", plural(min))
            } else if max == usize::MAX {
                format!("at least {min} argument{}", plural(min))
            } else {
                format!("{min} to {max} arguments")
            };
            Err(Error::sql(format!(
                "{pos}: function {name} takes {want}, got {n}"
            )))
        };
        if !is_known_function(name) {
            return Err(Error::sql(format!("{pos}: unknown function '{written}'")));
        }
        // Typed arguments with their positions.
        let mut typed = Vec::with_capacity(args.len());
        for a in args {
            let apos = pos_of(a, pos);
            typed.push((self.expr(a, apos)?, apos));
        }
        let func = |func: Func, args: Vec<Expr>, data_type: DataType| Expr::Function {
            func,
            args,
            data_type,
        };
        let what = format!("function {name}");
        match name {
            "COALESCE" => {
                arity(1, usize::MAX)?;
                let mut t = DataType::Null;
                for (a, apos) in &typed {
                    let at = a.data_type();
                    t = unify(&t, &at).ok_or_else(|| {
                        Error::schema(format!(
                            "{apos}: COALESCE arguments have incompatible types {} and {}",
                            type_name(&t),
                            type_name(&at)
                        ))
                    })?;
                }
                if t == DataType::Null {
                    return Err(Error::schema(format!(
                        "{pos}: cannot infer the type of COALESCE (every argument is NULL); \
                         write CAST(NULL AS type)"
                    )));
                }
                let args = typed.into_iter().map(|(a, _)| coerce(a, &t)).collect();
                Ok(func(Func::Coalesce, args, t))
            }
            "UPPER" | "LOWER" | "LENGTH" | "CHAR_LENGTH" | "CHARACTER_LENGTH" => {
                arity(1, 1)?;
                let (a, apos) = typed.pop().unwrap();
                let a = expect_string(a, &what, apos)?;
                Ok(match name {
                    "UPPER" => func(Func::Upper, vec![a], DataType::Utf8),
                    "LOWER" => func(Func::Lower, vec![a], DataType::Utf8),
                    _ => func(Func::Length, vec![a], DataType::Int32),
                })
            }
            "CONCAT" => {
                arity(1, usize::MAX)?;
                let args = typed.into_iter().map(|(a, _)| to_string(a)).collect();
                Ok(func(Func::Concat, args, DataType::Utf8))
            }
            "SUBSTRING" | "SUBSTR" => {
                arity(2, 3)?;
                let mut it = typed.into_iter();
                let (s, spos) = it.next().unwrap();
                let mut out = vec![expect_string(s, &what, spos)?];
                for (a, apos) in it {
                    out.push(expect_integer(a, &what, apos)?);
                }
                Ok(func(Func::Substring, out, DataType::Utf8))
            }
            "ABS" | "FLOOR" | "CEIL" | "CEILING" => {
                arity(1, 1)?;
                let (a, apos) = typed.pop().unwrap();
                let a = expect_number(a, &what, apos)?;
                let t = a.data_type();
                let f = match name {
                    "ABS" => Func::Abs,
                    "FLOOR" => Func::Floor,
                    _ => Func::Ceil,
                };
                Ok(func(f, vec![a], t))
            }
            "ROUND" => {
                arity(1, 2)?;
                let mut it = typed.into_iter();
                let (x, xpos) = it.next().unwrap();
                let x = expect_number(x, &what, xpos)?;
                let t = x.data_type();
                let mut out = vec![x];
                if let Some((d, dpos)) = it.next() {
                    out.push(coerce(expect_integer(d, &what, dpos)?, &DataType::Int32));
                }
                Ok(func(Func::Round, out, t))
            }
            "SQRT" => {
                arity(1, 1)?;
                let (a, apos) = typed.pop().unwrap();
                let a = to_double(a, &what, apos)?;
                Ok(func(Func::Sqrt, vec![a], DataType::Float64))
            }
            _ => {
                // POWER / POW
                arity(2, 2)?;
                let args = typed
                    .into_iter()
                    .map(|(a, apos)| to_double(a, &what, apos))
                    .collect::<Result<Vec<_>>>()?;
                Ok(func(Func::Power, args, DataType::Float64))
            }
        }
    }
}

/// Scalar functions the analyzer knows (upper-case names).
fn is_known_function(name: &str) -> bool {
    matches!(
        name,
        "COALESCE"
            | "UPPER"
            | "LOWER"
            | "LENGTH"
            | "CHAR_LENGTH"
            | "CHARACTER_LENGTH"
            | "CONCAT"
            | "SUBSTRING"
            | "SUBSTR"
            | "ABS"
            | "ROUND"
            | "FLOOR"
            | "CEIL"
            | "CEILING"
            | "SQRT"
            | "POWER"
            | "POW"
    )
}

fn ident_pos(id: &sq::Ident, at: Pos) -> Pos {
    if id.span.start.line == 0 {
        at
    } else {
        id.span.start.into()
    }
}

/// An untyped NULL becomes a BOOL NULL (for IS NULL and friends).
fn settle(e: Expr) -> Expr {
    if is_untyped(&e) {
        null_of(DataType::Boolean)
    } else {
        e
    }
}

/// `COALESCE(e, FALSE)`: TRUE only when `e` is TRUE.
fn coalesce_false(e: Expr) -> Expr {
    Expr::Function {
        func: Func::Coalesce,
        args: vec![e, Expr::Literal(Scalar::Bool(false))],
        data_type: DataType::Boolean,
    }
}

fn expect_bool(e: Expr, what: &str, pos: Pos) -> Result<Expr> {
    match e.data_type() {
        DataType::Boolean => Ok(e),
        DataType::Null => Ok(null_of(DataType::Boolean)),
        t => Err(Error::schema(format!(
            "{pos}: {what} needs BOOL, got {}",
            type_name(&t)
        ))),
    }
}

fn expect_string(e: Expr, what: &str, pos: Pos) -> Result<Expr> {
    match e.data_type() {
        DataType::Utf8 => Ok(e),
        DataType::Null => Ok(null_of(DataType::Utf8)),
        t => Err(Error::schema(format!(
            "{pos}: {what} needs STRING, got {}",
            type_name(&t)
        ))),
    }
}

fn expect_integer(e: Expr, what: &str, pos: Pos) -> Result<Expr> {
    match e.data_type() {
        DataType::Int32 | DataType::Int64 => Ok(e),
        DataType::Null => Ok(null_of(DataType::Int32)),
        t => Err(Error::schema(format!(
            "{pos}: {what} needs INT or BIGINT, got {}",
            type_name(&t)
        ))),
    }
}

fn expect_number(e: Expr, what: &str, pos: Pos) -> Result<Expr> {
    let t = e.data_type();
    if is_numeric(&t) {
        Ok(e)
    } else if t == DataType::Null {
        Err(Error::schema(format!(
            "{pos}: cannot infer the type of NULL for {what}; write CAST(NULL AS type)"
        )))
    } else {
        Err(Error::schema(format!(
            "{pos}: {what} needs a number, got {}",
            type_name(&t)
        )))
    }
}

fn to_double(e: Expr, what: &str, pos: Pos) -> Result<Expr> {
    let t = e.data_type();
    if is_numeric(&t) || t == DataType::Null {
        Ok(coerce(e, &DataType::Float64))
    } else {
        Err(Error::schema(format!(
            "{pos}: {what} needs a number, got {}",
            type_name(&t)
        )))
    }
}

/// Operand of `||` / CONCAT: non-strings are cast to STRING.
fn to_string(e: Expr) -> Expr {
    coerce(e, &DataType::Utf8)
}

fn arith(op: BinaryOp, sym: &str, l: Expr, r: Expr, pos: Pos) -> Result<Expr> {
    let (lt, rt) = (l.data_type(), r.data_type());
    // An untyped NULL takes the other side's type (BIGINT next to TIMESTAMP).
    let fill = |t: &DataType| {
        if is_numeric(t) {
            Some(null_of(t.clone()))
        } else if is_timestamp(t) {
            Some(null_of(DataType::Int64))
        } else {
            None
        }
    };
    let (l, r) = match (is_untyped(&l), is_untyped(&r)) {
        (true, false) => match fill(&rt) {
            Some(n) => (n, r),
            None => (l, r),
        },
        (false, true) => match fill(&lt) {
            Some(n) => (l, n),
            None => (l, r),
        },
        _ => (l, r),
    };
    let (lt, rt) = (l.data_type(), r.data_type());
    if is_numeric(&lt) && is_numeric(&rt) {
        let t = promote(&lt, &rt);
        return Ok(bin(op, coerce(l, &t), coerce(r, &t)));
    }
    let ts = timestamp();
    let i64t = DataType::Int64;
    match op {
        BinaryOp::Add | BinaryOp::Sub if is_timestamp(&lt) && is_integer(&rt) => {
            Ok(coerce(bin(op, coerce(l, &i64t), coerce(r, &i64t)), &ts))
        }
        BinaryOp::Add if is_integer(&lt) && is_timestamp(&rt) => {
            Ok(coerce(bin(op, coerce(l, &i64t), coerce(r, &i64t)), &ts))
        }
        BinaryOp::Sub if is_timestamp(&lt) && is_timestamp(&rt) => {
            Ok(bin(op, coerce(l, &i64t), coerce(r, &i64t)))
        }
        _ => Err(Error::schema(format!(
            "{pos}: operator '{sym}' needs numbers, got {} and {}",
            type_name(&lt),
            type_name(&rt)
        ))),
    }
}

fn compare(op: BinaryOp, sym: &str, l: Expr, r: Expr, pos: Pos) -> Result<Expr> {
    let (lt, rt) = (l.data_type(), r.data_type());
    let t = compare_type(&lt, &rt).ok_or_else(|| {
        Error::schema(format!(
            "{pos}: operator '{sym}' cannot compare {} with {}",
            type_name(&lt),
            type_name(&rt)
        ))
    })?;
    Ok(bin(op, coerce(l, &t), coerce(r, &t)))
}

fn value(v: &Value, pos: Pos) -> Result<Expr> {
    Ok(Expr::Literal(match v {
        Value::Number(n, _) => return number_literal(n, false, pos),
        Value::SingleQuotedString(s) => Scalar::String(s.clone()),
        Value::Boolean(b) => Scalar::Bool(*b),
        Value::Null => Scalar::Null(DataType::Null),
        other => return Err(Error::sql(format!("{pos}: unsupported literal {other}"))),
    }))
}

/// The stream type named in a CAST.
fn sql_type(t: &sq::DataType, pos: Pos) -> Result<SqlType> {
    let written = t.to_string();
    let base = written.split('(').next().unwrap_or("").trim();
    SqlType::parse(base).ok_or_else(|| {
        Error::sql(format!(
            "{pos}: unsupported type '{written}' (expected BOOL, INT, BIGINT, FLOAT, DOUBLE, \
             STRING, VARCHAR or TIMESTAMP)"
        ))
    })
}

fn check_ceil_floor(field: &CeilFloorKind, name: &str, pos: Pos) -> Result<()> {
    match field {
        CeilFloorKind::DateTimeField(DateTimeField::NoDateTime) => Ok(()),
        _ => Err(Error::sql(format!(
            "{pos}: {name} takes a single numeric argument"
        ))),
    }
}

/// `INTERVAL 'n' UNIT` / `INTERVAL 'n UNIT'` as a BIGINT of milliseconds.
pub(super) fn interval(iv: &sq::Interval, pos: Pos) -> Result<Expr> {
    let bad = || Error::sql(format!("{pos}: unsupported interval; write INTERVAL 'n' UNIT"));
    if iv.last_field.is_some() || iv.leading_precision.is_some() || iv.fractional_seconds_precision.is_some()
    {
        return Err(bad());
    }
    let (amount, unit_in_text) = match iv.value.as_ref() {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => {
                let parts: Vec<&str> = s.split_whitespace().collect();
                match parts.as_slice() {
                    [a] => (a.to_string(), None),
                    [a, u] => (a.to_string(), Some(u.to_string())),
                    _ => return Err(bad()),
                }
            }
            Value::Number(n, _) => (n.clone(), None),
            _ => return Err(bad()),
        },
        _ => return Err(bad()),
    };
    let unit = match (&iv.leading_field, unit_in_text) {
        (Some(f), None) => f.to_string(),
        (None, Some(u)) => u,
        _ => return Err(bad()),
    };
    let ms = interval_ms(&amount, &unit).map_err(|m| Error::sql(format!("{pos}: {m}")))?;
    Ok(Expr::Literal(Scalar::BigInt(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use crate::sql::plan::OptionValue;
    use crate::sql::plan_statements;

    struct TestCatalog(Vec<(String, SchemaRef)>);

    impl Catalog for TestCatalog {
        fn stream(&self, name: &str) -> Option<(String, SchemaRef)> {
            self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).cloned()
        }
    }

    fn schema(cols: &[(&str, SqlType)]) -> SchemaRef {
        Arc::new(Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.to_arrow(), true))
                .collect::<Vec<_>>(),
        ))
    }

    fn catalog() -> TestCatalog {
        use SqlType::*;
        TestCatalog(vec![
            (
                "Trades".into(),
                schema(&[
                    ("sym", String),
                    ("price", Double),
                    ("qty", Int),
                    ("ts", Timestamp),
                    ("big", BigInt),
                    ("f", Float),
                    ("ok", Bool),
                ]),
            ),
            (
                "Sink".into(),
                schema(&[("a", BigInt), ("b", Double), ("c", Timestamp)]),
            ),
        ])
    }

    fn plans(sql: &str) -> Vec<Plan> {
        plan_statements(sql, &catalog()).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn err(sql: &str) -> Error {
        match plan_statements(sql, &catalog()) {
            Ok(p) => panic!("{sql}: expected an error, got {p:?}"),
            Err(e) => e,
        }
    }

    /// Asserts status and that the message starts with `prefix`.
    fn assert_err(sql: &str, status: Status, prefix: &str) {
        let e = err(sql);
        assert_eq!(e.status, status, "{sql}: {e}");
        assert!(
            e.message.starts_with(prefix),
            "{sql}:\n  got  {}\n  want {prefix}...",
            e.message
        );
    }

    fn query(sql: &str) -> QueryPlan {
        let mut v = plans(sql);
        assert_eq!(v.len(), 1);
        match v.pop().unwrap() {
            Plan::Insert(q) => {
                // The projection's types are the output schema's.
                assert_eq!(q.projection.len(), q.output_schema.fields().len());
                for (e, f) in q.projection.iter().zip(q.output_schema.fields().iter()) {
                    assert_eq!(&e.data_type(), f.data_type(), "{sql}: column {}", f.name());
                }
                if let Some(f) = &q.filter {
                    assert_eq!(f.data_type(), DataType::Boolean);
                }
                q
            }
            other => panic!("not an insert: {other:?}"),
        }
    }

    fn select(items: &str) -> QueryPlan {
        query(&format!("INSERT INTO O SELECT {items} FROM Trades"))
    }

    /// The single projected expression of `SELECT item FROM Trades`.
    fn proj(item: &str) -> Expr {
        let mut q = select(item);
        assert_eq!(q.projection.len(), 1);
        q.projection.pop().unwrap()
    }

    fn names(s: &SchemaRef) -> Vec<String> {
        s.fields().iter().map(|f| f.name().clone()).collect()
    }

    fn col(index: usize, t: SqlType) -> Expr {
        Expr::Column {
            index,
            data_type: t.to_arrow(),
        }
    }
    fn sym() -> Expr {
        col(0, SqlType::String)
    }
    fn price() -> Expr {
        col(1, SqlType::Double)
    }
    fn qty() -> Expr {
        col(2, SqlType::Int)
    }
    fn ts() -> Expr {
        col(3, SqlType::Timestamp)
    }
    fn big() -> Expr {
        col(4, SqlType::BigInt)
    }
    fn fl() -> Expr {
        col(5, SqlType::Float)
    }
    fn ok() -> Expr {
        col(6, SqlType::Bool)
    }
    fn lit(s: Scalar) -> Expr {
        Expr::Literal(s)
    }
    fn cast(e: Expr, t: SqlType) -> Expr {
        Expr::Cast {
            arg: Box::new(e),
            to: t.to_arrow(),
        }
    }
    fn b(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        bin(op, l, r)
    }
    fn f(func: Func, args: Vec<Expr>, t: SqlType) -> Expr {
        Expr::Function {
            func,
            args,
            data_type: t.to_arrow(),
        }
    }

    // ---- CREATE STREAM ----------------------------------------------------

    #[test]
    fn create_stream_plan() {
        let v = plans("CREATE STREAM Quotes (Sym STRING, bid DOUBLE, at TIMESTAMP)");
        let Plan::CreateStream(c) = &v[0] else { panic!() };
        assert_eq!(c.name, "Quotes");
        assert!(!c.if_not_exists);
        assert_eq!(
            *c.schema,
            *schema(&[
                ("Sym", SqlType::String),
                ("bid", SqlType::Double),
                ("at", SqlType::Timestamp)
            ])
        );
        assert!(c.schema.fields().iter().all(|f| f.is_nullable()));
        assert!(c.options.is_empty());
    }

    #[test]
    fn create_stream_options_lowercased_with_positions() {
        let v = plans(
            "CREATE STREAM q (a INT)\n  WITH (Capacity = 1024, Policy = 'drop_oldest', LATENESS = INTERVAL '2 SECONDS', strict = TRUE, ratio = 0.5)",
        );
        let Plan::CreateStream(c) = &v[0] else { panic!() };
        let got: Vec<(&str, &OptionValue, u64, u64)> = c
            .options
            .iter()
            .map(|o| (o.key.as_str(), &o.value, o.line, o.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("capacity", &OptionValue::Integer(1024), 2, 9),
                ("policy", &OptionValue::String("drop_oldest".into()), 2, 26),
                ("lateness", &OptionValue::Interval(2000), 2, 50),
                ("strict", &OptionValue::Bool(true), 2, 83),
                ("ratio", &OptionValue::Number(0.5), 2, 98),
            ]
        );
    }

    #[test]
    fn create_existing_stream_is_an_error() {
        assert_err(
            "CREATE STREAM trades (a INT)",
            Status::Sql,
            "line 1:15: stream 'trades' already exists",
        );
    }

    #[test]
    fn create_if_not_exists_still_emits_plan() {
        let v = plans("CREATE STREAM IF NOT EXISTS Trades (a INT)");
        let Plan::CreateStream(c) = &v[0] else { panic!() };
        assert!(c.if_not_exists);
        assert_eq!(c.name, "Trades");
        // The existing stream stays visible to later statements.
        let v = plans("CREATE STREAM IF NOT EXISTS Trades (a INT); INSERT INTO o SELECT sym FROM trades");
        let Plan::Insert(q) = &v[1] else { panic!() };
        assert_eq!(q.input, "Trades");
    }

    #[test]
    fn create_duplicates_and_empty() {
        assert_err(
            "CREATE STREAM s (a INT, b INT, A STRING)",
            Status::Sql,
            "line 1:32: duplicate column 'A' in stream 's'",
        );
        assert_err(
            "CREATE STREAM s (a INT) WITH (k = 1, K = 2)",
            Status::Sql,
            "line 1:38: duplicate option 'K'",
        );
        assert_err(
            "CREATE STREAM s ()",
            Status::Sql,
            "line 1:15: stream 's' needs at least one column",
        );
    }

    #[test]
    fn create_twice_in_one_call() {
        assert_err(
            "CREATE STREAM s (a INT);\nCREATE STREAM S (b INT)",
            Status::Sql,
            "line 2:15: stream 'S' already exists",
        );
    }

    // ---- INSERT: names and schemas ----------------------------------------

    #[test]
    fn insert_creates_output() {
        let q = query(
            "INSERT INTO Big SELECT sym, price * qty AS notional, upper(sym) FROM Trades WHERE qty > 100",
        );
        assert_eq!(q.input, "Trades");
        assert_eq!(q.output, "Big");
        assert!(q.create_output);
        assert_eq!(
            q.sql,
            "INSERT INTO Big SELECT sym, price * qty AS notional, upper(sym) FROM Trades WHERE qty > 100"
        );
        assert_eq!(names(&q.output_schema), vec!["sym", "notional", "upper(sym)"]);
        let types: Vec<DataType> = q
            .output_schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types, vec![DataType::Utf8, DataType::Float64, DataType::Utf8]);
        assert!(q.output_schema.fields().iter().all(|f| f.is_nullable()));
        assert_eq!(q.projection[0], sym());
        assert_eq!(
            q.projection[1],
            b(BinaryOp::Mul, price(), cast(qty(), SqlType::Double))
        );
        assert_eq!(q.filter, Some(b(BinaryOp::Gt, qty(), lit(Scalar::Int(100)))));
    }

    #[test]
    fn names_are_case_insensitive_and_keep_declared_spelling() {
        let q = query("insert into OUT select SYM, Trades.PRICE, t.Qty from TRADES t");
        assert_eq!(q.input, "Trades");
        assert_eq!(q.output, "OUT");
        assert_eq!(names(&q.output_schema), vec!["sym", "price", "qty"]);
        assert_eq!(q.projection, vec![sym(), price(), qty()]);
    }

    #[test]
    fn wildcards_expand_to_all_columns() {
        let q = select("*");
        assert_eq!(
            names(&q.output_schema),
            vec!["sym", "price", "qty", "ts", "big", "f", "ok"]
        );
        assert_eq!(q.projection, vec![sym(), price(), qty(), ts(), big(), fl(), ok()]);
        let q = query("INSERT INTO o SELECT x.*, 1 AS one FROM Trades AS x");
        assert_eq!(q.projection.len(), 8);
        assert_eq!(q.projection[7], lit(Scalar::Int(1)));
        let q = query("INSERT INTO o SELECT trades.* FROM Trades");
        assert_eq!(q.projection.len(), 7);
        assert_err(
            "INSERT INTO o SELECT y.* FROM Trades x",
            Status::Sql,
            "line 1:22: unknown stream or alias 'y'",
        );
    }

    #[test]
    fn unknown_input_stream_is_not_found() {
        assert_err(
            "INSERT INTO o SELECT a FROM Nope",
            Status::NotFound,
            "line 1:29: unknown stream 'Nope'",
        );
    }

    #[test]
    fn unknown_column_lists_columns() {
        let e = err("INSERT INTO o SELECT sym,\n   prise FROM Trades");
        assert_eq!(e.status, Status::Sql);
        assert_eq!(
            e.message,
            "line 2:4: unknown column 'prise' in stream 'Trades' (columns: sym, price, qty, ts, big, f, ok)"
        );
    }

    #[test]
    fn qualifier_must_name_the_stream_or_alias() {
        assert_err(
            "INSERT INTO o SELECT q.sym FROM Trades t",
            Status::Sql,
            "line 1:22: unknown stream or alias 'q'",
        );
        assert_err(
            "INSERT INTO o SELECT a.b.c FROM Trades",
            Status::Sql,
            "line 1:22: invalid column reference 'a.b.c'",
        );
        // both the alias and the stream name work
        assert_eq!(select("Trades.qty").projection, vec![qty()]);
        assert_eq!(
            query("INSERT INTO o SELECT t.qty, trades.qty AS q2 FROM Trades t").projection,
            vec![qty(), qty()]
        );
    }

    #[test]
    fn self_loop_is_rejected() {
        assert_err(
            "INSERT INTO trades SELECT * FROM Trades",
            Status::Sql,
            "line 1:13: query reads and writes stream 'trades'",
        );
    }

    #[test]
    fn duplicate_output_names_suggest_as() {
        let e = err("INSERT INTO o SELECT qty, price, QTY FROM Trades");
        assert_eq!(e.status, Status::Sql);
        assert!(
            e.message.starts_with("line 1:34: duplicate output column 'qty'"),
            "{}",
            e.message
        );
        assert!(e.message.contains("AS"));
        assert_err(
            "INSERT INTO o SELECT *, sym FROM Trades",
            Status::Sql,
            "line 1:25: duplicate output column 'sym'",
        );
        assert_eq!(select("qty, qty AS qty2").projection.len(), 2);
    }

    #[test]
    fn bare_null_in_new_output_needs_a_type() {
        assert_err(
            "INSERT INTO o SELECT NULL AS n FROM Trades",
            Status::Schema,
            "line 1:22: cannot infer the type of column 1 'n'",
        );
        let p = proj("CAST(NULL AS BIGINT)");
        assert_eq!(p, lit(Scalar::Null(DataType::Int64)));
    }

    // ---- INSERT into an existing stream --------------------------------------

    #[test]
    fn existing_output_matches_by_position_with_widening() {
        // Sink(a BIGINT, b DOUBLE, c TIMESTAMP)
        let q = query("INSERT INTO sink SELECT qty AS x, f AS y, big AS z FROM Trades");
        assert_eq!(q.output, "Sink");
        assert!(!q.create_output);
        assert_eq!(names(&q.output_schema), vec!["a", "b", "c"]);
        assert_eq!(
            q.projection,
            vec![
                cast(qty(), SqlType::BigInt),
                cast(fl(), SqlType::Double),
                cast(big(), SqlType::Timestamp)
            ]
        );
        let q = query("INSERT INTO Sink SELECT ts, qty, ts FROM Trades");
        assert_eq!(
            q.projection,
            vec![cast(ts(), SqlType::BigInt), cast(qty(), SqlType::Double), ts()]
        );
        let q = query("INSERT INTO Sink SELECT big, big, NULL FROM Trades");
        assert_eq!(q.projection[1], cast(big(), SqlType::Double));
        assert_eq!(q.projection[2], lit(Scalar::Null(SqlType::Timestamp.to_arrow())));
        // literals are converted in place
        let q = query("INSERT INTO Sink SELECT 1, 2, ts FROM Trades");
        assert_eq!(
            q.projection[..2],
            [lit(Scalar::BigInt(1)), lit(Scalar::Double(2.0))]
        );
    }

    #[test]
    fn existing_output_type_mismatch_is_schema_error() {
        let e = err("INSERT INTO Sink SELECT big, sym, ts FROM Trades");
        assert_eq!(e.status, Status::Schema);
        assert_eq!(
            e.message,
            "line 1:30: column 2 'b' of stream 'Sink' is DOUBLE, but the query produces STRING"
        );
        // narrowing and INT -> TIMESTAMP are not implicit
        assert_err(
            "INSERT INTO Sink SELECT price, price, ts FROM Trades",
            Status::Schema,
            "line 1:25: column 1 'a' of stream 'Sink' is BIGINT, but the query produces DOUBLE",
        );
        assert_err(
            "INSERT INTO Sink SELECT big, price, qty FROM Trades",
            Status::Schema,
            "line 1:37: column 3 'c' of stream 'Sink' is TIMESTAMP, but the query produces INT",
        );
    }

    #[test]
    fn existing_output_column_count_mismatch() {
        assert_err(
            "INSERT INTO Sink SELECT big, price FROM Trades",
            Status::Schema,
            "line 1:13: stream 'Sink' has 3 column(s) but the query produces 2",
        );
    }

    // ---- multi-statement --------------------------------------------------------

    #[test]
    fn statements_see_earlier_streams_and_outputs() {
        let v = plans(
            "CREATE STREAM A (x INT, y STRING);\n\
             INSERT INTO B SELECT x * 2 AS x2, y FROM a;\n\
             INSERT INTO C SELECT x2 + 1 AS x3 FROM b WHERE y = 'k';\n\
             INSERT INTO b SELECT x, 'z' FROM A;",
        );
        assert_eq!(v.len(), 4);
        let Plan::Insert(q1) = &v[1] else { panic!() };
        assert!(q1.create_output);
        assert_eq!(q1.input, "A");
        let Plan::Insert(q2) = &v[2] else { panic!() };
        assert_eq!(q2.input, "B");
        assert_eq!(
            q2.projection,
            vec![b(BinaryOp::Add, col(0, SqlType::Int), lit(Scalar::Int(1)))]
        );
        let Plan::Insert(q3) = &v[3] else { panic!() };
        assert!(!q3.create_output);
        assert_eq!(q3.output, "B");
        assert_eq!(q3.sql, "INSERT INTO b SELECT x, 'z' FROM A");
    }

    #[test]
    fn error_in_a_later_statement_fails_the_call() {
        assert_err(
            "CREATE STREAM A (x INT);\nINSERT INTO B SELECT nope FROM A",
            Status::Sql,
            "line 2:22: unknown column 'nope' in stream 'A' (columns: x)",
        );
        // a stream created later in the call is not visible earlier
        assert_err(
            "INSERT INTO B SELECT x FROM A; CREATE STREAM A (x INT)",
            Status::NotFound,
            "line 1:29: unknown stream 'A'",
        );
    }

    // ---- WHERE --------------------------------------------------------------------

    #[test]
    fn where_must_be_bool() {
        assert_err(
            "INSERT INTO o SELECT sym FROM Trades WHERE qty + 1",
            Status::Schema,
            "line 1:44: WHERE condition must be BOOL, got INT",
        );
        let q = query("INSERT INTO o SELECT sym FROM Trades WHERE NULL");
        assert_eq!(q.filter, Some(lit(Scalar::Null(DataType::Boolean))));
        let q = query("INSERT INTO o SELECT sym FROM Trades WHERE ok");
        assert_eq!(q.filter, Some(ok()));
    }

    // ---- literals -----------------------------------------------------------------

    #[test]
    fn literal_types_and_folding() {
        assert_eq!(proj("1"), lit(Scalar::Int(1)));
        assert_eq!(proj("2147483647"), lit(Scalar::Int(i32::MAX)));
        assert_eq!(proj("2147483648"), lit(Scalar::BigInt(2_147_483_648)));
        assert_eq!(proj("-2147483648"), lit(Scalar::Int(i32::MIN)));
        assert_eq!(proj("-2147483649"), lit(Scalar::BigInt(-2_147_483_649)));
        assert_eq!(proj("-9223372036854775808"), lit(Scalar::BigInt(i64::MIN)));
        assert_eq!(proj("-(5)"), lit(Scalar::Int(-5)));
        assert_eq!(proj("1.5"), lit(Scalar::Double(1.5)));
        assert_eq!(proj("-1.5e3"), lit(Scalar::Double(-1500.0)));
        assert_eq!(proj("'it''s'"), lit(Scalar::String("it's".into())));
        assert_eq!(proj("TRUE"), lit(Scalar::Bool(true)));
        assert_eq!(proj("false"), lit(Scalar::Bool(false)));
        assert_eq!(
            proj("-qty"),
            Expr::Unary {
                op: UnaryOp::Neg,
                arg: Box::new(qty())
            }
        );
        assert_eq!(proj("+price"), price());
        assert_eq!(select("-1").output_schema.field(0).name(), "-1");
    }

    // ---- arithmetic ------------------------------------------------------------------

    #[test]
    fn numeric_promotion() {
        use BinaryOp::*;
        assert_eq!(proj("qty + 1"), b(Add, qty(), lit(Scalar::Int(1))));
        assert_eq!(proj("qty + big"), b(Add, cast(qty(), SqlType::BigInt), big()));
        assert_eq!(proj("big - qty"), b(Sub, big(), cast(qty(), SqlType::BigInt)));
        assert_eq!(
            proj("qty * 3000000000"),
            b(
                Mul,
                cast(qty(), SqlType::BigInt),
                lit(Scalar::BigInt(3_000_000_000))
            )
        );
        assert_eq!(proj("f * f"), b(Mul, fl(), fl()));
        assert_eq!(
            proj("f / qty"),
            b(Div, cast(fl(), SqlType::Double), cast(qty(), SqlType::Double))
        );
        assert_eq!(proj("f + price"), b(Add, cast(fl(), SqlType::Double), price()));
        assert_eq!(
            proj("qty % 2.5"),
            b(Mod, cast(qty(), SqlType::Double), lit(Scalar::Double(2.5)))
        );
        assert_eq!(proj("1 + 2"), b(Add, lit(Scalar::Int(1)), lit(Scalar::Int(2))));
        assert_eq!(
            proj("1 + 2.0"),
            b(Add, lit(Scalar::Double(1.0)), lit(Scalar::Double(2.0)))
        );
        assert_eq!(
            proj("qty + NULL"),
            b(Add, qty(), lit(Scalar::Null(DataType::Int32)))
        );
        assert_eq!(proj("(qty + 1) * 2").data_type(), DataType::Int32);
    }

    #[test]
    fn arithmetic_on_non_numbers_is_schema_error() {
        let e = err("INSERT INTO o SELECT sym + 1 FROM Trades");
        assert_eq!(e.status, Status::Schema);
        assert_eq!(
            e.message,
            "line 1:22: operator '+' needs numbers, got STRING and INT"
        );
        assert_err(
            "INSERT INTO o SELECT 1 * ok FROM Trades",
            Status::Schema,
            "line 1:22: operator '*' needs numbers, got INT and BOOL",
        );
        assert_err(
            "INSERT INTO o SELECT ts * 2 FROM Trades",
            Status::Schema,
            "line 1:22: operator '*' needs numbers, got TIMESTAMP and INT",
        );
        assert_err(
            "INSERT INTO o SELECT NULL + NULL FROM Trades",
            Status::Schema,
            "line 1:22: operator '+' needs numbers, got NULL and NULL",
        );
        assert_err(
            "INSERT INTO o SELECT -sym FROM Trades",
            Status::Schema,
            "line 1:23: operator '-' needs a number, got STRING",
        );
    }

    #[test]
    fn timestamp_arithmetic() {
        use BinaryOp::*;
        let tsb = || cast(ts(), SqlType::BigInt);
        assert_eq!(
            proj("ts + 1000"),
            cast(b(Add, tsb(), lit(Scalar::BigInt(1000))), SqlType::Timestamp)
        );
        assert_eq!(proj("ts - big"), cast(b(Sub, tsb(), big()), SqlType::Timestamp));
        assert_eq!(
            proj("qty + ts"),
            cast(b(Add, cast(qty(), SqlType::BigInt), tsb()), SqlType::Timestamp)
        );
        assert_eq!(proj("ts - ts"), b(Sub, tsb(), tsb()));
        assert_eq!(
            proj("ts + INTERVAL '5' SECOND"),
            cast(b(Add, tsb(), lit(Scalar::BigInt(5000))), SqlType::Timestamp)
        );
        assert_eq!(
            proj("ts - INTERVAL '1 minute'"),
            cast(b(Sub, tsb(), lit(Scalar::BigInt(60_000))), SqlType::Timestamp)
        );
        assert_err(
            "INSERT INTO o SELECT ts + ts FROM Trades",
            Status::Schema,
            "line 1:22: operator '+' needs numbers, got TIMESTAMP and TIMESTAMP",
        );
        assert_err(
            "INSERT INTO o SELECT 5 - ts FROM Trades",
            Status::Schema,
            "line 1:22: operator '-' needs numbers, got INT and TIMESTAMP",
        );
    }

    // ---- comparisons and logic ---------------------------------------------------------

    #[test]
    fn comparisons_coerce_both_sides() {
        use BinaryOp::*;
        assert_eq!(proj("price > 10"), b(Gt, price(), lit(Scalar::Double(10.0))));
        assert_eq!(proj("qty <> big"), b(NotEq, cast(qty(), SqlType::BigInt), big()));
        assert_eq!(
            proj("qty = 3000000000"),
            b(
                Eq,
                cast(qty(), SqlType::BigInt),
                lit(Scalar::BigInt(3_000_000_000))
            )
        );
        assert_eq!(
            proj("f <= 1.5"),
            b(LtEq, cast(fl(), SqlType::Double), lit(Scalar::Double(1.5)))
        );
        assert_eq!(
            proj("ts >= 0"),
            b(GtEq, cast(ts(), SqlType::BigInt), lit(Scalar::BigInt(0)))
        );
        assert_eq!(proj("ts < ts"), b(Lt, ts(), ts()));
        assert_eq!(proj("sym = 'A'"), b(Eq, sym(), lit(Scalar::String("A".into()))));
        assert_eq!(proj("ok = TRUE"), b(Eq, ok(), lit(Scalar::Bool(true))));
        assert_eq!(
            proj("sym = NULL"),
            b(Eq, sym(), lit(Scalar::Null(DataType::Utf8)))
        );
        let e = err("INSERT INTO o SELECT sym = 1 FROM Trades");
        assert_eq!(e.status, Status::Schema);
        assert_eq!(
            e.message,
            "line 1:22: operator '=' cannot compare STRING with INT"
        );
        assert_err(
            "INSERT INTO o SELECT ok < qty FROM Trades",
            Status::Schema,
            "line 1:22: operator '<' cannot compare BOOL with INT",
        );
    }

    #[test]
    fn logic_needs_bool() {
        use BinaryOp::*;
        assert_eq!(
            proj("ok AND qty > 1 OR NOT ok"),
            b(Or, b(And, ok(), b(Gt, qty(), lit(Scalar::Int(1)))), not(ok()))
        );
        assert_eq!(
            proj("ok OR NULL"),
            b(Or, ok(), lit(Scalar::Null(DataType::Boolean)))
        );
        assert_err(
            "INSERT INTO o SELECT ok AND qty FROM Trades",
            Status::Schema,
            "line 1:29: operator 'AND' needs BOOL, got INT",
        );
        assert_err(
            "INSERT INTO o SELECT NOT sym FROM Trades",
            Status::Schema,
            "line 1:26: operator 'NOT' needs BOOL, got STRING",
        );
    }

    #[test]
    fn string_concat_casts_operands() {
        assert_eq!(
            proj("sym || '!'"),
            b(BinaryOp::Concat, sym(), lit(Scalar::String("!".into())))
        );
        assert_eq!(
            proj("sym || qty"),
            b(BinaryOp::Concat, sym(), cast(qty(), SqlType::String))
        );
        assert_eq!(
            proj("NULL || sym"),
            b(BinaryOp::Concat, lit(Scalar::Null(DataType::Utf8)), sym())
        );
    }

    #[test]
    fn between_desugars() {
        use BinaryOp::*;
        assert_eq!(
            proj("qty BETWEEN 1 AND 10"),
            b(
                And,
                b(GtEq, qty(), lit(Scalar::Int(1))),
                b(LtEq, qty(), lit(Scalar::Int(10)))
            )
        );
        assert_eq!(
            proj("price NOT BETWEEN qty AND 2"),
            b(
                Or,
                b(Lt, price(), cast(qty(), SqlType::Double)),
                b(Gt, price(), lit(Scalar::Double(2.0)))
            )
        );
        assert_err(
            "INSERT INTO o SELECT sym BETWEEN 1 AND 2 FROM Trades",
            Status::Schema,
            "line 1:22: operator 'BETWEEN' cannot compare STRING with INT",
        );
    }

    #[test]
    fn in_list_coerces_to_common_type() {
        assert_eq!(
            proj("qty IN (1, 2)"),
            Expr::InList {
                arg: Box::new(qty()),
                list: vec![lit(Scalar::Int(1)), lit(Scalar::Int(2))],
                negated: false
            }
        );
        assert_eq!(
            proj("qty NOT IN (1, 2.5, NULL)"),
            Expr::InList {
                arg: Box::new(cast(qty(), SqlType::Double)),
                list: vec![
                    lit(Scalar::Double(1.0)),
                    lit(Scalar::Double(2.5)),
                    lit(Scalar::Null(DataType::Float64))
                ],
                negated: true
            }
        );
        assert_err(
            "INSERT INTO o SELECT sym IN ('a', 1) FROM Trades",
            Status::Schema,
            "line 1:35: IN list item of type INT does not match STRING",
        );
    }

    #[test]
    fn null_tests() {
        assert_eq!(
            proj("sym IS NULL"),
            Expr::IsNull {
                arg: Box::new(sym()),
                negated: false
            }
        );
        assert_eq!(
            proj("qty + 1 IS NOT NULL"),
            Expr::IsNull {
                arg: Box::new(b(BinaryOp::Add, qty(), lit(Scalar::Int(1)))),
                negated: true
            }
        );
        assert_eq!(
            proj("NULL IS NULL"),
            Expr::IsNull {
                arg: Box::new(lit(Scalar::Null(DataType::Boolean))),
                negated: false
            }
        );
        let fals = || lit(Scalar::Bool(false));
        assert_eq!(
            proj("ok IS TRUE"),
            f(Func::Coalesce, vec![ok(), fals()], SqlType::Bool)
        );
        assert_eq!(
            proj("ok IS NOT TRUE"),
            not(f(Func::Coalesce, vec![ok(), fals()], SqlType::Bool))
        );
        assert_eq!(
            proj("ok IS FALSE"),
            f(Func::Coalesce, vec![not(ok()), fals()], SqlType::Bool)
        );
        assert_err(
            "INSERT INTO o SELECT qty IS TRUE FROM Trades",
            Status::Schema,
            "line 1:22: IS TRUE needs BOOL, got INT",
        );
        assert_eq!(proj("qty IS DISTINCT FROM 1").data_type(), DataType::Boolean);
    }

    #[test]
    fn like_on_strings() {
        let like = |neg, ci| Expr::Like {
            arg: Box::new(sym()),
            pattern: Box::new(lit(Scalar::String("A%".into()))),
            negated: neg,
            case_insensitive: ci,
        };
        assert_eq!(proj("sym LIKE 'A%'"), like(false, false));
        assert_eq!(proj("sym NOT LIKE 'A%'"), like(true, false));
        assert_eq!(proj("sym ILIKE 'A%'"), like(false, true));
        assert_err(
            "INSERT INTO o SELECT qty LIKE '1%' FROM Trades",
            Status::Schema,
            "line 1:22: LIKE needs STRING, got INT",
        );
        assert_err(
            "INSERT INTO o SELECT sym LIKE 'a!%' ESCAPE '!' FROM Trades",
            Status::Sql,
            "line 1:22: LIKE ANY and ESCAPE are not supported",
        );
    }

    // ---- CASE / CAST ---------------------------------------------------------------

    #[test]
    fn searched_case_unifies_branches() {
        let e = proj("CASE WHEN qty > 10 THEN qty WHEN ok THEN 2.5 END");
        assert_eq!(
            e,
            Expr::Case {
                branches: vec![
                    (
                        b(BinaryOp::Gt, qty(), lit(Scalar::Int(10))),
                        cast(qty(), SqlType::Double)
                    ),
                    (ok(), lit(Scalar::Double(2.5))),
                ],
                else_expr: None,
                data_type: DataType::Float64,
            }
        );
        let e = proj("CASE WHEN ok THEN NULL ELSE big END");
        assert_eq!(e.data_type(), DataType::Int64);
        let Expr::Case { branches, .. } = &e else { panic!() };
        assert_eq!(branches[0].1, lit(Scalar::Null(DataType::Int64)));
    }

    #[test]
    fn simple_case_becomes_searched() {
        let e = proj("CASE sym WHEN 'a' THEN 1 WHEN 'b' THEN 2 ELSE 0 END");
        assert_eq!(
            e,
            Expr::Case {
                branches: vec![
                    (
                        b(BinaryOp::Eq, sym(), lit(Scalar::String("a".into()))),
                        lit(Scalar::Int(1))
                    ),
                    (
                        b(BinaryOp::Eq, sym(), lit(Scalar::String("b".into()))),
                        lit(Scalar::Int(2))
                    ),
                ],
                else_expr: Some(Box::new(lit(Scalar::Int(0)))),
                data_type: DataType::Int32,
            }
        );
    }

    #[test]
    fn case_errors() {
        assert_err(
            "INSERT INTO o SELECT CASE WHEN ok THEN 1 ELSE 'x' END FROM Trades",
            Status::Schema,
            "line 1:47: CASE branches have incompatible types INT and STRING",
        );
        assert_err(
            "INSERT INTO o SELECT CASE WHEN qty THEN 1 END FROM Trades",
            Status::Schema,
            "line 1:32: CASE WHEN condition needs BOOL, got INT",
        );
        assert_err(
            "INSERT INTO o SELECT CASE WHEN ok THEN NULL END FROM Trades",
            Status::Schema,
            "line 1:22: cannot infer the type of CASE",
        );
    }

    #[test]
    fn casts() {
        assert_eq!(proj("CAST(qty AS STRING)"), cast(qty(), SqlType::String));
        assert_eq!(proj("qty::bigint"), cast(qty(), SqlType::BigInt));
        assert_eq!(proj("CAST(sym AS VARCHAR(10))"), sym());
        assert_eq!(proj("CAST(price AS INTEGER)"), cast(price(), SqlType::Int));
        assert_eq!(proj("CAST(big AS timestamp)"), cast(big(), SqlType::Timestamp));
        assert_eq!(proj("CAST(qty AS INT)"), qty());
        assert_eq!(proj("CAST(1 AS BIGINT)"), lit(Scalar::BigInt(1)));
        assert_eq!(proj("CAST(1 AS DOUBLE PRECISION)"), lit(Scalar::Double(1.0)));
        assert_eq!(proj("CAST(1000 AS TIMESTAMP)"), lit(Scalar::Timestamp(1000)));
        assert_eq!(
            proj("CAST('12' AS INT)"),
            cast(lit(Scalar::String("12".into())), SqlType::Int)
        );
        assert_eq!(
            proj("CAST(qty AS TIMESTAMP)"),
            cast(cast(qty(), SqlType::BigInt), SqlType::Timestamp)
        );
        assert_err(
            "INSERT INTO o SELECT CAST(qty AS DECIMAL(10,2)) FROM Trades",
            Status::Sql,
            "line 1:27: unsupported type 'DECIMAL(10,2)'",
        );
    }

    // ---- functions ---------------------------------------------------------------------

    #[test]
    fn string_functions() {
        assert_eq!(proj("UPPER(sym)"), f(Func::Upper, vec![sym()], SqlType::String));
        assert_eq!(proj("lower(sym)"), f(Func::Lower, vec![sym()], SqlType::String));
        assert_eq!(proj("length(sym)"), f(Func::Length, vec![sym()], SqlType::Int));
        assert_eq!(
            proj("CHAR_LENGTH(sym)"),
            f(Func::Length, vec![sym()], SqlType::Int)
        );
        assert_eq!(
            proj("CONCAT(sym, '-', qty, NULL)"),
            f(
                Func::Concat,
                vec![
                    sym(),
                    lit(Scalar::String("-".into())),
                    cast(qty(), SqlType::String),
                    lit(Scalar::Null(DataType::Utf8))
                ],
                SqlType::String
            )
        );
        assert_err(
            "INSERT INTO o SELECT upper(qty) FROM Trades",
            Status::Schema,
            "line 1:28: function UPPER needs STRING, got INT",
        );
    }

    #[test]
    fn substring_both_syntaxes() {
        let want2 = f(Func::Substring, vec![sym(), lit(Scalar::Int(2))], SqlType::String);
        let want3 = f(
            Func::Substring,
            vec![sym(), lit(Scalar::Int(2)), big()],
            SqlType::String,
        );
        assert_eq!(proj("SUBSTRING(sym, 2)"), want2);
        assert_eq!(proj("SUBSTRING(sym FROM 2)"), want2);
        assert_eq!(proj("substring(sym, 2, big)"), want3);
        assert_eq!(proj("SUBSTRING(sym FROM 2 FOR big)"), want3);
        assert_err(
            "INSERT INTO o SELECT SUBSTRING(sym, 1.5) FROM Trades",
            Status::Schema,
            "line 1:37: function SUBSTRING needs INT or BIGINT, got DOUBLE",
        );
    }

    #[test]
    fn numeric_functions() {
        assert_eq!(proj("ABS(qty)"), f(Func::Abs, vec![qty()], SqlType::Int));
        assert_eq!(proj("abs(f)"), f(Func::Abs, vec![fl()], SqlType::Float));
        assert_eq!(
            proj("ROUND(price)"),
            f(Func::Round, vec![price()], SqlType::Double)
        );
        assert_eq!(
            proj("ROUND(price, 2)"),
            f(Func::Round, vec![price(), lit(Scalar::Int(2))], SqlType::Double)
        );
        assert_eq!(
            proj("ROUND(qty, big)"),
            f(Func::Round, vec![qty(), cast(big(), SqlType::Int)], SqlType::Int)
        );
        assert_eq!(
            proj("FLOOR(price)"),
            f(Func::Floor, vec![price()], SqlType::Double)
        );
        assert_eq!(proj("CEIL(f)"), f(Func::Ceil, vec![fl()], SqlType::Float));
        assert_eq!(proj("ceiling(big)"), f(Func::Ceil, vec![big()], SqlType::BigInt));
        assert_eq!(
            proj("SQRT(qty)"),
            f(Func::Sqrt, vec![cast(qty(), SqlType::Double)], SqlType::Double)
        );
        assert_eq!(
            proj("sqrt(4)"),
            f(Func::Sqrt, vec![lit(Scalar::Double(4.0))], SqlType::Double)
        );
        assert_eq!(
            proj("POWER(qty, 2)"),
            f(
                Func::Power,
                vec![cast(qty(), SqlType::Double), lit(Scalar::Double(2.0))],
                SqlType::Double
            )
        );
        assert_eq!(
            proj("pow(price, f)"),
            f(
                Func::Power,
                vec![price(), cast(fl(), SqlType::Double)],
                SqlType::Double
            )
        );
        assert_err(
            "INSERT INTO o SELECT ABS(sym) FROM Trades",
            Status::Schema,
            "line 1:26: function ABS needs a number, got STRING",
        );
        assert_err(
            "INSERT INTO o SELECT ABS(NULL) FROM Trades",
            Status::Schema,
            "line 1:26: cannot infer the type of NULL for function ABS",
        );
    }

    #[test]
    fn coalesce_common_type() {
        assert_eq!(
            proj("COALESCE(qty, big, 0)"),
            f(
                Func::Coalesce,
                vec![cast(qty(), SqlType::BigInt), big(), lit(Scalar::BigInt(0))],
                SqlType::BigInt
            )
        );
        assert_eq!(
            proj("coalesce(NULL, sym)"),
            f(
                Func::Coalesce,
                vec![lit(Scalar::Null(DataType::Utf8)), sym()],
                SqlType::String
            )
        );
        assert_err(
            "INSERT INTO o SELECT COALESCE(sym, 1) FROM Trades",
            Status::Schema,
            "line 1:36: COALESCE arguments have incompatible types STRING and INT",
        );
        assert_err(
            "INSERT INTO o SELECT COALESCE(NULL) FROM Trades",
            Status::Schema,
            "line 1:22: cannot infer the type of COALESCE",
        );
    }

    #[test]
    fn function_errors() {
        let e = err("INSERT INTO o SELECT frobnicate(qty) FROM Trades");
        assert_eq!(e.status, Status::Sql);
        assert_eq!(e.message, "line 1:22: unknown function 'frobnicate'");
        assert_err(
            "INSERT INTO o SELECT UPPER(sym, sym) FROM Trades",
            Status::Sql,
            "line 1:22: function UPPER takes 1 argument, got 2",
        );
        assert_err(
            "INSERT INTO o SELECT ROUND() FROM Trades",
            Status::Sql,
            "line 1:22: function ROUND takes 1 to 2 arguments, got 0",
        );
        assert_err(
            "INSERT INTO o SELECT CONCAT() FROM Trades",
            Status::Sql,
            "line 1:22: function CONCAT takes at least 1 argument, got 0",
        );
        assert_err(
            "INSERT INTO o SELECT countx(*) FROM Trades",
            Status::Sql,
            "line 1:22: unknown function 'countx'",
        );
        assert_err(
            "INSERT INTO o SELECT sum(sym) FROM Trades",
            Status::Schema,
            "line 1:22: SUM",
        );
        assert_err(
            "INSERT INTO o SELECT sum(max(price)) FROM Trades",
            Status::Sql,
            "line 1:26: aggregate calls cannot be nested",
        );
        assert_err(
            "INSERT INTO o SELECT sym FROM Trades WHERE count(*) > 1",
            Status::Sql,
            "line 1:44: aggregate COUNT is not allowed here",
        );
        assert_err(
            "INSERT INTO o SELECT sum(DISTINCT price) FROM Trades",
            Status::Sql,
            "line 1:22: DISTINCT is supported only in COUNT(DISTINCT x)",
        );
    }

    #[test]
    fn aggregates_share_calls_and_follow_the_layout() {
        let q = query(
            "INSERT INTO o SELECT sym, count(*) AS n, sum(qty) AS s FROM Trades GROUP BY sym \
             HAVING count(*) > 1 ORDER BY s DESC, 1 LIMIT 3 OFFSET 1",
        );
        let a = q.aggregate.as_ref().unwrap();
        assert_eq!(a.group_by, vec![sym()]);
        assert_eq!(a.calls.len(), 2, "COUNT(*) in HAVING reuses the SELECT's");
        assert_eq!(a.calls[0].func, AggFunc::CountStar);
        assert_eq!(a.calls[1].func, AggFunc::Sum);
        assert_eq!(a.calls[1].result_type, DataType::Int64);
        // Seven input columns, then window_start, window_end, _expired.
        assert_eq!(q.projection[1], col(10, SqlType::BigInt));
        assert_eq!(q.projection[2], col(11, SqlType::BigInt));
        assert!(matches!(q.order_by[0].key, SortExpr::Output(2)));
        assert!(q.order_by[0].descending && q.order_by[0].nulls_first);
        assert!(matches!(q.order_by[1].key, SortExpr::Output(0)));
        assert_eq!((q.limit, q.offset), (Some(3), 1));
    }

    #[test]
    fn nested_expressions_and_default_names() {
        let q = select("((qty + 1)) * 2, upper( sym ), price AS \"Price\"");
        assert_eq!(
            names(&q.output_schema),
            vec!["((qty + 1)) * 2", "upper( sym )", "Price"]
        );
        assert_eq!(
            q.projection[0],
            b(
                BinaryOp::Mul,
                b(BinaryOp::Add, qty(), lit(Scalar::Int(1))),
                lit(Scalar::Int(2))
            )
        );
    }

    #[test]
    fn errors_deep_inside_expressions_point_at_the_token() {
        let e = err("INSERT INTO o\nSELECT\n  CASE WHEN ok THEN upper(qty) END\nFROM Trades");
        assert_eq!(e.status, Status::Schema);
        assert_eq!(e.message, "line 3:27: function UPPER needs STRING, got INT");
        let e = err("INSERT INTO o SELECT sym FROM Trades WHERE qty > 1 AND missing = 2");
        assert_eq!(e.message, "line 1:56: unknown column 'missing' in stream 'Trades' (columns: sym, price, qty, ts, big, f, ok)");
    }

    #[test]
    fn unsupported_expressions_are_sql_errors() {
        assert_err(
            "INSERT INTO o SELECT qty & 1 FROM Trades",
            Status::Sql,
            "line 1:22: unsupported operator '&'",
        );
        assert_err(
            "INSERT INTO o SELECT (SELECT 1) FROM Trades",
            Status::Sql,
            "line 1:23: unsupported expression '(SELECT 1)'",
        );
        assert_err(
            "INSERT INTO o SELECT ts + INTERVAL '1' MONTH FROM Trades",
            Status::Sql,
            "line 1:36: unknown interval unit 'MONTH'",
        );
    }
}
