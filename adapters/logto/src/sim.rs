//! A simulator of Logto's `GET /api/logs` and `POST /oidc/token`, written
//! from `shared/providers/logto-get-api-logs.txt` and the providers README.
//!
//! It reproduces: both server generations (v1.40+ honours `start_time` /
//! `end_time`, older ones ignore them: [`SimConfig::honours_time_filter`]),
//! `created_at DESC` with equal timestamps in a fresh random order on every
//! request, `page`/`page_size` validation (`guard.invalid_pagination`),
//! `Total-Number` and `Link` headers, `200 []` past the end, exact-match
//! `userId`/`applicationId`/`logKey` (empty = no filter), Logto's error
//! bodies, and the client-credentials grant with tokens that expire on the
//! simulator's clock ([`LogtoSim::advance_clock`], [`LogtoSim::expire_all_tokens`]).

mod data;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use loggate_core::sim::{Faults, SeededRng};
use loggate_core::LogRecord;
use serde_json::{json, Value};

use crate::translate::to_record;
use crate::wire::MAX_PAGE_SIZE;
use data::Pools;

/// The simulated deployment.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub records: usize,
    pub now_ms: i64,
    pub span_ms: i64,
    /// Caps the distinct `createdAt` values (fewer = more ties).
    pub distinct_timestamps: Option<usize>,
    /// A Management API access token accepted as is (never expires).
    pub token: String,
    /// v1.40+: `start_time`/`end_time` are honoured; older: ignored.
    pub honours_time_filter: bool,
    pub client_id: String,
    pub client_secret: String,
    /// The Management API resource indicator the grant must name.
    pub resource: String,
    /// `expires_in` of issued tokens, seconds.
    pub token_expires_in: u64,
    pub tenant_id: String,
}

impl SimConfig {
    /// 2,400 logs over the last 7 days, about three per timestamp.
    pub fn demo(now_ms: i64) -> Self {
        SimConfig {
            seed: 7,
            records: 2400,
            now_ms,
            span_ms: 7 * 24 * 3600 * 1000,
            distinct_timestamps: Some(800),
            token: "logto-demo-token".into(),
            honours_time_filter: true,
            client_id: "m2m-demo-client".into(),
            client_secret: "m2m-demo-secret".into(),
            resource: "https://default.logto.app/api".into(),
            token_expires_in: 3600,
            tenant_id: "default".into(),
        }
    }
}

struct SimState {
    config: SimConfig,
    records: Vec<Value>,
    rng: SeededRng,
    pools: Pools,
    /// Latest stamp handed out; inserts go strictly after it.
    now_ms: i64,
    requests: u64,
    /// Issued token -> expiry on the simulator's clock (ms).
    tokens: HashMap<String, i64>,
    started: Instant,
    clock_offset_ms: i64,
}

impl SimState {
    fn clock_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64 + self.clock_offset_ms
    }
}

/// The simulator; clones share state.
#[derive(Clone)]
pub struct LogtoSim {
    state: Arc<Mutex<SimState>>,
    faults: Faults,
}

