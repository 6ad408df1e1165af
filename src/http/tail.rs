//! `GET /logs/tail` (spec §8): Server-Sent Events of a live tail.
//!
//! Events: `open` (the stream is set up; its `id:` resumes from here),
//! `logs` (a `/logs` page whose logs are new; `id:` = its `next_cursor`,
//! the follow cursor after the batch), `status` (a source failed or
//! recovered: `{"source", "status": "ok"|"error", "error"?}`), `end` (the
//! stream closes; `{"reason", "cursor"}`, `reason` one of `max_duration`,
//! `idle`, `end`, `slow_subscriber`, `shutdown`). Comment lines are
//! heartbeats.
//! A client reconnecting with `Last-Event-ID` (or `cursor`) resumes exactly
//! after the last event it received, on any replica with the same secret.
//! A tail whose `end` was reached ends with a signed *terminal* cursor (the
//! last `logs` event's id and the `end` event's): resumed with it, the
//! route answers `204 No Content`, which stops a browser's `EventSource`
//! (it reconnects after any close, and would otherwise start again).

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::stream::{self, Stream};
use serde_json::json;

use crate::engine::form::decode_pairs;
use crate::engine::query::{expected_parameters, parse_logs_query, LogsRequest};
use crate::engine::{Caller, EngineError};
use crate::http::{ApiError, AppState, ErrorEnvelope, LogsPage};
use crate::tail::{channel, run, SlowPolicy, TailEvent, TailReceiver, TailSpec};

/// Opens a tail: every check (parameters, sources, the cursor, the limits)
/// answers its usual status before the stream starts.
#[utoipa::path(
    get,
    path = "/logs/tail",
    tag = "logs",
    security(("bearer" = [])),
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "The `id:` of the last event received: resumes exactly after it (wins over `cursor`; a browser's EventSource sends it when it reconnects)"),
    ),
    responses(
        (status = 200, description = "A stream of Server-Sent Events (spec §8) that stays open. \
            The first event carries `retry:` (milliseconds: `follow.poll_min`, at least 100). \
            `event: open`, `data: {}`: the stream is set up; its `id:` resumes from here. \
            `event: logs`: `data:` a `/logs` page (the `LogsPage` schema) of new logs, oldest first; `id:` its `next_cursor`, the signed follow cursor after the batch (the terminal cursor when the batch reaches the `end` parameter). \
            `event: status`: `data: {\"source\", \"status\": \"ok\"|\"error\", \"error\"?: {\"code\", \"message\"}}`, a source failing or recovering; `id:` the cursor at that point. \
            `event: end`: `data: {\"reason\", \"cursor\"}`, the last event before the server closes the stream; `reason` is `max_duration` (`follow.max_duration`), `idle` (no logs for `follow.idle_timeout`), `end` (the `end` parameter was reached: `cursor` is a signed terminal cursor, which resumes nothing), `slow_subscriber` (the client did not read) or `shutdown` (the gateway stops); `id:` and `cursor` resume it. \
            Comment lines `: heartbeat` every `follow.heartbeat` keep proxies from closing an idle stream. \
            Every `id:` may be sent back as `Last-Event-ID` or `cursor`, on any replica with the same `cursor_secret`.",
            content_type = "text/event-stream", body = String),
        (status = 204, description = "The cursor (`Last-Event-ID` or `cursor`) is the terminal cursor of a tail whose `end` was reached: nothing follows, no stream is opened. A browser's EventSource stops reconnecting on it."),
        (status = 400, description = "Before the stream starts: invalid_parameter (also `since` with `start`, `order=desc`, `follow=false`: a tail always follows, `partial=false`: a tail always goes on with the other sources), unknown_parameter, unknown_source, invalid_cursor (not signed here, or not a follow cursor) or cursor_mismatch; `param` names the parameter", body = ErrorEnvelope),
        crate::http::error::KeyRefusals,
    )
)]
pub async fn get_tail(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (request, since) = tail_request(raw.as_deref(), &headers)?;
    let start = state
        .engine
        .open_tail(&request, &caller)
        .map_err(|e| resumed_from(e, &headers, since))?;
    if start.ended {
        // The tail this cursor came from is over: 204 tells an EventSource
        // to stop reconnecting (WHATWG HTML, "server-sent events": a
        // response that is not 200 fails the connection).
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let hub = state.tails.clone();
    let permit = hub
        .limits
        .admit(caller.key.as_deref())
        .map_err(too_many_streams)?;
    let (tx, rx) = channel(hub.stats.clone());
    let spec = TailSpec {
        caller,
        cursor: start.cursor,
        sources: start.sources,
        query_key: format!(
            "{}|{}|{}",
            start.query_key, request.limit, request.include_raw
        ),
        limit: request.limit,
        include_raw: request.include_raw,
        delay: std::time::Duration::ZERO,
        slow: SlowPolicy::Close,
    };
    let settings = hub.settings.clone();
    tokio::spawn(run(hub, spec, tx, permit));
    let keep_alive = KeepAlive::new()
        .interval(settings.heartbeat)
        .text("heartbeat");
    Ok(Sse::new(events(rx, settings.poll_min))
        .keep_alive(keep_alive)
        .into_response())
}

/// A tail over `follow.max_streams_per_key` or `follow.max_streams`
/// (`message` names which): `429 rate_limited` with `Retry-After` (spec §4:
/// a 429 always says when to retry), for both tails.
pub(crate) fn too_many_streams(message: String) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
    e.retry_after_secs = Some(STREAMS_RETRY_AFTER_SECS);
    e
}

