//! The testkit's conformance suite against the simulator.
#![cfg(feature = "sim")]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leveled_passes_the_conformance_suite() {
    loggate_core::testkit::run_conformance(&common::Factory).await;
}
