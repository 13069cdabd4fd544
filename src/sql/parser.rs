//! Statement grammar: a recursive-descent parser of our own over sqlparser's
//! tokenizer, using sqlparser's `Parser` for its primitives and for scalar
//! expressions (`parse_expr`).
//!
//! ```text
//! script       := [statement] { ';' [statement] }
//! statement    := create_stream | insert
//! create_stream:= CREATE STREAM [IF NOT EXISTS] name '(' [column {',' column}] ')'
//!                 [WITH '(' [option {',' option}] ')']
//! column       := name type_name
//! type_name    := BOOL | BOOLEAN | INT | INTEGER | BIGINT | LONG | FLOAT | REAL
//!               | DOUBLE [PRECISION] | STRING | VARCHAR ['(' n ')'] | TEXT | TIMESTAMP
//! option       := key {'.' key} '=' option_value
//! option_value := 'string' | ['-'] number | TRUE | FALSE | word
//!               | INTERVAL ('n' unit | 'n unit' | n unit)
//! insert       := INSERT [(CURRENT | EXPIRED | ALL) EVENTS] INTO name select
//! select       := SELECT item {',' item} FROM source [WHERE expr]
//!                 [GROUP BY expr {',' expr}] [HAVING expr]
//!                 [ORDER BY order {',' order}] [LIMIT n] [OFFSET n]
//!                 [OUTPUT [ALL | FIRST | LAST | SNAPSHOT] EVERY
//!                         (n EVENTS | INTERVAL ... | n unit)]
//! item         := '*' | name '.' '*' | expr [[AS] name]
//! source       := name [[AS] name] [WINDOW '(' 'kind' {',' expr} ')' [[AS] name]]
//! order        := expr [ASC | DESC] [NULLS (FIRST | LAST)]
//! ```
//!
//! Every syntax error is `Status::Sql` with a message of the form
//! `line L:C: expected <what>, found '<token>'`.

use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, TokenizerError};

use std::ops::ControlFlow;

use sqlparser::ast::{Expr as SqlExpr, Visit, VisitMut, Visitor, VisitorMut};

use crate::error::{Error, Result};
use crate::limits::MAX_EXPR_DEPTH;
/// What `parse` returns (defined in `ast`).
pub use crate::sql::ast::Statement;
use crate::sql::ast::{
    ColumnDef, CountAt, CreateStream, Every, ExprAt, Insert, JoinKind, JoinSource, Name, OptionDef,
    OrderItem, OutputEvents, OutputMode, OutputRate, PatternElement, PatternSource, Pos, Select, SelectItem,
    Source, StatementKind, StreamRef, WindowSpec,
};
use crate::sql::plan::OptionValue;
use crate::types::SqlType;

/// Words that start a clause or otherwise cannot be an implicit (AS-less)
/// alias after a select item or a stream name.
const RESERVED: &[&str] = &[
    "AND",
    "AS",
    "CREATE",
    "CROSS",
    "EVENTS",
    "EVERY",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "INNER",
    "INSERT",
    "INTO",
    "JOIN",
    "LEFT",
    "LIMIT",
    "NOT",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OUTPUT",
    "PATTERN",
    "RIGHT",
    "SELECT",
    "UNION",
    "UNIDIRECTIONAL",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// Words that cannot start an expression (sqlparser would otherwise take
/// them as column names, e.g. `SELECT FROM s`).
const NOT_EXPRESSION: &[&str] = &[
    "AND", "AS", "CREATE", "FROM", "GROUP", "HAVING", "INSERT", "INTO", "JOIN", "LIMIT", "OFFSET", "ON",
    "OR", "ORDER", "OUTPUT", "SELECT", "UNION", "WHERE", "WINDOW", "WITH",
];

/// sqlparser's recursion limit (see `parse`).
const PARSER_RECURSION_LIMIT: usize = 2 * MAX_EXPR_DEPTH;

/// Parses every statement of `sql`.
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let dialect = GenericDialect {};
    let src = SourceText::new(sql);
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| src.tokenizer_error(e))?;
    let mut p = StmtParser {
        // sqlparser's own nesting limit (50 by default) is raised well past
        // MAX_EXPR_DEPTH so that deep prefix nesting (parentheses, NOT, CASE)
        // reaches our check and its clear message; its parser grows its
        // stack on the heap when needed (feature recursive-protection).
        p: Parser::new(&dialect)
            .with_recursion_limit(PARSER_RECURSION_LIMIT)
            .with_tokens_with_locations(tokens),
        src,
    };
    p.script()
}

/// Milliseconds of `amount unit` (`INTERVAL '5' SECOND`), or a message
/// saying what is wrong. `amount` may be an integer or a decimal.
pub(crate) fn interval_ms(amount: &str, unit: &str) -> std::result::Result<i64, String> {
    let factor: i64 = match unit.to_ascii_uppercase().as_str() {
        "MILLISECOND" | "MILLISECONDS" | "MS" => 1,
        "SECOND" | "SECONDS" => 1_000,
        "MINUTE" | "MINUTES" => 60_000,
        "HOUR" | "HOURS" => 3_600_000,
        "DAY" | "DAYS" => 86_400_000,
        _ => {
            return Err(format!(
                "unknown interval unit '{unit}' (use MILLISECOND, SECOND, MINUTE, HOUR or DAY)"
            ))
        }
    };
    let amount = amount.trim();
    if let Ok(n) = amount.parse::<i64>() {
        return n
            .checked_mul(factor)
            .ok_or_else(|| format!("interval '{amount} {unit}' is too large"));
    }
    match amount.parse::<f64>() {
        Ok(x) if x.is_finite() && amount.chars().any(|c| c.is_ascii_digit()) => {
            let ms = x * factor as f64;
            if ms.abs() >= 9.0e18 {
                Err(format!("interval '{amount} {unit}' is too large"))
            } else if (ms - ms.round()).abs() > 1e-6 {
                Err(format!(
                    "interval '{amount} {unit}' is not a whole number of milliseconds"
                ))
            } else {
                Ok(ms.round() as i64)
            }
        }
        _ => Err(format!("invalid interval amount '{amount}'")),
    }
}

/// The SQL text with a (line, column) → byte offset map.
struct SourceText<'a> {
    sql: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Position just past the last character.
    end: Pos,
}

impl<'a> SourceText<'a> {
    fn new(sql: &'a str) -> SourceText<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(sql.char_indices().filter(|&(_, c)| c == '\n').map(|(i, _)| i + 1));
        let last = *line_starts.last().unwrap();
        let end = Pos::new(line_starts.len() as u64, sql[last..].chars().count() as u64 + 1);
        SourceText {
            sql,
            line_starts,
            end,
        }
    }

