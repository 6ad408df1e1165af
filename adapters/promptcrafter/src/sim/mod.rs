//! A simulator of PromptCrafter's `GET /logs`, written from the provider
//! docs (`shared/providers/promptcrafter-*.md`), with a [`Quirks`] switch
//! for what the real service does differently.
//!
//! - [`Quirks::Documented`]: errors as JSON `{"error": "..."}` (400 for an
//!   empty or invalid `promptId`, 401, 403 for another user's prompt, 404
//!   when a prompt has no logs, 500 via the fault switches).
//! - [`Quirks::AsBuilt`]: 401 as plain text (`No token`, `Invalid token`)
//!   with a text/html content type, `200 []` when a prompt has no logs, a
//!   `promptId` that is not 24 hex digits drops the connection, items carry
//!   `updatedAt` and `__v`, some lack `notes` or `score`, some `createdAt`
//!   lack milliseconds.
//!
//! Both: 24-hex `_id`/`promptId`, fractional scores, Bearer auth, answers
//! in insertion order (not sorted), many records sharing `createdAt`,
//! `GET /prompts` listing the user's prompts, and a switch
//! ([`SimConfig::unfiltered_null_prompt`]) for the service as built, whose
//! unfiltered `GET /logs` answers only logs without a prompt (`[]`).
//! The docs do not say which `promptId` is "invalid"; as documented the
//! simulator accepts `[A-Za-z0-9_-]{1,64}` (the docs' ids are `prompt101`).

mod data;

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use loggate_core::sim::{answer_times_at, planted_object_id, SeededRng, SimSpec, SimStore};
use loggate_core::time::{now_ms, parse_rfc3339_ms};
use serde_json::{json, Value};

use crate::translate::to_record;

/// Which behaviour the simulator follows where docs and service disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quirks {
    /// As the docs describe it.
    #[default]
    Documented,
    /// As the real service behaves (`shared/providers/README.md`).
    AsBuilt,
}

/// The simulator's data set and switches.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The common knobs: initial records lie within
    /// `[now_ms - span_ms, now_ms]` on at most `distinct_timestamps`
    /// distinct `createdAt` values; `token` is the JWT the simulator
    /// accepts as `Authorization: Bearer <token>`.
    pub spec: SimSpec,
    pub quirks: Quirks,
    /// The service as built: an unfiltered `GET /logs` queries
    /// `{promptId: null}` and so answers only the logs without a prompt
    /// (normally `[]`); the logs are then read per prompt
    /// (`GET /prompts`, `GET /logs?promptId=ID`). False: all logs, as
    /// documented.
    pub unfiltered_null_prompt: bool,
}

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            spec: SimSpec {
                seed: 1,
                records: 200,
                now_ms: 1_748_736_000_000, // 2025-06-01T00:00:00Z
                span_ms: WEEK_MS,
                distinct_timestamps: None,
                token: "promptcrafter-test-token".into(),
                variant: String::new(),
            },
            quirks: Quirks::Documented,
            unfiltered_null_prompt: false,
        }
    }
}

loggate_core::sim_config_from_spec!(SimConfig => PromptCrafterSim);

impl SimConfig {
    /// The `loggate demo` data set: 2,400 logs over the last 7 days with
    /// heavy ties and failed generations, behaving as the real service.
    pub fn demo(now_ms: i64) -> Self {
        SimConfig {
            spec: SimSpec {
                seed: 0x5052_4f4d_5054,
                records: 2400,
                now_ms,
                span_ms: WEEK_MS,
                distinct_timestamps: Some(700),
                token: "demo-promptcrafter-token".into(),
                variant: String::new(),
            },
            quirks: Quirks::AsBuilt,
            unfiltered_null_prompt: false,
        }
    }
}

/// The simulator's data and switches (see [`SimStore`]).
pub struct SimState {
    config: SimConfig,
    /// Native logs in insertion order, as the service answers them.
    logs: Vec<Value>,
    prompts: Vec<data::Prompt>,
    /// Prompts of another user: filtering by them is forbidden.
    foreign_prompts: HashSet<String>,
    rng: SeededRng,
}

/// A running simulator's data and switches; clones share them.
#[derive(Clone)]
pub struct PromptCrafterSim {
    store: SimStore<SimState>,
}

loggate_core::sim_store_deref!(PromptCrafterSim, SimState);

loggate_core::sim_data_in_vec!(SimState, logs, |raw| to_record(raw, false).ok());

