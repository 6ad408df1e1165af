//! A simulator of Alloy's `GET /logs` (feature `sim`), written from
//! `shared/providers/alloy-get-logs.md` and the README's notes:
//!
//! - `Authorization: bearer <key>` (scheme case-insensitive), else
//!   `401 {"message": ...}`.
//! - `filters` (see [`filter`]), `workflowId` (the parent workflow: logs'
//!   `forgeWorkflowId`), `associatedUserId` (logs' `userId`).
//! - `sortBy` createdAt | completedAt | message | userId, `sortOrder`
//!   asc | desc (default createdAt desc), with NO tie-breaker: ties come
//!   back in a new order on every request.
//! - `skip`/`limit` (limit default 10, above `max_limit` → 400), answered
//!   with `pagination{totalItems,totalPages,currentPage,pageSize}`.
//! - Whether `contains` is case-sensitive is undocumented: a switch.

pub mod data;
pub mod filter;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use loggate_core::sim::{
    answer_times_at, first, planted_object_id, query_pairs, set_nested, SeededRng, SimSpec,
    SimStore,
};
use loggate_core::time::{format_ms, now_ms, parse_rfc3339_ms};
use serde_json::{json, Value};

use crate::translate::record_from_native;
use data::Generator;
use filter::{clause_matches, parse_filters};

/// The simulated account and its switches.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The common knobs: logs spread over `[now_ms - span_ms, now_ms]` on
    /// at most `distinct_timestamps` distinct `createdAt` values (fewer =
    /// more ties); `token` is the API key expected after `bearer `.
    pub spec: SimSpec,
    /// Largest accepted `limit` (undocumented; above it → 400).
    pub max_limit: usize,
    /// `limit` when none is sent (undocumented; the docs' example uses 10).
    pub default_limit: usize,
    /// Whether the `contains`/`notcontains` operators respect case.
    pub contains_case_sensitive: bool,
    /// Silently serve at most this many logs per page, whatever `limit`
    /// asks (a sibling endpoint caps `limit` at 30:
    /// `../shared/providers/README.md`).
    pub clamp_limit: Option<usize>,
    /// With `clamp_limit`: `pagination.pageSize` reports the clamped size
    /// (true) or echoes the `limit` asked for (false).
    pub clamp_reports_page_size: bool,
}

loggate_core::sim_config_from_spec!(SimConfig => AlloySim);

impl SimConfig {
    /// The `loggate demo` account: 2,500 logs over the last 7 days, many
    /// sharing a millisecond, about one in six an `executionError`.
    pub fn demo(now_ms: i64) -> Self {
        SimConfig {
            spec: SimSpec {
                seed: 202_509,
                records: 2_500,
                now_ms,
                span_ms: 7 * 86_400_000,
                distinct_timestamps: Some(1_600),
                token: String::from("alloy-demo-key"),
                variant: String::new(),
            },
            max_limit: 100,
            default_limit: 10,
            contains_case_sensitive: true,
            clamp_limit: None,
            clamp_reports_page_size: true,
        }
    }
}

/// The simulator's data (see [`SimStore`]).
pub struct SimState {
    logs: Vec<Value>,
    generator: Generator,
    /// Seeds each request's shuffle of ties.
    requests: u64,
}

/// The simulator: cheap to clone, state shared.
#[derive(Clone)]
pub struct AlloySim {
    config: Arc<SimConfig>,
    store: SimStore<SimState>,
}

loggate_core::sim_store_deref!(AlloySim, SimState);

loggate_core::sim_data_in_vec!(SimState, logs, |raw| record_from_native(raw, false).ok());

