//! `GET /logs`: parameters in, one merged page out.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use loggate_core::time::format_ms;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::query::parse_logs_query;
use crate::engine::{Caller, Page, SourceReport};
#[allow(unused_imports)] // named by the OpenAPI attribute
use crate::http::openapi::{ErrorEnvelope, Include, LogsPage, Order};
use crate::http::{ApiError, AppState};

/// One page of the merged, time-ordered logs of the requested sources.
#[utoipa::path(
    get,
    path = "/logs",
    tag = "logs",
    security(("bearer" = [])),
    params(
        ("source" = Option<String>, Query, description = "Comma list of source names; default: every source the key may read.", example = "app,auth"),
        ("start" = Option<String>, Query, format = DateTime, description = "Logs on or after this RFC 3339 timestamp.", example = "2025-04-29T00:00:00Z"),
        ("end" = Option<String>, Query, format = DateTime, description = "Logs on or before this RFC 3339 timestamp.", example = "2030-01-01T00:00:00.000Z"),
        ("level" = Option<String>, Query, description = "Comma list of exact levels: TRACE, DEBUG, INFO, WARN, ERROR, FATAL (case-insensitive).", example = "ERROR,WARN"),
        ("min_level" = Option<String>, Query, description = "This level or more severe (case-insensitive).", example = "INFO"),
        ("q" = Option<String>, Query, description = "Case-insensitive substring of `message`, 1 to 256 characters.", example = "error"),
        ("service" = Option<String>, Query, description = "Exact `service`.", example = "checkout"),
        ("user_id" = Option<String>, Query, description = "Exact `user_id`.", example = "u_42"),
        ("attr.NAME" = Option<String>, Query, description = "A family of parameters, not a literal name: `attr.<NAME>=<value>` filters on the exact value of `attributes.<NAME>` (a number or boolean matches its JSON text), e.g. `attr.workflowId=67ef01ed8eaeb50b18e646ea`. Any number of them may be sent. OpenAPI cannot express a parameter-name prefix; every other parameter name is rejected with 400 unknown_parameter.", example = "x"),
        ("order" = Option<Order>, Query, description = "By timestamp; default `desc` (newest first)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Most logs in the page; default 50.", example = 20),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page. It carries the whole query: any filter, `source` or `order` sent with it must equal the cursor's (else 400 cursor_mismatch); `limit`, `include` and `partial` may change."),
        ("include" = Option<Include>, Query, description = "`raw`: add each record's untouched upstream object as `raw`."),
        ("partial" = Option<bool>, Query, description = "Default true. `false`: fail with 502/504 as soon as one source fails.", example = false),
    ),
    responses(
        (status = 200, description = "A page of logs", body = LogsPage),
        (status = 400, description = "invalid_parameter, unknown_parameter, unknown_source, invalid_cursor or cursor_mismatch; `param` names the parameter", body = ErrorEnvelope),
        (status = 401, description = "unauthorized: missing or unknown API key", body = ErrorEnvelope,
            headers(("WWW-Authenticate" = String, description = "`Bearer`: the scheme to authenticate with"))),
        (status = 403, description = "forbidden: the key may not read a requested source", body = ErrorEnvelope),
        (status = 429, description = "rate_limited: the key is over its rate", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
        (status = 414, description = "uri_too_long: the query string is over the limit", body = ErrorEnvelope),
        (status = 431, description = "headers_too_large: the request headers are over the limit", body = ErrorEnvelope),
        (status = 502, description = "upstream_error: every requested source failed (or one, with partial=false)", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "When every failed source named a wait (an upstream `Retry-After`): the soonest, in seconds"))),
        (status = 504, description = "upstream_timeout: likewise, when they timed out", body = ErrorEnvelope),
    )
)]
pub async fn get_logs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let request = parse_logs_query(raw.as_deref())?;
    let page = state.engine.page(request, &caller).await?;
    let body = serde_json::to_vec(&PageOut::from(&page)).map_err(|e| {
        tracing::error!(error = %e, "could not serialise a page");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the page could not be serialised",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Serialize)]
struct PageOut<'a> {
    logs: Vec<LogOut<'a>>,
    next_cursor: Option<&'a str>,
    partial: bool,
    sources: Map<String, Value>,
}

#[derive(Serialize)]
struct LogOut<'a> {
    id: String,
    source: &'a str,
    provider: &'static str,
    timestamp: String,
    level: &'static str,
    severity_number: u8,
    message: &'a str,
    service: Option<&'a str>,
    user_id: Option<&'a str>,
    attributes: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a Value>,
}

impl<'a> From<&'a Page> for PageOut<'a> {
    fn from(page: &'a Page) -> Self {
        let logs = page
            .logs
            .iter()
            .map(|(source, provider, r)| LogOut {
                id: format!("{source}:{}", r.native_id),
                source,
                provider,
                timestamp: format_ms(r.timestamp_ms),
                level: r.level.as_str(),
                severity_number: r.level.severity_number(),
                message: &r.message,
                service: r.service.as_deref(),
                user_id: r.user_id.as_deref(),
                attributes: &r.attributes,
                raw: r.raw.as_ref(),
            })
            .collect();
        PageOut {
            logs,
            next_cursor: page.next_cursor.as_deref(),
            partial: page.partial,
            sources: page
                .sources
                .iter()
                .map(|(name, report)| (name.clone(), report_json(report)))
                .collect(),
        }
    }
}

fn report_json(report: &SourceReport) -> Value {
    let mut out = serde_json::json!({
        "status": if report.error.is_some() { "error" } else { "ok" },
        "returned": report.returned,
        "scanned": report.scanned,
        "skipped": report.skipped,
        "upstream_requests": report.upstream_requests,
        "latency_ms": report.latency_ms,
        "pushed": report.pushed,
        "residual": report.residual,
    });
    if let Some((code, message)) = &report.error {
        out["error"] = serde_json::json!({ "code": code, "message": message });
    }
    out
}
