//! The declaration of every `GET /logs/stats` query parameter
//! ([`STATS_PARAMS`], spec §7): the `/logs` filters (parsed and documented
//! by their `/logs` declaration in [`crate::engine::query::PARAMS`]) and
//! the parameters of counting. Parsing, the unknown-parameter check and
//! the OpenAPI document derive from this one table.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use loggate_core::Filters;
use regex::Regex;

use super::{Buckets, CountMethod, GroupBy, MAX_BUCKETS};
use crate::engine::form::decode_pairs;
use crate::engine::query::{param, LogsRequest, ParamDoc, ParamSchema};
use crate::engine::EngineError;

/// What `interval` accepts (gate and OpenAPI pattern): the durations
/// [`crate::logql::duration_ms`] reads exactly, as the Loki routes' `step`
/// without its plain seconds; no spaces.
pub const INTERVAL_PATTERN: &str = concat!("^", crate::logql::duration_groups_pattern!(), "$");

static INTERVAL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(INTERVAL_PATTERN).expect("INTERVAL_PATTERN compiles"));

/// What `by` accepts: one grouping, or two different ones, comma-separated,
/// spaces around each ignored (as [`parse_by`] reads it).
pub const BY_PATTERN: &str = concat!(
    "^ *(?:level *(?:, *(?:source|provider|service) *)?",
    "|source *(?:, *(?:level|provider|service) *)?",
    "|provider *(?:, *(?:level|source|service) *)?",
    "|service *(?:, *(?:level|source|provider) *)?)$"
);

/// One parameter of `GET /logs/stats`.
pub struct StatsParam {
    pub name: &'static str,
    pub required: bool,
    /// `None`: a `/logs` filter, parsed and documented as there.
    pub own: Option<OwnParam>,
}

/// A parameter of counting itself.
pub struct OwnParam {
    pub parse: fn(&mut Draft, &str) -> Result<(), EngineError>,
    pub doc: ParamDoc,
}

/// A request being parsed.
#[derive(Default)]
pub struct Draft {
    logs: LogsRequest,
    start: Option<i64>,
    end: Option<i64>,
    interval: Option<(String, i64)>,
    by: Vec<GroupBy>,
    method: Option<CountMethod>,
}

/// One `GET /logs/stats` request, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsRequest {
    pub sources: Option<Vec<String>>,
    /// The `/logs` filters; the window is in `buckets`.
    pub filters: Filters,
    pub buckets: Buckets,
    /// `interval` as sent (`5m`).
    pub interval: String,
    pub by: Vec<GroupBy>,
    /// `None`: `auto`, the cheapest exact method.
    pub method: Option<CountMethod>,
    /// `Cache-Control: no-cache`: no stored upstream answer is used (spec
    /// §9); set by the handler from the request's headers.
    pub no_cache: bool,
}

const fn filter(name: &'static str) -> StatsParam {
    StatsParam {
        name,
        required: false,
        own: None,
    }
}

/// Every parameter of `GET /logs/stats`.
pub static STATS_PARAMS: &[StatsParam] = &[
    filter("source"),
    StatsParam {
        name: "start",
        required: true,
        own: Some(OwnParam {
            parse: |d, v| {
                d.start = Some(time("start", v)?);
                Ok(())
            },
            doc: ParamDoc {
                description: "Required. Counts logs on or after this RFC 3339 timestamp; the first bucket starts here and every bucket is aligned to it.",
                example: Some("2025-04-29T00:00:00Z"),
                schema: ParamSchema::DateTime,
            },
        }),
    },
    StatsParam {
        name: "end",
        required: true,
        own: Some(OwnParam {
            parse: |d, v| {
                d.end = Some(time("end", v)?);
                Ok(())
            },
            doc: ParamDoc {
                description: "Required. Counts logs before this RFC 3339 timestamp (exclusive; unlike `/logs`, whose `end` is inclusive); must be after `start`. The last bucket ends here and may be shorter than `interval`.",
                example: Some("2025-04-30T00:00:00Z"),
                schema: ParamSchema::DateTime,
            },
        }),
    },
    StatsParam {
        name: "interval",
        required: true,
        own: Some(OwnParam {
            parse: parse_interval,
            doc: ParamDoc {
                description: "Required. The width of a bucket, a Prometheus-style duration (`500ms`, `1m`, `5m`, `1h`, `1d`, `1h30m`; one to four number-and-unit groups, units `ms`, `s`, `m`, `h`, `d`, `w`, `y`, at least 1ms); buckets are half-open `[bucket start, bucket start + interval)`. At most 1000 buckets: (end - start) / interval is refused with a 400 above that.",
                example: Some("1h"),
                schema: ParamSchema::Text {
                    min_length: 2,
                    max_length: 0,
                    pattern: Some(INTERVAL_PATTERN),
                },
            },
        }),
    },
    StatsParam {
        name: "by",
        required: false,
        own: Some(OwnParam {
            parse: parse_by,
            doc: ParamDoc {
                description: "Up to two different ones of `level`, `source`, `provider`, `service`, comma-separated (spaces around a name ignored): one series per group. Default: one series of everything.",
                example: Some("source,level"),
                schema: ParamSchema::Text {
                    min_length: 1,
                    max_length: 0,
                    pattern: Some(BY_PATTERN),
                },
            },
        }),
    },
    StatsParam {
        name: "method",
        required: false,
        own: Some(OwnParam {
            parse: parse_method,
            doc: ParamDoc {
                description: "An extension of loggate: `auto` (default) counts each source with its cheapest exact method; `pushdown` insists on the provider's total-count field (400 when a source cannot count the filters exactly that way); `scan` reads and counts the records.",
                example: Some("auto"),
                schema: ParamSchema::OneOf(&["auto", "pushdown", "scan"]),
            },
        }),
    },
    filter("level"),
    filter("min_level"),
    filter("q"),
    filter("service"),
    filter("user_id"),
    filter("attr.NAME"),
];

