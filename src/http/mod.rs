//! The HTTP surface (axum): routes, the error envelope, API-key auth.
//! Handlers are thin: they parse, call the engine, and serialise.

mod auth;
mod error;
pub mod limits;
mod logs;
mod sources;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::routing::get;
use axum::{middleware, Json, Router};
use serde_json::json;

pub use auth::KeyStore;
pub use error::ApiError;

use crate::engine::Engine;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub keys: Arc<KeyStore>,
    /// True once the listener is up; false again while shutting down.
    pub ready: Arc<AtomicBool>,
}

/// The whole API as a router (tests drive it with `oneshot`).
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/logs", get(logs::get_logs))
        .route("/sources", get(sources::get_sources))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));
    Router::new()
        .merge(protected)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Outermost: limits are checked before routing and auth.
        .layer(middleware::from_fn(limits::enforce))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    if state.ready.load(Ordering::Relaxed) {
        Ok(Json(json!({ "status": "ready" })))
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
