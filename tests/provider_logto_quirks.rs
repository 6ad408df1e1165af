//! Black-box, Logto (issue 11 item 13): the time bounds are right on all
//! three server generations.

mod common;

use common::{assert_same_ids, reference, source_toml, Gateway};
use loggate_core::sim::serve_loopback;
use loggate_core::{Filters, Order};
use serde_json::json;

/// Logs at exactly `start` and `end` (and 1 ms outside) on a Logto server
/// of each generation.
#[tokio::test]
async fn logto_bounds_are_right_on_all_three_generations() {
    use loggate_logto::sim::{Generation, LogtoSim, SimConfig};
    let now = loggate_core::time::now_ms() - 60_000;
    for generation in Generation::ALL {
        let mut config = SimConfig::demo(now).with_generation(generation);
        config.spec.records = 40;
        config.spec.span_ms = 3_600_000;
        let sim = LogtoSim::new(config);
        let (start, end) = (now - 2_000_000, now - 1_000_000);
        for (i, ts) in [start - 1, start, end, end + 1].into_iter().enumerate() {
            sim.insert(
                json!({"tenantId": "default", "id": format!("edge{i}0000000000000000"),
                "key": "ExchangeTokenBy.RefreshToken",
                "payload": {"key": "ExchangeTokenBy.RefreshToken", "result": "Success"},
                "createdAt": ts}),
            );
        }
        let served = serve_loopback(sim.router()).await.unwrap();
        let gateway = Gateway::start(&source_toml(
            "auth",
            "logto",
            &served,
            "logto-demo-token",
            "",
        ))
        .await;
        let filters = Filters {
            start: Some(start),
            end: Some(end),
            ..Filters::default()
        };
        let data = [("auth", sim.snapshot())];
        let window = format!(
            "start={}&end={}",
            loggate_core::time::format_ms(start),
            loggate_core::time::format_ms(end)
        );
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, &filters, order);
            assert!(expected.iter().any(|id| id.starts_with("auth:edge1")));
            assert!(expected.iter().any(|id| id.starts_with("auth:edge2")));
            for limit in [1, 50] {
                let query = format!("{window}&order={}", order.as_str());
                let got = gateway.traverse(&query, limit, |_| {}).await;
                assert_same_ids(
                    &got,
                    &expected,
                    &format!("{generation:?} {order:?} {limit}"),
                );
            }
        }
        // Equal bounds are never sent: a v1.40 server would answer 400.
        let instant = loggate_core::time::format_ms(start);
        let (status, body) = gateway
            .get(&format!("/logs?start={instant}&end={instant}"))
            .await;
        assert_eq!(status, 200, "{generation:?}: {body}");
        assert_eq!(body["logs"].as_array().unwrap().len(), 1, "{generation:?}");
        assert_eq!(body["logs"][0]["id"], "auth:edge10000000000000000");
    }
}
