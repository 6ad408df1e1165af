//! A recursive-descent LogQL parser for the subset of spec §6 (and the
//! metric-query grammar of §7, which parses but is not yet planned).
//! Grammar reference: Loki's `pkg/logql/syntax/syntax.y`; Grafana's
//! `@grafana/lezer-logql` must agree on what is a syntax error
//! (`tests/loki_corpus.txt`).

mod pipeline;

use super::ast::{BinOp, Expr, Grouping, LogExpr};
use super::error::LogqlError;
use super::lexer::{lex, Spanned, Tok};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;
/// Deepest nesting of parentheses and aggregations.
const MAX_DEPTH: usize = 64;

const RANGE_OPS: [&str; 15] = [
    "count_over_time",
    "rate",
    "bytes_over_time",
    "bytes_rate",
    "absent_over_time",
    "sum_over_time",
    "avg_over_time",
    "max_over_time",
    "min_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "quantile_over_time",
    "first_over_time",
    "last_over_time",
    "rate_counter",
];
const VECTOR_OPS: [&str; 12] = [
    "sum",
    "avg",
    "count",
    "max",
    "min",
    "stddev",
    "stdvar",
    "bottomk",
    "topk",
    "sort",
    "sort_desc",
    "approx_topk",
];

/// Parses a whole query.
pub fn parse(input: &str) -> Result<Expr, LogqlError> {
    if input.len() > MAX_QUERY_BYTES {
        return Err(LogqlError::invalid(
            input,
            0,
            &format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let toks = lex(input)?;
    let mut p = Parser {
        input,
        toks,
        pos: 0,
        depth: 0,
        unsupported: None,
    };
    let expr = p.expr(0)?;
    if *p.peek() != Tok::Eof {
        return Err(p.unexpected(""));
    }
    match p.unsupported {
        None => Ok(expr),
        Some(unsupported) => Err(unsupported),
    }
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<Spanned>,
    pos: usize,
    depth: usize,
    /// The first valid but unsupported construct met; reported once the
    /// whole query has parsed (a syntax error anywhere wins).
    unsupported: Option<LogqlError>,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let i = (self.pos + ahead).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn at(&self) -> usize {
        self.toks[self.pos].at
    }

    fn bump(&mut self) -> Tok {
        let tok = self.toks[self.pos].tok.clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        tok
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn unexpected(&self, expecting: &str) -> LogqlError {
        let mut message = format!("syntax error: unexpected {}", self.peek().describe());
        if !expecting.is_empty() {
            message.push_str(", expecting ");
            message.push_str(expecting);
        }
        LogqlError::syntax(self.input, self.at(), &message)
    }

    fn unsupported(&self, at: usize, what: &str) -> LogqlError {
        LogqlError::unsupported(self.input, at, what)
    }

    /// Remembers the first unsupported construct and parses on.
    fn note_unsupported(&mut self, at: usize, what: &str) {
        if self.unsupported.is_none() {
            self.unsupported = Some(self.unsupported(at, what));
        }
    }

    fn expect(&mut self, tok: Tok, name: &str) -> Result<(), LogqlError> {
        if *self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected(name))
        }
    }

    fn string(&mut self) -> Result<(String, usize), LogqlError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Str(s) => {
                self.bump();
                Ok((s, at))
            }
            Tok::BadStr(message) => Err(LogqlError::invalid(self.input, at, &message)),
            _ => Err(self.unexpected("STRING")),
        }
    }

    fn ident(&mut self) -> Result<String, LogqlError> {
        match self.peek().clone() {
            Tok::Ident(s) => {
                self.bump();
                Ok(s)
            }
            _ => Err(self.unexpected("IDENTIFIER")),
        }
    }

    fn enter(&mut self) -> Result<(), LogqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(LogqlError::invalid(
                self.input,
                self.at(),
                &format!("expressions nest deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// Binary expressions by precedence climbing (Prometheus precedence).
    fn expr(&mut self, min_prec: u8) -> Result<Expr, LogqlError> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.binary_op() {
            if prec < min_prec {
                break;
            }
            let at = self.at();
            self.bump();
            let mut bool_modifier = false;
            if self.is_ident("bool") {
                self.bump();
                bool_modifier = true;
            }
            if self.is_ident("on") || self.is_ident("ignoring") {
                return Err(self.unsupported(self.at(), "vector matching (on/ignoring)"));
            }
            // `^` is right-associative, the others left.
            let next = if op == BinOp::Pow { prec } else { prec + 1 };
            let rhs = self.expr(next)?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                bool_modifier,
                at,
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn binary_op(&self) -> Option<(BinOp, u8)> {
        Some(match self.peek() {
            Tok::Ident(w) if w == "or" => (BinOp::Or, 1),
            Tok::Ident(w) if w == "and" => (BinOp::And, 2),
            Tok::Ident(w) if w == "unless" => (BinOp::Unless, 2),
            Tok::Cmp("==") => (BinOp::Eq, 3),
            Tok::Neq => (BinOp::Ne, 3),
            Tok::Cmp(">") => (BinOp::Gt, 3),
            Tok::Cmp(">=") => (BinOp::Ge, 3),
            Tok::Cmp("<") => (BinOp::Lt, 3),
            Tok::Cmp("<=") => (BinOp::Le, 3),
            Tok::Arith('+') => (BinOp::Add, 4),
            Tok::Arith('-') => (BinOp::Sub, 4),
            Tok::Arith('*') => (BinOp::Mul, 5),
            Tok::Arith('/') => (BinOp::Div, 5),
            Tok::Arith('%') => (BinOp::Mod, 5),
            Tok::Arith('^') => (BinOp::Pow, 6),
            _ => return None,
        })
    }

    fn unary(&mut self) -> Result<Expr, LogqlError> {
        let at = self.at();
        if let Tok::Arith(sign @ ('-' | '+')) = self.peek().clone() {
            if let Tok::Number(n) = self.peek_at(1).clone() {
                self.bump();
                self.bump();
                let value = if sign == '-' { -n } else { n };
                return Ok(Expr::Number { value, at });
            }
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, LogqlError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::LParen => {
                self.bump();
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(inner)
            }
            Tok::LBrace => Ok(Expr::Log(self.log_expr(false)?.0)),
            Tok::Number(value) => {
                self.bump();
                Ok(Expr::Number { value, at })
            }
            Tok::Ident(word) if word == "vector" => {
                self.bump();
                self.expect(Tok::LParen, "\"(\"")?;
                let value = self.number()?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(Expr::Vector { value, at })
            }
            Tok::Ident(word) if RANGE_OPS.contains(&word.as_str()) => self.range_aggregation(word),
            Tok::Ident(word) if VECTOR_OPS.contains(&word.as_str()) => {
                self.vector_aggregation(word)
            }
            Tok::Ident(word) if matches!(word.as_str(), "label_replace" | "absent") => {
                Err(self.unsupported(at, &format!("{word}()")))
            }
            _ => Err(self.unexpected("\"{\", \"(\", a number or a function")),
        }
    }

    fn number(&mut self) -> Result<f64, LogqlError> {
        let negative = matches!(self.peek(), Tok::Arith('-'));
        if negative {
            self.bump();
        }
        match self.peek().clone() {
            Tok::Number(n) => {
                self.bump();
                Ok(if negative { -n } else { n })
            }
            _ => Err(self.unexpected("NUMBER")),
        }
    }

    fn duration(&mut self) -> Result<i64, LogqlError> {
        let at = self.at();
        match self.peek().clone() {
            Tok::Unit(text) => {
                self.bump();
                super::duration_ms(&text).ok_or_else(|| {
                    let why = if super::duration_over_bound(&text) {
                        format!("duration {text:?} is too large: {}", super::DURATION_BOUND)
                    } else {
                        format!("invalid duration {text:?}")
                    };
                    LogqlError::invalid(self.input, at, &why)
                })
            }
            _ => Err(self.unexpected("DURATION")),
        }
    }

    fn range_aggregation(&mut self, op: String) -> Result<Expr, LogqlError> {
        let at = self.at();
        self.bump();
        self.enter()?;
        self.expect(Tok::LParen, "\"(\"")?;
        if op == "quantile_over_time" {
            self.number()?;
            self.expect(Tok::Comma, "\",\"")?;
        }
        let (inner, range) = self.log_expr(true)?;
        let (range_ms, offset_ms) = range.ok_or_else(|| self.unexpected("\"[\" and a range"))?;
        self.expect(Tok::RParen, "\")\"")?;
        if self.is_ident("by") || self.is_ident("without") {
            self.grouping()?;
        }
        self.depth -= 1;
        Ok(Expr::RangeAggregation {
            op,
            inner,
            range_ms,
            offset_ms,
            at,
        })
    }

    fn vector_aggregation(&mut self, op: String) -> Result<Expr, LogqlError> {
        let at = self.at();
        self.bump();
        let mut grouping = None;
        if self.is_ident("by") || self.is_ident("without") {
            grouping = Some(self.grouping()?);
        }
        self.expect(Tok::LParen, "\"(\"")?;
        let mut param = None;
        if matches!(op.as_str(), "topk" | "bottomk" | "approx_topk") {
            param = Some(self.number()?);
            self.expect(Tok::Comma, "\",\"")?;
        }
        let inner = self.expr(0)?;
        self.expect(Tok::RParen, "\")\"")?;
        if grouping.is_none() && (self.is_ident("by") || self.is_ident("without")) {
            grouping = Some(self.grouping()?);
        }
        Ok(Expr::VectorAggregation {
            op,
            grouping,
            param,
            inner: Box::new(inner),
            at,
        })
    }

    fn grouping(&mut self) -> Result<Grouping, LogqlError> {
        let without = self.is_ident("without");
        self.bump();
        self.expect(Tok::LParen, "\"(\"")?;
        let mut labels = Vec::new();
        while let Tok::Ident(name) = self.peek().clone() {
            self.bump();
            labels.push(name);
            if *self.peek() != Tok::Comma {
                break;
            }
            self.bump();
        }
        self.expect(Tok::RParen, "\")\" or a label name")?;
        Ok(Grouping { without, labels })
    }

    /// `{matchers} stages`, with a `[range]` before or after the stages when
    /// `ranged` (inside a range aggregation).
    /// A log expression; `ranged`: inside a range aggregation, with its
    /// `[range]` and optional `offset d` (ms) before or after the pipeline,
    /// as Loki's grammar has them (`logRangeExpr` in `syntax.y`: the offset
    /// follows the range, inside the parentheses).
    fn log_expr(&mut self, ranged: bool) -> Result<(LogExpr, Option<(i64, i64)>), LogqlError> {
        let at = self.at();
        let matchers = self.selector()?;
        let mut range = None;
        if ranged && *self.peek() == Tok::LBracket {
            range = Some(self.range()?);
        }
        let stages = self.stages()?;
        if ranged && range.is_none() && *self.peek() == Tok::LBracket {
            range = Some(self.range()?);
        }
        Ok((
            LogExpr {
                matchers,
                stages,
                at,
            },
            range,
        ))
    }

    /// `[d]` and an optional `offset d`: (range, offset) in ms.
    fn range(&mut self) -> Result<(i64, i64), LogqlError> {
        self.bump();
        let ms = self.duration()?;
        self.expect(Tok::RBracket, "\"]\"")?;
        let mut offset_ms = 0;
        if self.is_ident("offset") {
            self.bump();
            offset_ms = self.duration()?;
        }
        Ok((ms, offset_ms))
    }
}
