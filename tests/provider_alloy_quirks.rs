//! Black-box, Alloy (issue 11 item 15): short pages from a silently
//! clamped limit are not the end.

mod common;

use common::{assert_same_ids, reference, source_toml, Gateway};
use loggate_core::sim::{serve_loopback, SimSpec};
use loggate_core::{Filters, Order};

#[tokio::test]
async fn alloy_short_pages_from_a_silently_clamped_limit_are_not_the_end() {
    use loggate_alloy::{AlloySim, SimConfig};
    for reports_page_size in [false, true] {
        let now = loggate_core::time::now_ms() - 60_000;
        let sim = AlloySim::new(SimConfig {
            spec: SimSpec {
                records: 200,
                span_ms: 3_600_000,
                distinct_timestamps: Some(150),
                ..SimConfig::demo(now).spec
            },
            clamp_limit: Some(30),
            clamp_reports_page_size: reports_page_size,
            ..SimConfig::demo(now)
        });
        let served = serve_loopback(sim.router()).await.unwrap();
        let gateway = Gateway::start(&source_toml(
            "flows",
            "alloy",
            &served,
            "alloy-demo-key",
            "",
        ))
        .await;
        let data = [("flows", sim.snapshot())];
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, &Filters::default(), order);
            assert_eq!(expected.len(), 200);
            for limit in [100, 45] {
                let got = gateway
                    .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                    .await;
                assert_same_ids(
                    &got,
                    &expected,
                    &format!("{reports_page_size} {order:?} {limit}"),
                );
            }
        }
        let seen = sim.faults().seen();
        assert!(seen
            .iter()
            .all(|r| r.header("x-api-version") == Some("2025-09")));
    }
}
