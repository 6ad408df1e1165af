//! `GET /logs/tail` (spec §8, issue 17 items 2 and 4): while the simulators
//! keep inserting, a client that is disconnected at random points and
//! reconnects with `Last-Event-ID` — to another replica, and to a gateway
//! started anew — receives every record exactly once, in order per source.
//! A source failing mid-stream yields `event: status` and the others go
//! on; bad input is answered before the stream starts. `settle = "0s"` and
//! millisecond polls: the loops wait for conditions, never for time.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::fleet::{all_delivered, every_id_asc, start_sims, Kind, Sim, Spec};
use common::sse::SseStream;
use common::{assert_same_ids, of_source, Gateway};
use loggate_core::sim::Fault;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const SERVER: &str = "scan_budget = 10000\ncursor_secret = \"tail-test-secret-0123456789abcdef\"\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\nheartbeat = \"1s\"";
const SINCE: &str = "since=2000-01-01T00:00:00Z";

fn specs() -> Vec<Spec> {
    Kind::paged()[..3]
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 70 + i as u64, 25, 10))
        .collect()
}

#[tokio::test]
async fn sse_tail_is_exactly_once_across_random_disconnects_and_a_restart() {
    let specs = specs();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let mut gateways = [Gateway::start(&toml).await, Gateway::start(&toml).await];

    // The writer: 60 inserts of 1 to 3 records into random sources.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let sims: Vec<Sim> = sims.iter().map(|(_, _, s)| s.clone()).collect();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(5);
            for _ in 0..60 {
                sims[rng.gen_range(0..sims.len())].insert_new(rng.gen_range(1..4));
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            }
            writing.store(false, Ordering::SeqCst);
        })
    };

    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut got: Vec<String> = Vec::new();
    let mut last_id: Option<String> = None;
    let mut connections = 0;
    let mut restarted = false;
    'outer: for _ in 0..1000 {
        let gateway = &gateways[connections % gateways.len()];
        connections += 1;
        let url = gateway.url(&format!("/logs/tail?{SINCE}&limit=4"));
        let mut stream = SseStream::open(&gateway.client, &url, last_id.as_deref())
            .await
            .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
        // Disconnect after a random number of events (0 to 5).
        let cut_after = rng.gen_range(0..6);
        for n in 0.. {
            let have = got.len();
            let event = tokio::select! {
                event = stream.next() => event,
                () = all_delivered(&writing, have, &sims) => break 'outer,
            };
            let Some(event) = event else {
                break;
            };
            if n == 0 && last_id.is_none() {
                assert!(event.retry.is_some(), "the first event sets retry:");
            }
            match event.event.as_str() {
                "logs" => got.extend(event.log_ids()),
                "open" | "status" => {}
                other => panic!("unexpected event {other}"),
            }
            last_id = Some(event.id.clone().expect("every event has an id"));
            let done = !writing.load(Ordering::SeqCst) && got.len() >= every_id_asc(&sims).len();
            if done {
                break 'outer;
            }
            if n >= cut_after {
                break;
            }
        }
        drop(stream);
        // Once, mid-way: the first replica stops and a new one starts.
        if !restarted && connections >= 6 {
            gateways[0] = Gateway::start(&toml).await;
            restarted = true;
        }
    }
    writer.await.unwrap();
    assert!(
        restarted && connections > 3,
        "the test disconnected and restarted"
    );
    let all = every_id_asc(&sims);
    for source in &names {
        assert_same_ids(&of_source(&got, source), &of_source(&all, source), source);
    }
    assert_eq!(got.len(), all.len(), "nothing delivered twice");
}

#[tokio::test]
async fn sse_tail_reports_a_failing_source_and_goes_on_with_the_others() {
    let specs = specs();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let extra = "retries = 0\ncircuit_breaker = { failures = 1000, cool_down = \"1s\" }";
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, extra).await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url(&format!("/logs/tail?{SINCE}&limit=50"));
    let mut stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let mut got: Vec<String> = Vec::new();
    let mut statuses: Vec<(String, String)> = Vec::new();
    let mut phase = 0;
    for _ in 0..10_000 {
        let event = stream.next().await.expect("the stream goes on");
        match event.event.as_str() {
            "logs" => got.extend(event.log_ids()),
            "status" => {
                let v: Value = serde_json::from_str(&event.data).unwrap();
                statuses.push((
                    v["source"].as_str().unwrap().into(),
                    v["status"].as_str().unwrap().into(),
                ));
                if v["status"] == "error" {
                    assert!(v["error"]["code"].is_string(), "{v}");
                }
            }
            _ => {}
        }
        let all = every_id_asc(&sims);
        let complete = |s: &str| of_source(&got, s).len() == of_source(&all, s).len();
        match phase {
            // Everything so far arrived: s0 goes down, s1 and s2 get more.
            0 if names.iter().all(|s| complete(s)) => {
                sims[0]
                    .2
                    .faults()
                    .fail_always(Fault::status(503, "{\"message\":\"down\"}"));
                sims[0].2.insert_new(3);
                sims[1].2.insert_new(4);
                sims[2].2.insert_new(2);
                phase = 1;
            }
            // s0's failure was reported and the others' inserts arrived.
            1 if statuses.contains(&("s0".into(), "error".into()))
                && complete("s1")
                && complete("s2") =>
            {
                sims[0].2.faults().clear();
                phase = 2;
            }
            // s0 recovered and its inserts arrived too.
            2 if statuses.contains(&("s0".into(), "ok".into())) && complete("s0") => break,
            _ => {}
        }
    }
    assert_eq!(phase, 2, "the stream went through failure and recovery");
    let all = every_id_asc(&sims);
    for source in &names {
        assert_same_ids(&of_source(&got, source), &of_source(&all, source), source);
    }
    let s0: Vec<&str> = statuses
        .iter()
        .filter(|(s, _)| s == "s0")
        .map(|(_, st)| st.as_str())
        .collect();
    assert_eq!(s0, ["error", "ok"], "one failure and one recovery of s0");
    assert!(statuses.iter().all(|(s, _)| s == "s0"), "{statuses:?}");
}