impl LogtoSim {
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SeededRng::new(config.seed);
        let pools = Pools::new(&mut rng, config.now_ms, config.span_ms, config.distinct_timestamps, config.records);
        let records = (0..config.records)
            .map(|_| {
                let ts = pools.timestamp(&mut rng);
                data::log_row(&mut rng, &pools, &config.tenant_id, ts)
            })
            .collect();
        let state = SimState {
            now_ms: config.now_ms,
            config,
            records,
            rng,
            pools,
            requests: 0,
            tokens: HashMap::new(),
            started: Instant::now(),
            clock_offset_ms: 0,
        };
        LogtoSim {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
        }
    }

    pub fn router(&self) -> Router {
        let router = Router::new()
            .route("/api/logs", get(get_logs))
            .route("/oidc/token", post(post_token))
            .with_state(self.clone());
        self.faults.layer(router)
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `n` logs sharing one stamp, 1 ms after both the latest stamp
    /// so far and the wall clock.
    pub fn insert_new(&self, n: usize) {
        let mut state = self.lock();
        let ts = state.now_ms.max(loggate_core::time::now_ms()) + 1;
        state.now_ms = ts;
        let SimState { rng, pools, config, records, .. } = &mut *state;
        for _ in 0..n {
            records.push(data::log_row(rng, pools, &config.tenant_id, ts));
        }
    }

    /// Inserts one native row verbatim.
    pub fn insert(&self, raw: Value) {
        let mut state = self.lock();
        if let Some(ts) = raw.get("createdAt").and_then(Value::as_i64) {
            state.now_ms = state.now_ms.max(ts);
        }
        state.records.push(raw);
    }

    pub fn raw_records(&self) -> Vec<Value> {
        self.lock().records.clone()
    }

    pub fn snapshot(&self) -> Vec<LogRecord> {
        self.lock().records.iter().filter_map(|raw| to_record(raw, false).ok()).collect()
    }

    /// The latest stamp handed out (inserts go after it).
    pub fn now_ms(&self) -> i64 {
        self.lock().now_ms
    }

    /// Switches the server generation.
    pub fn set_honours_time_filter(&self, honours: bool) {
        self.lock().config.honours_time_filter = honours;
    }

    /// Moves the clock tokens expire by.
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.lock().clock_offset_ms += by.as_millis() as i64;
    }

    /// Makes every issued token expire now (the static token stays valid).
    pub fn expire_all_tokens(&self) {
        let mut state = self.lock();
        let now = state.clock_ms();
        state.tokens.values_mut().for_each(|expiry| *expiry = now);
    }

    /// How many tokens `/oidc/token` has issued.
    pub fn issued_tokens(&self) -> usize {
        self.lock().tokens.len()
    }
}

/// Logto's `{code, message, data?}` error body.
pub fn logto_error(code: &str, message: &str) -> String {
    json!({ "code": code, "message": message }).to_string()
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], logto_error(code, message)).into_response()
}

fn oidc_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn invalid_pagination() -> Response {
    error_response(StatusCode::BAD_REQUEST, "guard.invalid_pagination", "The request pagination value is invalid.")
}

/// A positive integer as Logto's pagination guard reads it.
fn positive(value: Option<&str>, default: u64) -> Option<u64> {
    match value {
        None => Some(default),
        Some(text) => text.parse::<u64>().ok().filter(|n| *n >= 1),
    }
}