/// Seconds a client refused for the tail stream limits waits.
const STREAMS_RETRY_AFTER_SECS: u64 = 5;

/// The `/logs` parameters, `since` as an alias of `start`, and
/// `Last-Event-ID` (which wins over `cursor`: a browser's EventSource
/// reconnects to the same URL with the last id it received). Returns
/// whether the client spelt the start `since` (errors then name `since`).
fn tail_request(raw: Option<&str>, headers: &HeaderMap) -> Result<(LogsRequest, bool), ApiError> {
    let raw = raw.unwrap_or("");
    // Names compared once decoded, as `/logs` reads them (`sinc%65`).
    let (mut since, mut start) = (false, false);
    let mut renamed: Vec<String> = Vec::new();
    for piece in raw.split('&') {
        let name = decode_pairs(piece)?
            .into_iter()
            .next()
            .map(|(name, _)| name);
        match name.as_deref() {
            Some("since") => {
                since = true;
                let value = piece.split_once('=').map_or("", |(_, value)| value);
                renamed.push(format!("start={value}"));
            }
            Some(name) => {
                start |= name == "start";
                renamed.push(piece.to_string());
            }
            None => {}
        }
    }
    if since && start {
        return Err(ApiError::invalid("since", "give since or start, not both"));
    }
    let mut request =
        parse_logs_query(Some(&renamed.join("&"))).map_err(|e| in_tail_words(e, since))?;
    if request.follow == Some(false) {
        return Err(ApiError::invalid(
            "follow",
            "a tail always follows: leave follow out or send follow=true",
        ));
    }
    if !request.partial {
        return Err(ApiError::invalid(
            "partial",
            "a tail always goes on with the other sources when one fails (reporting it in a status event): leave partial out or send partial=true",
        ));
    }
    if let Some(id) = headers.get("last-event-id") {
        let id = id
            .to_str()
            .map_err(|_| ApiError::invalid("Last-Event-ID", "expected an event id of this tail"))?;
        // A blank header is no resumption: `cursor` (if sent) still counts.
        let id = id.trim();
        if !id.is_empty() {
            request.cursor = Some(id.to_string());
        }
    }
    Ok((request, since))
}

/// A refusal of the `/logs` rules in the tail's words: `since` among the
/// parameters it takes, and named where the client sent `since` for the
/// `start` it stands for (`since: ...`, `end: must not be before since`,
/// a cursor issued for another `since`).
fn in_tail_words(error: EngineError, since: bool) -> ApiError {
    let error = match error {
        EngineError::UnknownParameter(name) => EngineError::UnknownParameterOf {
            name,
            expected: expected_parameters().replacen("start, ", "since, start, ", 1),
        },
        other => other,
    };
    let mut error = ApiError::from(error);
    if since {
        match error.param.as_deref() {
            Some("start") => {
                error.param = Some("since".into());
                error.message = error.message.replacen("start", "since", 1);
            }
            Some("end") => {
                error.message = error.message.replace("before start", "before since");
            }
            _ => {}
        }
    }
    error
}

/// A refused cursor named as the client sent it: `Last-Event-ID` when
/// the header carried it (an EventSource never sends `cursor` itself);
/// `since` for a cursor issued for another start.
fn resumed_from(error: EngineError, headers: &HeaderMap, since: bool) -> ApiError {
    let mut error = in_tail_words(error, since);
    let sent = headers
        .get("last-event-id")
        .and_then(|id| id.to_str().ok())
        .is_some_and(|id| !id.trim().is_empty());
    if sent && error.param.as_deref() == Some("cursor") {
        error.param = Some("Last-Event-ID".into());
        error.message = error.message.replacen("cursor", "Last-Event-ID", 1);
    }
    error
}

/// The SSE events of a tail's channel; the first carries `retry:`.
fn events(
    rx: TailReceiver,
    retry: std::time::Duration,
) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold((rx, true), move |(mut rx, first)| async move {
        let event = rx.recv().await?;
        let mut sse = to_sse(event);
        if first {
            sse = sse.retry(retry.max(std::time::Duration::from_millis(100)));
        }
        Some((Ok(sse), (rx, false)))
    })
}

/// One tail event as SSE.
fn to_sse(event: TailEvent) -> Event {
    match event {
        TailEvent::Open { cursor } => Event::default().event("open").id(cursor).data("{}"),
        TailEvent::Logs(page) => {
            let id = page.resume_cursor().unwrap_or_default().to_string();
            let data =
                serde_json::to_string(&LogsPage::from(&*page)).unwrap_or_else(|_| "{}".to_string());
            Event::default().event("logs").id(id).data(data)
        }
        TailEvent::Status {
            source,
            ok,
            error,
            cursor,
        } => {
            let mut data = json!({"source": source, "status": if ok { "ok" } else { "error" }});
            if let Some((code, message)) = error {
                data["error"] = json!({"code": code, "message": message});
            }
            Event::default()
                .event("status")
                .id(cursor)
                .data(data.to_string())
        }
        // Not sent to a `SlowPolicy::Close` stream.
        TailEvent::Dropped(_) => Event::default().comment("dropped"),
        TailEvent::End { cursor, reason } => {
            let data = json!({"reason": reason, "cursor": cursor});
            let event = Event::default().event("end").data(data.to_string());
            match cursor {
                Some(cursor) => event.id(cursor),
                None => event,
            }
        }
    }
}
