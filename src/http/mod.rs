//! The HTTP surface (axum): routes, the error envelope, API-key auth.
//! Handlers are thin: they parse, call the engine, and serialise.

mod auth;
mod error;
pub mod limits;
mod logs;
pub mod loki;
pub mod observe;
pub mod openapi;
mod sources;
mod stats;
mod tail;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Json, Router};
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

pub use auth::KeyStore;
pub use error::{ApiError, ErrorBody, ErrorEnvelope};
pub use logs::{LogEntry, LogsPage};
pub use sources::{HealthError, SourceHealth, SourceInfo, SourcesList};
pub use stats::{Covered, SeriesEntry, SourceStats, StatsPage};

use crate::engine::Engine;
use crate::metrics::Metrics;

/// `/healthz` and `/readyz`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Status {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// The application's metrics registry (the engine records into it too).
    pub metrics: Arc<Metrics>,
    pub keys: Arc<KeyStore>,
    /// True once the listener is up; false again while shutting down.
    pub ready: Arc<AtomicBool>,
    /// The registered provider kinds (the OpenAPI document lists them).
    pub kinds: Arc<[&'static str]>,
    /// `[loki]`: whether `/loki/api/v1` is served, and each entry's line.
    pub loki: crate::config::LokiConfig,
    /// The listener's connection counters, for `/metrics`.
    pub connections: Arc<crate::server::ConnectionStats>,
    /// The live tails: settings, limits, shared pollers (spec §8).
    pub tails: Arc<crate::tail::TailHub>,
}

/// The whole API as a router (tests drive it with `oneshot`).
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/logs", get(logs::get_logs))
        .route("/logs/tail", get(tail::get_tail))
        .route("/logs/stats", get(stats::get_stats))
        .route("/sources", get(sources::get_sources))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .route_layer(middleware::from_fn(refuse_head));
    // Swagger UI's files are compiled in (the `vendored` feature); its
    // validator badge would call out to the internet, so it is off.
    let docs = SwaggerUi::new("/docs").config(
        SwaggerConfig::new(["/openapi.json"])
            .validator_url("none")
            .try_it_out_enabled(true),
    );
    let mut app = Router::new().merge(protected);
    if state.loki.enabled {
        let loki = loki::routes(state.clone()).route_layer(middleware::from_fn(refuse_head));
        app = app.nest("/loki/api/v1", loki);
    }
    app.route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(get_metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(docs)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(allow_matches_head_policy))
        // Outer to the router: limits are checked before routing and auth.
        .layer(middleware::from_fn(limits::enforce))
        // Outermost: every answer, a limit's refusal too, is logged,
        // counted and carries the request id.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    responses((status = 200, description = "The process is alive", body = Status))
)]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    responses((status = 200, description = "Metrics in the Prometheus text format", content_type = "text/plain; version=0.0.4", body = String))
)]
async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
}

/// Readiness: the configuration is loaded and the listener is up.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "meta",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "not_ready: starting or shutting down", body = ErrorEnvelope),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    if state.ready.load(Ordering::Relaxed) {
        Ok(Json(Status { status: "ready" }))
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the gateway is starting or shutting down",
        ))
    }
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

/// `HEAD` on a route behind an API key: `405 method_not_allowed` with
/// `Allow: GET`, before authentication and without reading any upstream.
/// axum answers `HEAD` on a `get` route by running the `GET` handler and
/// dropping its body, which here would read every requested upstream for
/// nothing (and open a tail stream on `/logs/tail`). `HEAD` stays served on
/// the open routes (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`,
/// `/docs`), which read no upstream.
async fn refuse_head(request: Request, next: middleware::Next) -> axum::response::Response {
    if request.method() != axum::http::Method::HEAD {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "HEAD is not served here: the answer is made by reading the sources; send GET",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, axum::http::HeaderValue::from_static("GET"));
    response
}

/// Paths that answer `HEAD` (see [`refuse_head`]): the open routes.
fn serves_head(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/openapi.json")
        || path == "/docs"
        || path.starts_with("/docs/")
}

/// A `405` for another method (`POST /logs`) says `Allow: GET` where
/// [`refuse_head`] refuses `HEAD`: axum's method router, which answers it
/// outside any route layer, lists `GET,HEAD` for every `get` route.
async fn allow_matches_head_policy(
    request: Request,
    next: middleware::Next,
) -> axum::response::Response {
    let head_served = serves_head(request.uri().path());
    let mut response = next.run(request).await;
    if response.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED && !head_served {
        response
            .headers_mut()
            .insert(header::ALLOW, axum::http::HeaderValue::from_static("GET"));
    }
    response
}
