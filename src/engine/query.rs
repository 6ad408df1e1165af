//! `GET /logs` parameters parsed and validated into a [`LogsRequest`].
//!
//! Parsing is strict: an unknown parameter, a repeated one, or a bad value
//! is a [`QueryError`] naming the parameter. Nothing here does I/O.

use std::collections::BTreeMap;

use loggate_core::query::LevelSet;
use loggate_core::{Filters, Level, Order};

use crate::engine::{CursorState, EngineError};

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
}

/// Parses the raw (still percent-encoded) query string.
pub fn parse_logs_query(raw: Option<&str>) -> Result<LogsRequest, EngineError> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let name = name.into_owned();
        if seen.contains_key(&name) {
            return Err(EngineError::invalid(&name, "given more than once"));
        }
        seen.insert(name, value.into_owned());
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

/// One `GET /logs` query parameter: the single declaration its parsing,
/// the unknown-parameter check, the cursor check and the OpenAPI document
/// derive from (spec §3).
pub struct Param {
    /// As the client spells it; `attr.NAME` is a family (the prefix
    /// `attr.` and any attribute name).
    pub name: &'static str,
    /// Reads a value into the request; gets the name as sent.
    pub parse: fn(&mut LogsRequest, &str, String) -> Result<(), EngineError>,
    /// How the parameter relates to a cursor.
    pub cursor: CursorRule,
    /// A filter: named (as [`Filters::names`] spells it) in each source's
    /// `pushed` or `residual`.
    pub filter: bool,
    pub doc: ParamDoc,
}

/// How a parameter relates to a cursor (spec §3).
pub enum CursorRule {
    /// The cursor carries it: sent with a cursor it must equal the
    /// cursor's. Returns the name of the parameter that differs.
    Carried(fn(&LogsRequest, &CursorState) -> Option<String>),
    /// It may change from page to page.
    PerPage,
}

/// What the OpenAPI document says of a parameter.
pub struct ParamDoc {
    pub description: &'static str,
    /// Also the value `tests/openapi.rs` sends.
    pub example: Option<&'static str>,
    pub schema: ParamSchema,
}

/// The OpenAPI schema of a parameter's value.
pub enum ParamSchema {
    String,
    DateTime,
    Integer { minimum: u64, maximum: u64 },
    Boolean,
    OneOf(&'static [&'static str]),
}

/// `sent` differs from `kept` when it was sent at all.
fn differs<T: PartialEq>(sent: &Option<T>, kept: &Option<T>) -> bool {
    sent.is_some() && sent != kept
}

/// A [`CursorRule::Carried`] check of one filter field.
macro_rules! carried_filter {
    ($name:literal, $field:ident) => {
        CursorRule::Carried(|sent, kept| {
            differs(&sent.filters.$field, &kept.filters.$field).then(|| $name.to_string())
        })
    };
}

