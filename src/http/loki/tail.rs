//! `GET /loki/api/v1/tail`: Loki's WebSocket tail (spec §8, issue 17
//! item 3). Parameters as Loki takes them: `query` (a LogQL log query),
//! `start` (backfill from, default an hour ago), `limit` (most backfilled
//! entries, default 100) and `delay_for` (whole seconds 0–5, added to
//! `follow.settle`). Frames are Loki's:
//! `{"streams": [{"stream": {...}, "values": [["<ns>", "<line>"]]}],
//! "dropped_entries": null}` — the backfill first (the newest `limit`
//! entries from `start` up to the tail's starting bound, oldest first),
//! then what arrives. Each frame also carries `cursor` (a loggate
//! extension Loki clients ignore): the follow cursor after it, which the
//! `cursor` parameter resumes from exactly (instead of `start`'s backfill).
//! A tail that reaches an `end` (LogQL has none: only one resumed from a
//! `/logs/tail?end=...` cursor) closes with its terminal cursor in the last
//! frame; resumed with a terminal cursor it closes at once (`1000`, reason
//! `end`, no frame).
//! A client that does not keep up with its shared
//! poller loses entries, as with Loki: they are reported (labels and
//! timestamp, at most [`MAX_DROPPED`]) in the next frame's
//! `dropped_entries`, otherwise `null`. Errors before the upgrade are
//! Loki's plain-text ones.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};

use super::params::{Nanos, Params, MS};
use super::query::{select, streams, SCAN_RECORDS};
use super::scan::{line_of, scan, Entry, ScanSpec};
use super::{now_ns, readable, LokiError};
use crate::engine::query::LogsRequest;
use crate::engine::{Caller, EngineError};
use crate::http::tail::too_many_streams;
use crate::http::AppState;
use crate::logql::labels::{entry_ns, LineMode};
use crate::logql::parse;
use crate::logql::plan::{plan_log_query, LogPlan};
use crate::tail::{
    channel, run, SlowPolicy, TailEvent, TailLog, TailReceiver, TailSpec, MAX_DROPPED,
};

const TAIL_PARAMS: [&str; 5] = ["query", "start", "limit", "delay_for", "cursor"];
const HOUR: Nanos = 3_600 * 1_000_000_000;
/// Loki's largest `delay_for`, in seconds.
const MAX_DELAY_SECS: u64 = 5;

