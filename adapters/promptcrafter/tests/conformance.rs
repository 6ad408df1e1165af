//! The shared conformance suite (`loggate_core::testkit`) against the
//! simulator, as built and as documented.

#![cfg(feature = "sim")]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{settings, TOKEN};
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_promptcrafter::{PromptCrafterAdapter, PromptCrafterSim, Quirks, SimConfig};

struct Factory(Quirks);

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let sim = PromptCrafterSim::new(SimConfig {
            seed: data.seed,
            records: data.records,
            distinct_timestamps: Some(data.distinct_timestamps),
            token: TOKEN.into(),
            quirks: self.0,
            ..SimConfig::default()
        });
        // `settings` turns retries off and keeps the default body cap.
        SimHarness::start(sim, |url| {
            Arc::new(PromptCrafterAdapter::new(settings(url, Some(TOKEN))))
        })
        .await
        .boxed()
    }
}

#[tokio::test]
async fn conformance_as_built() {
    run_conformance(&Factory(Quirks::AsBuilt)).await;
}

#[tokio::test]
async fn conformance_as_documented() {
    run_conformance(&Factory(Quirks::Documented)).await;
}