impl PromptCrafterSim {
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SeededRng::new(config.spec.seed);
        let prompts = data::prompts(&mut rng, config.spec.records);
        let stamps = data::timestamps(&mut rng, &config.spec);
        let logs = stamps
            .into_iter()
            .map(|ts| {
                let prompt = rng.pick(&prompts).clone();
                data::log(&mut rng, &prompt, ts, config.quirks)
            })
            .collect();
        let token = config.spec.token.clone();
        let state = SimState {
            config,
            logs,
            prompts,
            foreign_prompts: HashSet::new(),
            rng,
        };
        PromptCrafterSim {
            store: SimStore::new(state, &token),
        }
    }

    /// `GET /logs` and `GET /prompts`, wrapped in the fault switches.
    pub fn router(&self) -> Router {
        let routes = Router::new()
            .route("/logs", get(get_logs))
            .route("/prompts", get(get_prompts))
            .fallback(not_found);
        self.serve(routes, self.clone())
    }

    /// Adds `n` logs stamped strictly after both the wall clock and every
    /// stored log (all `n` share that instant).
    pub fn insert_new(&self, n: usize) {
        let mut state = self.lock();
        let newest = state
            .logs
            .iter()
            .filter_map(|l| {
                l.get("createdAt")
                    .and_then(Value::as_str)
                    .and_then(parse_rfc3339_ms)
            })
            .max()
            .unwrap_or(i64::MIN);
        let ts = now_ms().max(newest) + 1;
        for _ in 0..n {
            let state = &mut *state;
            let prompt = state.rng.pick(&state.prompts).clone();
            let log = data::log(&mut state.rng, &prompt, ts, state.config.quirks);
            state.logs.push(log);
        }
    }

    /// Stores `n` copies of one generated log created at `at_ms`, each
    /// with its own `_id`.
    pub fn insert_copies(&self, n: usize, at_ms: i64) {
        let mut state = self.lock();
        let state = &mut *state;
        let prompt = state.rng.pick(&state.prompts).clone();
        let log = data::log(&mut state.rng, &prompt, at_ms, state.config.quirks);
        for _ in 0..n {
            let mut copy = log.clone();
            copy["_id"] = Value::String(state.rng.hex(24));
            state.logs.push(copy);
        }
    }

    /// Switches what an unfiltered `GET /logs` answers (see
    /// [`SimConfig::unfiltered_null_prompt`]).
    pub fn set_unfiltered_null_prompt(&self, null_prompt: bool) {
        self.lock().config.unfiltered_null_prompt = null_prompt;
    }

    /// The ids of the user's prompts (each has logs unless the data set is tiny).
    pub fn prompt_ids(&self) -> Vec<String> {
        self.lock().prompts.iter().map(|p| p.id.clone()).collect()
    }

    /// Marks `prompt_id` as another user's prompt (`403` when filtered by).
    pub fn add_foreign_prompt(&self, prompt_id: &str) {
        self.lock().foreign_prompts.insert(prompt_id.to_string());
    }
}

async fn get_logs(
    State(sim): State<PromptCrafterSim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let state = sim.lock();
    let quirks = state.config.quirks;
    if let Some(refusal) = refuse(&headers, &state.config) {
        return refusal;
    }
    let prompt_ids: Vec<String> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "promptId")
        .map(|(_, v)| v.into_owned())
        .collect();
    let prompt_id = match prompt_ids.as_slice() {
        [] if state.config.unfiltered_null_prompt => {
            let without: Vec<&Value> = state
                .logs
                .iter()
                .filter(|l| l.get("promptId").is_none_or(Value::is_null))
                .collect();
            return json_response(StatusCode::OK, &without);
        }
        [] => return json_response(StatusCode::OK, &state.logs),
        [one] if valid_prompt_id(one, quirks) => one,
        // Repeated keys reach the handler as an array, which is invalid too.
        _ => {
            return match quirks {
                Quirks::AsBuilt => dropped_connection(),
                Quirks::Documented => {
                    error(StatusCode::BAD_REQUEST, "`promptId` missing or malformed")
                }
            }
        }
    };
    if state.foreign_prompts.contains(prompt_id) {
        return error(
            StatusCode::FORBIDDEN,
            "User is not authorized to view logs for this prompt.",
        );
    }
    let matching: Vec<Value> = state
        .logs
        .iter()
        .filter(|l| same_prompt(l.get("promptId"), prompt_id, quirks))
        .cloned()
        .collect();
    if matching.is_empty() && quirks == Quirks::Documented {
        return error(
            StatusCode::NOT_FOUND,
            "No logs found for the specified prompt ID.",
        );
    }
    json_response(StatusCode::OK, &matching)
}

