//! A tail with `end` (spec §8, issue 17): it ends with a signed *terminal*
//! cursor — the last `logs` event's `id:` and the `end` event's `cursor` —
//! instead of an empty `id:` (which a browser's `EventSource`, reconnecting
//! after the close, takes as "no last event id" and so replays the tail
//! from `since`). Resumed with it, `/logs/tail` answers `204 No Content`
//! (which stops an `EventSource`), `/logs` an empty page with
//! `next_cursor: null`, the WebSocket tail a close `1000` `end` at once.
//! The terminal cursor is checked like every cursor: altered, of another
//! secret or of another query, it is refused before anything starts.
//! `settle = "0s"`, millisecond polls: the loops wait for the stream's
//! end, never for time.

mod common;

use common::fleet::{start_sims, Kind, Sim, Spec};
use common::sse::{SseEvent, SseStream};
use common::{assert_same_ids, enc, of_source, reference, Gateway};
use futures::StreamExt;
use loggate_core::sim::Served;
use loggate_core::time::{format_ms, now_ms};
use loggate_core::{Filters, Order};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const SERVER: &str = "scan_budget = 10000\ncursor_secret = \"tail-test-secret-0123456789abcdef\"\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\nheartbeat = \"1s\"\n[loki]\nline = \"json\"";

/// The sources' data, an hour of it up to the start of the test, and the
/// tail's `end`: a minute ago (some records lie after it).
async fn sims(sources: usize) -> (Vec<(String, Kind, Sim)>, Vec<Served>, String, i64) {
    let specs: Vec<Spec> = Kind::paged()[..sources]
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 90 + i as u64, 40, 20))
        .collect();
    let names: Vec<String> = (0..sources).map(|i| format!("s{i}")).collect();
    let now = now_ms();
    let (sims, served, toml) = start_sims(&specs, &names, now, SERVER, "").await;
    (sims, served, toml, now - 60_000)
}

/// What a tail of every source up to `end` must deliver, ascending.
fn expected(sims: &[(String, Kind, Sim)], end: i64) -> Vec<String> {
    let data: Vec<(&str, Vec<_>)> = sims
        .iter()
        .map(|(n, _, s)| (n.as_str(), s.snapshot()))
        .collect();
    let filters = Filters {
        end: Some(end),
        ..Filters::default()
    };
    reference(&data, &filters, Order::Asc)
}

/// Every event of a stream, until the gateway closes it.
async fn all_events(mut stream: SseStream) -> Vec<SseEvent> {
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    events
}

/// The ids of the logs events, and the `end` event's reason and cursor,
/// checking that the stream ended with `end` carrying the last logs
/// event's id.
fn logs_and_end(events: &[SseEvent]) -> (Vec<String>, String, String) {
    let end = events.last().expect("events");
    assert_eq!(end.event, "end", "the last event: {end:?}");
    let data: Value = serde_json::from_str(&end.data).unwrap();
    let cursor = data["cursor"]
        .as_str()
        .expect("the end's cursor")
        .to_string();
    assert!(!cursor.is_empty(), "{data}");
    assert_eq!(end.id.as_deref(), Some(cursor.as_str()), "{end:?}");
    let batches: Vec<&SseEvent> = events.iter().filter(|e| e.event == "logs").collect();
    for batch in &batches {
        let id = batch.id.as_deref().unwrap_or_default();
        assert!(!id.is_empty(), "every logs event has an id: {batch:?}");
    }
    let last = batches.last().expect("logs were delivered");
    assert_eq!(
        last.id.as_deref(),
        Some(cursor.as_str()),
        "the last logs event's id is the terminal cursor"
    );
    let ids = batches.iter().flat_map(|e| e.log_ids()).collect();
    (ids, data["reason"].as_str().unwrap().to_string(), cursor)
}

fn assert_all_once(got: &[String], expected: &[String], names: &[&str]) {
    for source in names {
        let what = format!("{source}: every record up to end once, in order");
        assert_same_ids(&of_source(got, source), &of_source(expected, source), &what);
    }
    assert_eq!(got.len(), expected.len(), "nothing delivered twice");
}

#[tokio::test]
async fn an_sse_tail_with_end_ends_with_a_terminal_cursor_that_answers_204() {
    let (sims, _served, toml, end) = sims(2).await;
    let gateway = Gateway::start(&toml).await;
    let query = format!(
        "since=2000-01-01T00:00:00Z&end={}&limit=7",
        enc(&format_ms(end))
    );
    let url = gateway.url(&format!("/logs/tail?{query}"));
    let stream = SseStream::open(&gateway.client, &url, None)
        .await
        .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
    let events = all_events(stream).await;
    let (got, reason, terminal) = logs_and_end(&events);
    assert_eq!(reason, "end");
    let all = expected(&sims, end);
    assert!(all.len() > 7, "several batches: {}", all.len());
    assert_all_once(&got, &all, &["s0", "s1"]);

    // An EventSource reconnects to the same URL with the last id: 204, an
    // empty body, no stream (and so no second delivery).
    let response = gateway
        .client
        .get(&url)
        .header("last-event-id", &terminal)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    // The same as the `cursor` parameter.
    let resumed = gateway.url(&format!("/logs/tail?cursor={}", enc(&terminal)));
    let (status, _) = SseStream::open(&gateway.client, &resumed, None)
        .await
        .err()
        .expect("no stream");
    assert_eq!(status, 204);

    // A reconnect in the middle still resumes exactly, and that tail ends
    // with a terminal cursor too.
    let first = events.iter().find(|e| e.event == "logs").unwrap();
    let stream = SseStream::open(&gateway.client, &url, first.id.as_deref())
        .await
        .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
    let (rest, reason, again) = logs_and_end(&all_events(stream).await);
    assert_eq!(reason, "end");
    let mut both = first.log_ids();
    both.extend(rest);
    assert_all_once(&both, &all, &["s0", "s1"]);
    let (status, _) = SseStream::open(&gateway.client, &url, Some(&again))
        .await
        .err()
        .expect("no stream");
    assert_eq!(status, 204);

    // `/logs` given the terminal cursor: the follow is over.
    let (status, page) = gateway
        .get(&format!("/logs?cursor={}", enc(&terminal)))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["logs"], serde_json::json!([]), "{page}");
    assert!(page["next_cursor"].is_null(), "{page}");
    assert_eq!(page["caught_up"], true, "{page}");
}