/// The declaration of a parameter as sent.
pub fn stats_param(name: &str) -> Option<&'static StatsParam> {
    let family = if name.starts_with("attr.") {
        "attr.NAME"
    } else {
        name
    };
    STATS_PARAMS.iter().find(|p| p.name == family)
}

/// Parses the raw (still percent-encoded) query string of `/logs/stats`.
pub fn parse_stats_query(raw: Option<&str>) -> Result<StatsRequest, EngineError> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in decode_pairs(raw.unwrap_or(""))? {
        if seen.contains_key(&name) {
            return Err(EngineError::invalid(&name, "given more than once"));
        }
        seen.insert(name, value);
    }
    let mut draft = Draft::default();
    for (name, value) in seen {
        let Some(declared) = stats_param(&name) else {
            return Err(EngineError::UnknownParameterOf {
                name,
                expected: expected(),
            });
        };
        match &declared.own {
            Some(own) => (own.parse)(&mut draft, &value)?,
            None => {
                let shared = param(&name).expect("every /logs/stats filter is a /logs parameter");
                (shared.parse)(&mut draft.logs, &name, value)?;
            }
        }
    }
    finish(draft)
}

fn finish(draft: Draft) -> Result<StatsRequest, EngineError> {
    for p in STATS_PARAMS.iter().filter(|p| p.required) {
        let missing = match p.name {
            "start" => draft.start.is_none(),
            "end" => draft.end.is_none(),
            _ => draft.interval.is_none(),
        };
        if missing {
            return Err(EngineError::invalid(p.name, "required"));
        }
    }
    let (start, end) = (draft.start.unwrap_or(0), draft.end.unwrap_or(0));
    let (interval, interval_ms) = draft.interval.unwrap_or_default();
    if end <= start {
        return Err(EngineError::invalid("end", "must be after start"));
    }
    let buckets = Buckets {
        start,
        end,
        interval_ms,
    };
    let n = (end - start + interval_ms - 1) / interval_ms;
    if n > MAX_BUCKETS as i64 {
        return Err(EngineError::invalid(
            "interval",
            format!("{interval} cuts the window into {n} buckets, more than {MAX_BUCKETS}; use a larger interval or a shorter window"),
        ));
    }
    if draft.logs.filters.attrs.len() > crate::engine::query::MAX_ATTR_FILTERS {
        return Err(EngineError::invalid(
            "attr",
            format!(
                "at most {} attr.* filters",
                crate::engine::query::MAX_ATTR_FILTERS
            ),
        ));
    }
    Ok(StatsRequest {
        sources: draft.logs.sources,
        filters: draft.logs.filters,
        buckets,
        interval,
        by: draft.by,
        method: draft.method,
        no_cache: false,
    })
}

/// "source, start, ... or attr.NAME".
fn expected() -> String {
    let names: Vec<&str> = STATS_PARAMS.iter().map(|p| p.name).collect();
    match names.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn time(name: &str, value: &str) -> Result<i64, EngineError> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|dt| dt.timestamp_millis())
        .map_err(|_| {
            EngineError::invalid(
                name,
                format!("expected an RFC 3339 timestamp, got {value:?}"),
            )
        })
}

fn parse_interval(draft: &mut Draft, value: &str) -> Result<(), EngineError> {
    let ms = Some(value)
        .filter(|v| INTERVAL_RE.is_match(v))
        .and_then(crate::logql::duration_ms)
        .ok_or_else(|| {
            let shown: String = value.chars().take(64).collect();
            let message = if crate::logql::duration_over_bound(value) {
                format!(
                    "{shown:?} is too large: an interval takes {}; one longer than the window gives one bucket",
                    crate::logql::DURATION_BOUND
                )
            } else {
                format!("expected a duration such as 1m, 5m or 1h30m (units ms, s, m, h, d, w, y; at least 1ms), got {shown:?}")
            };
            EngineError::invalid("interval", message)
        })?;
    draft.interval = Some((value.to_string(), ms));
    Ok(())
}

fn parse_by(draft: &mut Draft, value: &str) -> Result<(), EngineError> {
    let mut by = Vec::new();
    for part in value.split(',').map(|part| part.trim_matches(' ')) {
        let group = GroupBy::ALL
            .into_iter()
            .find(|g| g.as_str() == part)
            .ok_or_else(|| {
                EngineError::invalid(
                    "by",
                    format!(
                        "expected up to two of level, source, provider, service (in lower case), got {}",
                        crate::engine::query::quote(part)
                    ),
                )
            })?;
        if by.contains(&group) {
            return Err(EngineError::invalid("by", format!("{part} given twice")));
        }
        by.push(group);
    }
    if by.len() > 2 {
        return Err(EngineError::invalid("by", "at most two groupings"));
    }
    draft.by = by;
    Ok(())
}

fn parse_method(draft: &mut Draft, value: &str) -> Result<(), EngineError> {
    draft.method = match value {
        "auto" => None,
        "pushdown" => Some(CountMethod::Pushdown),
        "scan" => Some(CountMethod::Scan),
        other => {
            return Err(crate::engine::query::not_one_of(
                "method",
                &["auto", "pushdown", "scan"],
                other,
            ))
        }
    };
    Ok(())
}
