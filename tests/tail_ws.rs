//! `GET /loki/api/v1/tail` (spec §8, issue 17 item 3): Loki's WebSocket
//! tail over the simulators. The first frame is the backfill (the newest
//! `limit` entries from `start`, oldest first); then every record inserted
//! while the client listens arrives once, in Loki's frame shape (entries
//! grouped by label set). `line = "json"` makes each line the record with its id.
//! Bad input is answered in plain text before the upgrade. Each frame's
//! `cursor` resumes exactly: disconnected at random points, and with a
//! gateway restarted, a client gets every record once.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::fleet::{all_delivered, every_id_asc, start_sims, Kind, Sim, Spec};
use common::late::{expected, Inserted, MINUTE};
use common::{assert_same_ids, enc, of_source, reference, Gateway};
use futures::StreamExt;
use loggate::logql::labels::entry_ns;
use loggate_core::{Filters, Order};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const SERVER: &str = "scan_budget = 10000\ncursor_secret = \"tail-test-secret-0123456789abcdef\"\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\n[loki]\nline = \"json\"";

/// The ids of one frame, checking its shape.
fn ids_of(frame: &Value) -> Vec<(i128, String)> {
    assert!(frame["dropped_entries"].is_null(), "{frame}");
    let mut out = Vec::new();
    for stream in frame["streams"].as_array().expect("streams") {
        assert!(stream["stream"]["source"].is_string(), "{stream}");
        for value in stream["values"].as_array().expect("values") {
            let ns: i128 = value[0].as_str().expect("ns").parse().unwrap();
            let line: Value = serde_json::from_str(value[1].as_str().unwrap()).unwrap();
            out.push((ns, line["id"].as_str().unwrap().to_string()));
        }
    }
    out
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame, decoded.
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await.expect("the socket stays open").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn websocket_tail_backfills_then_delivers_every_insert_once() {
    let specs = [
        Spec::new(Kind::paged()[0], 31, 30, 10),
        Spec::new(Kind::paged()[1], 32, 30, 10),
    ];
    let names = vec!["s0".to_string(), "s1".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    let snapshot = || -> Vec<(&str, Vec<_>)> {
        sims.iter()
            .map(|(n, _, s)| (n.as_str(), s.snapshot()))
            .collect()
    };
    let before = reference(&snapshot(), &Filters::default(), Order::Asc);
    let url = format!(
        "ws://{}/loki/api/v1/tail?query=%7Bsource%3D~%22s.%2B%22%7D&limit=7&start=0",
        gateway.addr
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let backfill: Vec<String> = ids_of(&next_frame(&mut socket).await)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    // Loki's newest: by entry time in nanoseconds (loggate spreads one
    // millisecond's records over it by a hash of source and id).
    let mut by_ns: Vec<(i128, String)> = snapshot()
        .iter()
        .flat_map(|(name, records)| {
            records
                .iter()
                .map(move |r| (entry_ns(name, r), format!("{name}:{}", r.native_id)))
        })
        .collect();
    by_ns.sort();
    let mut newest: Vec<String> = by_ns[by_ns.len() - 7..]
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    newest.sort();
    let mut got_backfill = backfill.clone();
    got_backfill.sort();
    assert_eq!(got_backfill, newest, "the backfill is the 7 newest entries");

    for round in 0..4 {
        sims[round % sims.len()].2.insert_new(2 + round);
    }
    let after = reference(&snapshot(), &Filters::default(), Order::Asc);
    let inserted: Vec<String> = after
        .iter()
        .filter(|id| !before.contains(id))
        .cloned()
        .collect();
    let mut got: Vec<String> = Vec::new();
    while got.len() < inserted.len() {
        got.extend(
            ids_of(&next_frame(&mut socket).await)
                .into_iter()
                .map(|(_, id)| id),
        );
    }
    // A frame groups entries by label set (as Loki's do), so the order
    // across a source's streams is not the traversal's: compare as sets,
    // each id once.
    for source in &names {
        let mut mine = of_source(&got, source);
        let mut expected = of_source(&inserted, source);
        mine.sort();
        expected.sort();
        assert_same_ids(&mine, &expected, source);
    }
    assert_eq!(got.len(), inserted.len(), "nothing twice");
}

#[tokio::test]
async fn websocket_tail_refuses_bad_input_before_the_upgrade() {
    let specs = [Spec::new(Kind::stand_in(), 3, 5, 5)];
    let names = vec!["s0".to_string()];
    let (_sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    for (query, fragment) in [
        ("query=%7Bsource%3D%22s0%22%7D&delay_for=9", "delay_for"),
        ("query=%7B", "parse error"),
        ("query=%7Bsource%3D%22s0%22%7D&limit=0", "limit"),
        ("query=%7Bsource%3D%22s0%22%7D&since=1h&x=1", "x"),
    ] {
        let url = format!("ws://{}/loki/api/v1/tail?{query}", gateway.addr);
        let (status, _, body) = refused_upgrade(url).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains(fragment), "{query}: {body}");
    }
    // A `/logs` cursor (descending, not a follow cursor) is named for what
    // it is, not for the `order` or `source` that differ from the tail's.
    let (_, page) = gateway.get("/logs?limit=1").await;
    let plain = page["next_cursor"].as_str().expect("a cursor").to_string();
    let url = format!(
        "ws://{}/loki/api/v1/tail?query=%7Bsource%3D%22s0%22%7D&cursor={plain}",
        gateway.addr
    );
    let (status, _, body) = refused_upgrade(url).await;
    assert_eq!(status, 400);
    assert!(body.contains("not a follow cursor"), "{body}");
    // An empty cursor is named so (as on `/logs/tail`), and a follow
    // cursor of another query is refused in the WebSocket's terms: the
    // query it came from, not a `/logs` parameter the client never sent
    // nor "send the cursor alone" (this route requires `query`).
    let (_, page) = gateway
        .get("/logs?source=s0&follow=true&order=asc&limit=1")
        .await;
    let follow = page["next_cursor"].as_str().expect("a cursor").to_string();
    for (query, expected) in [
        ("query=%7Bsource%3D%22s0%22%7D&cursor=".to_string(), "cursor: the cursor is empty"),
        (
            format!("query=%7Bsource%3D%22s0%22%2Clevel%3D%22error%22%7D&cursor={follow}"),
            "cursor: issued for another query (its level differs); resume with the query the cursor came from, or leave cursor out to start a new tail",
        ),
    ] {
        let url = format!("ws://{}/loki/api/v1/tail?{query}", gateway.addr);
        let (status, _, body) = refused_upgrade(url).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body.trim_end(), expected, "{query}");
    }
}

#[tokio::test]
async fn websocket_tail_is_exactly_once_across_random_disconnects_and_a_restart() {
    let specs = [
        Spec::new(Kind::MILLIS_STAMPS, 61, 20, 10),
        Spec::new(Kind::INCLUSIVE_BOUNDS, 62, 20, 10),
    ];
    let names = vec!["s0".to_string(), "s1".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let mut gateways = [Gateway::start(&toml).await, Gateway::start(&toml).await];

    // The writer: 60 inserts of 1 to 3 records into random sources.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let sims: Vec<Sim> = sims.iter().map(|(_, _, s)| s.clone()).collect();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(6);
            for _ in 0..60 {
                sims[rng.gen_range(0..sims.len())].insert_new(rng.gen_range(1..4));
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            }
            writing.store(false, Ordering::SeqCst);
        })
    };

    let query = "query=%7Bsource%3D~%22s.%2B%22%7D";
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    let mut got: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut connections = 0;
    let mut restarted = false;
    'outer: for _ in 0..1000 {
        let gateway = &gateways[connections % gateways.len()];
        connections += 1;
        // The first connection backfills everything from 0; the others
        // resume from the last frame's cursor.
        let from = match &cursor {
            Some(c) => format!("cursor={}", enc(c)),
            None => "start=0&limit=1000".to_string(),
        };
        let url = format!("ws://{}/loki/api/v1/tail?{query}&{from}", gateway.addr);
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("upgrade");
        let cut_after = rng.gen_range(0..6);
        for n in 0.. {
            let have = got.len();
            let frame = tokio::select! {
                frame = next_frame(&mut socket) => frame,
                () = all_delivered(&writing, have, &sims) => break 'outer,
            };
            got.extend(ids_of(&frame).into_iter().map(|(_, id)| id));
            cursor = Some(frame["cursor"].as_str().expect("a cursor").to_string());
            if !writing.load(Ordering::SeqCst) && got.len() >= every_id_asc(&sims).len() {
                break 'outer;
            }
            if n >= cut_after {
                break;
            }
        }
        drop(socket);
        if !restarted && connections >= 6 {
            gateways[0] = Gateway::start(&toml).await;
            restarted = true;
        }
    }
    writer.await.unwrap();
    assert!(restarted, "the test disconnected and restarted");
    let all = every_id_asc(&sims);
    for source in &names {
        let mut mine = of_source(&got, source);
        let mut expected = of_source(&all, source);
        mine.sort();
        expected.sort();
        assert_same_ids(&mine, &expected, source);
    }
    assert_eq!(got.len(), all.len(), "nothing delivered twice");
}

