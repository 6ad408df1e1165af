//! Selectors and pipeline stages: line filters, parsers, `drop`, label
//! filters. Valid stages that loggate does not serve are named in an
//! `unsupported` error, never a syntax error (Grafana's grammar accepts them).

use super::Parser;
use crate::logql::ast::{MatchOp, Matcher, Stage};
use crate::logql::error::LogqlError;
use crate::logql::lexer::Tok;

/// Pipeline stages that are valid LogQL but not served.
const UNSUPPORTED_STAGES: [&str; 10] = [
    "regexp",
    "pattern",
    "unpack",
    "line_format",
    "label_format",
    "keep",
    "decolorize",
    "unwrap",
    "distinct",
    "label_replace",
];

impl Parser<'_> {
    pub(super) fn selector(&mut self) -> Result<Vec<Matcher>, LogqlError> {
        self.expect(Tok::LBrace, "\"{\"")?;
        let mut matchers = vec![self.matcher()?];
        while *self.peek() == Tok::Comma {
            self.bump();
            matchers.push(self.matcher()?);
        }
        self.expect(Tok::RBrace, "\",\" or \"}\"")?;
        Ok(matchers)
    }

    pub(super) fn match_op(&self) -> Option<MatchOp> {
        match self.peek() {
            Tok::Eq => Some(MatchOp::Eq),
            Tok::Neq => Some(MatchOp::Ne),
            Tok::Re => Some(MatchOp::Re),
            Tok::Nre => Some(MatchOp::Nre),
            _ => None,
        }
    }

    fn matcher(&mut self) -> Result<Matcher, LogqlError> {
        let at = self.at();
        let name = self.ident()?;
        let op = self
            .match_op()
            .ok_or_else(|| self.unexpected("\"=\", \"!=\", \"=~\" or \"!~\""))?;
        self.bump();
        let (value, value_at) = self.string()?;
        Ok(Matcher {
            name,
            op,
            value,
            at,
            value_at,
        })
    }

    pub(super) fn stages(&mut self) -> Result<Vec<Stage>, LogqlError> {
        let mut stages = Vec::new();
        loop {
            let at = self.at();
            let op = match self.peek() {
                Tok::PipeExact => MatchOp::Eq,
                Tok::Neq => MatchOp::Ne,
                Tok::PipeMatch => MatchOp::Re,
                Tok::Nre => MatchOp::Nre,
                Tok::PipePattern | Tok::NotPattern => {
                    self.bump();
                    self.line_filter(MatchOp::Eq, at)?;
                    self.note_unsupported(at, "pattern line filters (|> and !>)");
                    continue;
                }
                Tok::Pipe if *self.peek_at(1) == Tok::LParen => {
                    self.bump();
                    self.skip_parenthesised()?;
                    self.note_unsupported(at, "parenthesised label filters");
                    continue;
                }
                Tok::Pipe => {
                    self.bump();
                    stages.push(self.pipe_stage()?);
                    continue;
                }
                _ => return Ok(stages),
            };
            self.bump();
            stages.push(self.line_filter(op, at)?);
        }
    }

    fn line_filter(&mut self, op: MatchOp, at: usize) -> Result<Stage, LogqlError> {
        if self.is_ident("ip") {
            let ip_at = self.at();
            self.ip_call()?;
            self.note_unsupported(ip_at, "ip() line filters");
            return Ok(Stage::LineFilter {
                op,
                values: Vec::new(),
                at,
            });
        }
        let mut values = vec![self.string()?.0];
        while self.is_ident("or") && matches!(self.peek_at(1), Tok::Str(_) | Tok::BadStr(_)) {
            self.bump();
            values.push(self.string()?.0);
        }
        Ok(Stage::LineFilter { op, values, at })
    }

    fn pipe_stage(&mut self) -> Result<Stage, LogqlError> {
        let at = self.at();
        let word = match self.peek().clone() {
            Tok::Ident(word) => word,
            _ => return Err(self.unexpected("a pipeline stage")),
        };
        if UNSUPPORTED_STAGES.contains(&word.as_str()) {
            return Err(self.unsupported(at, &format!("the {word} stage")));
        }
        let next_is_op = self.match_op_at(1) || matches!(self.peek_at(1), Tok::Cmp(_));
        if (word == "json" || word == "logfmt") && !next_is_op {
            self.bump();
            if matches!(
                self.peek(),
                Tok::Ident(_) | Tok::Flag(_) | Tok::Str(_) | Tok::BadStr(_)
            ) {
                return Err(self.unsupported(at, &format!("{word} with parameters")));
            }
            return Ok(Stage::Parser { name: word, at });
        }
        if word == "drop" && !next_is_op {
            self.bump();
            let mut labels = Vec::new();
            loop {
                labels.push(self.ident()?);
                if self.match_op().is_some() {
                    return Err(self.unsupported(at, "drop with a matcher"));
                }
                if *self.peek() != Tok::Comma {
                    break;
                }
                self.bump();
            }
            return Ok(Stage::Drop { labels, at });
        }
        self.label_filter(at)
    }

    fn match_op_at(&self, ahead: usize) -> bool {
        matches!(self.peek_at(ahead), Tok::Eq | Tok::Neq | Tok::Re | Tok::Nre)
    }

    fn label_filter(&mut self, at: usize) -> Result<Stage, LogqlError> {
        let mut matchers = Vec::new();
        let (mut saw_and, mut saw_or) = (false, false);
        loop {
            let m_at = self.at();
            let name = self.ident()?;
            match self.match_op() {
                Some(op) => {
                    self.bump();
                    if let Some(m) = self.label_filter_value(name, op, m_at)? {
                        matchers.push(m);
                    }
                }
                None if matches!(self.peek(), Tok::Cmp(_)) => {
                    self.bump();
                    self.numeric_value(m_at)?;
                }
                None => return Err(self.unexpected("\"=\", \"!=\", \"=~\" or \"!~\"")),
            }
            if *self.peek() == Tok::Comma || self.is_ident("and") {
                saw_and = true;
            } else if self.is_ident("or") {
                saw_or = true;
            } else {
                break;
            }
            if saw_and && saw_or {
                self.note_unsupported(self.at(), "label filters mixing and/or");
            }
            self.bump();
        }
        Ok(Stage::LabelFilter {
            matchers,
            any: saw_or,
            at,
        })
    }

    /// Skips `( ... )` with balanced parentheses; unbalanced is a syntax error.
    fn skip_parenthesised(&mut self) -> Result<(), LogqlError> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::LParen => depth += 1,
                Tok::RParen => depth -= 1,
                Tok::Eof => return Err(self.unexpected("\")\"")),
                _ => {}
            }
            self.bump();
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// The value after `name op`: a string makes a matcher; a number,
    /// duration or `ip("...")` is valid LogQL noted as unsupported.
    fn label_filter_value(
        &mut self,
        name: String,
        op: MatchOp,
        at: usize,
    ) -> Result<Option<Matcher>, LogqlError> {
        let value_at = self.at();
        match self.peek().clone() {
            Tok::Str(_) | Tok::BadStr(_) => {
                let (value, _) = self.string()?;
                Ok(Some(Matcher {
                    name,
                    op,
                    value,
                    at,
                    value_at,
                }))
            }
            Tok::Ident(w) if w == "ip" => {
                self.ip_call()?;
                self.note_unsupported(at, "ip() label filters");
                Ok(None)
            }
            _ => {
                self.numeric_value(at)?;
                Ok(None)
            }
        }
    }

    /// A number or duration/bytes literal of a numeric label filter.
    fn numeric_value(&mut self, at: usize) -> Result<(), LogqlError> {
        if matches!(self.peek(), Tok::Arith('-')) {
            self.bump();
        }
        match self.peek() {
            Tok::Number(_) | Tok::Unit(_) => {
                self.bump();
                self.note_unsupported(at, "numeric label filters");
                Ok(())
            }
            _ => Err(self.unexpected("NUMBER or STRING")),
        }
    }

    /// `ip("...")`.
    fn ip_call(&mut self) -> Result<(), LogqlError> {
        self.bump();
        self.expect(Tok::LParen, "\"(\"")?;
        self.string()?;
        self.expect(Tok::RParen, "\")\"")
    }
}
