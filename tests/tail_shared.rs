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

/// With `follow.late_window` on, subscribers at one bound may have
/// delivered different late records; they still share one poller, and
/// each gets every record once from its own cursor.
#[tokio::test]
async fn subscribers_share_a_poller_with_late_window_on_each_from_its_own_cursor() {
    let specs = [Spec::new(Kind::stand_in(), 22, 20, 10)];
    let names = vec!["s0".to_string()];
    let server = format!("{SERVER}\nlate_window = \"1h\"");
    let (sims, _served, toml) =
        start_sims(&specs, &names, loggate_core::time::now_ms(), &server, "").await;
    let sim = &sims[0].2;
    let gateway = Gateway::start(&toml).await;
    let url = gateway.url("/logs/tail?source=s0&limit=50");
    let mut a = SseStream::open(&gateway.client, &url, None).await.unwrap();
    until_shared(&gateway, 1).await;
    // A record stamped after `a` started, written once the poller's bound
    // has passed it (late): `a` delivers it from the re-read.
    let first_late = passed_instant(&gateway).await;
    sim.insert_copies(1, first_late);
    let late = read_ids(&mut a, 1).await;
    // `b` starts after that record's time: it never delivers it, and joins
    // `a`'s poller, whose pages keep holding it while it is in the window.
    let mut b = SseStream::open(&gateway.client, &url, None).await.unwrap();
    until_shared(&gateway, 2).await;
    assert_eq!(
        metric(&gateway, "loggate_tail_groups").await,
        1,
        "one group"
    );

    let polls_before = metric(&gateway, "loggate_tail_group_polls").await;
    let requests_before = sim.faults().seen_count();
    let private_before = metric(&gateway, "loggate_tail_private_polls").await;
    for round in 0..3 {
        // A late record (stamped after both started) and a new one: to both.
        let at = passed_instant(&gateway).await;
        sim.insert_copies(1, at);
        sim.insert_new(1);
        let mut from_a = read_ids(&mut a, 2).await;
        let mut from_b = read_ids(&mut b, 2).await;
        from_a.sort();
        from_b.sort();
        assert_eq!(from_a, from_b, "round {round}: both got the same logs");
        assert_eq!(from_a.len(), 2, "round {round}: once each: {from_a:?}");
        assert!(
            !from_a.contains(&late[0]),
            "round {round}: the first late record again"
        );
    }
    let requests = sim.faults().seen_count() - requests_before;
    let polls = metric(&gateway, "loggate_tail_group_polls").await - polls_before;
    let private = metric(&gateway, "loggate_tail_private_polls").await - private_before;
    assert_eq!(private, 0, "no subscriber polled on its own once joined");
    assert!(polls > 0, "the group polled");
    assert!(
        requests <= 4 * (polls + 1) as usize,
        "{requests} upstream requests for {polls} group polls: one poll stream, not two"
    );
}

/// An instant (epoch ms) that every subscriber started before and that
/// the shared poller's window has passed since: a record stamped then and
/// written now is late. Waits (bounded) for two more group polls.
async fn passed_instant(gateway: &Gateway) -> i64 {
    let at = loggate_core::time::now_ms() + 1;
    let polls = metric(gateway, "loggate_tail_group_polls").await;
    for _ in 0..2000 {
        if metric(gateway, "loggate_tail_group_polls").await >= polls + 2
            && loggate_core::time::now_ms() > at
        {
            return at;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the shared poller stopped polling");
}

/// Waits (bounded) until `n` subscribers forward a shared poller's pages.
async fn until_shared(gateway: &Gateway, n: u64) {
    for _ in 0..2000 {
        if metric(gateway, "loggate_tail_shared_subscribers").await == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{n} subscribers never joined the shared poller");
}