/// Every parameter of `GET /logs`, in the order of the spec's table.
pub static PARAMS: &[Param] = &[
    Param {
        name: "source",
        parse: |r, _, v| {
            r.sources = Some(parse_sources(&v)?);
            Ok(())
        },
        cursor: CursorRule::Carried(|sent, kept| {
            let differ = sent.sources.as_ref().is_some_and(|s| *s != kept.sources);
            differ.then(|| "source".into())
        }),
        filter: false,
        doc: ParamDoc {
            description: "Comma list of source names; default: every source the key may read.",
            example: Some("app,auth"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "start",
        parse: |r, p, v| {
            r.filters.start = Some(parse_time(p, &v)?);
            Ok(())
        },
        cursor: carried_filter!("start", start),
        filter: true,
        doc: ParamDoc {
            description: "Logs on or after this RFC 3339 timestamp.",
            example: Some("2025-04-29T00:00:00Z"),
            schema: ParamSchema::DateTime,
        },
    },
    Param {
        name: "end",
        parse: |r, p, v| {
            r.filters.end = Some(parse_time(p, &v)?);
            Ok(())
        },
        cursor: carried_filter!("end", end),
        filter: true,
        doc: ParamDoc {
            description: "Logs on or before this RFC 3339 timestamp; not before `start`.",
            example: Some("2030-01-01T00:00:00.000Z"),
            schema: ParamSchema::DateTime,
        },
    },
    Param {
        name: "level",
        parse: |r, _, v| {
            r.filters.level = Some(parse_levels(&v)?);
            Ok(())
        },
        cursor: carried_filter!("level", level),
        filter: true,
        doc: ParamDoc {
            description: "Comma list of exact levels: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (case-insensitive).",
            example: Some("ERROR,WARN"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "min_level",
        parse: |r, p, v| {
            r.filters.min_level = Some(parse_level(p, v.trim())?);
            Ok(())
        },
        cursor: carried_filter!("min_level", min_level),
        filter: true,
        doc: ParamDoc {
            description: "This level or more severe (case-insensitive).",
            example: Some("INFO"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "q",
        parse: |r, _, v| {
            r.filters.q = Some(parse_q(&v)?);
            Ok(())
        },
        cursor: carried_filter!("q", q),
        filter: true,
        doc: ParamDoc {
            description: "Case-insensitive substring of `message`, 1 to 256 characters.",
            example: Some("error"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "service",
        parse: |r, p, v| {
            r.filters.service = Some(parse_value(p, v)?);
            Ok(())
        },
        cursor: carried_filter!("service", service),
        filter: true,
        doc: ParamDoc {
            description: "Exact `service`.",
            example: Some("checkout"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "user_id",
        parse: |r, p, v| {
            r.filters.user_id = Some(parse_value(p, v)?);
            Ok(())
        },
        cursor: carried_filter!("user_id", user_id),
        filter: true,
        doc: ParamDoc {
            description: "Exact `user_id`.",
            example: Some("u_42"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "attr.NAME",
        parse: |r, p, v| {
            let attr = p.strip_prefix(ATTR_PREFIX).unwrap_or(p);
            validate_attr_name(p, attr)?;
            let value = parse_value(p, v)?;
            r.filters.attrs.insert(attr.to_string(), value);
            Ok(())
        },
        cursor: CursorRule::Carried(|sent, kept| {
            sent.filters
                .attrs
                .iter()
                .find(|(name, value)| kept.filters.attrs.get(*name) != Some(value))
                .map(|(name, _)| format!("{ATTR_PREFIX}{name}"))
        }),
        filter: true,
        doc: ParamDoc {
            description: "A family of parameters, not a literal name: `attr.<NAME>=<value>` filters on the exact value of `attributes.<NAME>` (a number or boolean matches its JSON text), e.g. `attr.workflowId=67ef01ed8eaeb50b18e646ea`. Any number of them may be sent. OpenAPI cannot express a parameter-name prefix; every other parameter name is rejected with 400 unknown_parameter.",
            example: Some("x"),
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "order",
        parse: |r, _, v| {
            r.order = Some(parse_order(&v)?);
            Ok(())
        },
        cursor: CursorRule::Carried(|sent, kept| {
            differs(&sent.order, &Some(kept.order)).then(|| "order".into())
        }),
        filter: false,
        doc: ParamDoc {
            description: "By timestamp; default `desc` (newest first).",
            example: None,
            schema: ParamSchema::OneOf(&["desc", "asc"]),
        },
    },
    Param {
        name: "limit",
        parse: |r, _, v| {
            r.limit = parse_limit(&v)?;
            Ok(())
        },
        cursor: CursorRule::PerPage,
        filter: false,
        doc: ParamDoc {
            description: "Most logs in the page; default 50.",
            example: Some("20"),
            schema: ParamSchema::Integer {
                minimum: 1,
                maximum: MAX_LIMIT as u64,
            },
        },
    },
    Param {
        name: "cursor",
        parse: |r, _, v| {
            r.cursor = Some(parse_cursor_text(v)?);
            Ok(())
        },
        cursor: CursorRule::PerPage,
        filter: false,
        doc: ParamDoc {
            description: "`next_cursor` of the previous page. It carries the whole query: any filter, `source` or `order` sent with it must equal the cursor's (else 400 cursor_mismatch); `limit`, `include` and `partial` may change.",
            example: None,
            schema: ParamSchema::String,
        },
    },
    Param {
        name: "include",
        parse: |r, _, v| {
            r.include_raw = parse_include(&v)?;
            Ok(())
        },
        cursor: CursorRule::PerPage,
        filter: false,
        doc: ParamDoc {
            description: "`raw`: add each record's untouched upstream object as `raw`.",
            example: None,
            schema: ParamSchema::OneOf(&["raw"]),
        },
    },
    Param {
        name: "partial",
        parse: |r, p, v| {
            r.partial = parse_bool(p, &v)?;
            Ok(())
        },
        cursor: CursorRule::PerPage,
        filter: false,
        doc: ParamDoc {
            description: "Default true. `false`: fail as soon as one source fails (502, 503 or 504).",
            example: Some("false"),
            schema: ParamSchema::Boolean,
        },
    },
];

/// The prefix of the `attr.NAME` family.
const ATTR_PREFIX: &str = "attr.";

/// The declaration of a parameter as sent (`attr.promptId` is `attr.NAME`).
pub fn param(name: &str) -> Option<&'static Param> {
    let family = if name.starts_with(ATTR_PREFIX) {
        "attr.NAME"
    } else {
        name
    };
    PARAMS.iter().find(|p| p.name == family)
}

/// "source, start, ... or partial": for the unknown-parameter message.
pub fn expected_parameters() -> String {
    let names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
    match names.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// With a cursor, every carried parameter the client sends must equal the
/// cursor's; the first that differs, by name.
pub fn cursor_mismatch(request: &LogsRequest, state: &CursorState) -> Option<String> {
    PARAMS.iter().find_map(|p| match p.cursor {
        CursorRule::Carried(check) => check(request, state),
        CursorRule::PerPage => None,
    })
}

fn parse_sources(value: &str) -> Result<Vec<String>, EngineError> {
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

fn parse_time(param: &str, value: &str) -> Result<i64, EngineError> {
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

fn parse_level(param: &str, value: &str) -> Result<Level, EngineError> {
    value.parse::<Level>().map_err(|_| {
        EngineError::invalid(
            param,
            format!(
                "expected one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, got {}",
                quote(value)
            ),
        )
    })
}

fn parse_levels(value: &str) -> Result<LevelSet, EngineError> {
    value
        .split(',')
        .map(|part| parse_level("level", part.trim()))
        .collect()
}

fn parse_q(value: &str) -> Result<String, EngineError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_Q_CHARS {
        return Err(EngineError::invalid(
            "q",
            format!("expected 1 to {MAX_Q_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value.to_string())
}

fn parse_value(param: &str, value: String) -> Result<String, EngineError> {
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_VALUE_CHARS {
        return Err(EngineError::invalid(
            param,
            format!("expected 1 to {MAX_VALUE_CHARS} characters, got {chars}"),
        ));
    }
    Ok(value)
}

fn validate_attr_name(param: &str, name: &str) -> Result<(), EngineError> {
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

fn parse_order(value: &str) -> Result<Order, EngineError> {
    match value {
        "desc" => Ok(Order::Desc),
        "asc" => Ok(Order::Asc),
        other => Err(EngineError::invalid(
            "order",
            format!("expected desc or asc, got {}", quote(other)),
        )),
    }
}

fn parse_limit(value: &str) -> Result<usize, EngineError> {
    match value.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(EngineError::invalid(
            "limit",
            format!(
                "expected an integer from 1 to {MAX_LIMIT}, got {}",
                quote(value)
            ),
        )),
    }
}

fn parse_cursor_text(value: String) -> Result<String, EngineError> {
    if value.is_empty() {
        return Err(EngineError::InvalidCursor("the cursor is empty".into()));
    }
    Ok(value)
}

fn parse_include(value: &str) -> Result<bool, EngineError> {
    match value {
        "raw" => Ok(true),
        other => Err(EngineError::invalid(
            "include",
            format!("expected raw, got {}", quote(other)),
        )),
    }
}

fn parse_bool(param: &str, value: &str) -> Result<bool, EngineError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(EngineError::invalid(
            param,
            format!("expected true or false, got {}", quote(other)),
        )),
    }
}

/// A client value quoted for an error message, cut to 64 characters.
fn quote(value: &str) -> String {
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
            "expected source, start, end, level, min_level, q, service, user_id, attr.NAME, order, limit, cursor, include or partial"
        ), "{e}");
    }
}
