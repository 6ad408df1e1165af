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
use crate::http::{ApiError, AppState};

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
