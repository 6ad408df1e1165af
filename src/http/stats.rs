//! `GET /logs/stats`: counts over time (spec §7).

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use loggate_core::time::format_ms;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::engine::count::{parse_stats_query, CountMethod, SourceCount, Stats};
use crate::engine::{Caller, ReportStatus};
use crate::http::{ApiError, AppState, ErrorEnvelope};

/// Counts of the logs matching the `/logs` filters per time bucket and
/// group, each source counted with the cheapest exact method its provider
/// allows. (Its query parameters are added to the document from
/// [`crate::engine::count::params::STATS_PARAMS`].)
#[utoipa::path(
    get,
    path = "/logs/stats",
    tag = "logs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts per bucket and group; `complete` false when a source did not cover every bucket", body = StatsPage),
        (status = 400, description = "invalid_parameter (also: too many buckets, or a count over a source's budget), unknown_parameter, unknown_source; `param` names the parameter", body = ErrorEnvelope),
        crate::http::error::KeyRefusals,
        (status = 502, description = "upstream_error: every requested source failed before counting anything", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "When every failed source named a wait: the soonest, in seconds"))),
        (status = 503, description = "overloaded: loggate's own queue declined every source", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
        (status = 504, description = "upstream_timeout: every requested source timed out before counting anything", body = ErrorEnvelope),
    )
)]
pub async fn get_stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut request = parse_stats_query(raw.as_deref())?;
    request.no_cache = super::logs::wants_no_cache(&headers);
    let interval = request.interval.clone();
    let stats = state.engine.stats(request, &caller).await?;
    let body = serde_json::to_vec(&StatsPage::new(&stats, &interval)).map_err(|e| {
        tracing::error!(error = %e, "could not serialise counts");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the counts could not be serialised",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The answer of `GET /logs/stats` (spec §7).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatsPage<'a> {
    /// The bucket width as requested (`5m`).
    #[schema(value_type = String, example = "5m")]
    interval: &'a str,
    /// The groupings, as requested.
    #[schema(value_type = Vec<String>)]
    by: Vec<&'static str>,
    /// One series per group; without `by`, one series with an empty group.
    series: Vec<SeriesEntry>,
    /// True when every source counted every bucket exactly.
    complete: bool,
    /// How each source was counted, by source name.
    sources: BTreeMap<&'a str, SourceStats>,
    /// Present when a source did not cover every bucket or skipped
    /// unreadable records: one human-readable line each.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    #[schema(value_type = Vec<String>)]
    warnings: &'a [String],
}

/// One series.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesEntry {
    /// The group's values by grouping (`{"source": "app", "level": "ERROR"}`);
    /// `service` is `null` for logs without one.
    #[schema(value_type = Object)]
    group: Map<String, Value>,
    /// `[bucket start (RFC 3339 string, UTC, milliseconds), count (integer)]`
    /// pairs, ascending, one per
    /// bucket from the first up to the last one every source feeding the
    /// series covered (missing buckets were not counted: see `sources`).
    #[schema(value_type = Vec<Vec<serde_json::Value>>)]
    points: Vec<(String, u64)>,
}

/// `sources.NAME` of a `/logs/stats` answer.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceStats {
    /// `error` when the source failed (`reason` says why).
    status: ReportStatus,
    method: CountMethod,
    /// False when the scan skipped unreadable upstream records.
    exact: bool,
    /// Upstream HTTP requests sent for the counts, retries included.
    upstream_requests: u32,
    /// The part of the window counted: `[from, to)`; `to` is `end` when
    /// every bucket was covered.
    covered: Covered,
    /// Why not every bucket was covered (scan budget, deadline, failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// A half-open time range, RFC 3339 UTC with milliseconds.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Covered {
    #[schema(format = DateTime)]
    from: String,
    #[schema(format = DateTime)]
    to: String,
}

impl<'a> StatsPage<'a> {
    fn new(stats: &'a Stats, interval: &'a str) -> Self {
        let buckets = stats.buckets;
        let series = stats
            .series
            .iter()
            .map(|s| SeriesEntry {
                group: s
                    .group
                    .iter()
                    .map(|(g, v)| {
                        (
                            g.as_str().to_string(),
                            v.clone().map_or(Value::Null, Value::String),
                        )
                    })
                    .collect(),
                points: s.points.iter().map(|(t, c)| (format_ms(*t), *c)).collect(),
            })
            .collect();
        let sources = stats
            .sources
            .iter()
            .map(|(name, c)| (name.as_str(), source_stats(c, buckets)))
            .collect();
        StatsPage {
            interval,
            by: stats.by.iter().map(|g| g.as_str()).collect(),
            series,
            complete: stats.complete,
            sources,
            warnings: &stats.warnings,
        }
    }
}

fn source_stats(c: &SourceCount, buckets: crate::engine::count::Buckets) -> SourceStats {
    let to = if c.covered == 0 {
        buckets.start
    } else {
        buckets.bounds(c.covered - 1).1
    };
    SourceStats {
        status: if c.failure.is_some() {
            ReportStatus::Error
        } else {
            ReportStatus::Ok
        },
        method: c.method,
        exact: c.exact,
        upstream_requests: c.upstream_requests,
        covered: Covered {
            from: format_ms(buckets.start),
            to: format_ms(to),
        },
        reason: c.reason.clone(),
    }
}
