//! OpenAPI shapes of the Loki answers (Loki's own API reference is the
//! authority; these name the top level so the document is complete).
#![allow(dead_code)] // described, not constructed: the handlers write JSON

use std::collections::BTreeMap;

use utoipa::openapi::path::Parameter;
use utoipa::openapi::{ObjectBuilder, OpenApi, Type};
use utoipa::{IntoResponses, Modify, ToSchema};

use super::params::{
    DIRECTION_PATTERN, DURATION_PATTERN, LABEL_NAME_PATTERN, MAX_LIMIT, TIME_PATTERN,
};

/// The refusals every Loki route answers, in Loki's manner: a plain-text
/// body (Loki's HTTP API returns errors as text). Listed once and named in
/// each handler's `responses(...)`.
#[derive(IntoResponses)]
pub enum LokiRefusals {
    #[response(
        status = 400,
        description = "Bad input: malformed LogQL (`parse error at line 1, col N: ...`), unsupported constructs, bad times, limit over 5000, unknown parameters",
        content_type = "text/plain"
    )]
    BadInput(String),
    #[response(
        status = 401,
        description = "Missing or unknown API key (Bearer, or Basic with the key as password)",
        content_type = "text/plain"
    )]
    Unauthorized(String),
    #[response(
        status = 429,
        description = "The key is over its rate limit",
        content_type = "text/plain"
    )]
    RateLimited(String),
}

/// The answers of a Loki route that reads sources when none answered
/// (a partial answer is a `200` with `warnings`).
#[derive(IntoResponses)]
pub enum LokiSourceFailures {
    #[response(
        status = 502,
        description = "Every selected source failed",
        content_type = "text/plain"
    )]
    AllFailed(String),
    #[response(
        status = 504,
        description = "Every selected source timed out",
        content_type = "text/plain"
    )]
    AllTimedOut(String),
}

/// `{"status": "success", "data": ..., "warnings"?: [...]}`.
#[derive(ToSchema)]
pub struct LokiAnswer {
    /// Always `success` on a 200.
    status: String,
    /// `{"resultType", "result", "stats", "encodingFlags"?}`.
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// One line per failed source (a partial answer).
    warnings: Option<Vec<String>>,
}

/// `GET /labels` and `GET /label/<name>/values`: `{"status": "success",
/// "data": ["name", ...]}`.
#[derive(ToSchema)]
pub struct LokiStrings {
    /// Always `success` on a 200.
    status: String,
    /// Label names, or the values of one label, sorted.
    data: Vec<String>,
    /// One line per failed source (a partial answer).
    warnings: Option<Vec<String>>,
}

/// `GET /series`: `{"status": "success", "data": [{"label": "value"}, ...]}`.
#[derive(ToSchema)]
pub struct LokiSeries {
    /// Always `success` on a 200.
    status: String,
    /// One label set per stream.
    data: Vec<BTreeMap<String, String>>,
    /// One line per failed source (a partial answer).
    warnings: Option<Vec<String>>,
}

/// The Loki query parameters' schemas, as strict as [`super::params`]
/// reads them (issue 18 item 3): every parameter of a `/loki/api/v1`
/// operation gets the schema its name calls for, from the patterns the
/// parser itself is gated by. The LogQL text (`query`, `match[]`) is only
/// said to be non-blank: its grammar is beyond a JSON Schema.
pub struct LokiParameters;

impl Modify for LokiParameters {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/loki/api/v1/") {
                continue;
            }
            for operation in [&mut item.get].into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    tighten(parameter);
                }
            }
        }
    }
}

fn tighten(parameter: &mut Parameter) {
    let text = |pattern: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .pattern(Some(pattern))
    };
    let schema = match parameter.name.as_str() {
        "start" | "end" | "time" => text(TIME_PATTERN),
        "since" | "step" | "interval" => text(DURATION_PATTERN),
        "direction" => text(DIRECTION_PATTERN),
        "query" | "match[]" => text(r"\S"),
        "name" => text(LABEL_NAME_PATTERN),
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1u64))
            .maximum(Some(MAX_LIMIT as u64)),
        _ => return,
    };
    parameter.schema = Some(schema.into());
}

/// `GET /index/stats` (estimated).
#[derive(ToSchema)]
pub struct IndexStats {
    streams: u64,
    chunks: u64,
    entries: u64,
    bytes: u64,
}

/// `GET /status/buildinfo`.
#[derive(ToSchema)]
pub struct BuildInfo {
    /// `3.4.0+loggate.<loggate version>`.
    version: String,
    revision: String,
    branch: String,
    #[schema(rename = "buildUser")]
    build_user: String,
    #[schema(rename = "buildDate")]
    build_date: String,
    #[schema(rename = "goVersion")]
    go_version: String,
}
