//! Typed, resolved expressions, evaluated column-at-a-time over Arrow batches.
//!
//! The SQL analyzer (`crate::sql`) turns parsed SQL into these trees: names are
//! resolved to column indices, implicit casts are explicit `Cast` nodes, and
//! every node knows its Arrow result type. Evaluation (`eval.rs`) never looks
//! at names or guesses types, so it can run the same way for a one-row batch
//! from the row appender and an 8192-row batch from Arrow.
//!
//! Documented result rules (docs/sql.md): integer overflow and division or
//! modulo by zero give NULL for that row; a failed CAST gives NULL.

pub mod eval;

use arrow::datatypes::DataType;

/// A literal value. `Null` carries the type it was coerced to.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null(DataType),
    Bool(bool),
    Int(i32),
    BigInt(i64),
    Float(f32),
    Double(f64),
    String(String),
    /// Milliseconds since the epoch.
    Timestamp(i64),
}

impl Scalar {
    pub fn data_type(&self) -> DataType {
        match self {
            Scalar::Null(t) => t.clone(),
            Scalar::Bool(_) => DataType::Boolean,
            Scalar::Int(_) => DataType::Int32,
            Scalar::BigInt(_) => DataType::Int64,
            Scalar::Float(_) => DataType::Float32,
            Scalar::Double(_) => DataType::Float64,
            Scalar::String(_) => DataType::Utf8,
            Scalar::Timestamp(_) => crate::types::SqlType::Timestamp.to_arrow(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// Arithmetic negation (numeric operand; overflow gives NULL).
    Neg,
    /// Boolean NOT (three-valued: NOT NULL is NULL).
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    // Arithmetic: both operands have the same numeric type, which is also the
    // result type (TIMESTAMP +/- BIGINT is analyzed as BIGINT math and cast).
    Add,
    Sub,
    Mul,
    /// Integer division truncates toward zero; by zero gives NULL.
    Div,
    /// Remainder with the sign of the dividend; by zero gives NULL.
    Mod,
    // Comparisons: both operands have the same type; result BOOL (NULL if
    // either side is NULL).
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    // Kleene logic over BOOL operands.
    And,
    Or,
    /// String concatenation `||` (NULL if either side is NULL).
    Concat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// First non-NULL argument; all arguments share the result type.
    Coalesce,
    Upper,
    Lower,
    /// Length in characters (INT).
    Length,
    /// CONCAT(a, b, ...): NULL arguments are treated as empty strings.
    Concat,
    /// SUBSTRING(s, start [, len]): 1-based, in characters; start and len are
    /// INT or BIGINT.
    Substring,
    /// Same type as the argument; ABS of the minimum integer gives NULL.
    Abs,
    /// ROUND(x [, digits]): same type as x (integers are returned unchanged
    /// when digits >= 0); half away from zero.
    Round,
    Floor,
    Ceil,
    /// DOUBLE; negative input gives NULL.
    Sqrt,
    /// POWER(x, y) as DOUBLE.
    Power,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A column of the input batch, by index.
    Column {
        index: usize,
        data_type: DataType,
    },
    Literal(Scalar),
    Unary {
        op: UnaryOp,
        arg: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        arg: Box<Expr>,
        negated: bool,
    },
    /// `arg [NOT] IN (list)`: every list item has arg's type; SQL semantics
    /// (no match and a NULL in the list gives NULL).
    InList {
        arg: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// `arg [NOT] LIKE pattern` with `%` and `_`; both STRING.
    Like {
        arg: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
    },
    /// Searched CASE (simple CASE is rewritten to this by the analyzer). Every
    /// result and the else branch have `data_type`; no else means NULL.
    Case {
        branches: Vec<(Expr, Expr)>,
        else_expr: Option<Box<Expr>>,
        data_type: DataType,
    },
    Cast {
        arg: Box<Expr>,
        to: DataType,
    },
    Function {
        func: Func,
        args: Vec<Expr>,
        data_type: DataType,
    },
}

impl Expr {
    /// The Arrow type this expression evaluates to.
    pub fn data_type(&self) -> DataType {
        match self {
            Expr::Column { data_type, .. } => data_type.clone(),
            Expr::Literal(s) => s.data_type(),
            Expr::Unary { op: UnaryOp::Not, .. } => DataType::Boolean,
            Expr::Unary {
                op: UnaryOp::Neg,
                arg,
            } => arg.data_type(),
            Expr::Binary { op, left, .. } => match op {
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                    left.data_type()
                }
                BinaryOp::Concat => DataType::Utf8,
                _ => DataType::Boolean,
            },
            Expr::IsNull { .. } | Expr::InList { .. } | Expr::Like { .. } => DataType::Boolean,
            Expr::Case { data_type, .. } => data_type.clone(),
            Expr::Cast { to, .. } => to.clone(),
            Expr::Function { data_type, .. } => data_type.clone(),
        }
    }

    /// Every column index the expression reads (with repeats).
    pub fn for_each_column(&self, f: &mut impl FnMut(usize)) {
        match self {
            Expr::Column { index, .. } => f(*index),
            Expr::Literal(_) => {}
            Expr::Unary { arg, .. } | Expr::IsNull { arg, .. } | Expr::Cast { arg, .. } => {
                arg.for_each_column(f)
            }
            Expr::Binary { left, right, .. } => {
                left.for_each_column(f);
                right.for_each_column(f);
            }
            Expr::InList { arg, list, .. } => {
                arg.for_each_column(f);
                list.iter().for_each(|e| e.for_each_column(f));
            }
            Expr::Like { arg, pattern, .. } => {
                arg.for_each_column(f);
                pattern.for_each_column(f);
            }
            Expr::Case {
                branches, else_expr, ..
            } => {
                for (w, t) in branches {
                    w.for_each_column(f);
                    t.for_each_column(f);
                }
                if let Some(e) = else_expr {
                    e.for_each_column(f);
                }
            }
            Expr::Function { args, .. } => args.iter().for_each(|e| e.for_each_column(f)),
        }
    }
}