/// The `401` of a missing or wrong token, as the quirks spell it.
fn refuse(headers: &HeaderMap, config: &SimConfig) -> Option<Response> {
    let quirks = config.quirks;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None => Some(unauthorized(
            quirks,
            "No token",
            "Authentication token is missing",
        )),
        Some(t) if t != config.spec.token => Some(unauthorized(
            quirks,
            "Invalid token",
            "Authentication token is expired or invalid",
        )),
        Some(_) => None,
    }
}

/// `GET /prompts`: the caller's prompts, `[{"_id", "title"}]`.
async fn get_prompts(State(sim): State<PromptCrafterSim>, headers: HeaderMap) -> Response {
    let state = sim.lock();
    if let Some(refusal) = refuse(&headers, &state.config) {
        return refusal;
    }
    let prompts: Vec<Value> = state
        .prompts
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"_id": p.id, "title": format!("Prompt {}", i + 1)}))
        .collect();
    json_response(StatusCode::OK, &prompts)
}

/// As built, the id is cast to a MongoDB ObjectId: 24 hex digits, any case.
fn valid_prompt_id(value: &str, quirks: Quirks) -> bool {
    match quirks {
        Quirks::AsBuilt => value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit()),
        Quirks::Documented => {
            (1..=64).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
    }
}

/// ObjectIds compare by value, so the as-built service ignores hex case.
fn same_prompt(stored: Option<&Value>, wanted: &str, quirks: Quirks) -> bool {
    let Some(stored) = stored.and_then(Value::as_str) else {
        return false;
    };
    match quirks {
        Quirks::AsBuilt => stored.eq_ignore_ascii_case(wanted),
        Quirks::Documented => stored == wanted,
    }
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "[]".into());
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// Express's `res.status(401).send("No token")`: text/html, no JSON.
fn unauthorized(quirks: Quirks, as_built: &'static str, documented: &str) -> Response {
    match quirks {
        Quirks::AsBuilt => (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            as_built,
        )
            .into_response(),
        Quirks::Documented => error(StatusCode::UNAUTHORIZED, documented),
    }
}

/// The server crashes on the cast error: the connection ends without a
/// whole response (a body that fails before its promised length).
fn dropped_connection() -> Response {
    let stream = futures::stream::iter(vec![Err::<axum::body::Bytes, _>(std::io::Error::other(
        "cast to ObjectId failed",
    ))]);
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("512"));
    response
}

async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!("Cannot GET {}", uri.path()),
    )
        .into_response()
}

impl loggate_core::sim::Simulator for PromptCrafterSim {
    loggate_core::simulator_delegates!(PromptCrafterSim);

    fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        let mut raw = raw.clone();
        raw["_id"] = planted_object_id(n);
        raw["notes"] = Value::from(value);
        (raw, "notes")
    }

    fn unreadable(&self, at_ms: i64) -> Option<Value> {
        Some(json!({"createdAt": loggate_core::time::format_ms(at_ms), "output": "no id"}))
    }

    /// The list is the whole body.
    fn null_list_answer(&self) -> String {
        "null".into()
    }

    fn answer_times(&self, body: &Value) -> Option<Vec<i64>> {
        answer_times_at(body, "", |l| {
            l.get("createdAt")?.as_str().and_then(parse_rfc3339_ms)
        })
    }
}

#[cfg(test)]
mod tests {
    use loggate_core::LogRecord;

    use super::*;

    #[test]
    fn demo_data_is_large_recent_tied_seeded_and_has_failures() {
        let now = 1_763_700_000_000;
        let sim = PromptCrafterSim::new(SimConfig::demo(now));
        let records = sim.snapshot();
        assert!(records.len() >= 2000);
        assert!(records
            .iter()
            .all(|r| (now - WEEK_MS..=now).contains(&r.timestamp_ms)));
        let distinct: HashSet<i64> = records.iter().map(|r| r.timestamp_ms).collect();
        assert!(
            distinct.len() < records.len() / 2,
            "demo data should tie heavily"
        );
        assert!(records.iter().any(|r| r.message.starts_with("I'm sorry")));
        let ids: HashSet<&str> = records.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!(ids.len(), records.len());
        assert_eq!(
            sim.raw_records(),
            PromptCrafterSim::new(SimConfig::demo(now)).raw_records()
        );
    }

    #[test]
    fn inserts_land_after_everything_stored() {
        let sim = PromptCrafterSim::new(SimConfig::default());
        let newest = sim.snapshot().iter().map(|r| r.timestamp_ms).max().unwrap();
        let before = now_ms();
        sim.insert_new(3);
        let added: Vec<LogRecord> = sim.snapshot().into_iter().skip(200).collect();
        assert_eq!(added.len(), 3);
        assert!(added.iter().all(|r| r.timestamp_ms > newest.max(before)));
    }
}
