//! OpenAPI shapes of the Loki answers (Loki's own API reference is the
//! authority; these name the top level so the document is complete).
#![allow(dead_code)] // described, not constructed: the handlers write JSON

use utoipa::ToSchema;

/// `{"status": "success", "data": ..., "warnings"?: [...]}`.
#[derive(ToSchema)]
pub struct LokiAnswer {
    /// Always `success` on a 200.
    status: String,
    /// `{"resultType", "result", "stats", "encodingFlags"?}` for queries, a
    /// list for labels, values and series.
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// One line per failed source (a partial answer).
    warnings: Option<Vec<String>>,
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
