//! The simulator's HTTP handlers: `GET /api/logs` and `POST /oidc/token`,
//! with Logto's validation, headers and error bodies.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use loggate_core::sim::{first, query_pairs, SeededRng};
use serde_json::{json, Value};

use super::{LogtoSim, SimConfig, SimState};
use crate::wire::MAX_PAGE_SIZE;

/// Logto's `{code, message, data?}` error body.
pub fn logto_error(code: &str, message: &str) -> String {
    json!({ "code": code, "message": message }).to_string()
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        logto_error(code, message),
    )
        .into_response()
}

fn oidc_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn invalid_pagination() -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "guard.invalid_pagination",
        "The request pagination value is invalid.",
    )
}

/// A positive integer as Logto's pagination guard reads it.
fn positive(value: Option<&str>, default: u64) -> Option<u64> {
    match value {
        None => Some(default),
        Some(text) => text.parse::<u64>().ok().filter(|n| *n >= 1),
    }
}

pub(super) async fn get_logs(
    State(sim): State<LogtoSim>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "auth.authorization_header_missing",
            "Authorization header is missing.",
        );
    };
    let pairs = query_pairs(uri.query().unwrap_or(""));
    let param = |name: &str| first(&pairs, name);
    let mut state = sim.lock();
    if !token_ok(&state, auth) {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "auth.unauthorized",
            "Unauthorized. Please check credentials and its scope.",
        );
    }
    let (Some(page), Some(page_size)) =
        (positive(param("page"), 1), positive(param("page_size"), 20))
    else {
        return invalid_pagination();
    };
    if page_size > MAX_PAGE_SIZE {
        return invalid_pagination();
    }
    let window = match time_window(&state.config, &param) {
        Ok(window) => window,
        Err(response) => return *response,
    };
    // No tie-breaker: each request sees equal timestamps in a new order.
    state.requests += 1;
    let mut shuffle =
        SeededRng::new(state.config.spec.seed ^ state.requests.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut rows = matching_rows(&state, &param, window);
    shuffle_ties(&mut rows, &mut shuffle);
    let total = rows.len() as u64;
    let from = ((page - 1).saturating_mul(page_size)).min(total) as usize;
    let to = (from + page_size as usize).min(rows.len());
    let body = Value::Array(rows[from..to].iter().map(|r| r.1.clone()).collect()).to_string();
    let link = link_header(&headers, &uri, &pairs, page, page_size, total);
    page_response(body, total, link)
}

/// The rows the filters and the time window select, as (createdAt, row),
/// newest first (equal stamps in storage order: the caller shuffles them).
fn matching_rows<'s, 'a>(
    state: &'s SimState,
    param: &impl Fn(&str) -> Option<&'a str>,
    window: (Option<i64>, Option<i64>),
) -> Vec<(i64, &'s Value)> {
    let exclusive = state.config.exclusive_time_bounds;
    let in_window = |ts: i64| {
        if exclusive {
            window.0.is_none_or(|s| ts > s) && window.1.is_none_or(|e| ts < e)
        } else {
            window.0.is_none_or(|s| ts >= s) && window.1.is_none_or(|e| ts <= e)
        }
    };
    let exact = |row: &Value, pointer: &str, wanted: Option<&str>| {
        wanted
            .filter(|w| !w.is_empty())
            .is_none_or(|w| row.pointer(pointer).and_then(Value::as_str) == Some(w))
    };
    // (createdAt, row): the sort must not look fields up per comparison
    // (50,000-row data sets are paged through in tests).
    let ts_of = |row: &Value| row.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
    let mut rows: Vec<(i64, &Value)> = state
        .records
        .iter()
        .map(|row| (ts_of(row), row))
        .filter(|(ts, row)| {
            exact(row, "/payload/userId", param("userId"))
                && exact(row, "/payload/applicationId", param("applicationId"))
                && exact(row, "/key", param("logKey"))
                && in_window(*ts)
        })
        .collect();
    rows.sort_by_key(|(ts, _)| std::cmp::Reverse(*ts));
    rows
}