#[tokio::test]
async fn a_terminal_cursor_is_checked_like_any_cursor() {
    let (_sims, _served, toml, end) = sims(2).await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url(&format!(
        "/logs/tail?since=2000-01-01T00:00:00Z&end={}",
        enc(&format_ms(end))
    ));
    let stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let (_, _, terminal) = logs_and_end(&all_events(stream).await);
    let refused = |status: u16, body: &Value, code: &str, param: &str| {
        assert_eq!(
            (
                status,
                body["error"]["code"].as_str(),
                body["error"]["param"].as_str()
            ),
            (400, Some(code), Some(param)),
            "{body}"
        );
    };

    // One character changed: its signature no longer matches.
    let mut forged: Vec<char> = terminal.chars().collect();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let (status, body) = SseStream::open(&gateway.client, &url, Some(&forged))
        .await
        .err()
        .expect("refused");
    refused(status, &body, "invalid_cursor", "Last-Event-ID");
    let (status, body) = gateway.get(&format!("/logs?cursor={}", enc(&forged))).await;
    refused(status, &body, "invalid_cursor", "cursor");

    // Another query than its own: as any cursor, refused.
    let other = gateway.url(&format!("/logs/tail?cursor={}&q=zzz", enc(&terminal)));
    let (status, body) = SseStream::open(&gateway.client, &other, None)
        .await
        .err()
        .expect("refused");
    refused(status, &body, "cursor_mismatch", "q");

    // Signed with another secret.
    let elsewhere = Gateway::start(&toml.replace(
        "tail-test-secret-0123456789abcdef",
        "another-secret-0123456789abcdefgh",
    ))
    .await;
    let url = elsewhere.url("/logs/tail");
    let (status, body) = SseStream::open(&elsewhere.client, &url, Some(&terminal))
        .await
        .err()
        .expect("refused");
    refused(status, &body, "invalid_cursor", "Last-Event-ID");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The text frames of a WebSocket until its close frame, and that frame.
async fn frames_until_close(
    socket: &mut Socket,
) -> (
    Vec<Value>,
    tokio_tungstenite::tungstenite::protocol::CloseFrame,
) {
    let mut frames = Vec::new();
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(60), socket.next())
            .await
            .expect("a frame within a minute (a hang guard)")
            .expect("a close frame before the socket ends")
            .expect("the socket works");
        match message {
            Message::Text(text) => frames.push(serde_json::from_str(&text).unwrap()),
            Message::Close(frame) => return (frames, frame.expect("a close code")),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_websocket_tail_ends_at_end_and_closes_at_once_on_a_terminal_cursor() {
    let (_sims, _served, toml, end) = sims(1).await;
    let gateway = Gateway::start(&toml).await;
    // A `/logs/tail` cursor with `end` resumed over the WebSocket (LogQL
    // has no `end`): it delivers to `end`, then its last frame carries the
    // terminal cursor and the socket closes 1000 `end`.
    let url = gateway.url(&format!(
        "/logs/tail?source=s0&since=2000-01-01T00:00:00Z&end={}",
        enc(&format_ms(end))
    ));
    let mut stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let opened = stream.next().await.expect("the open event");
    assert_eq!(opened.event, "open");
    drop(stream);
    let query = "query=%7Bsource%3D%22s0%22%7D";
    let ws = |cursor: &str| {
        format!(
            "ws://{}/loki/api/v1/tail?{query}&cursor={}",
            gateway.addr,
            enc(cursor)
        )
    };
    let (mut socket, _) = tokio_tungstenite::connect_async(ws(opened.id.as_deref().unwrap()))
        .await
        .expect("upgrade");
    let (frames, close) = frames_until_close(&mut socket).await;
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1000, "end"),
        "{close:?}"
    );
    let last = frames.last().expect("a last frame with the cursor");
    let terminal = last["cursor"].as_str().expect("its cursor").to_string();

    // The same cursor the SSE tail would refuse to reopen: 204.
    let (status, _) = SseStream::open(&gateway.client, &url, Some(&terminal))
        .await
        .err()
        .expect("no stream");
    assert_eq!(status, 204);
    // Resumed with it: the upgrade, then the close at once, no frame.
    let (mut socket, _) = tokio_tungstenite::connect_async(ws(&terminal))
        .await
        .expect("upgrade");
    let (frames, close) = frames_until_close(&mut socket).await;
    assert!(frames.is_empty(), "{frames:?}");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1000, "end"),
        "{close:?}"
    );
}