/// Checks everything, reads the backfill, then upgrades.
#[utoipa::path(
    get,
    path = "/loki/api/v1/tail",
    tag = "loki",
    security(("bearer" = [])),
    params(
        ("query" = String, Query, description = "LogQL log query (a metric query is refused)"),
        ("start" = Option<String>, Query, description = "Backfill from (inclusive): integer ns (at most 10 digits: seconds), float seconds or RFC 3339; default an hour ago. Not with `cursor`"),
        ("limit" = Option<u32>, Query, description = "Most backfilled entries, 1 to 5000, default 100"),
        ("delay_for" = Option<u8>, Query, minimum = 0, maximum = 5, description = "Whole seconds 0 to 5 (Loki's limit), added to `follow.settle`: nothing newer than now - settle - delay_for is sent"),
        ("cursor" = Option<String>, Query, min_length = 1, description = "loggate extension: the `cursor` of a frame received before; resumes exactly after it, without a backfill. Not with `start`; 400 when not signed here"),
        ("Connection" = String, Header, description = "`Upgrade` (a WebSocket handshake, RFC 6455); without it the answer is 400"),
        ("Upgrade" = String, Header, description = "`websocket`"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`"),
        ("Sec-WebSocket-Key" = String, Header, description = "The handshake key (RFC 6455 §4.1)"),
    ),
    responses(
        (status = 101, description = "Switching to a WebSocket that stays open (spec §8). Each text frame is Loki's \
            `{\"streams\": [{\"stream\": {labels}, \"values\": [[\"<ns>\", \"<line>\"], ...]}], \"dropped_entries\": null | [{\"timestamp\": \"<ns>\", \"labels\": {labels}}]}` \
            plus `cursor`, a loggate extension Loki clients ignore: the follow cursor after the frame, which the `cursor` parameter resumes from. \
            The first frame is the backfill: the newest `limit` entries from `start` up to the tail's starting bound, oldest first (none when resuming). \
            Then each frame carries entries that arrived, grouped by label set. `dropped_entries` lists (at most 1000) entries left out because the client did not keep up with the shared poller; `null` when none. \
            The stream ends with a last frame carrying the cursor to resume from, then a close frame: code 1001 (going away) with reason `shutdown` when the gateway stops, 1000 with reason `max_duration`, `idle` (no entries for `follow.idle_timeout`) or `end` otherwise."),
        (status = 400, description = "Before the upgrade, in plain text: malformed LogQL (`parse error at line 1, col N: ...`), a metric query, bad times, limit outside 1 to 5000, `delay_for` outside 0 to 5, `cursor` with `start`, a cursor not signed here, unknown parameters, or no source the key may read; also a request that is not a WebSocket handshake", content_type = "text/plain", body = String),
        (status = 502, description = "Before the upgrade, in plain text: every selected source failed while the backfill was read (as `query_range` answers). A tail resumed with `cursor`, or whose `start` leaves nothing to backfill, reads no backfill: it opens, and a failing source is retried at its pace", content_type = "text/plain", body = String),
        (status = 504, description = "Before the upgrade, in plain text: every selected source timed out while the backfill was read", content_type = "text/plain", body = String),
        (status = 401, description = "Missing or unknown API key (Bearer, or Basic with the key as password)", content_type = "text/plain", body = String),
        (status = 429, description = "The key is over its rate limit, or the tail stream limits (`follow.max_streams_per_key`, `follow.max_streams`) are reached", content_type = "text/plain", body = String),
    )
)]
pub async fn tail(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let ws = ws.map_err(not_a_handshake)?;
    let params = Params::parse(raw.as_deref(), &TAIL_PARAMS)?;
    let text = params.query()?;
    let resume = params.get("cursor").map(str::to_string);
    if resume.is_some() && params.get("start").is_some() {
        return Err(LokiError::bad_request(
            "cursor: give cursor (to resume) or start (to backfill), not both",
        ));
    }
    let start = params.time("start")?.unwrap_or(now_ns() - HOUR);
    let limit = params.limit(100)?;
    let delay = delay_for(params.get("delay_for"))?;
    let expr = parse(text)?;
    let plan = plan_log_query(text, &expr, &readable(&state, &caller), state.loki.line)?;
    if plan.sources.is_empty() {
        return Err(LokiError::bad_request(
            "query: no source the key may read matches this selector",
        ));
    }
    let request = LogsRequest {
        sources: Some(plan.sources.clone()),
        filters: plan.filters.clone(),
        limit: 1000,
        partial: true,
        cursor: resume.clone(),
        ..LogsRequest::default()
    };
    let opened = state
        .engine
        .open_tail(&request, &caller)
        .map_err(cursor_refusal)?;
    if opened.ended {
        // A terminal cursor: the tail it came from reached its `end`.
        // The handshake succeeds (a WebSocket client takes any other
        // answer for a failure to retry) and the socket closes at once as
        // the tail did: `1000` with reason `end`, no frame.
        return Ok(ws.on_upgrade(|mut socket| async move {
            let mut nothing = Vec::new();
            close(&mut socket, &mut nothing, None, "end").await;
        }));
    }
    let bound_ms = state.engine.caught_up_at(&opened.cursor).unwrap_or(0);
    let hub = state.tails.clone();
    let permit = hub
        .limits
        .admit(caller.key.as_deref())
        .map_err(|message| LokiError::from(too_many_streams(message)))?;
    let backfill = match resume {
        Some(_) => None,
        None => Some(backfill(&state, &caller, &plan, start, bound_ms, limit).await?),
    };
    let spec = TailSpec {
        caller,
        cursor: opened.cursor.clone(),
        sources: opened.sources,
        query_key: format!("{}|1000|false|{}", opened.query_key, delay.as_millis()),
        limit: 1000,
        include_raw: false,
        delay,
        slow: SlowPolicy::Drop,
    };
    let line_mode = state.loki.line;
    Ok(ws.on_upgrade(move |socket| async move {
        let (tx, rx) = channel(hub.stats.clone());
        tokio::spawn(run(hub, spec, tx, permit));
        let backfill = backfill.map(|entries| (entries, opened.cursor));
        serve(socket, rx, backfill, plan, line_mode).await;
    }))
}

/// axum's refusal of a request that is not a WebSocket handshake, in
/// Loki's plain-text manner and the gateway's words (its status kept:
/// 400, or 426 when the connection cannot be upgraded).
fn not_a_handshake(rejection: WebSocketUpgradeRejection) -> LokiError {
    let mut e = LokiError::bad_request(format!(
        "not a WebSocket handshake (RFC 6455), which this route requires: {}",
        lowercase_first(&rejection.body_text())
    ));
    e.status = rejection.status();
    e
}

/// `Connection header ...` as `connection header ...`.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// A cursor of another query in this route's terms: the client sent a
/// LogQL `query`, not the `/logs` parameter that differs (`q`, `level`),
/// and cannot send the cursor alone (`query` is required).
fn cursor_refusal(error: EngineError) -> LokiError {
    match error {
        EngineError::CursorMismatch(param) => LokiError::bad_request(format!(
            "cursor: issued for another query (its {param} differs); resume with the query the cursor came from, or leave cursor out to start a new tail"
        )),
        other => other.into(),
    }
}

/// `delay_for`: whole seconds from 0 to 5, as Loki takes it.
fn delay_for(value: Option<&str>) -> Result<Duration, LokiError> {
    let Some(text) = value else {
        return Ok(Duration::ZERO);
    };
    match crate::engine::form::decimal(text) {
        Some(secs) if secs <= MAX_DELAY_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(LokiError::bad_request(format!(
            "delay_for: expected whole seconds from 0 to {MAX_DELAY_SECS} (digits only), got {text:?}"
        ))),
    }
}

