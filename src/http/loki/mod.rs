//! The Loki-compatible read API (spec §6) under `/loki/api/v1`: Grafana's
//! stock Loki data source and Loki API clients read every source through
//! it. LogQL lives in [`crate::logql`]; records are read through the
//! engine's unified query ([`scan`]).
//!
//! Errors are `text/plain` as Loki gives them, so Grafana shows them as
//! they are; authentication and source scopes are those of `/logs`, with
//! HTTP Basic (the key as password) accepted as well.

mod counted;
mod meta;
mod metric;
mod params;
mod query;
mod scan;
pub mod schema;
pub(crate) mod tail;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::engine::{Caller, EngineError};
use crate::http::{ApiError, AppState};
use crate::logql::plan::SourceInfo;

pub use meta::{
    __path_buildinfo, __path_index_stats, __path_label_values, __path_labels, __path_series,
};
pub use meta::{buildinfo, index_stats, label_values, labels, series};
pub use params::{parse_time, Nanos};
pub use query::{__path_query, __path_query_range, query, query_range};

/// The routes, to be nested at `/loki/api/v1`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/query_range", get(query::query_range))
        .route("/query", get(query::query))
        .route("/labels", get(meta::labels))
        .route("/label/{name}/values", get(meta::label_values))
        .route("/series", get(meta::series))
        .route("/index/stats", get(meta::index_stats))
        .route("/status/buildinfo", get(meta::buildinfo))
        .route("/tail", get(tail::tail))
        .route_layer(middleware::from_fn_with_state(state, authenticate))
}

/// An error answered as Loki answers: a status and a plain-text message.
#[derive(Debug, Clone, PartialEq)]
pub struct LokiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl LokiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        LokiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            retry_after_secs: None,
        }
    }
}

impl From<ApiError> for LokiError {
    fn from(e: ApiError) -> Self {
        LokiError {
            status: e.status,
            message: e.message,
            retry_after_secs: e.retry_after_secs,
        }
    }
}

impl From<EngineError> for LokiError {
    fn from(e: EngineError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::logql::LogqlError> for LokiError {
    fn from(e: crate::logql::LogqlError) -> Self {
        LokiError::bad_request(e.to_string())
    }
}

impl IntoResponse for LokiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.message),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"loggate\""),
            );
        }
        response
    }
}

/// Middleware: Bearer or Basic; the caller goes into the request's extensions.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.keys.authenticate_bearer_or_basic(header) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => LokiError::from(e).into_response(),
    }
}

/// The sources the caller may read, as the planner sees them.
pub fn readable(state: &AppState, caller: &Caller) -> Vec<SourceInfo> {
    state
        .engine
        .sources()
        .filter(|s| caller.may_read(&s.name))
        .map(|s| SourceInfo {
            name: s.name.to_string(),
            provider: s.kind,
        })
        .collect()
}

/// Now, in nanoseconds.
pub fn now_ns() -> Nanos {
    Nanos::from(loggate_core::time::now_ms()) * params::MS
}
