//! `GET /logs` parameters parsed and validated into a [`LogsRequest`].
//!
//! Parsing is strict: an unknown parameter, a repeated one, or a bad value
//! is a [`QueryError`] naming the parameter. Nothing here does I/O.

use std::collections::BTreeMap;

use loggate_core::query::LevelSet;
use loggate_core::{Filters, Level, Order};

use crate::engine::EngineError;

pub use super::params::{
    cursor_mismatch, expected_parameters, param, CursorRule, Param, ParamDoc, ParamSchema, PARAMS,
};

/// Most logs in one page, and the default.
pub const MAX_LIMIT: usize = 1000;
pub const DEFAULT_LIMIT: usize = 50;
/// Longest `q`, in characters.
pub const MAX_Q_CHARS: usize = 256;
/// Longest value of `service`, `user_id` or an attribute, in characters.
pub const MAX_VALUE_CHARS: usize = 1024;
/// Most `attr.*` filters in one query.
pub const MAX_ATTR_FILTERS: usize = 16;
/// Most names in `source`.
pub const MAX_SOURCES: usize = 64;

/// One `GET /logs` request, validated. Fields the client did not send are
/// `None` so a cursor can tell "not sent" from "sent".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogsRequest {
    pub sources: Option<Vec<String>>,
    pub filters: Filters,
    pub order: Option<Order>,
    pub limit: usize,
    pub cursor: Option<String>,
    pub include_raw: bool,
    pub partial: bool,
    /// `follow=true`: a follow traversal (spec §8); `None` when not sent.
    pub follow: Option<bool>,
    /// Not a parameter: with a follow cursor, move its window no further
    /// than this bound (epoch ms); a tail aligning with its shared poller.
    pub follow_to: Option<i64>,
    /// Not a parameter: with a follow cursor, read only these of its
    /// sources (`None`: all); the others keep their positions and are left
    /// out of the page's reports. A tail's poller reading each source at
    /// its own pace ([`crate::tail::Schedule`]).
    pub poll_sources: Option<Vec<String>>,
    /// Not a parameter: a shared tail poller's page while
    /// `follow.late_window` is on — no delivered id is dropped or
    /// remembered; each subscriber drops its own ([`super::late::shared`]).
    pub shared_poll: bool,
    /// `Cache-Control: no-cache` (a header, not a parameter): no stored
    /// upstream answer is used for this page (spec §9).
    pub no_cache: bool,
}

/// Parses the raw (still percent-encoded) query string.
pub fn parse_logs_query(raw: Option<&str>) -> Result<LogsRequest, EngineError> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in super::form::decode_pairs(raw.unwrap_or(""))? {
        if seen.contains_key(&name) {
            return Err(EngineError::invalid(&name, "given more than once"));
        }
        seen.insert(name, value);
    }

    let mut request = LogsRequest {
        limit: DEFAULT_LIMIT,
        partial: true,
        ..LogsRequest::default()
    };
    for (name, value) in seen {
        match param(&name) {
            Some(param) => (param.parse)(&mut request, &name, value)?,
            None => return Err(EngineError::UnknownParameter(name)),
        }
    }
    if request.filters.attrs.len() > MAX_ATTR_FILTERS {
        return Err(EngineError::invalid(
            "attr",
            format!("at most {MAX_ATTR_FILTERS} attr.* filters"),
        ));
    }
    if let (Some(start), Some(end)) = (request.filters.start, request.filters.end) {
        if start > end {
            return Err(EngineError::invalid("end", "must not be before start"));
        }
    }
    Ok(request)
}

pub(super) fn parse_sources(value: &str) -> Result<Vec<String>, EngineError> {
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(EngineError::invalid(
                "source",
                "expected a comma list of source names, found an empty name",
            ));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    if names.len() > MAX_SOURCES {
        return Err(EngineError::invalid(
            "source",
            format!("at most {MAX_SOURCES} sources"),
        ));
    }
    names.sort();
    Ok(names)
}

pub(super) fn parse_time(param: &str, value: &str) -> Result<i64, EngineError> {
    // RFC 3339 proper: a date, `T`, a time and an offset.
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|dt| dt.timestamp_millis())
        .map_err(|_| {
            EngineError::invalid(
                param,
                format!("expected an RFC 3339 timestamp, got {}", quote(value)),
            )
        })
}

pub(super) fn parse_level(param: &str, value: &str) -> Result<Level, EngineError> {
    value.parse::<Level>().map_err(|_| {
        EngineError::invalid(
            param,
            format!(
                "expected one of TRACE, DEBUG, INFO, WARN (alias WARNING), ERROR, FATAL (alias CRITICAL), in any case, got {}",
                quote(value)
            ),
        )
    })
}