impl AlloySim {
    pub fn new(config: SimConfig) -> Self {
        let mut generator =
            Generator::new(config.spec.seed, config.spec.now_ms - config.spec.span_ms);
        let mut rng = SeededRng::new(config.spec.seed.rotate_left(17) ^ 0x5EED);
        let span = config.spec.span_ms.max(0) as u64 + 1;
        let oldest = config.spec.now_ms - config.spec.span_ms.max(0);
        let stamps: Option<Vec<i64>> = config.spec.distinct_timestamps.map(|n| {
            (0..n.max(1))
                .map(|_| oldest + rng.below(span) as i64)
                .collect()
        });
        let logs = (0..config.spec.records)
            .map(|_| {
                let at = match &stamps {
                    Some(stamps) => *rng.pick(stamps),
                    None => oldest + rng.below(span) as i64,
                };
                generator.log(at)
            })
            .collect();
        AlloySim {
            store: SimStore::new(
                SimState {
                    logs,
                    generator,
                    requests: 0,
                },
                &config.spec.token,
            ),
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// `GET /logs`, behind the fault switches.
    pub fn router(&self) -> Router {
        self.serve(Router::new().route("/logs", get(list_logs)), self.clone())
    }

    /// Writes `n` logs created 1 ms after the latest of now, the
    /// configured `now_ms` and every log held.
    pub fn insert_new(&self, n: usize) {
        let mut state = self.lock();
        let newest = state
            .logs
            .iter()
            .filter_map(created_ms)
            .max()
            .unwrap_or(i64::MIN);
        let at = now_ms().max(self.config.spec.now_ms).max(newest) + 1;
        for _ in 0..n {
            let log = state.generator.log(at);
            state.logs.push(log);
        }
    }

    /// Stores `n` copies of one generated log created at `at_ms`, each
    /// with its own `_id`.
    pub fn insert_copies(&self, n: usize, at_ms: i64) {
        let mut state = self.lock();
        let log = state.generator.log(at_ms);
        let mut ids = SeededRng::new(self.config.spec.seed ^ at_ms as u64 ^ n as u64);
        for _ in 0..n {
            let mut copy = log.clone();
            copy["_id"] = Value::String(ids.hex(24));
            state.logs.push(copy);
        }
    }
}

fn created_ms(log: &Value) -> Option<i64> {
    log.get("createdAt")?.as_str().and_then(parse_rfc3339_ms)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "message": message.into() }))).into_response()
}

/// Why the request's credentials are refused (a 401 message), if they are.
fn refusal(headers: &HeaderMap, token: &str) -> Option<&'static str> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Some("Unauthorized: missing API key");
    };
    match value.trim().split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") && key.trim() == token => None,
        _ => Some("Unauthorized: invalid API key"),
    }
}

/// The parsed query string of one request.
struct ListParams {
    clauses: Vec<filter::Clause>,
    workflow_id: Option<String>,
    user_id: Option<String>,
    skip: usize,
    limit: usize,
    sort_by: &'static str,
    descending: bool,
}

fn parse_params(query: &str, config: &SimConfig) -> Result<ListParams, String> {
    let pairs = query_pairs(query);
    let get = |name: &str| first(&pairs, name);
    let clauses = match get("filters") {
        Some(text) if !text.trim().is_empty() => parse_filters(text)?,
        _ => Vec::new(),
    };
    let skip = match get("skip") {
        None => 0,
        Some(text) => text
            .parse()
            .map_err(|_| format!("skip must be a non-negative integer, got \"{text}\""))?,
    };
    let limit = match get("limit") {
        None => config.default_limit,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=config.max_limit).contains(&n) => n,
            _ => {
                return Err(format!(
                    "limit must be an integer from 1 to {}, got \"{text}\"",
                    config.max_limit
                ))
            }
        },
    };
    let sort_by = match get("sortBy").unwrap_or("createdAt") {
        "createdAt" => "createdAt",
        "completedAt" => "completedAt",
        "message" => "message",
        "userId" => "userId",
        other => {
            return Err(format!(
                "sortBy must be one of createdAt, completedAt, message, userId, got \"{other}\""
            ))
        }
    };
    let descending = match get("sortOrder").unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => return Err(format!("sortOrder must be asc or desc, got \"{other}\"")),
    };
    Ok(ListParams {
        clauses,
        workflow_id: get("workflowId").map(str::to_string),
        user_id: get("associatedUserId").map(str::to_string),
        skip,
        limit,
        sort_by,
        descending,
    })
}

/// The sort key of `log` for `sortBy` (dates by instant; a missing field
/// sorts first, as MongoDB sorts missing values).
type SortKey = (Option<i64>, Option<String>);

fn sort_key(log: &Value, sort_by: &str) -> SortKey {
    match sort_by {
        "createdAt" | "completedAt" => (
            log.get(sort_by)
                .and_then(Value::as_str)
                .and_then(parse_rfc3339_ms),
            None,
        ),
        _ => (
            None,
            log.get(sort_by).and_then(Value::as_str).map(str::to_string),
        ),
    }
}