/// `what`, or a clear failure after a minute instead of a hung test (a
/// guard, not a timing assumption: each step answers in milliseconds).
async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(std::time::Duration::from_secs(60), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within 60 s"))
}

#[tokio::test]
async fn websocket_tail_ends_with_a_cursor_and_close_1001_on_shutdown() {
    // A grace far longer than the hang guard: the socket must close
    // because of the shutdown, not because the grace ran out.
    let server = SERVER.replacen("[follow]", "shutdown_grace = \"300s\"\n[follow]", 1);
    let specs = [Spec::new(Kind::paged()[0], 71, 20, 10)];
    let names = vec!["s0".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let query = "query=%7Bsource%3D%22s0%22%7D";
    let url = format!(
        "ws://{}/loki/api/v1/tail?{query}&start=0&limit=5",
        gateway.addr
    );
    let (mut socket, _) = within("the upgrade", tokio_tungstenite::connect_async(url))
        .await
        .expect("upgrade");
    // The backfill frame: the tail is running before the shutdown.
    let backfill = within("the backfill frame", next_frame(&mut socket)).await;
    assert_eq!(ids_of(&backfill).len(), 5, "{backfill}");
    drop(gateway);
    let mut last_cursor = None;
    let close = loop {
        let message = within("the close frame", socket.next()).await;
        match message.expect("a close frame before the socket ends") {
            Ok(Message::Text(text)) => {
                let frame: Value = serde_json::from_str(&text).unwrap();
                ids_of(&frame);
                last_cursor = frame["cursor"].as_str().map(str::to_string);
            }
            Ok(Message::Close(frame)) => break frame.expect("a close code"),
            Ok(_) => {}
            Err(e) => panic!("the socket failed before its close frame: {e}"),
        }
    };
    assert_eq!(u16::from(close.code), 1001, "going away: {close:?}");
    assert_eq!(close.reason.as_str(), "shutdown", "{close:?}");
    let cursor = last_cursor.expect("a last frame with the cursor before the close");

    // The cursor resumes exactly on a gateway started anew: what is
    // inserted now arrives, and nothing of the backfill again.
    let gateway = Gateway::start(&toml).await;
    let before = reference(
        &[("s0", sims[0].2.snapshot())],
        &Filters::default(),
        Order::Asc,
    );
    sims[0].2.insert_new(3);
    let after = reference(
        &[("s0", sims[0].2.snapshot())],
        &Filters::default(),
        Order::Asc,
    );
    let inserted: Vec<String> = after
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    let url = format!(
        "ws://{}/loki/api/v1/tail?{query}&cursor={}",
        gateway.addr,
        enc(&cursor)
    );
    let (mut socket, _) = within("the resumed upgrade", tokio_tungstenite::connect_async(url))
        .await
        .expect("upgrade");
    let mut got: Vec<String> = Vec::new();
    while got.len() < inserted.len() {
        let frame = within("the inserted records", next_frame(&mut socket)).await;
        got.extend(ids_of(&frame).into_iter().map(|(_, id)| id));
    }
    got.sort();
    let mut inserted = inserted;
    inserted.sort();
    assert_eq!(
        got, inserted,
        "exactly the records inserted after the close"
    );
}

#[tokio::test]
async fn websocket_tail_delivers_late_records_within_the_window_once() {
    // `late_window = "1h"`: records stamped in the past but after the
    // tail's start arrive once, however late; records two days back
    // (beyond the window, and before the start) never.
    let server = SERVER.replacen("[follow]", "[follow]\nlate_window = \"1h\"", 1);
    let specs: Vec<Spec> = Kind::paged()[..2]
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 80 + i as u64, 20, 10))
        .collect();
    let names = vec!["s0".to_string(), "s1".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let query = "query=%7Bsource%3D~%22s.%2B%22%7D";
    let mut inserted = Inserted::default();
    let (before, _) = expected(&sims, &inserted);
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut got: Vec<String> = Vec::new();
    // `limit=1` from now: the backfill frame is at most one old record.
    let mut from = "limit=1".to_string();
    let mut connection = 0;
    let mut writes = 0;
    let mut t0 = i64::MAX;
    while writes < 40 {
        connection += 1;
        let url = format!("ws://{}/loki/api/v1/tail?{query}&{from}", gateway.addr);
        let (mut socket, _) = within("the upgrade", tokio_tungstenite::connect_async(url))
            .await
            .expect("upgrade");
        if connection == 1 {
            let backfill = within("the backfill frame", next_frame(&mut socket)).await;
            from = format!(
                "cursor={}",
                enc(backfill["cursor"].as_str().expect("cursor"))
            );
            t0 = loggate_core::time::now_ms();
        }
        for _ in 0..rng.gen_range(1..8) {
            writes += 1;
            let (name, _, sim) = &sims[rng.gen_range(0..sims.len())];
            // Late: stamped after the tail started (`t0`; a tail delivers
            // nothing older, late or not) but behind what it has read.
            let room = loggate_core::time::now_ms() - t0 - 20;
            match rng.gen_range(0..4) {
                3 => inserted.insert_past(name, sim, 2 * 1440 * MINUTE, true),
                1 | 2 if room > 0 => {
                    let back = rng.gen_range(0..room);
                    inserted.insert_past(name, sim, back, false);
                }
                _ => sim.insert_new(rng.gen_range(1..3)),
            }
            // Read until everything written so far arrived (a record
            // beyond the window sends no frame: nothing to wait for).
            let want = expected(&sims, &inserted).0.len() - before.len();
            while got.len() < want {
                let frame = within("the late records", next_frame(&mut socket)).await;
                got.extend(ids_of(&frame).into_iter().map(|(_, id)| id));
                from = format!("cursor={}", enc(frame["cursor"].as_str().expect("cursor")));
            }
        }
    }
    // A last new record on a last connection: anything delivered twice
    // would come before it.
    sims[0].2.insert_new(1);
    let url = format!("ws://{}/loki/api/v1/tail?{query}&{from}", gateway.addr);
    let (mut socket, _) = within("the upgrade", tokio_tungstenite::connect_async(url))
        .await
        .expect("upgrade");
    let (all, late) = expected(&sims, &inserted);
    let want: Vec<String> = all.into_iter().filter(|id| !before.contains(id)).collect();
    while got.len() < want.len() {
        let frame = within("the last record", next_frame(&mut socket)).await;
        got.extend(ids_of(&frame).into_iter().map(|(_, id)| id));
    }
    assert!(
        !late.is_empty() && !inserted.beyond.is_empty(),
        "the writer wrote late records and records beyond the window"
    );
    let mut seen = std::collections::HashSet::new();
    for id in &got {
        assert!(seen.insert(id), "{id} delivered twice");
    }
    let mut want = want;
    want.sort();
    got.sort();
    assert_same_ids(
        &got,
        &want,
        "every record within the window once, none beyond",
    );
}