#[tokio::test]
async fn sse_tail_refuses_bad_input_before_the_stream_starts() {
    let specs = specs();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (_sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let gateway = Gateway::start(&toml).await;
    let open = |query: &str, id: Option<&str>| {
        let url = gateway.url(&format!("/logs/tail?{query}"));
        let client = gateway.client.clone();
        let id = id.map(str::to_string);
        async move {
            SseStream::open(&client, &url, id.as_deref())
                .await
                .err()
                .expect("refused")
        }
    };
    let mut cases: BTreeMap<&str, (u16, &str)> = BTreeMap::new();
    cases.insert("source=nope", (400, "unknown_source"));
    cases.insert("order=desc", (400, "invalid_parameter"));
    cases.insert("since=yesterday", (400, "invalid_parameter"));
    cases.insert(
        "since=2025-01-01T00:00:00Z&start=2025-01-01T00:00:00Z",
        (400, "invalid_parameter"),
    );
    cases.insert("levle=x", (400, "unknown_parameter"));
    for (query, (status, code)) in cases {
        let (got, body) = open(query, None).await;
        assert_eq!(
            (got, body["error"]["code"].as_str().unwrap()),
            (status, code),
            "{query}: {body}"
        );
    }
    let (_, body) = open("since=yesterday", None).await;
    assert_eq!(body["error"]["param"], "since", "{body}");
    // `since` in the tail's own words: listed among the parameters it
    // takes, recognised percent-encoded, and named where the client sent
    // it (never as the `start` it stands for).
    let (_, body) = open("levle=x", None).await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(", since, start, "), "{body}");
    for query in ["sinc%65=yesterday", "since=yesterday&sinc%65=yesterday"] {
        let (status, body) = open(query, None).await;
        assert_eq!(
            (status, body["error"]["param"].as_str()),
            (400, Some("since")),
            "{query}: {body}"
        );
        assert_eq!(
            body["error"]["code"], "invalid_parameter",
            "{query}: {body}"
        );
    }
    let (_, body) = open(
        "sinc%65=2025-01-01T00:00:00Z&start=2025-01-01T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "since: give since or start, not both"
    );
    let (_, body) = open("since=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z", None).await;
    assert_eq!(
        (
            body["error"]["param"].as_str(),
            body["error"]["message"].as_str()
        ),
        (Some("end"), Some("end: must not be before since")),
        "{body}"
    );

    // An ordinary (non-follow) cursor, by parameter or Last-Event-ID.
    let (_, page) = gateway.get("/logs?order=asc&limit=1").await;
    let plain = page["next_cursor"].as_str().unwrap().to_string();
    let (status, body) = open(&format!("cursor={plain}"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("follow cursor"),
        "{body}"
    );
    let (status, _) = open("", Some(&plain)).await;
    assert_eq!(status, 400);
    // Named for what it is, also beside parameters that differ from it.
    for query in [
        format!("cursor={plain}&source=s1"),
        format!("cursor={plain}&q=zzz"),
    ] {
        let (status, body) = open(&query, None).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{query}: {body}"
        );
        assert!(message.contains("not a follow cursor"), "{query}: {body}");
    }
    // A follow cursor with a `since` it was not issued for: named `since`.
    let (_, page) = gateway.get("/logs?follow=true&order=asc&limit=1").await;
    let follow = page["next_cursor"].as_str().unwrap().to_string();
    let (status, body) = open(&format!("cursor={follow}&{SINCE}"), None).await;
    assert_eq!(
        (
            status,
            body["error"]["code"].as_str(),
            body["error"]["param"].as_str()
        ),
        (400, Some("cursor_mismatch"), Some("since")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("since: "),
        "{body}"
    );

    // A follow cursor of another secret.
    let other = toml.replace(
        "tail-test-secret-0123456789abcdef",
        "another-secret-0123456789abcdefgh",
    );
    let elsewhere = Gateway::start(&other).await;
    let url = elsewhere.url(&format!("/logs/tail?{SINCE}"));
    let mut stream = SseStream::open(&elsewhere.client, &url, None)
        .await
        .unwrap();
    let foreign = stream.next().await.unwrap().id.unwrap();
    let (status, body) = open("", Some(&foreign)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{body}"
    );
}

#[tokio::test]
async fn sse_tail_ends_with_a_resumable_close_on_shutdown() {
    // A grace far longer than the test's hang guard: the stream must end
    // because of the shutdown, not because the grace ran out.
    let server = SERVER.replacen("[follow]", "shutdown_grace = \"300s\"\n[follow]", 1);
    let specs = specs();
    let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
    let (_sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url(&format!("/logs/tail?{SINCE}"));
    let mut stream = SseStream::open(&gateway.client, &url, None)
        .await
        .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
    let opened = stream.next().await.expect("the open event");
    assert_eq!(opened.event, "open");
    drop(gateway);
    let mut last = None;
    while let Some(event) = stream.next().await {
        last = Some(event);
    }
    let end = last.expect("events before the close");
    assert_eq!(end.event, "end", "{end:?}");
    let data: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(data["reason"], "shutdown", "{data}");
    assert_eq!(data["cursor"].as_str(), end.id.as_deref(), "{data}");

    // The cursor resumes on a gateway started anew.
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail");
    let mut resumed = SseStream::open(&gateway.client, &url, end.id.as_deref())
        .await
        .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
    assert_eq!(resumed.next().await.expect("open").event, "open");
}
