//! The leveled simulator's reading of `GET /logs` parameters and its
//! filter (the provider's page: `leveled-get-logs.txt` of the providers' pages).

use loggate_core::sim::{first, query_pairs};
use loggate_core::time::parse_timestamp_ns;
use serde_json::Value;

use crate::sim::Stored;

/// The parsed, validated query.
pub(crate) struct LogsQuery {
    pub(crate) limit: u64,
    pub(crate) offset: u64,
    pub(crate) start: Option<i128>,
    pub(crate) end: Option<i128>,
    pub(crate) level: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) search: Option<String>,
}

/// The query, or the message of the 400 it gets.
pub(crate) fn parse_query(raw: &str, max_limit: u64) -> Result<LogsQuery, String> {
    let pairs = query_pairs(raw);
    let get = |name: &str| first(&pairs, name).map(str::to_string);
    let limit = match get("limit") {
        None => 50,
        Some(text) => match text.parse::<u64>() {
            Ok(limit) if (1..=max_limit).contains(&limit) => limit,
            _ => {
                return Err(format!(
                    "Invalid 'limit' parameter. Must be an integer between 1 and {max_limit}."
                ));
            }
        },
    };
    let offset = match get("offset").map(|t| t.parse::<u64>()) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => {
            return Err("Invalid 'offset' parameter. Must be a non-negative integer.".into());
        }
    };
    let date = |name: &str| {
        match get(name) {
        None => Ok(None),
        Some(text) => parse_timestamp_ns(&text).map(Some).ok_or_else(|| {
            format!("Invalid date format for '{name}'. Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ).")
        }),
    }
    };
    let (start, end) = (date("startDate")?, date("endDate")?);
    let level = get("level");
    if let Some(level) = &level {
        if !["DEBUG", "INFO", "WARN", "ERROR", "FATAL"].contains(&level.as_str()) {
            return Err(
                "Invalid 'level' parameter. Possible values: DEBUG, INFO, WARN, ERROR, FATAL."
                    .into(),
            );
        }
    }
    Ok(LogsQuery {
        limit,
        offset,
        start,
        end,
        level,
        service: get("service"),
        search: get("search"),
    })
}

/// Whether `entry` answers `query` (window inclusive at stored precision).
pub(crate) fn selects(query: &LogsQuery, entry: &Stored, case_sensitive: bool) -> bool {
    let text = |name: &str| entry.raw.get(name).and_then(Value::as_str);
    let in_window = match (
        query.start.is_some() || query.end.is_some(),
        entry.timestamp_ns,
    ) {
        (false, _) => true,
        (true, None) => false,
        (true, Some(ts)) => {
            query.start.is_none_or(|s| ts >= s) && query.end.is_none_or(|e| ts <= e)
        }
    };
    in_window
        && query
            .level
            .as_deref()
            .is_none_or(|l| text("level") == Some(l))
        && query
            .service
            .as_deref()
            .is_none_or(|s| text("service") == Some(s))
        && query.search.as_deref().is_none_or(|needle| {
            let message = text("message").unwrap_or_default();
            if case_sensitive {
                message.contains(needle)
            } else {
                // Real deployments fold ASCII only (issue 11): `über` does
                // not find `Über`.
                ascii_contains(message, needle)
            }
        })
}

/// An ASCII-case-insensitive substring test.
fn ascii_contains(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    needle.is_empty()
        || haystack
            .as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}
