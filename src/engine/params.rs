//! The declaration of every `GET /logs` query parameter ([`PARAMS`]): its
//! name, how its value is parsed, whether a cursor carries it, whether it
//! is a filter (named in `pushed`/`residual` as [`Filters::names`] spells
//! it; a filter's name is declared in `loggate_core::query::filter_param`),
//! and what the OpenAPI document says of it. Parsing, the
//! unknown-parameter check, the cursor check and the document's parameters
//! all derive from this one table (issue 12).
//!
//! [`Filters::names`]: loggate_core::Filters::names

use super::query::{
    parse_bool, parse_cursor_text, parse_include, parse_level, parse_levels, parse_limit,
    parse_order, parse_q, parse_sources, parse_time, parse_value, validate_attr_name, LogsRequest,
    MAX_LIMIT, MAX_Q_CHARS, MAX_VALUE_CHARS,
};
use super::{CursorState, EngineError};
use loggate_core::query::filter_param::{self as fp, ATTR_PREFIX};

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
    /// A filter: named (as [`loggate_core::Filters::names`] spells it) in each source's
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
    /// A string of `min_length` to `max_length` characters (`max_length`
    /// 0: no bound) matching `pattern` (an anchored ECMA-262 regex) if any.
    Text {
        min_length: usize,
        max_length: usize,
        pattern: Option<&'static str>,
    },
    DateTime,
    Integer {
        minimum: u64,
        maximum: u64,
    },
    Boolean,
    OneOf(&'static [&'static str]),
}

/// `sent` differs from `kept` when it was sent at all.
fn differs<T: PartialEq>(sent: &Option<T>, kept: &Option<T>) -> bool {
    sent.is_some() && sent != kept
}

