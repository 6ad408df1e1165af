//! `GET /labels`, `/label/<name>/values`, `/series`, `/index/stats` and
//! `/status/buildinfo` (spec §6).
//!
//! Labels and values never name a source outside the key's scope: every
//! answer is computed from the sources the key may read.
//! - `source`, `provider` values: the readable sources the selector chooses
//!   (as `/sources` lists them), whether or not they hold entries.
//! - `level`, `detected_level` values: one exact probe per level (does any
//!   entry of that level match in the range?).
//! - `service_name` values, `/series` and `/index/stats`: the newest
//!   [`META_SCAN`] matching records of the range (stats extrapolate past it).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::Extension;
use loggate_core::query::LevelSet;
use loggate_core::Level;

use super::params::{Nanos, Params};
use super::scan::{scan, Scan, ScanSpec};
use super::schema::{json_response, BuildInfo, IndexStats, LokiSeries, LokiStrings};
use super::{now_ns, readable, LokiError};
use crate::engine::Caller;
use crate::http::AppState;
use crate::logql::ast::Expr;
use crate::logql::labels::{level_label, STREAM_LABELS};
use crate::logql::plan::{plan_log_expr, LogPlan};

/// Most records one metadata request reads.
pub const META_SCAN: usize = 20_000;
const SIX_HOURS: Nanos = 6 * 3_600 * 1_000_000_000;
const LABEL_PARAMS: [&str; 4] = ["start", "end", "since", "query"];
const SERIES_PARAMS: [&str; 4] = ["start", "end", "since", "match[]"];
const STATS_PARAMS: [&str; 3] = ["query", "start", "end"];
/// The Loki API version loggate answers like, and loggate's own (semver
/// build metadata, which version comparisons ignore).
pub const BUILD_VERSION: &str = concat!("3.4.0+loggate.", env!("CARGO_PKG_VERSION"));

/// A selector (optionally with a pipeline) planned over the readable
/// sources; `None` text selects every readable source.
fn selection(
    state: &AppState,
    caller: &Caller,
    text: Option<&str>,
    param: &str,
) -> Result<LogPlan, LokiError> {
    let text = text.unwrap_or("{source=~\".+\"}");
    let expr = crate::logql::parse(text)?;
    let Expr::Log(log) = &expr else {
        return Err(LokiError::bad_request(format!(
            "{param}: expected a stream selector such as {{source=\"app\"}}"
        )));
    };
    Ok(plan_log_expr(
        text,
        log,
        &readable(state, caller),
        state.loki.line,
    )?)
}

async fn read(
    state: &AppState,
    caller: &Caller,
    plan: &LogPlan,
    (start, end): (Nanos, Nanos),
    want: Option<usize>,
) -> Result<Scan, LokiError> {
    let spec = ScanSpec {
        plan,
        start,
        end,
        forward: false,
        line_mode: state.loki.line,
        want,
        max_records: META_SCAN,
    };
    scan(state, caller, &spec).await
}

/// `GET /loki/api/v1/labels`
#[utoipa::path(
    get,
    path = "/loki/api/v1/labels",
    tag = "loki",
    security(("bearer" = [])),
    params(("query" = Option<String>, Query, description = "A stream selector"), ("start" = Option<String>, Query, description = "Inclusive: integer ns (at most 10 digits: seconds), float seconds or RFC 3339"), ("end" = Option<String>, Query, description = "Exclusive; default now"), ("since" = Option<String>, Query, description = "Duration back from end when start is absent")),
    responses(
        (status = 200, description = "Label names: `{\"status\":\"success\",\"data\":[...]}`", content_type = "application/json", body = super::schema::LokiStrings),
        super::schema::LokiRefusals,
    )
)]
pub async fn labels(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let params = Params::parse(raw.as_deref(), &LABEL_PARAMS)?;
    let window = params.window(now_ns(), SIX_HOURS)?;
    let plan = selection(&state, &caller, params.get("query"), "query")?;
    let found = read(&state, &caller, &plan, window, Some(1)).await?;
    let names: Vec<&str> = if found.entries.is_empty() {
        Vec::new()
    } else {
        STREAM_LABELS.to_vec()
    };
    Ok(json_response(&LokiStrings::new(names)))
}

