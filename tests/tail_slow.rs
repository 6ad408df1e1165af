//! Slow tail subscribers (spec §8, issue 17 item 4): a client that stops
//! reading while the simulators insert many records never makes the
//! gateway buffer more than `EVENT_BUFFER` events for it
//! (`loggate_tail_buffered_events`), nor poll upstream on its own
//! (`loggate_tail_private_polls`). Over SSE the stream ends with a
//! resumable `end` event (`reason: "slow_subscriber"`) and a client
//! resuming from its cursor gets every record exactly once; over the
//! WebSocket the entries it could not take are reported in a later
//! frame's `dropped_entries` (labels and timestamp), as Loki does, and
//! every record is either delivered once or counted as dropped.
//! Conditions are polled (`/metrics`), never timed.

mod common;

use std::collections::BTreeSet;

use common::fleet::{start_sims, Kind, Sim, Spec};
use common::metrics::metric;
use common::sse::{parse_events, SseStream};
use common::{assert_same_ids, reference, Gateway};
use futures::StreamExt;
use loggate::tail::EVENT_BUFFER;
use loggate_core::{Filters, Order};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

const SERVER: &str = "scan_budget = 100000\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\nheartbeat = \"1s\"\n[loki]\nline = \"json\"";
/// Records inserted per round of the flood; at most `ROUNDS` rounds. The
/// source is Alloy's, whose simulator stamps new records now + 1 ms (a
/// leveled one in whole seconds stamps each batch a second further on).
const BATCH: usize = 1000;
const ROUNDS: usize = 300;

/// A connection to `addr` whose receive window stays small (a set
/// `SO_RCVBUF` is not autotuned), so that a client not reading soon
/// holds the gateway back.
async fn small_window(addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(addr).await.expect("gateway accepts")
}

