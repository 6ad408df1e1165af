//! How tails poll (issue 17 item 4, spec §8): a source whose upstream
//! sends its whole log per request is polled less often than one that
//! pages (counted in upstream requests per N polls of the other, never
//! timed), also within one query (each source keeps its own pace, and the
//! stream stays exactly once and in order per source across reconnects
//! and a restart), and a stream that delivers nothing for
//! `follow.idle_timeout` ends with the cursor to resume from.

mod common;

use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::fleet::{all_delivered, every_id_asc, start_sims, Kind, Sim, Spec};
use common::metrics::metric;
use common::sse::SseStream;
use common::{assert_same_ids, of_source, Gateway};
use loggate_core::sim::Served;
use rand::{Rng, SeedableRng};

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

/// A stream that finds no room for a shared poller (`follow.max_groups`)
/// polls on its own as a poller would: each source at its own pace.
#[tokio::test]
async fn a_stream_without_room_for_a_poller_polls_each_source_at_its_own_pace() {
    let (sims, _served, toml) = mixed("1h", "0s", 85).await;
    let toml = toml.replacen("[follow]\n", "[follow]\nmax_groups = 1\n", 1);
    let gateway = Gateway::start(&toml).await;
    // The one poller the gateway may run goes to another query.
    let other = gateway.url("/logs/tail?source=whole&limit=50");
    let other = SseStream::open(&gateway.client, &other, None)
        .await
        .unwrap();
    until_metric(&gateway, "loggate_tail_shared_subscribers", 1).await;
    let private_before = metric(&gateway, "loggate_tail_private_polls").await;
    let url = gateway.url("/logs/tail?limit=50");
    let mut stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    // Its first poll catches up (reading both sources); then it is alone.
    until_metric(&gateway, "loggate_tail_private_polls", private_before + 2).await;
    let paged_before = sims[0].2.faults().seen_count();
    let whole_before = sims[1].2.faults().seen_count();
    until_metric(&gateway, "loggate_tail_private_polls", private_before + 32).await;
    paged_read_alone(&sims, &mut stream, (paged_before, whole_before)).await;
    assert_eq!(metric(&gateway, "loggate_tail_shared_subscribers").await, 1);
    drop(other);
}

/// A paged source `paged` and a whole-log one `whole`, the latter's polls
/// `whole_log_poll_min` apart, with `follow.late_window` (`0s`: off); the
/// simulators, their servers (serving while held) and the gateway's TOML.
async fn mixed(
    whole_log_poll_min: &str,
    late_window: &str,
    seed: u64,
) -> (Vec<(String, Kind, Sim)>, Vec<Served>, String) {
    let whole_log = Kind::each_provider()
        .into_iter()
        .find(|k| k.whole_log())
        .expect("a provider whose upstream sends its whole log");
    let specs = [
        Spec::new(Kind::stand_in(), seed, 20, 10),
        Spec::new(whole_log, seed + 1, 20, 10),
    ];
    let names = vec!["paged".to_string(), "whole".to_string()];
    let server = format!(
        "cursor_secret = \"tail-poll-secret-0123456789abcdef\"\n{SERVER}\nwhole_log_poll_min = \"{whole_log_poll_min}\"\nlate_window = \"{late_window}\""
    );
    start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await
}

#[tokio::test]
async fn one_query_polls_each_source_at_its_own_pace() {
    polls_each_source_at_its_own_pace("0s").await;
}

/// With `late_window` on too: the shared poller's pages keep every record
/// of the re-read window for each subscriber to take its part, and still
/// read each source at its own pace.
#[tokio::test]
async fn one_query_polls_each_source_at_its_own_pace_with_a_late_window() {
    polls_each_source_at_its_own_pace("1s").await;
}

async fn polls_each_source_at_its_own_pace(late_window: &str) {
    // The whole-log source's polls are an hour apart, the paged one's 5
    // to 20 ms: within one tail of both, the paged one is read alone.
    let (sims, _served, toml) = mixed("1h", late_window, 81).await;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail?limit=50");
    let mut stream = SseStream::open(&gateway.client, &url, None).await.unwrap();
    until_metric(&gateway, "loggate_tail_shared_subscribers", 1).await;
    let paged_before = sims[0].2.faults().seen_count();
    let whole_before = sims[1].2.faults().seen_count();
    let polls_before = metric(&gateway, "loggate_tail_group_polls").await;
    until_metric(&gateway, "loggate_tail_group_polls", polls_before + 30).await;
    paged_read_alone(&sims, &mut stream, (paged_before, whole_before)).await;
}

