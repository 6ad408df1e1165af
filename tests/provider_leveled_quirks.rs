//! Black-box, leveled (issue 11 item 5): identical records filling more
//! than one upstream page come back each once, in both orders.

mod common;

use common::{assert_same_ids, reference, source_toml, Gateway};
use loggate_core::sim::{serve_loopback, Served};
use loggate_core::time::parse_rfc3339_ms;
use loggate_core::{Filters, Order};
use serde_json::json;

/// Issue 11 item 5: 101 (or more) copies of one health-check line, one
/// older and one newer log, behind a leveled upstream.
async fn healthz(copies: usize) -> (Gateway, loggate_leveled::LeveledSim, Served) {
    let mut config = loggate_leveled::SimConfig::demo(0);
    config.spec.records = 0;
    let sim = loggate_leveled::LeveledSim::new(config);
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:00Z", "level": "INFO", "service": "lb",
                      "message": "older"}),
    );
    let at = parse_rfc3339_ms("2024-06-03T10:00:01Z").unwrap();
    sim.insert_copies(copies, at);
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:02Z", "level": "INFO", "service": "lb",
                      "message": "newer"}),
    );
    let served = serve_loopback(sim.router()).await.unwrap();
    let toml = source_toml("app", "leveled", &served, sim.token(), "");
    (Gateway::start(&toml).await, sim, served)
}

#[tokio::test]
async fn identical_records_over_more_than_one_upstream_page_come_back_each_once() {
    let (gateway, sim, _served) = healthz(101).await;
    let (status, body) = gateway.get("/logs?limit=50").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["logs"].as_array().unwrap().len(), 50);
    assert_eq!(body["logs"][0]["message"], "newer");
    assert_eq!(body["logs"][1]["message"], "GET /healthz 200");
    assert_eq!(body["partial"], false);
    sim.faults().forget_seen();
    let data = [("app", sim.snapshot())];
    for order in [Order::Desc, Order::Asc] {
        let expected = reference(&data, &Filters::default(), order);
        assert_eq!(expected.len(), 103);
        for limit in [50, 7, 1000] {
            let got = gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("{order:?} limit {limit}"));
        }
    }
    // Bounded: each page reads the group in two passes of two requests.
    let requests = sim.faults().seen_count();
    assert!(requests <= 400, "{requests} upstream requests");
}

#[tokio::test]
async fn a_larger_group_of_identical_records_in_both_orders() {
    let (gateway, sim, _served) = healthz(250).await;
    let data = [("app", sim.snapshot())];
    for order in [Order::Desc, Order::Asc] {
        let expected = reference(&data, &Filters::default(), order);
        assert_eq!(expected.len(), 252);
        for limit in [100, 33] {
            let got = gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("{order:?} limit {limit}"));
        }
    }
}
