//! The testkit's conformance suite against the simulator.
#![cfg(feature = "sim")]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leveled_passes_the_conformance_suite() {
    loggate_core::testkit::run_conformance(&common::Factory).await;
}

/// `pagination.total` counts the windows it can exactly (spec §7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leveled_counts_by_its_totals() {
    use loggate_core::testkit::{assert_counts, DataSet, HarnessFactory};
    let harness = common::Factory
        .start(DataSet {
            seed: 19,
            records: 200,
            distinct_timestamps: 40,
        })
        .await;
    let by_total = assert_counts(&*harness).await;
    assert!(by_total >= 10, "only {by_total} cases counted by totals");
}
