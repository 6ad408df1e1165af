//! LogQL errors: every one names its position as Loki does
//! (`parse error at line 1, col 9: ...`; lines and columns count from 1,
//! columns in characters).

use std::fmt;

/// What kind of problem a query has. All are answered `400`; the kind tells
/// tests (and the corpus checked against Grafana's grammar) which is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not LogQL at all (Grafana's grammar rejects it too).
    Syntax,
    /// Valid LogQL that loggate does not serve (named in the message).
    Unsupported,
    /// Valid grammar with a bad value: a regex, an escape, an
    /// empty-compatible selector, a range.
    Invalid,
}

/// A LogQL error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogqlError {
    pub kind: ErrorKind,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl LogqlError {
    fn at(kind: ErrorKind, input: &str, offset: usize, message: &str) -> Self {
        let offset = offset.min(input.len());
        let before = input.get(..offset).unwrap_or(input);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        LogqlError {
            kind,
            line,
            col,
            message: message.to_string(),
        }
    }

    /// A syntax error at byte `offset` of `input`.
    pub fn syntax(input: &str, offset: usize, message: &str) -> Self {
        Self::at(ErrorKind::Syntax, input, offset, message)
    }

    /// A construct loggate does not serve, named by `what`.
    pub fn unsupported(input: &str, offset: usize, what: &str) -> Self {
        Self::at(
            ErrorKind::Unsupported,
            input,
            offset,
            &format!("unsupported: {what}"),
        )
    }

    /// A bad value (regex, escape, range) at byte `offset`.
    pub fn invalid(input: &str, offset: usize, message: &str) -> Self {
        Self::at(ErrorKind::Invalid, input, offset, message)
    }
}

impl fmt::Display for LogqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parse error at line {}, col {}: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for LogqlError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_from_one() {
        let e = LogqlError::syntax("{é=\"x\"}\n  |", 11, "boom");
        assert_eq!((e.line, e.col), (2, 3));
        assert_eq!(e.to_string(), "parse error at line 2, col 3: boom");
        assert_eq!(LogqlError::syntax("{a", 1, "x").col, 2);
    }
}
