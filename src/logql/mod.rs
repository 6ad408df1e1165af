//! LogQL (spec §6): lexer, parser → [`ast`] with positions, and the
//! [`plan`]ner that maps a log query onto the unified `/logs` query. No HTTP
//! here; `src/http/loki/` serves it.
//!
//! The subset: stream selectors (`=`, `!=`, `=~`, `!~`), line filters
//! (`|=`, `!=`, `|~`, `!~`, with `or`), label filters on labels and
//! structured metadata (`=`, `!=`, `=~`, `!~`, joined by `and`/`,` or by
//! `or`), no-op `| json`, `| logfmt`, `| drop __error__`, and constant
//! expressions (`vector(1)+vector(1)`), and the metric queries of spec §7
//! that [`metric`] names (count_over_time, rate, bytes_over_time,
//! bytes_rate; sum and count by/without).

pub mod ast;
mod constant;
pub mod error;
pub mod labels;
pub mod lexer;
pub mod metric;
pub mod parser;
pub mod plan;

pub use constant::{eval_constant, Constant};
pub use error::{ErrorKind, LogqlError};
pub use parser::parse;

/// A Prometheus-style duration (`90s`, `1h30m`, `2d`, `500ms`) in
/// milliseconds; `None` when malformed, zero or out of range. Units: `ms`,
/// `s`, `m`, `h`, `d`, `w`, `y` (365 days); `us`/`µs`/`ns` round down.
pub fn duration_ms(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per_unit: f64 = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3_600e3,
            "d" => 86_400e3,
            "w" => 604_800e3,
            "y" => 31_536_000e3,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let ms = number * per_unit;
        if !ms.is_finite() || ms > 1e15 {
            return None;
        }
        total = total.checked_add(ms as i64)?;
    }
    (total > 0).then_some(total)
}

#[cfg(test)]
mod tests;