async fn get_logs(State(sim): State<LogtoSim>, headers: HeaderMap, uri: Uri) -> Response {
    let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return error_response(StatusCode::UNAUTHORIZED, "auth.authorization_header_missing", "Authorization header is missing.");
    };
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let param = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut state = sim.lock();
    let token_ok = match auth.strip_prefix("Bearer ") {
        Some(token) if !token.is_empty() => {
            (token == state.config.token && !state.config.token.is_empty())
                || state.tokens.get(token).is_some_and(|expiry| state.clock_ms() < *expiry)
        }
        _ => false,
    };
    if !token_ok {
        return error_response(StatusCode::UNAUTHORIZED, "auth.unauthorized", "Unauthorized. Please check credentials and its scope.");
    }
    let (Some(page), Some(page_size)) = (positive(param("page"), 1), positive(param("page_size"), 20)) else {
        return invalid_pagination();
    };
    if page_size > MAX_PAGE_SIZE {
        return invalid_pagination();
    }
    let mut window = (None, None);
    if state.config.honours_time_filter {
        for (slot, name) in [(&mut window.0, "start_time"), (&mut window.1, "end_time")] {
            if let Some(text) = param(name) {
                match text.parse::<i64>() {
                    Ok(ms) => *slot = Some(ms),
                    Err(_) => {
                        let body = json!({"code": "guard.invalid_input", "message": "The request query is invalid.",
                                          "data": {"issues": [{"path": [name], "message": "Expected number"}]}});
                        return (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
                    }
                }
            }
        }
    }
    let exact = |row: &Value, pointer: &str, wanted: Option<&str>| {
        wanted.filter(|w| !w.is_empty()).is_none_or(|w| row.pointer(pointer).and_then(Value::as_str) == Some(w))
    };
    // No tie-breaker: each request sees equal timestamps in a new order.
    state.requests += 1;
    let mut shuffle = SeededRng::new(state.config.seed ^ state.requests.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut rows: Vec<&Value> = state
        .records
        .iter()
        .filter(|row| {
            let ts = row.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
            exact(row, "/payload/userId", param("userId"))
                && exact(row, "/payload/applicationId", param("applicationId"))
                && exact(row, "/key", param("logKey"))
                && window.0.is_none_or(|s| ts >= s)
                && window.1.is_none_or(|e| ts <= e)
        })
        .collect();
    let ts_of = |row: &Value| row.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
    rows.sort_by_key(|row| std::cmp::Reverse(ts_of(row)));
    let total = rows.len() as u64;
    let mut start = 0;
    while start < rows.len() {
        let end = start + rows[start..].iter().take_while(|r| ts_of(r) == ts_of(rows[start])).count();
        for i in (start + 1..end).rev() {
            let j = start + shuffle.below((i - start + 1) as u64) as usize;
            rows.swap(i, j);
        }
        start = end;
    }
    let from = ((page - 1).saturating_mul(page_size)).min(total) as usize;
    let to = (from + page_size as usize).min(rows.len());
    let body = Value::Array(rows[from..to].iter().map(|r| (*r).clone()).collect()).to_string();
    let link = link_header(&headers, &uri, &pairs, page, page_size, total);
    let mut response = (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    let out = response.headers_mut();
    out.insert("total-number", HeaderValue::from(total));
    if let Ok(value) = HeaderValue::from_str(&link) {
        out.insert(header::LINK, value);
    }
    response
}

/// `Link` as Logto's pagination middleware builds it: first, prev (page >
/// 1), next (page < last), last; absolute URLs keeping the other params.
fn link_header(headers: &HeaderMap, uri: &Uri, pairs: &[(String, String)], page: u64, size: u64, total: u64) -> String {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let last = total.div_ceil(size).max(1);
    let url = |page: u64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs.iter().filter(|(n, _)| n != "page" && n != "page_size") {
            query.append_pair(name, value);
        }
        query.append_pair("page", &page.to_string()).append_pair("page_size", &size.to_string());
        format!("<http://{host}{}?{}>", uri.path(), query.finish())
    };
    let mut links = vec![format!("{}; rel=\"first\"", url(1))];
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
    }
    links.push(format!("{}; rel=\"last\"", url(last)));
    links.join(", ")
}

async fn post_token(State(sim): State<LogtoSim>, headers: HeaderMap, body: Bytes) -> Response {
    let mut state = sim.lock();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{}:{}", state.config.client_id, state.config.client_secret);
    if credentials.as_deref() != Some(expected.as_str()) {
        return oidc_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oidc_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type requested");
    }
    if form.get("resource") != Some(&state.config.resource) {
        return oidc_error(StatusCode::BAD_REQUEST, "invalid_target", "resource indicator is missing, or unknown");
    }
    if !form.get("scope").is_some_and(|s| s.split(' ').any(|scope| scope == "all")) {
        return oidc_error(StatusCode::BAD_REQUEST, "invalid_scope", "requested scope is not allowed");
    }
    let token = format!("sim-at-{}", state.rng.alnum(32));
    let ttl = state.config.token_expires_in;
    let expiry = state.clock_ms() + (ttl as i64) * 1000;
    state.tokens.insert(token.clone(), expiry);
    let body = json!({"access_token": token, "expires_in": ttl, "token_type": "Bearer", "scope": "all"});
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
