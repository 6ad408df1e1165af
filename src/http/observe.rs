//! Request observation: a request id, a tracing span around the request,
//! one log line per answered request, and the HTTP metrics.
//!
//! The id comes from the client's `x-request-id` when it is sane (at most
//! 64 characters of `[A-Za-z0-9._-]`, so it cannot forge log lines or blow
//! up a log index), else a new random one; it is echoed in the response.
//! Every log line of the request carries it through the `request` span.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::http::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The route label of requests that matched no route: one label for every
/// unknown path, so 404 scans cannot grow the metrics without bound.
pub const UNMATCHED: &str = "unmatched";

/// True for an id a client may choose.
pub fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new random id: 24 hex digits (96 bits).
fn new_request_id() -> HeaderValue {
    let bytes: [u8; 12] = rand::random();
    HeaderValue::try_from(hex::encode(bytes)).expect("hex digits are a valid header value")
}

/// Middleware around every route (added with `Router::layer`, so the
/// matched route is known).
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The client's id is echoed as the very header value it sent (no copy).
    let id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| v.to_str().is_ok_and(is_sane_request_id))
        .cloned()
        .unwrap_or_else(new_request_id);
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let method = request.method().clone();
    // `sources` and `partial` are filled in by the handlers that read
    // sources (`GET /logs`), so the one `info` line says them (issue 13).
    let span = tracing::info_span!(
        "request",
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        route = %route,
        sources = tracing::field::Empty,
        partial = tracing::field::Empty,
    );
    let mut response = async {
        let response = next.run(request).await.into_response();
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_millis() as u64;
        // Probes and scrapes come every few seconds: debug, unless they fail.
        let routine = matches!(route, "/healthz" | "/readyz" | "/metrics");
        if response.status().is_server_error() {
            tracing::warn!(status, latency_ms, "request answered");
        } else if routine {
            tracing::debug!(status, latency_ms, "request answered");
        } else {
            tracing::info!(status, latency_ms, "request answered");
        }
        response
    }
    .instrument(span)
    .await;
    state
        .metrics
        .observe_http(route, response.status().as_u16(), started.elapsed());
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids() {
        assert!(is_sane_request_id("abc-123_X.y"));
        assert!(is_sane_request_id(&"a".repeat(64)));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("a\nlevel=error"));
        assert!(is_sane_request_id(new_request_id().to_str().unwrap()));
    }
}
