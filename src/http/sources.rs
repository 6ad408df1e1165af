//! `GET /sources`: the sources the key may read, with pushdown, health and
//! circuit breaker state.

use axum::extract::State;
use axum::{Extension, Json};
use loggate_core::time::format_ms;
use serde_json::{json, Value};

use crate::engine::Caller;
#[allow(unused_imports)] // named by the OpenAPI attribute
use crate::http::openapi::{ErrorEnvelope, SourcesList};
use crate::http::AppState;

/// The sources the key may read, with their pushdown and health.
#[utoipa::path(
    get,
    path = "/sources",
    tag = "logs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The readable sources", body = SourcesList),
        (status = 401, description = "unauthorized: missing or unknown API key", body = ErrorEnvelope,
            headers(("WWW-Authenticate" = String, description = "`Bearer`: the scheme to authenticate with"))),
        (status = 429, description = "rate_limited: the key is over its rate", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
pub async fn get_sources(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<Value> {
    let sources: Vec<Value> = state
        .engine
        .sources()
        .filter(|s| caller.may_read(&s.name))
        .map(|s| {
            let health = s.health.snapshot();
            json!({
                "name": &*s.name,
                "kind": s.kind,
                "pushdown": s.adapter.capabilities().pushdown,
                "circuit": s.breaker.state().as_str(),
                "health": {
                    "status": health.status(),
                    "last_success": health.last_success.map(format_ms),
                    "last_error": health.last_error.map(|(at, code, message)| json!({
                        "at": format_ms(at), "code": code, "message": message,
                    })),
                },
            })
        })
        .collect();
    Json(json!({ "sources": sources }))
}