    fn offset(&self, loc: Location) -> usize {
        if loc.line == 0 {
            return self.sql.len();
        }
        let Some(&start) = self.line_starts.get(loc.line as usize - 1) else {
            return self.sql.len();
        };
        let line = &self.sql[start..];
        match line.char_indices().nth(loc.column.saturating_sub(1) as usize) {
            Some((i, _)) => start + i,
            None => self.sql.len(),
        }
    }

    /// Text from `start` (inclusive) to `end` (exclusive), trimmed.
    fn slice(&self, start: Location, end: Location) -> String {
        let (a, b) = (self.offset(start), self.offset(end));
        if a >= b {
            return String::new();
        }
        self.sql[a..b].trim().to_string()
    }

    fn pos(&self, loc: Location) -> Pos {
        if loc.line == 0 {
            self.end
        } else {
            loc.into()
        }
    }

    fn tokenizer_error(&self, e: TokenizerError) -> Error {
        Error::sql(format!("{}: {}", self.pos(e.location), lower_first(&e.message)))
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How a token is shown in "found ..." messages.
fn describe(token: &Token) -> String {
    match token {
        Token::EOF => "end of input".to_string(),
        Token::SingleQuotedString(s) => format!("'{s}'"),
        t => format!("'{t}'"),
    }
}

struct StmtParser<'a> {
    p: Parser<'a>,
    src: SourceText<'a>,
}

impl<'a> StmtParser<'a> {
    // ---- primitives -------------------------------------------------------

    fn peek(&self) -> &TokenWithSpan {
        self.p.peek_token_ref()
    }

    fn peek_pos(&self) -> Pos {
        self.src.pos(self.peek().span.start)
    }

    /// `line L:C: expected <what>, found '<next token>'`.
    fn expected(&self, what: &str) -> Error {
        Error::sql(format!(
            "{}: expected {what}, found {}",
            self.peek_pos(),
            describe(&self.peek().token)
        ))
    }

    fn is_word(&self, kw: &str) -> bool {
        matches!(&self.peek().token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(kw))
    }