pub(super) fn parse_levels(value: &str) -> Result<LevelSet, EngineError> {
    value
        .split(',')
        .map(|part| parse_level("level", part.trim()))
        .collect()
}

pub(super) fn parse_q(value: &str) -> Result<String, EngineError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_Q_CHARS {
        return Err(EngineError::invalid(
            "q",
            format!("expected 1 to {MAX_Q_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value.to_string())
}

pub(super) fn parse_value(param: &str, value: String) -> Result<String, EngineError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_VALUE_CHARS {
        return Err(EngineError::invalid(
            param,
            format!("expected 1 to {MAX_VALUE_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value)
}

pub(super) fn validate_attr_name(param: &str, name: &str) -> Result<(), EngineError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        Ok(())
    } else {
        Err(EngineError::invalid(
            param,
            "attribute names are 1 to 64 characters of letters, digits, '_', '-' and '.'",
        ))
    }
}

pub(super) fn parse_order(value: &str) -> Result<Order, EngineError> {
    match value {
        "desc" => Ok(Order::Desc),
        "asc" => Ok(Order::Asc),
        other => Err(not_one_of("order", &["desc", "asc"], other)),
    }
}

/// A value outside a parameter's fixed words. The words are exact, in
/// lower case as spec §3 lists them (only level names are case-insensitive
/// there), so a value that differs only in case (`order=ASC`) is told so.
pub(crate) fn not_one_of(param: &str, words: &[&str], value: &str) -> EngineError {
    let expected = match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let case = if words.iter().any(|w| w.eq_ignore_ascii_case(value)) {
        " (in lower case: only level names are case-insensitive)"
    } else {
        ""
    };
    EngineError::invalid(
        param,
        format!("expected {expected}{case}, got {}", quote(value)),
    )
}

pub(super) fn parse_limit(value: &str) -> Result<usize, EngineError> {
    match super::form::decimal(value).and_then(|n| usize::try_from(n).ok()) {
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(EngineError::invalid(
            "limit",
            format!(
                "expected an integer from 1 to {MAX_LIMIT}, got {}",
                quote(value)
            ),
        )),
    }
}

pub(super) fn parse_cursor_text(value: String) -> Result<String, EngineError> {
    if value.is_empty() {
        return Err(EngineError::InvalidCursor("the cursor is empty".into()));
    }
    Ok(value)
}

pub(super) fn parse_include(value: &str) -> Result<bool, EngineError> {
    match value {
        "raw" => Ok(true),
        other => Err(not_one_of("include", &["raw"], other)),
    }
}

pub(super) fn parse_bool(param: &str, value: &str) -> Result<bool, EngineError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(not_one_of(param, &["true", "false"], other)),
    }
}

/// A client value quoted for an error message, cut to 64 characters.
pub(crate) fn quote(value: &str) -> String {
    let cut: String = value.chars().take(64).collect();
    let ellipsis = if cut.len() < value.len() { "…" } else { "" };
    format!("{:?}", format!("{cut}{ellipsis}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<LogsRequest, EngineError> {
        parse_logs_query(Some(q))
    }

    fn param_of(q: &str) -> (String, Option<String>) {
        let e = parse(q).unwrap_err();
        (e.code().to_string(), e.param().map(str::to_string))
    }

    #[test]
    fn defaults() {
        let r = parse_logs_query(None).unwrap();
        assert_eq!(r.limit, 50);
        assert!(r.partial);
        assert_eq!(r.order, None);
        assert_eq!(r.filters, Filters::default());
    }

    #[test]
    fn parses_every_parameter() {
        let r = parse(
            "source=b,a&start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00.5%2B01:00&level=error,warn\
             &min_level=info&q=Fail&service=api&user_id=u1&attr.promptId=p%26x&order=asc&limit=7\
             &include=raw&partial=false&cursor=abc",
        )
        .unwrap();
        assert_eq!(r.sources, Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(r.filters.start, Some(1_735_689_600_000));
        assert_eq!(r.filters.end, Some(1_735_772_400_500));
        assert_eq!(
            r.filters.level,
            Some([Level::Error, Level::Warn].into_iter().collect())
        );
        assert_eq!(r.filters.min_level, Some(Level::Info));
        assert_eq!(r.filters.attrs["promptId"], "p&x");
        assert_eq!(r.order, Some(Order::Asc));
        assert_eq!((r.limit, r.include_raw, r.partial), (7, true, false));
        assert_eq!(r.cursor.as_deref(), Some("abc"));
    }

    #[test]
    fn bad_values_name_their_parameter() {
        for (query, param) in [
            ("start=yesterday", "start"),
            ("end=2025-01-01", "end"),
            ("level=loud", "level"),
            ("min_level=", "min_level"),
            ("q=", "q"),
            ("order=up", "order"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("limit=ten", "limit"),
            ("include=all", "include"),
            ("partial=yes", "partial"),
            ("service=", "service"),
            ("attr.=x", "attr."),
            ("attr.a%20b=x", "attr.a b"),
            ("source=a,,b", "source"),
            ("start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z", "end"),
            ("limit=1&limit=2", "limit"),
        ] {
            assert_eq!(
                param_of(query),
                ("invalid_parameter".to_string(), Some(param.to_string())),
                "{query}"
            );
        }
    }

    /// The fixed words of `order`, `include`, `partial` and `follow` are
    /// lower case as spec §3 lists them; another case is refused saying so.
    #[test]
    fn fixed_words_are_lower_case_and_the_refusal_says_so() {
        for (query, param, expected) in [
            ("order=ASC", "order", "expected desc or asc (in lower case"),
            ("order=Desc", "order", "expected desc or asc (in lower case"),
            ("include=RAW", "include", "expected raw (in lower case"),
            ("partial=False", "partial", "true or false (in lower case"),
            ("follow=TRUE", "follow", "true or false (in lower case"),
            ("order=up", "order", "expected desc or asc, got \"up\""),
        ] {
            let e = parse(query).unwrap_err();
            assert_eq!(e.param(), Some(param), "{query}");
            assert!(e.to_string().contains(expected), "{query}: {e}");
        }
    }

    /// `WARNING` and `CRITICAL` (any case) are accepted aliases of `WARN`
    /// and `FATAL` (README "Levels"; the OpenAPI parameter descriptions).
    #[test]
    fn level_aliases_are_accepted_in_any_case() {
        let r = parse("level=WARNING,critical,Error&min_level=Warning").unwrap();
        assert_eq!(
            r.filters.level,
            Some(
                [Level::Warn, Level::Fatal, Level::Error]
                    .into_iter()
                    .collect()
            )
        );
        assert_eq!(r.filters.min_level, Some(Level::Warn));
        let r = parse("min_level=CRITICAL").unwrap();
        assert_eq!(r.filters.min_level, Some(Level::Fatal));
        for other in [
            "level=WARNINGS",
            "level=err",
            "min_level=notice",
            "level=INFO,",
        ] {
            let e = parse(other).unwrap_err();
            assert_eq!(e.code(), "invalid_parameter", "{other}");
            assert!(e.to_string().contains("alias WARNING"), "{e}");
        }
    }

    #[test]
    fn invalid_utf8_in_any_value_is_400_naming_it() {
        for (query, param) in [
            ("q=%FF%FE%C3", "q"),
            ("service=%FF", "service"),
            ("user_id=%C3", "user_id"),
            ("attr.x=%FE", "attr.x"),
            ("source=J%C2%94%FF", "source"),
            ("level=%FF", "level"),
            ("cursor=%FF", "cursor"),
        ] {
            assert_eq!(
                param_of(query),
                ("invalid_parameter".to_string(), Some(param.to_string())),
                "{query}"
            );
        }
    }

    #[test]
    fn q_counts_characters_not_bytes() {
        assert!(parse(&format!("q={}", "é".repeat(256))).is_ok());
        assert!(parse(&format!("q={}", "é".repeat(257))).is_err());
    }

    #[test]
    fn filter_parameters_are_the_pushdown_names() {
        let every = parse(
            "start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&level=info&min_level=info\
             &q=x&service=s&user_id=u&attr.k=v",
        )
        .unwrap();
        let declared: Vec<&str> = PARAMS.iter().filter(|p| p.filter).map(|p| p.name).collect();
        let named: Vec<String> = every.filters.names();
        let named: Vec<&str> = named
            .iter()
            .map(|n| {
                if n.starts_with("attr.") {
                    "attr.NAME"
                } else {
                    n
                }
            })
            .collect();
        assert_eq!(named, declared);
    }

    #[test]
    fn every_declared_example_parses() {
        for p in PARAMS {
            if let Some(example) = p.doc.example {
                let name = if p.name == "attr.NAME" {
                    "attr.k"
                } else {
                    p.name
                };
                assert!(parse(&format!("{name}={example}")).is_ok(), "{}", p.name);
            }
        }
    }

    #[test]
    fn unknown_parameters_are_rejected() {
        let e = parse("levle=ERROR").unwrap_err();
        assert_eq!(e.code(), "unknown_parameter");
        assert_eq!(e.param(), Some("levle"));
        assert!(e.to_string().ends_with(
            "expected source, start, end, level, min_level, q, service, user_id, attr.NAME, order, limit, cursor, include, partial or follow"
        ), "{e}");
    }
}