/// Whether `auth` carries the configured token or an unexpired issued one.
fn token_ok(state: &SimState, auth: &str) -> bool {
    match auth.strip_prefix("Bearer ") {
        Some(token) if !token.is_empty() => {
            (token == state.config.spec.token && !state.config.spec.token.is_empty())
                || state
                    .tokens
                    .get(token)
                    .is_some_and(|expiry| state.clock_ms() < *expiry)
        }
        _ => false,
    }
}

/// `(start_time, end_time)` as the server's generation reads them (none
/// when it ignores the time filter), or its 400 answer: a bound that is
/// not a number, or a window that is empty.
fn time_window<'a>(
    config: &SimConfig,
    param: &impl Fn(&str) -> Option<&'a str>,
) -> Result<(Option<i64>, Option<i64>), Box<Response>> {
    let mut window = (None, None);
    if config.honours_time_filter {
        for (slot, name) in [(&mut window.0, "start_time"), (&mut window.1, "end_time")] {
            if let Some(text) = param(name) {
                match text.parse::<i64>() {
                    Ok(ms) => *slot = Some(ms),
                    Err(_) => {
                        let body = json!({"code": "guard.invalid_input", "message": "The request query is invalid.",
                                          "data": {"issues": [{"path": [name], "message": "Expected number"}]}});
                        return Err(Box::new(
                            (
                                StatusCode::BAD_REQUEST,
                                [(header::CONTENT_TYPE, "application/json")],
                                body.to_string(),
                            )
                                .into_response(),
                        ));
                    }
                }
            }
        }
    }
    let exclusive = config.exclusive_time_bounds;
    if let (Some(start), Some(end)) = window {
        if start > end || (exclusive && start == end) {
            return Err(Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "log.invalid_time_window",
                "The time window is invalid.",
            )));
        }
    }
    Ok(window)
}

/// Shuffles each run of equal timestamps in `rows` (sorted by time): the
/// server has no tie-breaker.
fn shuffle_ties(rows: &mut [(i64, &Value)], shuffle: &mut SeededRng) {
    let mut start = 0;
    while start < rows.len() {
        let end = start
            + rows[start..]
                .iter()
                .take_while(|r| r.0 == rows[start].0)
                .count();
        for i in (start + 1..end).rev() {
            let j = start + shuffle.below((i - start + 1) as u64) as usize;
            rows.swap(i, j);
        }
        start = end;
    }
}

/// `200` with a page of rows, `Total-Number` and the `Link` lines.
fn page_response(body: String, total: u64, link: Vec<String>) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    let out = response.headers_mut();
    out.insert("total-number", HeaderValue::from(total));
    for line in link {
        if let Ok(value) = HeaderValue::from_str(&line) {
            out.append(header::LINK, value);
        }
    }
    response
}

/// `Link` as Logto's pagination middleware builds it: first, prev (page >
/// 1), next (page < last), last; absolute URLs keeping the other params.
/// One header line each, as Logto sends them.
fn link_header(
    headers: &HeaderMap,
    uri: &Uri,
    pairs: &[(String, String)],
    page: u64,
    size: u64,
    total: u64,
) -> Vec<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let last = total.div_ceil(size).max(1);
    let url = |page: u64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs
            .iter()
            .filter(|(n, _)| n != "page" && n != "page_size")
        {
            query.append_pair(name, value);
        }
        query
            .append_pair("page", &page.to_string())
            .append_pair("page_size", &size.to_string());
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
    links
}

pub(super) async fn post_token(
    State(sim): State<LogtoSim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = sim.lock();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{}:{}", state.config.client_id, state.config.client_secret);
    if credentials.as_deref() != Some(expected.as_str()) {
        return oidc_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oidc_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type requested",
        );
    }
    if form.get("resource") != Some(&state.config.resource) {
        return oidc_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource indicator is missing, or unknown",
        );
    }
    if !form
        .get("scope")
        .is_some_and(|s| s.split(' ').any(|scope| scope == "all"))
    {
        return oidc_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "requested scope is not allowed",
        );
    }
    let token = format!("sim-at-{}", state.rng.alnum(32));
    let ttl = state.config.token_expires_in;
    let expiry = state.clock_ms() + (ttl as i64) * 1000;
    state.tokens.insert(token.clone(), expiry);
    let body =
        json!({"access_token": token, "expires_in": ttl, "token_type": "Bearer", "scope": "all"});
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
