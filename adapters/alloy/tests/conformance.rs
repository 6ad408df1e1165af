//! The shared conformance suite (loggate_core::testkit) against the
//! simulator: once as configured in production (pages of 100), once with
//! pages of 6 so that most timestamp groups outgrow a page.
#![cfg(feature = "sim")]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{settings, TOKEN};
use loggate_alloy::{AlloyAdapter, AlloySim, SimConfig};
use loggate_core::sim::SimSpec;
use loggate_core::testkit::{
    run_conformance, run_conformance_with, ConformanceOptions, DataSet, Harness, HarnessFactory,
    SimHarness,
};
use loggate_core::time::now_ms;

struct Factory {
    page_limit: usize,
}

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        // Data in the past: the suite pins `end` at the real now.
        let now = now_ms() - 60_000;
        let sim = AlloySim::new(SimConfig {
            spec: SimSpec {
                seed: data.seed,
                records: data.records,
                now_ms: now,
                span_ms: 3 * 86_400_000,
                distinct_timestamps: Some(data.distinct_timestamps),
                token: TOKEN.to_string(),
                variant: String::new(),
            },
            ..SimConfig::demo(now)
        });
        let page_limit = self.page_limit;
        SimHarness::start(sim, |url| {
            Arc::new(AlloyAdapter::new(settings(url, TOKEN)).with_page_limit(page_limit))
        })
        .await
        .boxed()
    }
}

#[tokio::test]
async fn conformance_with_pages_of_100() {
    run_conformance(&Factory { page_limit: 100 }).await;
}

#[tokio::test]
async fn conformance_with_groups_larger_than_a_page() {
    let options = ConformanceOptions {
        check_faults: false,
        ..ConformanceOptions::default()
    };
    run_conformance_with(&Factory { page_limit: 6 }, &options).await;
}

/// `pagination.totalItems` counts the windows it can exactly (spec §7).
#[tokio::test]
async fn alloy_counts_by_its_totals() {
    let harness = Factory { page_limit: 100 }
        .start(DataSet {
            seed: 19,
            records: 200,
            distinct_timestamps: 40,
        })
        .await;
    let by_total = loggate_core::testkit::assert_counts(&*harness).await;
    assert!(by_total >= 10, "only {by_total} cases counted by totals");
}
