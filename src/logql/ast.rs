//! The LogQL syntax tree. Every node keeps the byte offset where it starts
//! (`at`) so that the planner's errors name a position too.
//!
//! Metric queries (spec §7, issue 15) already parse into
//! [`Expr::RangeAggregation`] and [`Expr::VectorAggregation`]; the planner of
//! this release answers them with `unsupported: metric queries`.

/// A whole query.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A log query: selector and pipeline.
    Log(LogExpr),
    /// A number literal.
    Number { value: f64, at: usize },
    /// `vector(N)`: one sample with no labels.
    Vector { value: f64, at: usize },
    /// `lhs op rhs`, Prometheus precedence.
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        /// The `bool` modifier of a comparison.
        bool_modifier: bool,
        at: usize,
    },
    /// `count_over_time(<log expr> [range] [offset d])` and its kin (the
    /// offset, as in Loki, follows the range inside the parentheses).
    RangeAggregation {
        op: String,
        inner: LogExpr,
        range_ms: i64,
        offset_ms: i64,
        at: usize,
    },
    /// `sum by (a, b) (<expr>)` and its kin; `param` is topk's k.
    VectorAggregation {
        op: String,
        grouping: Option<Grouping>,
        param: Option<f64>,
        inner: Box<Expr>,
        at: usize,
    },
}

impl Expr {
    /// Where the expression starts (byte offset).
    pub fn at(&self) -> usize {
        match self {
            Expr::Log(l) => l.at,
            Expr::Number { at, .. }
            | Expr::Vector { at, .. }
            | Expr::Binary { at, .. }
            | Expr::RangeAggregation { at, .. }
            | Expr::VectorAggregation { at, .. } => *at,
        }
    }
}

/// `by (labels)` or `without (labels)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

/// Binary operators, Prometheus spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Unless,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// A stream selector and the stages after it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    pub matchers: Vec<Matcher>,
    pub stages: Vec<Stage>,
    pub at: usize,
}

/// The four matching operators of selectors, line and label filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=` (line filter `|=`)
    Eq,
    /// `!=`
    Ne,
    /// `=~` (line filter `|~`)
    Re,
    /// `!~`
    Nre,
}

impl MatchOp {
    pub fn is_negative(self) -> bool {
        matches!(self, MatchOp::Ne | MatchOp::Nre)
    }

    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Re | MatchOp::Nre)
    }
}

/// `name op "value"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    pub at: usize,
    /// Where the value starts (regex errors point there).
    pub value_at: usize,
}

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `|= "x"`, `!= "x"`, `|~ "re"`, `!~ "re"`; `or` alternatives in `values`.
    LineFilter {
        op: MatchOp,
        values: Vec<String>,
        at: usize,
    },
    /// `| json` or `| logfmt` without arguments: accepted, a no-op (the
    /// fields are already structured metadata).
    Parser { name: String, at: usize },
    /// `| drop a, b`: accepted when it only drops `__error__`/`__error_details__`.
    Drop { labels: Vec<String>, at: usize },
    /// `| a="x"`, possibly `and`/`,`-joined (or-joined: `any` is true).
    LabelFilter {
        matchers: Vec<Matcher>,
        any: bool,
        at: usize,
    },
}
