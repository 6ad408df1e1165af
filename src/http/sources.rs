//! `GET /sources`: the sources the key may read, with pushdown, health and
//! circuit breaker state.

use axum::extract::State;
use axum::{Extension, Json};
use loggate_core::time::format_ms;
use serde_json::{json, Value};

use crate::engine::Caller;
use crate::http::AppState;

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
