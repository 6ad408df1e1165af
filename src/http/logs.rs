//! `GET /logs`: parameters in, one merged page out.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use loggate_core::time::format_ms;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::engine::query::parse_logs_query;
use crate::engine::{Caller, Page, SourceReport};
use crate::http::{ApiError, AppState, ErrorEnvelope};

/// One page of the merged, time-ordered logs of the requested sources.
/// A `Cache-Control: no-cache` request header (or `no-store`,
/// `max-age=0`, `Pragma: no-cache`) uses no stored upstream answer for the
/// page; an identical upstream request in flight is still joined (spec §9).
/// (Its query parameters are added to the document from
/// [`crate::engine::query::PARAMS`].)
#[utoipa::path(
    get,
    path = "/logs",
    tag = "logs",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of logs", body = LogsPage),
        (status = 400, description = "invalid_parameter, unknown_parameter, unknown_source, invalid_cursor or cursor_mismatch; `param` names the parameter", body = ErrorEnvelope),
        crate::http::error::KeyRefusals,
        (status = 502, description = "upstream_error: every requested source failed (or one, with partial=false)", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "When every failed source named a wait (an upstream `Retry-After`): the soonest, in seconds"))),
        (status = 503, description = "overloaded: loggate's own queue (room for pages in flight, a source's outbound rate limit or concurrency cap) cannot serve the request before its deadline; declined early", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
        (status = 504, description = "upstream_timeout: every requested source failed (or one, with partial=false) and they timed out", body = ErrorEnvelope),
    )
)]
pub async fn get_logs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let mut request = parse_logs_query(raw.as_deref())?;
    request.no_cache = wants_no_cache(&headers);
    let page = state.engine.page(request, &caller).await?;
    let span = tracing::Span::current();
    if !span.is_disabled() {
        let names: Vec<&str> = page.sources.keys().map(String::as_str).collect();
        span.record("sources", names.join(",").as_str());
        span.record("partial", page.partial);
    }
    // One buffer, sized for the page up front.
    let mut body = Vec::with_capacity(1024 + 512 * page.logs.len());
    serde_json::to_writer(&mut body, &LogsPage::from(&page)).map_err(|e| {
        tracing::error!(error = %e, "could not serialise a page");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the page could not be serialised",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A page of `GET /logs` (spec §3).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsPage<'a> {
    /// The page's logs in traversal order.
    logs: Vec<LogEntry<'a>>,
    /// Resumes the traversal; `null` on the last page. A page may hold
    /// fewer than `limit` logs while this is not null: keep following it.
    #[schema(required = true, value_type = Option<String>)]
    next_cursor: Option<&'a str>,
    /// True when some sources failed; their entries in `sources` say why.
    partial: bool,
    /// Only with `follow=true` (spec §8): every source has read everything
    /// up to now − settle; `next_cursor` is then a follow cursor to call
    /// again later.
    #[serde(skip_serializing_if = "Option::is_none")]
    caught_up: Option<bool>,
    /// One entry per queried source, by source name.
    sources: &'a BTreeMap<String, SourceReport>,
    /// Present when a source skipped unreadable records or failed: one
    /// human-readable line each, naming the source and the reason (spec §5).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    #[schema(value_type = Vec<String>)]
    warnings: &'a [String],
}

/// One log record in the unified schema (spec §3).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogEntry<'a> {
    /// `<source>:<native id>`.
    #[schema(example = "workflows:68110feaa81a0e507fbdd36a", value_type = String)]
    id: SourceId<'a>,
    /// The configured source name.
    #[schema(value_type = String)]
    source: &'a str,
    /// The provider kind of the source.
    #[schema(value_type = String)]
    provider: &'static str,
    /// UTC, RFC 3339 with exactly three fraction digits and `Z`.
    #[schema(example = "2025-04-29T17:44:10.432Z", format = DateTime, value_type = String)]
    timestamp: Timestamp,
    #[schema(value_type = crate::http::openapi::LevelSchema)]
    level: &'static str,
    /// OpenTelemetry severity: TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21.
    #[schema(minimum = 1, maximum = 24)]
    severity_number: u8,
    #[schema(value_type = String)]
    message: &'a str,
    #[schema(required = true, value_type = Option<String>)]
    service: Option<&'a str>,
    #[schema(required = true, value_type = Option<String>)]
    user_id: Option<&'a str>,
    /// Provider-specific fields (spec §3 mapping); absent fields are left out.
    #[schema(value_type = Object)]
    attributes: &'a Map<String, Value>,
    /// The untouched upstream object; only with `include=raw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    raw: Option<&'a loggate_core::RawJson>,
}

/// `<source>:<native id>`, written straight into the response.
struct SourceId<'a>(&'a str, &'a str);

/// The longest id [`SourceId`] joins in a stack buffer (longer ones go
/// through `collect_str`).
const SHORT_ID: usize = 128;