/// The newest `limit` entries in `[start, bound]`, oldest first.
async fn backfill(
    state: &AppState,
    caller: &Caller,
    plan: &LogPlan,
    start: Nanos,
    bound_ms: i64,
    limit: usize,
) -> Result<Vec<Entry>, LokiError> {
    let end = (Nanos::from(bound_ms) + 1) * MS;
    if start >= end {
        return Ok(Vec::new());
    }
    let spec = ScanSpec {
        plan,
        start,
        end,
        forward: false,
        line_mode: state.loki.line,
        want: Some(limit),
        max_records: SCAN_RECORDS,
    };
    let read = scan(state, caller, &spec).await?;
    let mut entries = select(read.entries, limit, false);
    entries.reverse();
    Ok(entries)
}

/// Sends the backfill (with the cursor the tail starts from; not when it
/// resumes), then each new page's matching entries with the cursor after
/// the page, until the client or the tail goes away.
async fn serve(
    mut socket: WebSocket,
    mut rx: TailReceiver,
    backfill: Option<(Vec<Entry>, String)>,
    plan: LogPlan,
    line_mode: LineMode,
) {
    if let Some((entries, cursor)) = backfill {
        if send(&mut socket, &entries, &mut Vec::new(), Some(&cursor))
            .await
            .is_err()
        {
            return;
        }
    }
    let mut dropped: Vec<Entry> = Vec::new();
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(TailEvent::Logs(page)) => {
                    let entries = entries_of(&page.logs, &plan, line_mode);
                    let cursor = page.resume_cursor();
                    if !entries.is_empty() && send(&mut socket, &entries, &mut dropped, cursor).await.is_err() {
                        return;
                    }
                }
                Some(TailEvent::Dropped(logs)) => {
                    let room = MAX_DROPPED.saturating_sub(dropped.len());
                    dropped.extend(entries_of(&logs, &plan, line_mode).into_iter().take(room));
                }
                Some(TailEvent::Open { .. } | TailEvent::Status { .. }) => {}
                Some(TailEvent::End { cursor, reason }) => {
                    close(&mut socket, &mut dropped, cursor.as_deref(), reason).await;
                    return;
                }
                None => break,
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

/// The end of a tail (`max_duration`, the gateway shutting down, a slow
/// client): a last frame with the cursor to resume from (and what was
/// dropped), then a close frame — `1001` going away on shutdown, `1000`
/// otherwise — whose reason is the `end` event's.
async fn close(
    socket: &mut WebSocket,
    dropped: &mut Vec<Entry>,
    cursor: Option<&str>,
    reason: &'static str,
) {
    if cursor.is_some() && send(socket, &[], dropped, cursor).await.is_err() {
        return;
    }
    let code = if reason == "shutdown" { 1001 } else { 1000 };
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// A page's records as Loki entries, those the query's residual keeps.
fn entries_of(logs: &[TailLog], plan: &LogPlan, line_mode: LineMode) -> Vec<Entry> {
    logs.iter()
        .map(|(source, provider, record)| Entry {
            ns: entry_ns(source, record),
            source: source.clone(),
            provider,
            record: record.clone(),
            line: line_of(line_mode, source, provider, record),
        })
        .filter(|entry| plan.residual.matches(&entry.view()))
        .collect()
}

/// One Loki tail frame, carrying (and emptying) `dropped`: Loki's
/// `dropped_entries`, `[{"timestamp": "<ns>", "labels": {...}}]`, or
/// `null` when nothing was dropped (`pkg/loghttp/tail.go`); and loggate's
/// `cursor`, the follow cursor after the frame (a Loki client ignores it;
/// passing it back as `cursor` resumes exactly after this frame).
async fn send(
    socket: &mut WebSocket,
    entries: &[Entry],
    dropped: &mut Vec<Entry>,
    cursor: Option<&str>,
) -> Result<(), axum::Error> {
    let dropped_entries = if dropped.is_empty() {
        Value::Null
    } else {
        let reported = std::mem::take(dropped)
            .iter()
            .map(|entry| {
                let labels: Map<String, Value> = entry
                    .view()
                    .stream()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), Value::from(v)))
                    .collect();
                json!({ "timestamp": entry.ns.to_string(), "labels": labels })
            })
            .collect();
        Value::Array(reported)
    };
    let mut frame =
        json!({ "streams": streams(entries, false), "dropped_entries": dropped_entries });
    if let Some(cursor) = cursor {
        frame["cursor"] = Value::from(cursor);
    }
    socket.send(Message::Text(frame.to_string().into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whole seconds 0 to 5, digits only (no sign: `+3` was taken).
    #[test]
    fn delay_for_is_whole_seconds_in_digits() {
        assert_eq!(delay_for(None).unwrap(), Duration::ZERO);
        assert_eq!(delay_for(Some("5")).unwrap(), Duration::from_secs(5));
        for refused in ["+3", " 3", "3 ", "-0", "6", "1.5", ""] {
            let e = delay_for(Some(refused)).unwrap_err();
            assert!(
                e.message.starts_with("delay_for: expected whole seconds"),
                "{refused:?}"
            );
        }
    }
}
