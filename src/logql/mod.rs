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

/// The regex text (unanchored, no spaces) of the durations
/// [`duration_ms`] reads exactly: one to four groups of a number (up to 3
/// fraction digits) and `ms`, `s`, `m`, `h`, `d`, `w`, `y` (`5m`, `1h30m`,
/// Go's `1m0s`, `1.5s`, Grafana's `14000ms`), the first at least 1 ms,
/// each at most 10^15 ms ([`duration_ms`]'s bound); `ns`/`us` and
/// sub-millisecond values left out. A macro so that `concat!` can build
/// the Loki `since`/`step` pattern and the `/logs/stats` `interval`
/// pattern from this one text.
macro_rules! duration_groups_pattern {
    () => {
        concat!(
            // The first group, at least 1 ms.
            r"(?:[1-9][0-9]{0,14}(?:\.[0-9]{1,3})?ms|[1-9][0-9]{0,11}(?:\.[0-9]{1,3})?s|[1-9][0-9]{0,9}(?:\.[0-9]{1,3})?m|[1-9][0-9]{0,7}(?:\.[0-9]{1,3})?h|[1-9][0-9]{0,6}(?:\.[0-9]{1,3})?d|[1-9][0-9]{0,5}(?:\.[0-9]{1,3})?w|[1-9][0-9]{0,3}(?:\.[0-9]{1,3})?y|0?\.[0-9]{0,2}[1-9](?:s|m|h|d|w|y))",
            // Up to three more; each unit capped at 10^15 ms, the parser's bound.
            r"(?:[0-9]{1,15}(?:\.[0-9]{1,3})?ms|[0-9]{1,12}(?:\.[0-9]{1,3})?s|[0-9]{1,10}(?:\.[0-9]{1,3})?m|[0-9]{1,8}(?:\.[0-9]{1,3})?h|[0-9]{1,7}(?:\.[0-9]{1,3})?d|[0-9]{1,6}(?:\.[0-9]{1,3})?w|[0-9]{1,4}(?:\.[0-9]{1,3})?y){0,3}"
        )
    };
}
pub(crate) use duration_groups_pattern;

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

/// The largest number of milliseconds one number-and-unit group of a
/// duration may stand for ([`duration_ms`] and [`duration_groups_pattern`]).
pub const MAX_DURATION_GROUP_MS: f64 = 1e15;

/// What a refusal of an over-large duration says of the bound.
pub const DURATION_BOUND: &str =
    "at most 10^15 ms (about 31,700 years) in each number-and-unit group";

/// True when `text` is a duration in form (numbers with units, as
/// [`duration_ms`] reads them) with a group over
/// [`MAX_DURATION_GROUP_MS`]: its refusal then names the bound instead of
/// the form (`99999999999999999999h`).
pub fn duration_over_bound(text: &str) -> bool {
    static GROUP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w|y)").expect("GROUP compiles")
    });
    static WHOLE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d|w|y))+$").expect("WHOLE compiles")
    });
    WHOLE.is_match(text)
        && GROUP.captures_iter(text).any(|group| {
            let number: f64 = group[1].parse().unwrap_or(f64::INFINITY);
            number * duration_ms(&format!("1{}", &group[2])).unwrap_or(1) as f64
                > MAX_DURATION_GROUP_MS
        })
}

#[cfg(test)]
mod tests;