async fn list_logs(
    State(sim): State<AlloySim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let config = &sim.config;
    if let Some(message) = refusal(&headers, &config.spec.token) {
        return error(StatusCode::UNAUTHORIZED, message);
    }
    let params = match parse_params(query.as_deref().unwrap_or(""), config) {
        Ok(params) => params,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let served = config
        .clamp_limit
        .map_or(params.limit, |cap| params.limit.min(cap.max(1)));
    let page_size = if config.clamp_reports_page_size {
        served
    } else {
        params.limit
    };
    let (page, total) = {
        let mut state = sim.lock();
        state.requests += 1;
        let request = state.requests;
        // Keys computed once per log: the comparator must not parse dates.
        let mut matched: Vec<(SortKey, &Value)> = state
            .logs
            .iter()
            .filter(|log| {
                params
                    .clauses
                    .iter()
                    .all(|c| clause_matches(c, log, config.contains_case_sensitive))
                    && params.workflow_id.as_deref().is_none_or(|w| {
                        log.get("forgeWorkflowId").and_then(Value::as_str) == Some(w)
                    })
                    && params
                        .user_id
                        .as_deref()
                        .is_none_or(|u| log.get("userId").and_then(Value::as_str) == Some(u))
            })
            .map(|log| (sort_key(log, params.sort_by), log))
            .collect();
        // No tie-breaker: shuffle, then sort stably by the key alone.
        let mut rng =
            SeededRng::new(config.spec.seed ^ request.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for i in (1..matched.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            matched.swap(i, j);
        }
        matched.sort_by(|(a, _), (b, _)| {
            if params.descending {
                b.cmp(a)
            } else {
                a.cmp(b)
            }
        });
        let page: Vec<Value> = matched
            .iter()
            .skip(params.skip)
            .take(served)
            .map(|(_, log)| (*log).clone())
            .collect();
        (page, matched.len())
    };
    let body = json!({
        "notifications": page,
        "lastFetched": format_ms(now_ms()),
        "pagination": {
            "totalItems": total,
            "totalPages": total.div_ceil(page_size),
            "currentPage": params.skip / page_size + 1,
            "pageSize": page_size,
        },
    });
    (StatusCode::OK, Json(body)).into_response()
}

impl loggate_core::sim::Simulator for AlloySim {
    loggate_core::simulator_delegates!(AlloySim);

    fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        let mut raw = raw.clone();
        raw["_id"] = planted_object_id(n);
        set_nested(&mut raw, "data", "executionUuid", value);
        (raw, "executionUuid")
    }

    fn unreadable(&self, at_ms: i64) -> Option<Value> {
        Some(json!({"createdAt": format_ms(at_ms), "message": "no id"}))
    }

    fn null_list_answer(&self) -> String {
        r#"{"notifications":null,"pagination":{"totalItems":0,"totalPages":0,"currentPage":1,"pageSize":100}}"#
            .into()
    }

    fn answer_times(&self, body: &Value) -> Option<Vec<i64>> {
        answer_times_at(body, "/notifications", created_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_has_ties_errors_and_stays_in_the_window() {
        let sim = AlloySim::new(SimConfig::demo(1_760_000_000_000));
        let logs = sim.raw_records();
        assert!(logs.len() >= 2_000);
        let stamps: std::collections::BTreeSet<i64> = logs.iter().filter_map(created_ms).collect();
        assert!(stamps.len() < logs.len());
        assert!(stamps
            .iter()
            .all(|t| (1_760_000_000_000 - 7 * 86_400_000..=1_760_000_000_000).contains(t)));
        assert!(logs.iter().any(|l| l["message"] == "executionError"));
        assert_eq!(sim.snapshot().len(), logs.len());
    }

    #[test]
    fn inserts_land_after_everything() {
        let sim = AlloySim::new(SimConfig {
            spec: SimSpec {
                records: 10,
                ..SimConfig::demo(1_000_000).spec
            },
            ..SimConfig::demo(1_000_000)
        });
        let before = now_ms();
        sim.insert_new(3);
        let logs = sim.raw_records();
        assert_eq!(logs.len(), 13);
        assert!(logs[10..].iter().all(|l| created_ms(l).unwrap() > before));
    }
}
