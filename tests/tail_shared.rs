//! Shared pollers (issue 17 item 4): two tail subscribers of one query
//! are served by one upstream poll stream: once both forward the group's
//! pages, no subscriber polls on its own, one group runs, and the upstream
//! requests are those of the group's polls alone. Conditions are polled
//! (`/metrics`), never timed.

mod common;

use common::fleet::{start_sims, Kind, Spec};
use common::metrics::metric;
use common::sse::SseStream;
use common::Gateway;

const SERVER: &str = "scan_budget = 10000\n[follow]\nsettle = \"0s\"\npoll_min = \"5ms\"\npoll_max = \"40ms\"\nheartbeat = \"1s\"";

/// Reads `stream` until it has delivered `n` log ids.
async fn read_ids(stream: &mut SseStream, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    while ids.len() < n {
        let event = stream.next().await.expect("the stream goes on");
        if event.event == "logs" {
            ids.extend(event.log_ids());
        }
    }
    ids
}

#[tokio::test]
async fn two_subscribers_of_one_query_share_one_upstream_poll_stream() {
    let specs = [Spec::new(Kind::stand_in(), 21, 20, 10)];
    let names = vec!["s0".to_string()];
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), SERVER, "").await;
    let sim = &sims[0].2;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail?source=s0&limit=50");
    let mut a = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let mut b = SseStream::open(&gateway.client, &url, None).await.unwrap();
    let mut joined = false;
    for _ in 0..2000 {
        if metric(&gateway, "loggate_tail_shared_subscribers").await == 2 {
            joined = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(joined, "both subscribers joined the shared poller");
    assert_eq!(
        metric(&gateway, "loggate_tail_groups").await,
        1,
        "one group"
    );

    let polls_before = metric(&gateway, "loggate_tail_group_polls").await;
    let requests_before = sim.faults().seen_count();
    let private_before = metric(&gateway, "loggate_tail_private_polls").await;
    for round in 0..3 {
        sim.insert_new(4);
        let from_a = read_ids(&mut a, 4).await;
        let from_b = read_ids(&mut b, 4).await;
        assert_eq!(from_a, from_b, "round {round}: both got the same logs");
    }
    let requests = sim.faults().seen_count() - requests_before;
    let polls = metric(&gateway, "loggate_tail_group_polls").await - polls_before;
    let private = metric(&gateway, "loggate_tail_private_polls").await - private_before;
    assert_eq!(private, 0, "no subscriber polled on its own once joined");
    assert!(polls > 0, "the group polled");
    // One `leveled` page costs at most 4 requests (README); one poll may
    // have been under way when counting began.
    assert!(
        requests <= 4 * (polls + 1) as usize,
        "{requests} upstream requests for {polls} group polls: one poll stream, not two"
    );
}