impl Serialize for SourceId<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Joined in a stack buffer and written as one string: a third of
        // the instructions of `collect_str`'s formatting machinery
        // (issue 13). JSON escaping is per character, so the text is the
        // same either way.
        let (source, id) = (self.0.as_bytes(), self.1.as_bytes());
        let len = source.len() + 1 + id.len();
        if len <= SHORT_ID {
            let mut buffer = [0u8; SHORT_ID];
            buffer[..source.len()].copy_from_slice(source);
            buffer[source.len()] = b':';
            buffer[source.len() + 1..len].copy_from_slice(id);
            if let Ok(text) = std::str::from_utf8(&buffer[..len]) {
                return serializer.serialize_str(text);
            }
        }
        serializer.collect_str(&format_args!("{}:{}", self.0, self.1))
    }
}

/// A record's time as spec §3 spells it, `2025-04-29T17:44:10.432Z`
/// ([`format_ms`]'s text), formatted in a stack buffer straight into the
/// response: no `String` per log (issue 13, the response encoding).
struct Timestamp(i64);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match rfc3339_millis(self.0) {
            Some(text) => serializer.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => serializer.serialize_str(&format_ms(self.0)),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for the years 0 to 9999 (`None` for
/// others, which chrono spells with a sign and more digits).
fn rfc3339_millis(ms: i64) -> Option<[u8; 24]> {
    use chrono::{Datelike, TimeZone, Timelike};
    let at = chrono::Utc.timestamp_millis_opt(ms).single()?;
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let millis = at.timestamp_subsec_millis().min(999);
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, at.month());
    put(8, 2, at.day());
    put(11, 2, at.hour());
    put(14, 2, at.minute());
    put(17, 2, at.second());
    put(20, 3, millis);
    Some(out)
}

impl<'a> From<&'a Page> for LogsPage<'a> {
    fn from(page: &'a Page) -> Self {
        let logs = page
            .logs
            .iter()
            .map(|(source, provider, r)| LogEntry {
                id: SourceId(source, &r.native_id),
                source,
                provider,
                timestamp: Timestamp(r.timestamp_ms),
                level: r.level.as_str(),
                severity_number: r.level.severity_number(),
                message: &r.message,
                service: r.service.as_deref(),
                user_id: r.user_id.as_deref(),
                attributes: &r.attributes,
                raw: r.raw.as_ref(),
            })
            .collect();
        LogsPage {
            logs,
            next_cursor: page.next_cursor.as_deref(),
            partial: page.partial,
            caught_up: page.caught_up,
            sources: &page.sources,
            warnings: &page.warnings,
        }
    }
}

/// `Cache-Control: no-cache` (or `no-store`, or `max-age=0`), or the HTTP/1.0
/// `Pragma: no-cache`: this page uses no stored upstream answer (spec §9).
pub(crate) fn wants_no_cache(headers: &axum::http::HeaderMap) -> bool {
    let directive = |name: header::HeaderName, wanted: &[&str]| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|v| {
                v.split(',').any(|d| {
                    let d = d.trim().to_ascii_lowercase();
                    wanted.iter().any(|w| d == *w)
                })
            })
        })
    };
    directive(
        header::CACHE_CONTROL,
        &["no-cache", "no-store", "max-age=0"],
    ) || directive(header::PRAGMA, &["no-cache"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log's id is `<source>:<native id>` as one JSON string, whether
    /// joined on the stack or formatted (long ids), escapes included.
    #[test]
    fn ids_are_written_as_source_colon_native_id() {
        let long = "s".repeat(SHORT_ID);
        for (source, id) in [
            ("app", "0123456789abcdef"),
            ("", ""),
            ("a\"b\\c", "id\u{1}\n"),
            ("äpp", "日本"),
            (long.as_str(), "0123456789abcdef"),
            ("app", long.as_str()),
            (&long[..SHORT_ID - 2], "x"),
            (&long[..SHORT_ID - 1], "x"),
        ] {
            let text = serde_json::to_string(&SourceId(source, id)).unwrap();
            let want = serde_json::to_string(&format!("{source}:{id}")).unwrap();
            assert_eq!(text, want, "{source:?} {id:?}");
        }
    }

    /// The response's timestamps are [`format_ms`]'s text, byte for byte:
    /// across the years 0 to 9999, before 1970, and outside that range.
    #[test]
    fn timestamps_are_written_as_format_ms_writes_them() {
        let day = 86_400_000i64;
        let mut cases = vec![
            0,
            -1,
            1,
            999,
            1_745_948_650_432,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // +10000
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // -0001
            i64::MAX,
            i64::MIN,
        ];
        let mut ms = -62_167_219_200_000i64;
        while ms < 253_402_300_800_000 {
            cases.push(ms);
            ms += 37 * day + 3_723_457;
        }
        for ms in cases {
            let text = serde_json::to_string(&Timestamp(ms)).unwrap();
            assert_eq!(text, format!("\"{}\"", format_ms(ms)), "{ms}");
        }
    }
}
