//! The OpenAPI 3 document of the API (`GET /openapi.json`), generated with
//! utoipa from the handlers' `#[utoipa::path]` attributes and the schemas
//! below, and the interactive page at `/docs` (Swagger UI compiled into the
//! binary: nothing is fetched at build or view time).
//!
//! The schemas describe the JSON the handlers write; `tests/openapi.rs`
//! validates real responses against them, so they cannot drift silently.
//! Objects are closed (`additionalProperties: false`) so that an
//! undocumented field fails that test.

use std::collections::BTreeMap;

use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Type};
use utoipa::{Modify, OpenApi, ToSchema};

/// The whole document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "loggate",
        description = "One endpoint for the logs of many third-party services: \
            GET /logs merges every configured source into one time-ordered stream \
            with one signed cursor."
    ),
    paths(
        super::logs::get_logs,
        super::sources::get_sources,
        super::healthz,
        super::readyz,
        super::get_metrics,
        openapi_json,
    ),
    components(schemas(
        LogsPage,
        LogEntry,
        Level,
        SourceReport,
        SourceFailure,
        SourcesList,
        SourceInfo,
        SourceHealth,
        HealthError,
        Status,
        ErrorEnvelope,
        ErrorBody,
        Order,
        Include,
    )),
    modifiers(&Security, &RequestIdHeader),
)]
pub struct ApiDoc;

/// A page of `GET /logs` (spec §3).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LogsPage {
    /// The page's logs in traversal order.
    logs: Vec<LogEntry>,
    /// Resumes the traversal; `null` on the last page. A page may hold
    /// fewer than `limit` logs while this is not null: keep following it.
    #[schema(required = true)]
    next_cursor: Option<String>,
    /// True when some sources failed; their entries in `sources` say why.
    partial: bool,
    /// One entry per queried source, by source name.
    sources: BTreeMap<String, SourceReport>,
}

/// One log record in the unified schema.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LogEntry {
    /// `<source>:<native id>`.
    #[schema(example = "workflows:68110feaa81a0e507fbdd36a")]
    id: String,
    /// The configured source name.
    source: String,
    /// The provider kind, one of the registered kinds (the enum).
    provider: String,
    /// UTC, RFC 3339 with exactly three fraction digits and `Z`.
    #[schema(example = "2025-04-29T17:44:10.432Z", format = DateTime)]
    timestamp: String,
    level: Level,
    /// OpenTelemetry severity: TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21.
    #[schema(minimum = 1, maximum = 24)]
    severity_number: u8,
    message: String,
    #[schema(required = true)]
    service: Option<String>,
    #[schema(required = true)]
    user_id: Option<String>,
    /// Provider-specific fields (spec §3 mapping); absent fields are left out.
    #[schema(value_type = Object)]
    attributes: BTreeMap<String, serde_json::Value>,
    /// The untouched upstream object; only with `include=raw`.
    #[schema(value_type = Object)]
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<serde_json::Value>,
}

/// A log level.
#[derive(ToSchema)]
#[allow(dead_code, clippy::upper_case_acronyms)]
pub enum Level {
    TRACE,
    DEBUG,
    INFO,
    WARN,
    ERROR,
    FATAL,
}

/// What one source did for this page.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SourceReport {
    /// `ok` or `error`.
    #[schema(pattern = "^(ok|error)$")]
    status: String,
    /// Logs of this source in the page.
    returned: u64,
    /// Upstream records read for this page.
    scanned: u64,
    /// Upstream records that could not be read and were skipped.
    skipped: u64,
    upstream_requests: u64,
    latency_ms: u64,
    /// Filters the provider applied natively.
    pushed: Vec<String>,
    /// Filters the gateway applied alone.
    residual: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<SourceFailure>,
}

/// Why a source failed.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SourceFailure {
    code: String,
    message: String,
}

/// `GET /sources`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SourcesList {
    sources: Vec<SourceInfo>,
}

/// A source the key may read.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SourceInfo {
    name: String,
    kind: String,
    /// Filters this provider can evaluate natively.
    pushdown: Vec<String>,
    /// The source's circuit breaker: `closed`, `open` (fetches are skipped
    /// with `circuit_open` until a cool-down ends) or `half_open`.
    #[schema(pattern = "^(closed|open|half_open)$")]
    circuit: String,
    health: SourceHealth,
}

/// The latest fetch outcomes of a source.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct SourceHealth {
    /// `ok`, `error` or `unknown` (no fetch yet).
    #[schema(pattern = "^(ok|error|unknown)$")]
    status: String,
    #[schema(required = true, format = DateTime)]
    last_success: Option<String>,
    #[schema(required = true)]
    last_error: Option<HealthError>,
}

/// The last failed fetch of a source.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct HealthError {
    #[schema(format = DateTime)]
    at: String,
    code: String,
    message: String,
}

/// `/healthz` and `/readyz`.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Status {
    #[schema(example = "ok")]
    status: String,
}

/// Every error response (spec §4).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ErrorEnvelope {
    error: ErrorBody,
}

/// The error itself.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// invalid_parameter, unknown_parameter, unknown_source, invalid_cursor,
    /// cursor_mismatch, body_not_allowed (400); unauthorized (401); forbidden
    /// (403); not_found (404); method_not_allowed (405); uri_too_long (414);
    /// rate_limited (429); headers_too_large (431); internal (500);
    /// upstream_error (502); not_ready (503); upstream_timeout (504).
    #[schema(example = "invalid_parameter")]
    code: String,
    #[schema(example = "start: expected an RFC 3339 timestamp, got \"yesterday\"")]
    message: String,
    /// The parameter at fault, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "start")]
    param: Option<String>,
}

/// Traversal order by timestamp.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Order {
    desc,
    asc,
}

/// Extra content to include.
#[derive(ToSchema)]
#[allow(dead_code, non_camel_case_types)]
pub enum Include {
    raw,
}

/// Bearer auth on the routes that need a key.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key of the gateway (`loggate key` makes one). \
                         With no keys configured, access is open.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every response carries the request id.
struct RequestIdHeader;

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let header = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "The request id: the client's `x-request-id` when it is at most 64 \
                 characters of [A-Za-z0-9._-], else a new one. Every log line of the \
                 request carries it.",
            ))
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get].into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response {
                        response
                            .headers
                            .insert(super::observe::REQUEST_ID.to_string(), header.clone());
                    }
                }
            }
        }
    }
}

/// The document for the built-in providers.
pub fn document() -> utoipa::openapi::OpenApi {
    document_for(&crate::registry::Registry::builtin().kinds())
}

/// The document with `kind` and `provider` enumerating `kinds` (the
/// registry's, so that a new provider is documented without an edit here).
pub fn document_for(kinds: &[&str]) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    let mut doc = ApiDoc::openapi();
    let schemas = &mut doc.components.get_or_insert_with(Default::default).schemas;
    for (schema, property) in [("LogEntry", "provider"), ("SourceInfo", "kind")] {
        if let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(schema) {
            if let Some(RefOr::T(Schema::Object(field))) = object.properties.get_mut(property) {
                field.enum_values = Some(kinds.iter().map(|k| (*k).into()).collect());
            }
        }
    }
    doc
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document of this API", content_type = "application/json", body = Object))
)]
pub async fn openapi_json(
    axum::extract::State(state): axum::extract::State<super::AppState>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(document_for(&state.kinds))
}