/// After 30 polls counted from `before` (the paged and whole-log
/// upstreams' request counts then): two records inserted into `paged`
/// arrive, in pages that did not read `whole` (not caught up, no report
/// of it); the paged upstream was asked at least once per poll, the
/// whole-log one not once.
async fn paged_read_alone(
    sims: &[(String, Kind, Sim)],
    stream: &mut SseStream,
    (paged_before, whole_before): (usize, usize),
) {
    sims[0].2.insert_new(2);
    let mut got = Vec::new();
    while got.len() < 2 {
        let event = stream.next().await.expect("the tail goes on");
        if event.event == "logs" {
            got.extend(event.log_ids());
            let page: serde_json::Value = serde_json::from_str(&event.data).unwrap();
            assert_eq!(page["caught_up"], false, "{page}");
            assert!(page["sources"].get("whole").is_none(), "{page}");
        }
    }
    assert!(got.iter().all(|id| id.starts_with("paged:")), "{got:?}");
    let paged = sims[0].2.faults().seen_count() - paged_before;
    assert!(
        paged >= 30,
        "{paged} requests to the paged upstream in 30 polls"
    );
    assert_eq!(
        sims[1].2.faults().seen_count(),
        whole_before,
        "the whole-log source was polled at the paged source's pace"
    );
}

#[tokio::test]
async fn sources_at_their_own_paces_are_exactly_once_across_reconnects_and_a_restart() {
    own_paces_exactly_once("0s", false).await;
}

/// With `late_window` on, each poll re-reads the last second of the
/// sources it reads: what was delivered is still dropped, also for the
/// source left out of the polls in between.
#[tokio::test]
async fn own_paces_with_a_late_window_are_exactly_once_across_reconnects_and_a_restart() {
    own_paces_exactly_once("1s", false).await;
}

/// With no room for a shared poller: the stream polls each source at its
/// own pace on its own, exactly once too (late window off and on).
#[tokio::test]
async fn own_paces_without_a_poller_are_exactly_once_across_reconnects_and_a_restart() {
    own_paces_exactly_once("0s", true).await;
    own_paces_exactly_once("1s", true).await;
}

/// With `alone`, `follow.max_groups = 1` and that one poller taken by
/// another query (a tail of `whole` alone, opened on every gateway start).
async fn own_paces_exactly_once(late_window: &str, alone: bool) {
    // The whole-log source is read every 30 ms at least, the paged one
    // every 5: cursors hold the two at different bounds.
    let (sims, _served, toml) = mixed("30ms", late_window, 83).await;
    let toml = match alone {
        true => toml.replacen("[follow]\n", "[follow]\nmax_groups = 1\n", 1),
        false => toml,
    };
    let block = |gateway: &Gateway| {
        let (client, url) = (
            gateway.client.clone(),
            gateway.url("/logs/tail?source=whole"),
        );
        async move {
            let stream = SseStream::open(&client, &url, None).await.unwrap();
            Some(stream)
        }
    };
    let mut gateway = Gateway::start(&toml).await;
    let mut blocker = None;
    if alone {
        blocker = block(&gateway).await;
        until_metric(&gateway, "loggate_tail_shared_subscribers", 1).await;
    }
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let sims: Vec<Sim> = sims.iter().map(|(_, _, s)| s.clone()).collect();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            for _ in 0..40 {
                sims[rng.gen_range(0..sims.len())].insert_new(rng.gen_range(1..4));
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            writing.store(false, Ordering::SeqCst);
        })
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (mut got, mut last_id) = (Vec::<String>::new(), None::<String>);
    let (mut connections, mut restarted) = (0, false);
    'outer: for _ in 0..1000 {
        connections += 1;
        let url = gateway.url("/logs/tail?since=2000-01-01T00:00:00Z&limit=4");
        let mut stream = SseStream::open(&gateway.client, &url, last_id.as_deref())
            .await
            .unwrap_or_else(|(s, b)| panic!("{s}: {b}"));
        let cut_after = rng.gen_range(0..8);
        for n in 0.. {
            let have = got.len();
            let event = tokio::select! {
                event = stream.next() => event,
                () = all_delivered(&writing, have, &sims) => break 'outer,
            };
            let Some(event) = event else {
                break;
            };
            match event.event.as_str() {
                "logs" => got.extend(event.log_ids()),
                "open" | "status" => {}
                other => panic!("unexpected event {other}"),
            }
            last_id = Some(event.id.clone().expect("every event has an id"));
            if !writing.load(Ordering::SeqCst) && got.len() >= every_id_asc(&sims).len() {
                break 'outer;
            }
            if n >= cut_after {
                break;
            }
        }
        drop(stream);
        if !restarted && connections >= 5 {
            drop(blocker.take());
            gateway = Gateway::start(&toml).await;
            restarted = true;
            if alone {
                blocker = block(&gateway).await;
                until_metric(&gateway, "loggate_tail_shared_subscribers", 1).await;
            }
        }
    }
    writer.await.unwrap();
    drop(blocker);
    assert!(restarted, "the test restarted the gateway");
    let all = every_id_asc(&sims);
    for source in ["paged", "whole"] {
        assert_same_ids(&of_source(&got, source), &of_source(&all, source), source);
    }
    assert_eq!(got.len(), all.len(), "nothing delivered twice");
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
