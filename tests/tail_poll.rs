//! How tails poll (issue 17 item 4, spec §8): a source whose upstream
//! sends its whole log per request is polled less often than one that
//! pages (counted in upstream requests per N polls of the other, never
//! timed), and a stream that delivers nothing for `follow.idle_timeout`
//! ends with the cursor to resume from.

mod common;

use std::time::Duration;

use common::fleet::{start_sims, Kind, Spec};
use common::metrics::metric;
use common::sse::SseStream;
use common::Gateway;

const SERVER: &str = "scan_budget = 10000\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"20ms\"\nheartbeat = \"1s\"";

/// Waits (bounded) until `/metrics` says `name` is at least `n`.
async fn until_metric(gateway: &Gateway, name: &str, n: u64) {
    for _ in 0..3000 {
        if metric(gateway, name).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{name} never reached {n}");
}

#[tokio::test]
async fn a_whole_log_source_is_polled_less_often_than_a_paged_one() {
    let whole_log = Kind::each_provider()
        .into_iter()
        .find(|k| k.whole_log())
        .expect("a provider whose upstream sends its whole log");
    let specs = [
        Spec::new(Kind::stand_in(), 71, 20, 10),
        Spec::new(whole_log, 72, 20, 10),
    ];
    let names = vec!["paged".to_string(), "whole".to_string()];
    // The whole-log source's polls are an hour apart: none falls within
    // the test, while the paged one's come every 5 to 20 ms.
    let server = format!("{SERVER}\nwhole_log_poll_min = \"1h\"");
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let open = |source: &str| gateway.url(&format!("/logs/tail?source={source}&limit=50"));
    let mut paged = SseStream::open(&gateway.client, &open("paged"), None)
        .await
        .unwrap();
    let whole = SseStream::open(&gateway.client, &open("whole"), None)
        .await
        .unwrap();
    // Both caught up and forward their shared poller's pages.
    until_metric(&gateway, "loggate_tail_shared_subscribers", 2).await;
    let whole_before = sims[1].2.faults().seen_count();
    let polls_before = metric(&gateway, "loggate_tail_group_polls").await;
    // 30 polls of the paged source's poller ...
    until_metric(&gateway, "loggate_tail_group_polls", polls_before + 30).await;
    sims[0].2.insert_new(2);
    let mut got = 0;
    while got < 2 {
        let event = paged.next().await.expect("the paged tail goes on");
        if event.event == "logs" {
            got += event.log_ids().len();
        }
    }
    // ... and not one request to the whole-log upstream.
    assert_eq!(
        sims[1].2.faults().seen_count(),
        whole_before,
        "the whole-log source was polled at the paged source's pace"
    );
    drop(whole);
}

#[tokio::test]
async fn a_stream_that_delivers_nothing_for_the_idle_timeout_ends_resumably() {
    let specs = [Spec::new(Kind::stand_in(), 73, 10, 5)];
    let names = vec!["s0".to_string()];
    // Far longer than one poll takes: the resumed stream's first poll
    // delivers what was written.
    let server = format!("{SERVER}\nidle_timeout = \"3s\"");
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail?source=s0&limit=50");
    let end_of = |stream: SseStream| async move {
        let mut stream = stream;
        let mut logs = Vec::new();
        loop {
            let event = stream.next().await.expect("an end event before the close");
            match event.event.as_str() {
                "logs" => logs.extend(event.log_ids()),
                "end" => return (logs, event),
                _ => {}
            }
        }
    };
    let stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let (logs, end) = tokio::time::timeout(Duration::from_secs(60), end_of(stream))
        .await
        .expect("the idle stream ended");
    assert!(logs.is_empty(), "nothing was written: {logs:?}");
    let data: serde_json::Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(data["reason"], "idle", "{data}");
    let cursor = data["cursor"].as_str().expect("a cursor to resume from");
    assert_eq!(metric(&gateway, "loggate_tail_idle_closes").await, 1);

    // Written while no stream was open: the resumed stream delivers it,
    // then ends idle again.
    sims[0].2.insert_new(3);
    // The simulator may stamp them ahead (at the next whole second): resume
    // once they are visible, so that the first poll reads them.
    let newest = sims[0].2 .0.snapshot().iter().map(|r| r.timestamp_ms).max();
    while loggate_core::time::now_ms() <= newest.unwrap_or(0) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stream = SseStream::open(&gateway.client, &url, Some(cursor))
        .await
        .unwrap();
    let (logs, end) = tokio::time::timeout(Duration::from_secs(60), end_of(stream))
        .await
        .expect("the resumed stream ended");
    assert_eq!(logs.len(), 3, "the records written in between: {logs:?}");
    let data: serde_json::Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(data["reason"], "idle", "{data}");
}