/// An HTTP/1.1 body in chunked transfer encoding, decoded.
fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line = body
            .iter()
            .position(|b| *b == b'\n')
            .expect("chunk size line");
        let size = std::str::from_utf8(&body[..line]).unwrap().trim();
        let size = usize::from_str_radix(size, 16).expect("hex chunk size");
        body = &body[line + 1..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn all_ids(sim: &Sim) -> Vec<String> {
    reference(&[("s0", sim.snapshot())], &Filters::default(), Order::Asc)
}

/// Waits until the group has polled twice more (it has read what was
/// inserted before) or `counter` moved (then the group may have stopped).
async fn group_polled(gateway: &Gateway, counter: &str) {
    let before = metric(gateway, "loggate_tail_group_polls").await;
    while metric(gateway, "loggate_tail_group_polls").await < before + 2 {
        if metric(gateway, counter).await > 0 {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// Waits until one subscriber forwards the shared poller's pages.
async fn joined(gateway: &Gateway) {
    while metric(gateway, "loggate_tail_shared_subscribers").await < 1 {
        tokio::task::yield_now().await;
    }
}

/// Inserts batches while nobody reads, until `counter` moves; checks the
/// buffered events and that no own polls were made meanwhile.
async fn flood_until(gateway: &Gateway, sim: &Sim, counter: &str) {
    let private = metric(gateway, "loggate_tail_private_polls").await;
    for _ in 0..ROUNDS {
        sim.insert_new(BATCH);
        group_polled(gateway, counter).await;
        let buffered = metric(gateway, "loggate_tail_buffered_events").await;
        assert!(
            buffered <= EVENT_BUFFER as u64,
            "{buffered} events buffered"
        );
        if metric(gateway, counter).await > 0 {
            let now = metric(gateway, "loggate_tail_private_polls").await;
            assert_eq!(now, private, "a slow subscriber does not poll on its own");
            return;
        }
    }
    panic!("{counter} did not move after {} records", ROUNDS * BATCH);
}

#[tokio::test]
async fn a_slow_sse_subscriber_is_closed_with_a_cursor_that_resumes_exactly() {
    let names = vec!["s0".to_string()];
    let specs = [Spec::new(Kind::MILLIS_STAMPS, 51, 20, 10)];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let sim = &sims[0].2;
    let gateway = Gateway::start(&toml).await;
    let path = "/logs/tail?since=2000-01-01T00:00:00Z&limit=1000";
    let mut stream = small_window(gateway.addr).await;
    let request = format!("GET {path} HTTP/1.1\r\nhost: gateway\r\naccept: text/event-stream\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    joined(&gateway).await;
    flood_until(&gateway, sim, "loggate_tail_slow_closes").await;

    // Now read what was queued, to the end: logs, then the end event.
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(
        head.starts_with("http/1.1 200") && head.contains("chunked"),
        "{head}"
    );
    let body = String::from_utf8(unchunk(&response[split + 4..])).unwrap();
    let mut got = Vec::new();
    let mut end = None;
    for event in parse_events(&body) {
        match event.event.as_str() {
            "logs" => got.extend(event.log_ids()),
            "end" => end = Some(event),
            _ => {}
        }
    }
    let end = end.expect("the stream ends with an end event");
    let data: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(data["reason"], "slow_subscriber", "{data}");
    let cursor = data["cursor"].as_str().expect("a cursor to resume");
    assert_eq!(end.id.as_deref(), Some(cursor), "its id resumes too");

    let expected = all_ids(sim);
    let url = gateway.url(path);
    let mut resumed = SseStream::open(&gateway.client, &url, Some(cursor))
        .await
        .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
    while got.len() < expected.len() {
        let event = resumed.next().await.expect("the resumed stream goes on");
        if event.event == "logs" {
            got.extend(event.log_ids());
        }
    }
    assert_same_ids(&got, &expected, "s0");
}

type Socket = tokio_tungstenite::WebSocketStream<TcpStream>;

/// The ids of a frame's entries and its reported dropped entries' times.
fn frame_of(frame: &Value) -> (Vec<(String, String)>, Vec<String>) {
    let mut ids = Vec::new();
    for stream in frame["streams"].as_array().expect("streams") {
        for value in stream["values"].as_array().expect("values") {
            let line: Value = serde_json::from_str(value[1].as_str().unwrap()).unwrap();
            let id = line["id"].as_str().unwrap().to_string();
            ids.push((value[0].as_str().unwrap().to_string(), id));
        }
    }
    let dropped = match &frame["dropped_entries"] {
        Value::Null => Vec::new(),
        Value::Array(list) => list
            .iter()
            .map(|d| {
                assert_eq!(d["labels"]["source"], "s0", "{d}");
                d["timestamp"].as_str().expect("ns").to_string()
            })
            .collect(),
        other => panic!("dropped_entries: {other}"),
    };
    (ids, dropped)
}

async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(60), socket.next())
            .await
            .expect("a frame within a minute (a hang guard)")
            .expect("the socket stays open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn a_slow_websocket_subscriber_gets_dropped_entries_as_loki_sends_them() {
    let names = vec!["s0".to_string()];
    let specs = [Spec::new(Kind::MILLIS_STAMPS, 52, 20, 10)];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let sim = &sims[0].2;
    let gateway = Gateway::start(&toml).await;
    let before: BTreeSet<String> = all_ids(sim).into_iter().collect();
    let url = format!(
        "ws://{}/loki/api/v1/tail?query=%7Bsource%3D%22s0%22%7D&limit=1",
        gateway.addr
    );
    let stream = small_window(gateway.addr).await;
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .expect("upgrade");
    joined(&gateway).await;
    flood_until(&gateway, sim, "loggate_tail_dropped_entries").await;

    let mut got: Vec<(String, String)> = Vec::new();
    let mut reported: Vec<String> = Vec::new();
    loop {
        let (ids, dropped) = frame_of(&next_frame(&mut socket).await);
        got.extend(ids.into_iter().filter(|(_, id)| !before.contains(id)));
        // Loki's cap is per response (`maxDroppedEntriesPerTailResponse`):
        // drops spread over several frames may add up to more.
        assert!(
            dropped.len() <= 1000,
            "{} dropped in one frame",
            dropped.len()
        );
        reported.extend(dropped);
        let inserted = all_ids(sim).len() - before.len();
        let lost = metric(&gateway, "loggate_tail_dropped_entries").await as usize;
        if !reported.is_empty() && got.len() + lost == inserted {
            assert!(
                reported.len() <= lost,
                "{} reported, {lost} counted",
                reported.len()
            );
            break;
        }
        if reported.is_empty() {
            // The drops are reported with the next page that fits.
            sim.insert_new(1);
        }
    }
    let ids: BTreeSet<&String> = got.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), got.len(), "nothing delivered twice");
    let times: BTreeSet<&String> = got.iter().map(|(ns, _)| ns).collect();
    assert!(
        reported.iter().all(|ns| !times.contains(ns)),
        "a dropped entry was not delivered"
    );
}