/// A [`CursorRule::Carried`] check of one filter field.
macro_rules! carried_filter {
    ($name:expr, $field:ident) => {
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
            description: "Comma list of source names (each `[a-z0-9_]{1,32}`, spaces around a name ignored, at most 64 distinct); default: every source the key may read. A name that is not configured is answered 400 unknown_source, one the key may not read 403.",
            example: Some("app,auth"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: 0,
                pattern: Some(SOURCE_LIST_PATTERN),
            },
        },
    },
    Param {
        name: fp::START,
        parse: |r, p, v| {
            r.filters.start = Some(parse_time(p, &v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::START, start),
        filter: true,
        doc: ParamDoc {
            description: "Logs on or after this RFC 3339 timestamp (date, `T`, time and offset; surrounding spaces are ignored). With `end` earlier than `start` the request is answered 400 invalid_parameter (`param` = `end`).",
            example: Some("2025-04-29T00:00:00Z"),
            schema: ParamSchema::DateTime,
        },
    },
    Param {
        name: fp::END,
        parse: |r, p, v| {
            r.filters.end = Some(parse_time(p, &v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::END, end),
        filter: true,
        doc: ParamDoc {
            description: "Logs on or before this RFC 3339 timestamp (date, `T`, time and offset; surrounding spaces are ignored). `end` earlier than `start` is answered 400 invalid_parameter (`param` = `end`).",
            example: Some("2030-01-01T00:00:00.000Z"),
            schema: ParamSchema::DateTime,
        },
    },
    Param {
        name: fp::LEVEL,
        parse: |r, _, v| {
            r.filters.level = Some(parse_levels(&v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::LEVEL, level),
        filter: true,
        doc: ParamDoc {
            description: "Comma list of exact levels: TRACE, DEBUG, INFO, WARN, ERROR, FATAL, in any case; the aliases WARNING (= WARN) and CRITICAL (= FATAL) are accepted too. Responses always carry the six canonical names.",
            example: Some("ERROR,WARN"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: 0,
                pattern: Some(LEVEL_LIST_PATTERN),
            },
        },
    },
    Param {
        name: fp::MIN_LEVEL,
        parse: |r, p, v| {
            r.filters.min_level = Some(parse_level(p, v.trim())?);
            Ok(())
        },
        cursor: carried_filter!(fp::MIN_LEVEL, min_level),
        filter: true,
        doc: ParamDoc {
            description: "This level or more severe: one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, in any case, or the aliases WARNING (= WARN) and CRITICAL (= FATAL).",
            example: Some("INFO"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: 0,
                pattern: Some(LEVEL_PATTERN),
            },
        },
    },
    Param {
        name: fp::Q,
        parse: |r, _, v| {
            r.filters.q = Some(parse_q(&v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::Q, q),
        filter: true,
        doc: ParamDoc {
            description: "Case-insensitive substring of `message`, 1 to 256 characters.",
            example: Some("error"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: MAX_Q_CHARS,
                pattern: None,
            },
        },
    },
    Param {
        name: fp::SERVICE,
        parse: |r, p, v| {
            r.filters.service = Some(parse_value(p, v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::SERVICE, service),
        filter: true,
        doc: ParamDoc {
            description: "Exact `service`, 1 to 1024 characters.",
            example: Some("checkout"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: MAX_VALUE_CHARS,
                pattern: None,
            },
        },
    },
    Param {
        name: fp::USER_ID,
        parse: |r, p, v| {
            r.filters.user_id = Some(parse_value(p, v)?);
            Ok(())
        },
        cursor: carried_filter!(fp::USER_ID, user_id),
        filter: true,
        doc: ParamDoc {
            description: "Exact `user_id`, 1 to 1024 characters.",
            example: Some("u_42"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: MAX_VALUE_CHARS,
                pattern: None,
            },
        },
    },
    Param {
        name: fp::ATTR,
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
            description: "A family of parameters, not a literal name: `attr.<NAME>=<value>` filters on the exact value of `attributes.<NAME>` (a number or boolean matches its JSON text; the value is 1 to 1024 characters, `<NAME>` 1 to 64 characters of letters, digits, `_`, `-` and `.`), e.g. `attr.workflowId=67ef01ed8eaeb50b18e646ea`. Any number of them may be sent. OpenAPI cannot express a parameter-name prefix; every other parameter name is rejected with 400 unknown_parameter.",
            example: Some("x"),
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: MAX_VALUE_CHARS,
                pattern: None,
            },
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
            description: "`next_cursor` of the previous page. It carries the whole query: any filter, `source` or `order` sent with it must equal the cursor's (else 400 cursor_mismatch); `limit`, `include` and `partial` may change. The terminal cursor of a `/logs/tail` that reached its `end` is answered by `/logs` with an empty page and `next_cursor: null`, by `/logs/tail` with `204`.",
            example: None,
            schema: ParamSchema::Text {
                min_length: 1,
                max_length: 0,
                pattern: None,
            },
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
    Param {
        name: "follow",
        parse: |r, p, v| {
            r.follow = Some(parse_bool(p, &v)?);
            Ok(())
        },
        cursor: CursorRule::Carried(|sent, kept| {
            differs(&sent.follow, &Some(kept.follow)).then(|| "follow".into())
        }),
        filter: false,
        doc: ParamDoc {
            description: "`true` (requires `order=asc`): a follow traversal (spec §8). When it has caught up, `next_cursor` stays a follow cursor and the page says `caught_up: true`; calling it later returns what became visible since, exactly once, never anything newer than now − settle.",
            example: Some("false"),
            schema: ParamSchema::Boolean,
        },
    },
];

/// One level name, case-insensitive, aliases included (as
/// `loggate_core::Level::from_str` accepts them).
macro_rules! level_alternatives {
    () => {
        "(?:[Tt][Rr][Aa][Cc][Ee]|[Dd][Ee][Bb][Uu][Gg]|[Ii][Nn][Ff][Oo]|[Ww][Aa][Rr][Nn](?:[Ii][Nn][Gg])?|[Ee][Rr][Rr][Oo][Rr]|[Ff][Aa][Tt][Aa][Ll]|[Cc][Rr][Ii][Tt][Ii][Cc][Aa][Ll])"
    };
}

/// `min_level`: one level in any case, `WARNING`/`CRITICAL` included,
/// spaces around it ignored (the parser trims).
pub const LEVEL_PATTERN: &str = concat!("^ *", level_alternatives!(), " *$");

/// `level`: a comma list of [`LEVEL_PATTERN`]'s names.
pub const LEVEL_LIST_PATTERN: &str = concat!(
    "^ *",
    level_alternatives!(),
    " *(?:, *",
    level_alternatives!(),
    " *)*$"
);

/// `source`: a comma list of source names (config names are
/// `[a-z0-9_]{1,32}`), spaces around a name ignored.
pub const SOURCE_LIST_PATTERN: &str = "^ *[a-z0-9_]{1,32} *(?:, *[a-z0-9_]{1,32} *)*$";

/// The declaration of a parameter as sent (`attr.promptId` is `attr.NAME`).
pub fn param(name: &str) -> Option<&'static Param> {
    let family = if name.starts_with(ATTR_PREFIX) {
        fp::ATTR
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
