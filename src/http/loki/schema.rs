//! The Loki answers' top level (Loki's own API reference is the
//! authority): the structs the handlers serialise are the ones the OpenAPI
//! document describes (issue 12 item 5: no mirrors).

use std::collections::BTreeMap;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
#[allow(dead_code)] // never built: utoipa reads its variants for the document
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
#[allow(dead_code)] // never built: utoipa reads its variants for the document
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

/// `body` as a `200` JSON answer (`application/json; charset=utf-8`, as
/// Loki sends it).
pub fn json_response(body: &impl Serialize) -> Response {
    let text = serde_json::to_string(body).expect("a Loki answer serialises");
    ([(CONTENT_TYPE, "application/json; charset=utf-8")], text).into_response()
}

/// `{"status": "success", "data": ..., "warnings"?: [...]}`.
#[derive(Serialize, ToSchema)]
pub struct LokiAnswer<'a> {
    /// Always `success` on a 200.
    #[schema(value_type = String)]
    status: &'static str,
    /// `{"resultType", "result", "stats", "encodingFlags"?}`.
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// One line per failed source (a partial answer); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    warnings: Option<&'a [String]>,
}

impl<'a> LokiAnswer<'a> {
    pub fn new(data: serde_json::Value, warnings: &'a [String]) -> Self {
        LokiAnswer {
            status: "success",
            data,
            warnings: (!warnings.is_empty()).then_some(warnings),
        }
    }
}

/// `GET /labels` and `GET /label/<name>/values`: `{"status": "success",
/// "data": ["name", ...]}`.
#[derive(Serialize, ToSchema)]
pub struct LokiStrings {
    /// Always `success` on a 200.
    #[schema(value_type = String)]
    status: &'static str,
    /// Label names, or the values of one label, sorted.
    data: Vec<String>,
}

impl LokiStrings {
    pub fn new<S: Into<String>>(data: impl IntoIterator<Item = S>) -> Self {
        LokiStrings {
            status: "success",
            data: data.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /series`: `{"status": "success", "data": [{"label": "value"}, ...]}`.
#[derive(Serialize, ToSchema)]
pub struct LokiSeries {
    /// Always `success` on a 200.
    #[schema(value_type = String)]
    status: &'static str,
    /// One label set per stream.
    #[schema(value_type = Vec<BTreeMap<String, String>>)]
    data: Vec<BTreeMap<&'static str, String>>,
}

impl LokiSeries {
    pub fn new(data: impl IntoIterator<Item = BTreeMap<&'static str, String>>) -> Self {
        LokiSeries {
            status: "success",
            data: data.into_iter().collect(),
        }
    }
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
#[derive(Serialize, ToSchema)]
pub struct IndexStats {
    pub streams: u64,
    pub chunks: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// `GET /status/buildinfo`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// `3.4.0+loggate.<loggate version>`.
    #[schema(value_type = String)]
    pub version: &'static str,
    #[schema(value_type = String)]
    pub revision: &'static str,
    #[schema(value_type = String)]
    pub branch: &'static str,
    #[schema(value_type = String)]
    pub build_user: &'static str,
    #[schema(value_type = String)]
    pub build_date: &'static str,
    #[schema(value_type = String)]
    pub go_version: &'static str,
}
