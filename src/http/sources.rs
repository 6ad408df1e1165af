//! `GET /sources`: the sources the key may read, with pushdown, health and
//! circuit breaker state.

use axum::extract::State;
use axum::{Extension, Json};
use loggate_core::time::format_ms;
use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::Caller;
use crate::http::{AppState, ErrorEnvelope};

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
) -> Json<SourcesList> {
    let sources = state
        .engine
        .sources()
        .filter(|s| caller.may_read(&s.name))
        .map(|s| {
            let health = s.health.snapshot();
            SourceInfo {
                name: s.name.to_string(),
                kind: s.kind,
                pushdown: s.adapter.capabilities().pushdown.clone(),
                circuit: s.breaker.state().as_str(),
                health: SourceHealth {
                    status: health.status(),
                    last_success: health.last_success.map(format_ms),
                    last_error: health.last_error.map(|(at, code, message)| HealthError {
                        at: format_ms(at),
                        code,
                        message,
                    }),
                },
            }
        })
        .collect();
    Json(SourcesList { sources })
}

/// `GET /sources`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesList {
    sources: Vec<SourceInfo>,
}

/// A source the key may read.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInfo {
    name: String,
    #[schema(value_type = String)]
    kind: &'static str,
    /// Filters this provider can evaluate natively.
    pushdown: Vec<String>,
    /// The source's circuit breaker: `closed`, `open` (fetches are skipped
    /// with `circuit_open` until a cool-down ends) or `half_open`.
    #[schema(value_type = String, pattern = "^(closed|open|half_open)$")]
    circuit: &'static str,
    health: SourceHealth,
}

/// The latest fetch outcomes of a source.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceHealth {
    /// `ok`, `error` or `unknown` (no fetch yet).
    #[schema(value_type = String, pattern = "^(ok|error|unknown)$")]
    status: &'static str,
    #[schema(required = true, format = DateTime)]
    last_success: Option<String>,
    #[schema(required = true)]
    last_error: Option<HealthError>,
}

/// The last failed fetch of a source.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthError {
    #[schema(format = DateTime)]
    at: String,
    code: String,
    message: String,
}