/// Beyond `follow.max_streams_per_key`, both tails answer `429
/// rate_limited` before the stream starts, with `Retry-After` (spec §4:
/// a 429 always names its wait), the WebSocket in Loki's plain text.
#[tokio::test]
async fn both_tails_refuse_a_stream_over_the_limit_with_retry_after() {
    let specs = [Spec::new(Kind::stand_in(), 3, 5, 5)];
    let names = vec!["s0".to_string()];
    let server = "cursor_secret = \"tail-test-secret-0123456789abcdef\"\n[follow]\nsettle = \"0s\"\nmax_streams_per_key = 1";
    let (_sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), server, "").await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail?source=s0");
    let _held = common::sse::SseStream::open(&gateway.client, &url, None)
        .await
        .unwrap_or_else(|(status, body)| panic!("the first stream opens: {status} {body}"));
    let response = gateway.client.get(&url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(
        response.headers().contains_key("retry-after"),
        "{response:?}"
    );
    let ws = format!(
        "ws://{}/loki/api/v1/tail?query=%7Bsource%3D%22s0%22%7D",
        gateway.addr
    );
    let (status, retry_after, body) = refused_upgrade(ws).await;
    assert_eq!(status, 429);
    assert!(
        retry_after.is_some_and(|v| v.parse::<u64>().unwrap() > 0),
        "{body}"
    );
    assert!(body.contains("follow.max_streams_per_key"), "{body}");
}

/// The answer to a WebSocket handshake at `url` that the gateway refuses
/// before the upgrade: status, `Retry-After` and body (a failure if the
/// upgrade happens or the connection fails otherwise).
async fn refused_upgrade(url: String) -> (u16, Option<String>, String) {
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let body = response.body().as_deref().unwrap_or_default();
            let body = String::from_utf8_lossy(body).to_string();
            (response.status().as_u16(), retry_after, body)
        }
        other => panic!("{url}: expected a refusal before the upgrade, got {other:?}"),
    }
}