    fn eat_word(&mut self, kw: &str) -> bool {
        if self.is_word(kw) {
            self.p.advance_token();
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, kw: &str, what: &str) -> Result<()> {
        if self.eat_word(kw) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn eat(&mut self, token: &Token) -> bool {
        self.p.consume_token(token)
    }

    fn expect(&mut self, token: &Token, what: &str) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// An identifier (bare or double-quoted word).
    fn name(&mut self, what: &str) -> Result<Name> {
        let t = self.peek().clone();
        match t.token {
            Token::Word(w) => {
                self.p.advance_token();
                Ok(Name::new(w.value, self.src.pos(t.span.start)))
            }
            _ => Err(self.expected(what)),
        }
    }

    /// A word that can be an AS-less alias: any identifier except reserved
    /// clause words (quoted identifiers are always allowed).
    fn at_implicit_alias(&self) -> bool {
        match &self.peek().token {
            Token::Word(w) => {
                w.quote_style.is_some() || !RESERVED.iter().any(|r| w.value.eq_ignore_ascii_case(r))
            }
            _ => false,
        }
    }

    /// `[AS] alias`, or nothing.
    fn optional_alias(&mut self) -> Result<Option<Name>> {
        if self.eat_word("AS") {
            Ok(Some(self.name("an alias after AS")?))
        } else if self.at_implicit_alias() {
            Ok(Some(self.name("an alias")?))
        } else {
            Ok(None)
        }
    }

    /// End location of the last consumed non-whitespace token.
    fn last_end(&self) -> Location {
        let mut i = self.p.index();
        while i > 0 {
            i -= 1;
            let t = self.p.token_at(i);
            if !matches!(t.token, Token::Whitespace(_) | Token::EOF) {
                return t.span.end;
            }
        }
        Location::new(1, 1)
    }

    /// Turns sqlparser's "Expected: X, found: Y at Line: L, Column: C" into
    /// our `line L:C: expected X, found 'Y'`.
    fn convert(&self, e: ParserError) -> Error {
        let msg = match e {
            ParserError::ParserError(m) | ParserError::TokenizerError(m) => m,
            ParserError::RecursionLimitExceeded => {
                return Error::sql(format!(
                    "{}: expression is nested too deeply (more than {MAX_EXPR_DEPTH} levels)",
                    self.peek_pos()
                ))
            }
        };
        let (body, pos) = match msg.rfind(" at Line: ") {
            Some(i) => {
                let loc = &msg[i + " at Line: ".len()..];
                let mut parts = loc.split(", Column: ");
                let line = parts.next().and_then(|s| s.trim().parse().ok());
                let col = parts.next().and_then(|s| s.trim().parse().ok());
                match (line, col) {
                    (Some(l), Some(c)) => (msg[..i].to_string(), Some(Pos::new(l, c))),
                    _ => (msg.clone(), None),
                }
            }
            None => (msg.clone(), None),
        };
        if let Some(rest) = body.strip_prefix("Expected: ") {
            if let Some(j) = rest.rfind(", found: ") {
                let what = &rest[..j];
                // Quote bare punctuation: "expected ')'" rather than "expected )".
                let what = if !what.is_empty() && what.chars().all(|c| c.is_ascii_punctuation()) {
                    format!("'{what}'")
                } else {
                    what.to_string()
                };
                let found = &rest[j + ", found: ".len()..];
                let (pos, found) = if found == "EOF" && pos.is_none() {
                    (self.src.end, "end of input".to_string())
                } else if found.starts_with('\'') {
                    (pos.unwrap_or_else(|| self.peek_pos()), found.to_string())
                } else {
                    (pos.unwrap_or_else(|| self.peek_pos()), format!("'{found}'"))
                };
                return Error::sql(format!("{pos}: expected {what}, found {found}"));
            }
        }
        let pos = pos.unwrap_or_else(|| self.peek_pos());
        Error::sql(format!("{pos}: {}", lower_first(&body)))
    }

    // ---- statements -------------------------------------------------------

    fn script(&mut self) -> Result<Vec<Statement>> {
        let mut out = Vec::new();
        loop {
            while self.eat(&Token::SemiColon) {}
            if self.peek().token == Token::EOF {
                return Ok(out);
            }
            let start = self.peek().span.start;
            let kind = self.statement()?;
            let sql = self.src.slice(start, self.last_end());
            out.push(Statement {
                kind,
                sql,
                pos: self.src.pos(start),
            });
            match self.peek().token {
                Token::SemiColon | Token::EOF => {}
                _ => return Err(self.expected("';' or end of input")),
            }
        }
    }

    fn statement(&mut self) -> Result<StatementKind> {
        if self.eat_word("CREATE") {
            if !self.eat_word("STREAM") {
                return Err(self.expected("STREAM after CREATE"));
            }
            Ok(StatementKind::CreateStream(self.create_stream()?))
        } else if self.eat_word("INSERT") {
            Ok(StatementKind::Insert(self.insert()?))
        } else {
            Err(self.expected("CREATE STREAM or INSERT INTO"))
        }
    }

    fn create_stream(&mut self) -> Result<CreateStream> {
        let mut if_not_exists = false;
        if self.eat_word("IF") {
            self.expect_word("NOT", "NOT after IF")?;
            self.expect_word("EXISTS", "EXISTS after IF NOT")?;
            if_not_exists = true;
        }
        let name = self.name("a stream name")?;
        self.expect(&Token::LParen, "'(' and column definitions after the stream name")?;
        let mut columns = Vec::new();
        if !self.eat(&Token::RParen) {
            loop {
                columns.push(self.column_def()?);
                if self.eat(&Token::Comma) {
                    continue;
                }
                self.expect(&Token::RParen, "',' or ')' after a column definition")?;
                break;
            }
        }
        let mut options = Vec::new();
        if self.eat_word("WITH") {
            self.expect(&Token::LParen, "'(' after WITH")?;
            if !self.eat(&Token::RParen) {
                loop {
                    options.push(self.option()?);
                    if self.eat(&Token::Comma) {
                        continue;
                    }
                    self.expect(&Token::RParen, "',' or ')' after an option")?;
                    break;
                }
            }
        }
        Ok(CreateStream {
            name,
            if_not_exists,
            columns,
            options,
        })
    }

    fn column_def(&mut self) -> Result<ColumnDef> {
        let name = self.name("a column name")?;
        let type_pos = self.peek_pos();
        let data_type = self.type_name(&name)?;
        Ok(ColumnDef {
            name,
            data_type,
            type_pos,
        })
    }

    fn type_name(&mut self, column: &Name) -> Result<SqlType> {
        let t = self.peek().clone();
        let Token::Word(w) = t.token else {
            return Err(self.expected(&format!("a type for column '{}'", column.value)));
        };
        self.p.advance_token();
        let mut spelled = w.value.to_ascii_uppercase();
        if spelled == "DOUBLE" && self.eat_word("PRECISION") {
            spelled.push_str(" PRECISION");
        }
        let Some(ty) = SqlType::parse(&spelled) else {
            return Err(Error::sql(format!(
                "{}: unknown type '{}' for column '{}' (expected BOOL, INT, BIGINT, FLOAT, DOUBLE, \
                 STRING, VARCHAR or TIMESTAMP)",
                self.src.pos(t.span.start),
                w.value,
                column.value
            )));
        };
        if ty == SqlType::String && self.eat(&Token::LParen) {
            if !matches!(self.peek().token, Token::Number(..)) {
                return Err(self.expected("a length"));
            }
            self.p.advance_token();
            self.expect(&Token::RParen, "')' after the length")?;
        }
        Ok(ty)
    }

    fn option(&mut self) -> Result<OptionDef> {
        let mut key = self.name("an option name")?;
        while self.eat(&Token::Period) {
            let part = self.name("an option name after '.'")?;
            key.value.push('.');
            key.value.push_str(&part.value);
        }
        self.expect(&Token::Eq, &format!("'=' after option '{}'", key.value))?;
        let value_pos = self.peek_pos();
        let value = self.option_value()?;
        Ok(OptionDef {
            key,
            value,
            value_pos,
        })
    }

    fn option_value(&mut self) -> Result<OptionValue> {
        let t = self.peek().clone();
        let pos = self.src.pos(t.span.start);
        match t.token {
            Token::SingleQuotedString(s) => {
                self.p.advance_token();
                Ok(OptionValue::String(s))
            }
            Token::Number(n, _) => {
                self.p.advance_token();
                number_option(&n, pos)
            }
            Token::Minus => {
                self.p.advance_token();
                match self.peek().token.clone() {
                    Token::Number(n, _) => {
                        self.p.advance_token();
                        number_option(&format!("-{n}"), pos)
                    }
                    _ => Err(self.expected("a number after '-'")),
                }
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("TRUE") => {
                self.p.advance_token();
                Ok(OptionValue::Bool(true))
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("FALSE") => {
                self.p.advance_token();
                Ok(OptionValue::Bool(false))
            }
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("INTERVAL") => {
                self.p.advance_token();
                self.interval_value()
            }
            Token::Word(w) => {
                self.p.advance_token();
                Ok(OptionValue::Ident(w.value))
            }
            _ => Err(self.expected("an option value")),
        }
    }

    /// After INTERVAL: `'n' UNIT`, `'n UNIT'` or `n UNIT`.
    fn interval_value(&mut self) -> Result<OptionValue> {
        let t = self.peek().clone();
        let pos = self.src.pos(t.span.start);
        let (amount, unit) = match t.token {
            Token::SingleQuotedString(s) => {
                self.p.advance_token();
                let parts: Vec<&str> = s.split_whitespace().collect();
                match parts.as_slice() {
                    [a] => (a.to_string(), None),
                    [a, u] => (a.to_string(), Some(u.to_string())),
                    _ => {
                        return Err(Error::sql(format!(
                            "{pos}: invalid interval '{s}' (write INTERVAL 'n' UNIT)"
                        )))
                    }
                }
            }
            Token::Number(n, _) => {
                self.p.advance_token();
                (n, None)
            }
            _ => return Err(self.expected("an interval amount such as '5'")),
        };
        let unit = match unit {
            Some(u) => u,
            None => match self.peek().token.clone() {
                Token::Word(w) => {
                    self.p.advance_token();
                    w.value
                }
                _ => return Err(self.expected("an interval unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)")),
            },
        };
        interval_ms(&amount, &unit)
            .map(OptionValue::Interval)
            .map_err(|m| Error::sql(format!("{pos}: {m}")))
    }

    fn insert(&mut self) -> Result<Insert> {
        let mut events = OutputEvents::Current;
        for (word, kind) in [
            ("CURRENT", OutputEvents::Current),
            ("EXPIRED", OutputEvents::Expired),
            ("ALL", OutputEvents::All),
        ] {
            if self.eat_word(word) {
                self.expect_word("EVENTS", &format!("EVENTS after {word}"))?;
                events = kind;
                break;
            }
        }
        self.expect_word("INTO", "INTO after INSERT")?;
        let target = self.name("an output stream name after INSERT INTO")?;
        if !self.is_word("SELECT") {
            return Err(self.expected("SELECT"));
        }
        let query = self.select()?;
        Ok(Insert {
            target,
            events,
            query,
        })
    }

    fn select(&mut self) -> Result<Select> {
        let pos = self.peek_pos();
        self.expect_word("SELECT", "SELECT")?;
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        if !self.eat_word("FROM") {
            return Err(self.expected("',' or FROM"));
        }
        let from = self.source()?;
        let selection = if self.eat_word("WHERE") {
            Some(self.expr_at()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_word("GROUP") {
            self.expect_word("BY", "BY after GROUP")?;
            loop {
                group_by.push(self.expr_at()?);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
        }
        let having = if self.eat_word("HAVING") {
            Some(self.expr_at()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_word("ORDER") {
            self.expect_word("BY", "BY after ORDER")?;
            loop {
                let expr = self.expr_at()?;
                let descending = if self.eat_word("DESC") {
                    true
                } else {
                    self.eat_word("ASC");
                    false
                };
                let nulls_first = if self.eat_word("NULLS") {
                    if self.eat_word("FIRST") {
                        Some(true)
                    } else if self.eat_word("LAST") {
                        Some(false)
                    } else {
                        return Err(self.expected("FIRST or LAST after NULLS"));
                    }
                } else {
                    None
                };
                order_by.push(OrderItem {
                    expr,
                    descending,
                    nulls_first,
                });
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
        }
        let limit = if self.eat_word("LIMIT") {
            Some(self.count("a row count after LIMIT")?)
        } else {
            None
        };
        let offset = if self.eat_word("OFFSET") {
            Some(self.count("a row count after OFFSET")?)
        } else {
            None
        };
        let output = if self.is_word("OUTPUT") {
            Some(self.output_rate()?)
        } else {
            None
        };
        Ok(Select {
            pos,
            items,
            from,
            selection,
            group_by,
            having,
            order_by,
            limit,
            offset,
            output,
        })
    }

    /// A non-negative integer literal.
    fn count(&mut self, what: &str) -> Result<CountAt> {
        let pos = self.peek_pos();
        match self.peek().token.clone() {
            Token::Number(n, _) => match n.parse::<u64>() {
                Ok(value) => {
                    self.p.advance_token();
                    Ok(CountAt { value, pos })
                }
                Err(_) => Err(Error::sql(format!(
                    "{pos}: expected {what} (a non-negative integer), found '{n}'"
                ))),
            },
            _ => Err(self.expected(what)),
        }
    }

    /// `OUTPUT [ALL|FIRST|LAST|SNAPSHOT] EVERY (n EVENTS | INTERVAL 'n' UNIT | n UNIT)`.
    fn output_rate(&mut self) -> Result<OutputRate> {
        let pos = self.peek_pos();
        self.expect_word("OUTPUT", "OUTPUT")?;
        let mode = if self.eat_word("ALL") {
            OutputMode::All
        } else if self.eat_word("FIRST") {
            OutputMode::First
        } else if self.eat_word("LAST") {
            OutputMode::Last
        } else if self.eat_word("SNAPSHOT") {
            OutputMode::Snapshot
        } else {
            OutputMode::All
        };
        self.expect_word("EVERY", "EVERY (after OUTPUT [ALL|FIRST|LAST|SNAPSHOT])")?;
        let every = if self.eat_word("INTERVAL") {
            let at = self.peek_pos();
            match self.interval_value()? {
                OptionValue::Interval(ms) if ms > 0 => Every::Interval(ms),
                _ => return Err(Error::sql(format!("{at}: the output interval must be positive"))),
            }
        } else {
            let n = self.count("a number of events or INTERVAL after EVERY")?;
            if self.eat_word("EVENTS") || self.eat_word("EVENT") {
                if n.value == 0 {
                    return Err(Error::sql(format!(
                        "{}: EVERY 0 EVENTS: the count must be positive",
                        n.pos
                    )));
                }
                Every::Events(n.value)
            } else {
                // `EVERY 5 SECONDS`: a bare amount and unit.
                let unit = match self.peek().token.clone() {
                    Token::Word(w) => w.value,
                    _ => return Err(self.expected("EVENTS or a time unit")),
                };
                let ms = interval_ms(&n.value.to_string(), &unit).map_err(|_| {
                    self.expected("EVENTS or a time unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)")
                })?;
                self.p.advance_token();
                if ms <= 0 {
                    return Err(Error::sql(format!(
                        "{}: the output interval must be positive",
                        n.pos
                    )));
                }
                Every::Interval(ms)
            }
        };
        if mode == OutputMode::Snapshot && !matches!(every, Every::Interval(_)) {
            return Err(Error::sql(format!(
                "{pos}: OUTPUT SNAPSHOT needs a time period (EVERY INTERVAL ...), not a count of events"
            )));
        }
        Ok(OutputRate { mode, every, pos })
    }

    fn source(&mut self) -> Result<Source> {
        if self.is_word("PATTERN") {
            return Ok(Source::Pattern(self.pattern()?));
        }
        let left = self.stream_ref("a stream name after FROM")?;
        let pos = self.peek_pos();
        let kind = if self.eat_word("JOIN") {
            Some(JoinKind::Inner)
        } else if self.eat_word("INNER") {
            self.expect_word("JOIN", "JOIN after INNER")?;
            Some(JoinKind::Inner)
        } else {
            let mut outer = None;
            for (word, kind) in [
                ("LEFT", JoinKind::Left),
                ("RIGHT", JoinKind::Right),
                ("FULL", JoinKind::Full),
            ] {
                if self.eat_word(word) {
                    self.eat_word("OUTER");
                    self.expect_word("JOIN", &format!("JOIN after {word} [OUTER]"))?;
                    outer = Some(kind);
                    break;
                }
            }
            outer
        };
        let Some(kind) = kind else {
            if self.is_word("CROSS") || self.peek().token == Token::Comma {
                return Err(Error::sql(format!(
                    "{}: only [INNER] JOIN ... ON is supported between two streams",
                    self.peek_pos()
                )));
            }
            return Ok(Source::Stream(left));
        };
        let right = self.stream_ref("a stream name after JOIN")?;
        self.expect_word("ON", "ON and a join condition")?;
        let on = self.expr_at()?;
        Ok(Source::Join(Box::new(JoinSource {
            left,
            right,
            kind,
            on,
            pos,
        })))
    }

    /// `name [[AS] alias] [WINDOW(...) [[AS] alias]]`.
    fn stream_ref(&mut self, what: &str) -> Result<StreamRef> {
        let name = self.name(what)?;
        let mut alias = self.optional_alias()?;
        let window = if self.is_word("WINDOW") {
            Some(self.window()?)
        } else {
            None
        };
        if window.is_some() && alias.is_none() {
            alias = self.optional_alias()?;
        }
        Ok(StreamRef { name, alias, window })
    }

    /// `PATTERN ( element -> element ... ) [WITHIN INTERVAL 'n' UNIT]`.
    fn pattern(&mut self) -> Result<PatternSource> {
        let pos = self.peek_pos();
        self.expect_word("PATTERN", "PATTERN")?;
        self.expect(&Token::LParen, "'(' after PATTERN")?;
        let mut elements = Vec::new();
        loop {
            elements.push(self.pattern_element()?);
            if self.eat(&Token::Arrow) {
                continue;
            }
            if self.peek().token == Token::Comma {
                return Err(Error::sql(format!(
                    "{}: strict sequences (',') are not supported; use '->' (followed by)",
                    self.peek_pos()
                )));
            }
            break;
        }
        self.expect(&Token::RParen, "'->' or ')' in PATTERN(...)")?;
        // A duration, as windows take them: INTERVAL 'n' UNIT or
        // milliseconds.
        let within = if self.eat_word("WITHIN") {
            let at = self.peek_pos();
            let ms = if self.eat_word("INTERVAL") {
                match self.interval_value()? {
                    OptionValue::Interval(ms) => ms,
                    _ => 0,
                }
            } else {
                let n = self.count("a duration after WITHIN (INTERVAL 'n' UNIT or milliseconds)")?;
                i64::try_from(n.value).unwrap_or(i64::MAX)
            };
            if ms <= 0 {
                return Err(Error::sql(format!("{at}: WITHIN needs a positive interval")));
            }
            Some((ms, at))
        } else {
            None
        };
        Ok(PatternSource {
            pos,
            elements,
            within,
        })
    }

    /// `[EVERY] alias = Stream [ '[' condition ']' ]`.
    fn pattern_element(&mut self) -> Result<PatternElement> {
        let every = if self.is_word("EVERY") {
            let at = self.peek_pos();
            self.p.advance_token();
            Some(at)
        } else {
            None
        };
        let alias = self.name("an event alias (as in e1=Stream[condition])")?;
        self.expect(
            &Token::Eq,
            "'=' after the event alias (as in e1=Stream[condition])",
        )?;
        let stream = self.name("a stream name after '='")?;
        let condition = if self.eat(&Token::LBracket) {
            let c = self.expr_at()?;
            self.expect(&Token::RBracket, "']' after the event condition")?;
            Some(c)
        } else {
            None
        };
        Ok(PatternElement {
            every,
            alias,
            stream,
            condition,
        })
    }

    /// `WINDOW('kind', arg, ...)`.
    fn window(&mut self) -> Result<WindowSpec> {
        let pos = self.peek_pos();
        self.expect_word("WINDOW", "WINDOW")?;
        self.expect(&Token::LParen, "'(' after WINDOW")?;
        let t = self.peek().clone();
        let kind = match t.token {
            Token::SingleQuotedString(s) => {
                self.p.advance_token();
                Name::new(s, self.src.pos(t.span.start))
            }
            _ => return Err(self.expected("a window kind in quotes, such as 'length'")),
        };
        let mut args = Vec::new();
        while self.eat(&Token::Comma) {
            args.push(self.expr_at()?);
        }
        self.expect(&Token::RParen, "',' or ')' in WINDOW(...)")?;
        Ok(WindowSpec { kind, args, pos })
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        let [t0, t1, t2] = self.p.peek_tokens_with_location::<3>();
        if t0.token == Token::Mul {
            self.p.advance_token();
            return Ok(SelectItem::Wildcard {
                pos: self.src.pos(t0.span.start),
            });
        }
        if let Token::Word(w) = &t0.token {
            if t1.token == Token::Period && t2.token == Token::Mul {
                self.p.advance_token();
                self.p.advance_token();
                self.p.advance_token();
                let qualifier = Name::new(w.value.clone(), self.src.pos(t0.span.start));
                return Ok(SelectItem::QualifiedWildcard { qualifier });
            }
        }
        let expr = self.expr_at()?;
        let alias = self.optional_alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    /// A scalar expression (sqlparser's grammar) with its text and position.
    fn expr_at(&mut self) -> Result<ExprAt> {
        let start = self.peek().span.start;
        let pos = self.src.pos(start);
        let starts_badly = match &self.peek().token {
            Token::EOF => true,
            Token::Word(w) => {
                w.quote_style.is_none() && NOT_EXPRESSION.iter().any(|k| w.value.eq_ignore_ascii_case(k))
            }
            _ => false,
        };
        if starts_badly {
            return Err(self.expected("an expression"));
        }
        let expr = self.p.parse_expr().map_err(|e| self.convert(e))?;
        if expr_depth_exceeds(&expr, MAX_EXPR_DEPTH) {
            drop_deep(expr);
            return Err(Error::sql(format!(
                "{pos}: expression is nested too deeply (more than {MAX_EXPR_DEPTH} levels)"
            )));
        }
        let text = self.src.slice(start, self.last_end());
        Ok(ExprAt { expr, text, pos })
    }
}

/// Whether `e` is more than `limit` expressions deep. The walk stops as soon
/// as it passes the limit, so it never recurses deeper than that itself.
fn expr_depth_exceeds(e: &SqlExpr, limit: usize) -> bool {
    struct Depth {
        now: usize,
        limit: usize,
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &SqlExpr) -> ControlFlow<()> {
            self.now += 1;
            if self.now > self.limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        fn post_visit_expr(&mut self, _: &SqlExpr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    e.visit(&mut Depth { now: 0, limit }).is_break()
}

/// Drops an expression tree of any depth without deep recursion: `Drop` of a
/// `Box<Expr>` chain recurses once per level, which overflows the stack for
/// chains of a few thousand. Subtrees below a fixed depth are cut off and
/// dropped in turn from a work list.
fn drop_deep(e: SqlExpr) {
    const CUT: usize = 32;
    struct Cut {
        now: usize,
        cut: Vec<SqlExpr>,
    }
    impl VisitorMut for Cut {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut SqlExpr) -> ControlFlow<()> {
            self.now += 1;
            if self.now > CUT {
                let leaf = SqlExpr::Value(sqlparser::ast::Value::Null.with_empty_span());
                self.cut.push(std::mem::replace(e, leaf));
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _: &mut SqlExpr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut work = vec![e];
    while let Some(mut e) = work.pop() {
        let mut c = Cut {
            now: 0,
            cut: Vec::new(),
        };
        let _ = VisitMut::visit(&mut e, &mut c);
        drop(e); // at most CUT levels deep now
        work.append(&mut c.cut);
    }
}

fn number_option(n: &str, pos: Pos) -> Result<OptionValue> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(OptionValue::Integer(i));
    }
    match n.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(OptionValue::Number(x)),
        _ => Err(Error::sql(format!("{pos}: invalid number '{n}'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Status;
    use crate::sql::ast::SqlExpr;

    fn one(sql: &str) -> Statement {
        let mut v = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(v.len(), 1, "{sql}");
        v.pop().unwrap()
    }

    fn create(sql: &str) -> CreateStream {
        match one(sql).kind {
            StatementKind::CreateStream(c) => c,
            other => panic!("not CREATE STREAM: {other:?}"),
        }
    }

    fn insert(sql: &str) -> Insert {
        match one(sql).kind {
            StatementKind::Insert(i) => i,
            other => panic!("not INSERT: {other:?}"),
        }
    }

    fn err(sql: &str) -> String {
        let e = parse(sql).expect_err(sql);
        assert_eq!(e.status, Status::Sql, "{sql}: {e}");
        e.message
    }

    fn option(value: &str) -> OptionValue {
        let c = create(&format!("CREATE STREAM s (a INT) WITH (k = {value})"));
        assert_eq!(c.options.len(), 1);
        c.options[0].value.clone()
    }

    #[test]
    fn create_stream_columns_and_positions() {
        let c = create("CREATE STREAM Trades (sym STRING, price DOUBLE, ts TIMESTAMP)");
        assert_eq!(c.name, Name::new("Trades", Pos::new(1, 15)));
        assert!(!c.if_not_exists);
        let cols: Vec<(&str, SqlType)> = c
            .columns
            .iter()
            .map(|c| (c.name.value.as_str(), c.data_type))
            .collect();
        assert_eq!(
            cols,
            vec![
                ("sym", SqlType::String),
                ("price", SqlType::Double),
                ("ts", SqlType::Timestamp)
            ]
        );
        assert_eq!(c.columns[1].name.pos, Pos::new(1, 35));
        assert_eq!(c.columns[1].type_pos, Pos::new(1, 41));
        assert!(c.options.is_empty());
    }

    #[test]
    fn create_stream_if_not_exists_and_quoted_names() {
        let c = create("create stream if not exists \"My Stream\" (\"a b\" int)");
        assert!(c.if_not_exists);
        assert_eq!(c.name.value, "My Stream");
        assert_eq!(c.columns[0].name.value, "a b");
    }

    #[test]
    fn all_type_spellings() {
        let c = create(
            "CREATE STREAM s (a BOOL, b BOOLEAN, c INT, d INTEGER, e BIGINT, f LONG, g FLOAT, \
             h REAL, i DOUBLE, j DOUBLE PRECISION, k STRING, l VARCHAR, m VARCHAR(20), n TEXT, \
             o TIMESTAMP, p int8, q float8)",
        );
        use SqlType::*;
        let types: Vec<SqlType> = c.columns.iter().map(|c| c.data_type).collect();
        assert_eq!(
            types,
            vec![
                Bool, Bool, Int, Int, BigInt, BigInt, Float, Float, Double, Double, String, String, String,
                String, Timestamp, BigInt, Double
            ]
        );
    }

    #[test]
    fn unknown_type_is_reported_with_position() {
        let m = err("CREATE STREAM s (a INT,\n  b DECIMAL)");
        assert!(
            m.starts_with("line 2:5: unknown type 'DECIMAL' for column 'b'"),
            "{m}"
        );
    }

    #[test]
    fn empty_column_list_parses() {
        // The analyzer rejects it with a better message.
        assert!(create("CREATE STREAM s ()").columns.is_empty());
    }

    #[test]
    fn option_values() {
        assert_eq!(option("'text'"), OptionValue::String("text".into()));
        assert_eq!(option("42"), OptionValue::Integer(42));
        assert_eq!(option("-7"), OptionValue::Integer(-7));
        assert_eq!(option("2.5"), OptionValue::Number(2.5));
        assert_eq!(option("TRUE"), OptionValue::Bool(true));
        assert_eq!(option("false"), OptionValue::Bool(false));
        assert_eq!(option("drop_oldest"), OptionValue::Ident("drop_oldest".into()));
    }

    #[test]
    fn option_intervals_in_milliseconds() {
        assert_eq!(option("INTERVAL '5' SECOND"), OptionValue::Interval(5_000));
        assert_eq!(option("INTERVAL '2 SECONDS'"), OptionValue::Interval(2_000));
        assert_eq!(option("INTERVAL '250' MILLISECONDS"), OptionValue::Interval(250));
        assert_eq!(option("interval '1' millisecond"), OptionValue::Interval(1));
        assert_eq!(option("INTERVAL 3 MINUTES"), OptionValue::Interval(180_000));
        assert_eq!(option("INTERVAL '1' HOUR"), OptionValue::Interval(3_600_000));
        assert_eq!(option("INTERVAL '2' DAYS"), OptionValue::Interval(172_800_000));
        assert_eq!(option("INTERVAL '1.5 seconds'"), OptionValue::Interval(1_500));
    }

    #[test]
    fn option_interval_errors() {
        let m = err("CREATE STREAM s (a INT) WITH (k = INTERVAL '5' WEEKS)");
        assert!(m.starts_with("line 1:44: unknown interval unit 'WEEKS'"), "{m}");
        let m = err("CREATE STREAM s (a INT) WITH (k = INTERVAL 'x' SECOND)");
        assert!(m.starts_with("line 1:44: invalid interval amount 'x'"), "{m}");
        let m = err("CREATE STREAM s (a INT) WITH (k = INTERVAL '5')");
        assert_eq!(
            m,
            "line 1:47: expected an interval unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY), found ')'"
        );
        let m = err("CREATE STREAM s (a INT) WITH (k = INTERVAL '0.1' MILLISECOND)");
        assert!(m.contains("not a whole number of milliseconds"), "{m}");
    }

    #[test]
    fn options_keep_order_positions_and_dotted_keys() {
        let c = create("CREATE STREAM s (a INT)\nWITH (Capacity = 10, queue.policy = block)");
        let keys: Vec<(&str, Pos)> = c
            .options
            .iter()
            .map(|o| (o.key.value.as_str(), o.key.pos))
            .collect();
        assert_eq!(
            keys,
            vec![("Capacity", Pos::new(2, 7)), ("queue.policy", Pos::new(2, 22))]
        );
        assert_eq!(c.options[1].value, OptionValue::Ident("block".into()));
        assert_eq!(c.options[0].value_pos, Pos::new(2, 18));
    }

    #[test]
    fn create_syntax_errors() {
        assert_eq!(
            err("CREATE TABLE t (a INT)"),
            "line 1:8: expected STREAM after CREATE, found 'TABLE'"
        );
        assert_eq!(
            err("CREATE STREAM s (a INT"),
            "line 1:23: expected ',' or ')' after a column definition, found end of input"
        );
        assert_eq!(
            err("CREATE STREAM s a INT"),
            "line 1:17: expected '(' and column definitions after the stream name, found 'a'"
        );
        assert_eq!(
            err("CREATE STREAM s (a INT) WITH (k 1)"),
            "line 1:33: expected '=' after option 'k', found '1'"
        );
        assert_eq!(
            err("CREATE STREAM s (a INT) WITH (k = )"),
            "line 1:35: expected an option value, found ')'"
        );
        assert_eq!(
            err("CREATE STREAM (a INT)"),
            "line 1:15: expected a stream name, found '('"
        );
        assert_eq!(
            err("CREATE STREAM IF EXISTS s (a INT)"),
            "line 1:18: expected NOT after IF, found 'EXISTS'"
        );
        assert_eq!(
            err("CREATE STREAM s (a INT NOT NULL)"),
            "line 1:24: expected ',' or ')' after a column definition, found 'NOT'"
        );
        assert_eq!(
            err("CREATE STREAM s (a 5)"),
            "line 1:20: expected a type for column 'a', found '5'"
        );
    }

    #[test]
    fn unknown_statement() {
        assert_eq!(
            err("SELECT 1"),
            "line 1:1: expected CREATE STREAM or INSERT INTO, found 'SELECT'"
        );
        assert_eq!(
            err("  \n  DROP STREAM s"),
            "line 2:3: expected CREATE STREAM or INSERT INTO, found 'DROP'"
        );
    }

    #[test]
    fn insert_select_shape() {
        let i = insert("INSERT INTO Out SELECT *, t.*, price * 2 AS p2, qty q, upper(sym) FROM Trades AS t WHERE qty > 10");
        assert_eq!(i.target, Name::new("Out", Pos::new(1, 13)));
        let q = &i.query;
        assert_eq!(q.pos, Pos::new(1, 17));
        assert_eq!(q.items.len(), 5);
        assert_eq!(q.items[0], SelectItem::Wildcard { pos: Pos::new(1, 24) });
        assert_eq!(
            q.items[1],
            SelectItem::QualifiedWildcard {
                qualifier: Name::new("t", Pos::new(1, 27))
            }
        );
        let SelectItem::Expr { expr, alias } = &q.items[2] else {
            panic!()
        };
        assert_eq!(expr.text, "price * 2");
        assert_eq!(expr.pos, Pos::new(1, 32));
        assert_eq!(alias.as_ref().unwrap().value, "p2");
        let SelectItem::Expr { expr, alias } = &q.items[3] else {
            panic!()
        };
        assert_eq!(expr.text, "qty");
        assert_eq!(alias.as_ref().unwrap().value, "q");
        let SelectItem::Expr { expr, alias } = &q.items[4] else {
            panic!()
        };
        assert_eq!(expr.text, "upper(sym)");
        assert!(alias.is_none());
        let Source::Stream(s) = &q.from else {
            panic!("not a stream source")
        };
        assert_eq!(s.name.value, "Trades");
        assert_eq!(s.alias.as_ref().unwrap().value, "t");
        let w = q.selection.as_ref().unwrap();
        assert_eq!(w.text, "qty > 10");
        assert!(matches!(w.expr, SqlExpr::BinaryOp { .. }));
    }

    #[test]
    fn from_alias_without_as_and_no_alias() {
        let i = insert("INSERT INTO o SELECT a FROM s x WHERE a");
        let Source::Stream(s) = &i.query.from else {
            panic!("not a stream source")
        };
        assert_eq!(s.alias.as_ref().unwrap().value, "x");
        let i = insert("INSERT INTO o SELECT a FROM s WHERE a");
        let Source::Stream(s) = &i.query.from else {
            panic!("not a stream source")
        };
        assert!(s.alias.is_none());
        assert!(i.query.selection.is_some());
    }

    #[test]
    fn expression_text_keeps_source_spelling() {
        let i = insert("INSERT INTO o SELECT  CAST(a AS BIGINT)  +  1 ,x::double FROM s");
        let texts: Vec<&str> = i
            .query
            .items
            .iter()
            .map(|it| match it {
                SelectItem::Expr { expr, .. } => expr.text.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(texts, vec!["CAST(a AS BIGINT)  +  1", "x::double"]);
    }

    #[test]
    fn insert_syntax_errors() {
        assert_eq!(
            err("INSERT o SELECT a FROM s"),
            "line 1:8: expected INTO after INSERT, found 'o'"
        );
        assert_eq!(
            err("INSERT INTO o VALUES (1)"),
            "line 1:15: expected SELECT, found 'VALUES'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a b c FROM s"),
            "line 1:26: expected ',' or FROM, found 'c'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM"),
            "line 1:28: expected a stream name after FROM, found end of input"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s WHERE"),
            "line 1:36: expected an expression, found end of input"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s GROUP a"),
            "line 1:37: expected BY after GROUP, found 'a'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s LIMIT x"),
            "line 1:37: expected a row count after LIMIT, found 'x'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s WINDOW(length, 2)"),
            "line 1:38: expected a window kind in quotes, such as 'length', found 'length'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s WINDOW('length' 2)"),
            "line 1:47: expected ',' or ')' in WINDOW(...), found '2'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM s OUTPUT SNAPSHOT EVERY 5 EVENTS"),
            "line 1:31: OUTPUT SNAPSHOT needs a time period (EVERY INTERVAL ...), not a count of events"
        );
        assert_eq!(
            err("INSERT ALL INTO o SELECT a FROM s"),
            "line 1:12: expected EVENTS after ALL, found 'INTO'"
        );
    }

    #[test]
    fn window_and_clauses() {
        let i = insert(
            "INSERT ALL EVENTS INTO o SELECT k, sum(v) FROM s WINDOW('time', INTERVAL '1' SECOND) AS w \
             WHERE v > 0 GROUP BY k HAVING sum(v) > 1 ORDER BY 2 DESC NULLS LAST, k LIMIT 5 OFFSET 2 \
             OUTPUT LAST EVERY 10 EVENTS",
        );
        assert_eq!(i.events, OutputEvents::All);
        let Source::Stream(s) = &i.query.from else {
            panic!("not a stream source")
        };
        let w = s.window.as_ref().unwrap();
        assert_eq!(w.kind.value, "time");
        assert_eq!(w.args.len(), 1);
        assert_eq!(w.args[0].text, "INTERVAL '1' SECOND");
        assert_eq!(s.alias.as_ref().unwrap().value, "w");
        assert_eq!(i.query.group_by.len(), 1);
        assert!(i.query.having.is_some());
        assert_eq!(i.query.order_by.len(), 2);
        assert!(i.query.order_by[0].descending);
        assert_eq!(i.query.order_by[0].nulls_first, Some(false));
        assert!(!i.query.order_by[1].descending);
        assert_eq!(i.query.limit.map(|l| l.value), Some(5));
        assert_eq!(i.query.offset.map(|l| l.value), Some(2));
        let o = i.query.output.unwrap();
        assert_eq!((o.mode, o.every), (OutputMode::Last, Every::Events(10)));
        let i =
            insert("INSERT INTO o SELECT a FROM s AS x WINDOW('length', 3) OUTPUT SNAPSHOT EVERY 2 SECONDS");
        let Source::Stream(s) = &i.query.from else {
            panic!("not a stream source")
        };
        assert_eq!(s.alias.as_ref().unwrap().value, "x");
        assert_eq!(i.query.output.unwrap().every, Every::Interval(2000));
    }

    #[test]
    fn join_sources() {
        let i = insert(
            "INSERT INTO o SELECT t.a FROM T WINDOW('time', INTERVAL '1' SECOND) AS t \
             INNER JOIN Q q ON t.a = q.b WHERE t.a > 1",
        );
        let Source::Join(j) = &i.query.from else {
            panic!("not a join")
        };
        assert_eq!(j.kind, JoinKind::Inner);
        assert_eq!(j.left.name.value, "T");
        assert_eq!(j.left.alias.as_ref().unwrap().value, "t");
        assert!(j.left.window.is_some());
        assert_eq!(j.right.name.value, "Q");
        assert_eq!(j.right.alias.as_ref().unwrap().value, "q");
        assert!(j.right.window.is_none());
        assert_eq!(j.on.text, "t.a = q.b");
        assert_eq!(j.pos, Pos::new(1, 74));
        assert!(i.query.selection.is_some());
        let i = insert("INSERT INTO o SELECT a FROM T LEFT OUTER JOIN Q ON a = b");
        let Source::Join(j) = &i.query.from else {
            panic!("not a join")
        };
        assert_eq!(j.kind, JoinKind::Left);
        assert_eq!(
            err("INSERT INTO o SELECT a FROM T, Q"),
            "line 1:30: only [INNER] JOIN ... ON is supported between two streams"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM T LEFT Q"),
            "line 1:36: expected JOIN after LEFT [OUTER], found 'Q'"
        );
    }

    #[test]
    fn pattern_sources() {
        let i = insert(
            "INSERT INTO o SELECT e1.a FROM PATTERN (EVERY e1=T[a > 1] -> e2=Q -> e3=T[a < e1.a]) \
             WITHIN INTERVAL '2' SECOND WHERE e1.a > 0",
        );
        let Source::Pattern(p) = &i.query.from else {
            panic!("not a pattern")
        };
        assert_eq!(p.elements.len(), 3);
        assert_eq!(p.elements[0].every, Some(Pos::new(1, 41)));
        assert_eq!(p.elements[0].alias.value, "e1");
        assert_eq!(p.elements[0].stream.value, "T");
        assert_eq!(p.elements[0].condition.as_ref().unwrap().text, "a > 1");
        assert!(p.elements[1].every.is_none());
        assert!(p.elements[1].condition.is_none());
        assert_eq!(p.elements[2].condition.as_ref().unwrap().text, "a < e1.a");
        assert_eq!(p.within.map(|w| w.0), Some(2000));
        assert!(i.query.selection.is_some());
        assert_eq!(
            err("INSERT INTO o SELECT a FROM PATTERN (e1 T)"),
            "line 1:41: expected '=' after the event alias (as in e1=Stream[condition]), found 'T'"
        );
        assert_eq!(
            err("INSERT INTO o SELECT a FROM PATTERN (e1=T) WITHIN x"),
            "line 1:51: expected a duration after WITHIN (INTERVAL 'n' UNIT or milliseconds), found 'x'"
        );
        let i = insert("INSERT INTO o SELECT a FROM PATTERN (e1=T) WITHIN 250");
        let Source::Pattern(p) = &i.query.from else {
            panic!("not a pattern")
        };
        assert_eq!(p.within.map(|w| w.0), Some(250));
    }

    #[test]
    fn sqlparser_errors_are_rewritten() {
        let m = err("INSERT INTO o SELECT FROM s");
        assert_eq!(m, "line 1:22: expected an expression, found 'FROM'");
        let m = err("INSERT INTO o SELECT (a + 1 FROM s");
        assert_eq!(m, "line 1:29: expected ')', found 'FROM'");
        let m = err("INSERT INTO o SELECT a +");
        assert_eq!(m, "line 1:25: expected an expression, found end of input");
        let m = err("INSERT INTO o\nSELECT\n  a * * 2 FROM s");
        assert!(
            m.starts_with("line 3:7: expected an expression, found '*'"),
            "{m}"
        );
    }

    #[test]
    fn tokenizer_errors_have_positions() {
        let m = err("INSERT INTO o SELECT 'abc FROM s");
        assert!(m.starts_with("line 1:22: unterminated string literal"), "{m}");
    }

    #[test]
    fn several_statements_with_text() {
        let v =
            parse(";; CREATE STREAM a (x INT) ;\n\n  INSERT INTO b SELECT x FROM a;  -- done\n;").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].sql, "CREATE STREAM a (x INT)");
        assert_eq!(v[0].pos, Pos::new(1, 4));
        assert_eq!(v[1].sql, "INSERT INTO b SELECT x FROM a");
        assert_eq!(v[1].pos, Pos::new(3, 3));
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" ; ;\n-- only a comment\n").unwrap().is_empty());
    }

    #[test]
    fn statement_text_with_multibyte_characters() {
        let v = parse("INSERT INTO o SELECT 'héllo' AS s, a FROM «s»x; CREATE STREAM z (a INT)");
        // «s» is not an identifier: the tokenizer or parser rejects it.
        assert!(v.is_err());
        let v = parse("INSERT INTO o SELECT 'héllo' || a AS s FROM s; CREATE STREAM z (a INT)").unwrap();
        assert_eq!(v[0].sql, "INSERT INTO o SELECT 'héllo' || a AS s FROM s");
        assert_eq!(v[1].sql, "CREATE STREAM z (a INT)");
        let StatementKind::Insert(i) = &v[0].kind else {
            panic!()
        };
        let SelectItem::Expr { expr, .. } = &i.query.items[0] else {
            panic!()
        };
        assert_eq!(expr.text, "'héllo' || a");
    }

    #[test]
    fn missing_semicolon_between_statements() {
        assert_eq!(
            err("CREATE STREAM a (x INT) CREATE STREAM b (y INT)"),
            "line 1:25: expected ';' or end of input, found 'CREATE'"
        );
    }

    #[test]
    fn interval_ms_helper() {
        assert_eq!(interval_ms("10", "seconds"), Ok(10_000));
        assert_eq!(interval_ms("-1", "MINUTE"), Ok(-60_000));
        assert!(interval_ms("99999999999999999", "DAY").is_err());
        assert!(interval_ms("1", "MONTH").is_err());
    }
}
