//! Timestamps: the one tolerant reader every adapter parses upstream times
//! with, and the formats sent upstream and to clients.
//!
//! Reading (spec §10): every ISO 8601 / RFC 3339 spelling in practical use
//! is the same instant — offsets `Z`, `+hh:mm`, `+hhmm`, `+hh` (or none:
//! UTC), lower-case `t`/`z`, a space for `T`, a comma or a point before the
//! fraction, any number of fraction digits (truncated to the millisecond
//! the gateway compares at). A leap second `:60.fff` reads as the last
//! millisecond of its minute (`:59.999`), so it stays ordered after the
//! rest of that minute and before the next one. Parsing is chrono's; this
//! module only normalises what chrono's format strings cannot say.
//!
//! Writing upstream: a bound must cover the whole millisecond the gateway
//! compares at, since an upstream may store microseconds or nanoseconds
//! (`.123750` truncates to the gateway's `.123`). A lower bound is the
//! start of its millisecond ([`format_ms`]); an upper bound the end
//! ([`format_ms_end`], `.123999999Z`).

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Timelike, Utc};

/// Reads an upstream timestamp (any spelling of §10, see the module docs)
/// as epoch milliseconds (UTC), truncating sub-millisecond digits; a leap
/// second is the last millisecond of its minute. `None` when the text is
/// not a date-time.
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let ns = parse_timestamp_ns(text)?;
    i64::try_from(ns.div_euclid(1_000_000)).ok()
}

/// [`parse_rfc3339_ms`] at full precision: epoch nanoseconds (fraction
/// digits past the ninth dropped; a leap second clamped to the last
/// nanosecond of its minute). For comparing as an upstream that stores
/// finer than milliseconds does (the simulators).
pub fn parse_timestamp_ns(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(nanos(&dt));
    }
    let normal = normalise(text)?;
    // `%#z` takes `Z`, `+hh:mm`, `+hhmm` and `+hh`.
    if let Ok(dt) = DateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S%.f%#z") {
        return Some(nanos(&dt));
    }
    let naive = NaiveDateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    Some(nanos(&naive.and_utc()))
}

/// The text with `T` and `Z` upper-case, a space separator as `T` and a
/// decimal comma as a point; `None` when it cannot be a date-time.
fn normalise(text: &str) -> Option<String> {
    if !text.is_ascii() || text.len() < 19 {
        return None;
    }
    let mut bytes = text.as_bytes().to_vec();
    if matches!(bytes[10], b't' | b' ') {
        bytes[10] = b'T';
    }
    if bytes.get(19) == Some(&b',') {
        bytes[19] = b'.';
    }
    if let Some(last) = bytes.last_mut().filter(|b| **b == b'z') {
        *last = b'Z';
    }
    String::from_utf8(bytes).ok()
}

/// Epoch nanoseconds of `dt`. chrono carries a leap second as a
/// nanosecond count of one second or more on `:59`; it is clamped to
/// `:59.999999999`, which keeps it before the next minute.
fn nanos<Tz: TimeZone>(dt: &DateTime<Tz>) -> i128 {
    let sub = i128::from(dt.nanosecond().min(999_999_999));
    i128::from(dt.timestamp()) * 1_000_000_000 + sub
}

/// Formats epoch milliseconds as `2025-04-29T17:44:10.432Z`: what clients
/// get, and the start of that millisecond as a lower bound sent upstream.
pub fn format_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => String::from("invalid-timestamp"),
    }
}

/// The last instant of millisecond `ms` with nine fraction digits,
/// `2025-04-29T17:44:10.432999999Z`: an inclusive upper bound sent
/// upstream that covers every record the gateway reads as `ms`, whatever
/// precision the upstream stores.
pub fn format_ms_end(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => {
            let end = dt + chrono::Duration::nanoseconds(999_999);
            end.to_rfc3339_opts(SecondsFormat::Nanos, true)
        }
        None => String::from("invalid-timestamp"),
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