/// `GET /loki/api/v1/label/<name>/values`
#[utoipa::path(
    get,
    path = "/loki/api/v1/label/{name}/values",
    tag = "loki",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "A label name (`[a-zA-Z_][a-zA-Z0-9_]*`); a name no entry carries has no values"), ("query" = Option<String>, Query, description = "A stream selector"), ("start" = Option<String>, Query, description = "Inclusive: integer ns (at most 10 digits: seconds), float seconds or RFC 3339"), ("end" = Option<String>, Query, description = "Exclusive; default now"), ("since" = Option<String>, Query, description = "Duration back from end when start is absent")),
    responses(
        (status = 200, description = "Label values: `{\"status\":\"success\",\"data\":[...]}`", content_type = "application/json", body = super::schema::LokiStrings),
        super::schema::LokiRefusals,
    )
)]
pub async fn label_values(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let name = super::params::label_name(name)?;
    let params = Params::parse(raw.as_deref(), &LABEL_PARAMS)?;
    let window = params.window(now_ns(), SIX_HOURS)?;
    let mut plan = selection(&state, &caller, params.get("query"), "query")?;
    let values: BTreeSet<String> = match name.as_str() {
        "source" => plan.sources.iter().cloned().collect(),
        "provider" => readable(&state, &caller)
            .into_iter()
            .filter(|s| plan.sources.contains(&s.name))
            .map(|s| s.provider.to_string())
            .collect(),
        "level" | "detected_level" => {
            let mut found = BTreeSet::new();
            let allowed = plan.filters.levels().unwrap_or_else(LevelSet::all);
            for level in Level::ALL.into_iter().filter(|l| allowed.contains(*l)) {
                plan.filters.level = Some([level].into_iter().collect());
                plan.filters.min_level = None;
                if !read(&state, &caller, &plan, window, Some(1))
                    .await?
                    .entries
                    .is_empty()
                {
                    found.insert(level_label(level).to_string());
                }
            }
            found
        }
        "service_name" => read(&state, &caller, &plan, window, None)
            .await?
            .entries
            .iter()
            .map(|e| e.view().value("service_name"))
            .collect(),
        _ => BTreeSet::new(),
    };
    Ok(json_response(&LokiStrings::new(values)))
}

/// `GET /loki/api/v1/series`
#[utoipa::path(
    get,
    path = "/loki/api/v1/series",
    tag = "loki",
    security(("bearer" = [])),
    params(("match[]" = String, Query, description = "A stream selector; repeatable"), ("start" = Option<String>, Query, description = "Inclusive: integer ns (at most 10 digits: seconds), float seconds or RFC 3339"), ("end" = Option<String>, Query, description = "Exclusive; default now"), ("since" = Option<String>, Query, description = "Duration back from end when start is absent")),
    responses(
        (status = 200, description = "Label sets: `{\"status\":\"success\",\"data\":[{...}]}`", content_type = "application/json", body = super::schema::LokiSeries),
        super::schema::LokiRefusals,
    )
)]
pub async fn series(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let params = Params::parse(raw.as_deref(), &SERIES_PARAMS)?;
    let window = params.window(now_ns(), SIX_HOURS)?;
    let matches = params.all("match[]");
    if matches.is_empty() {
        return Err(LokiError::bad_request(
            "match[]: at least one stream selector is required",
        ));
    }
    let mut sets: BTreeSet<BTreeMap<&'static str, String>> = BTreeSet::new();
    for text in matches {
        let plan = selection(&state, &caller, Some(text), "match[]")?;
        let found = read(&state, &caller, &plan, window, None).await?;
        sets.extend(found.entries.iter().map(|e| e.view().stream()));
    }
    Ok(json_response(&LokiSeries::new(sets)))
}

/// `GET /loki/api/v1/index/stats`: counted over the newest [`META_SCAN`]
/// records, extrapolated by time past them (an estimate, as Loki's is).
#[utoipa::path(
    get,
    path = "/loki/api/v1/index/stats",
    tag = "loki",
    security(("bearer" = [])),
    params(("query" = String, Query, description = "A stream selector"), ("start" = Option<String>, Query), ("end" = Option<String>, Query)),
    responses(
        (status = 200, description = "Estimated `streams`, `chunks`, `entries`, `bytes`", content_type = "application/json", body = super::schema::IndexStats),
        super::schema::LokiRefusals,
    )
)]
pub async fn index_stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let started = Instant::now();
    let params = Params::parse(raw.as_deref(), &STATS_PARAMS)?;
    let (start, end) = params.window(now_ns(), 3_600 * 1_000_000_000)?;
    let plan = selection(&state, &caller, Some(params.query()?), "query")?;
    let found = read(&state, &caller, &plan, (start, end), None).await?;
    let streams: BTreeSet<_> = found.entries.iter().map(|e| e.view().stream()).collect();
    let mut entries = found.entries.len() as f64;
    let mut bytes = found.entries.iter().map(|e| e.line.len()).sum::<usize>() as f64;
    if !found.complete {
        if let Some(oldest) = found.entries.last() {
            let covered = (end - oldest.ns).max(1) as f64;
            let scale = (end - start) as f64 / covered;
            entries *= scale;
            bytes *= scale;
        }
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "index stats"
    );
    Ok(json_response(&IndexStats {
        streams: streams.len() as u64,
        chunks: streams.len() as u64,
        entries: entries.round() as u64,
        bytes: bytes.round() as u64,
    }))
}

/// `GET /loki/api/v1/status/buildinfo`
#[utoipa::path(
    get,
    path = "/loki/api/v1/status/buildinfo",
    tag = "loki",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Loki 3 compatibility and loggate's version", content_type = "application/json", body = super::schema::BuildInfo),
        super::schema::LokiRefusals,
    )
)]
pub async fn buildinfo() -> Response {
    json_response(&BuildInfo {
        version: BUILD_VERSION,
        revision: "loggate",
        branch: "loggate",
        build_user: "loggate",
        build_date: "",
        go_version: "",
    })
}
