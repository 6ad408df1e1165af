//! The shared conformance suite (`loggate_core::testkit`) against the
//! simulator, as built and as documented.

#![cfg(feature = "sim")]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{settings, TOKEN};
use loggate_core::sim::SimSpec;
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_promptcrafter::{ListMode, PromptCrafterAdapter, PromptCrafterSim, Quirks, SimConfig};

/// The service's quirks, whether its unfiltered `GET /logs` answers only
/// logs without a prompt, and the adapter's `list_mode`.
struct Factory(Quirks, bool, ListMode);

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        let sim = PromptCrafterSim::new(SimConfig {
            spec: SimSpec {
                seed: data.seed,
                records: data.records,
                distinct_timestamps: Some(data.distinct_timestamps),
                token: TOKEN.into(),
                ..SimConfig::default().spec
            },
            quirks: self.0,
            unfiltered_null_prompt: self.1,
        });
        let mode = self.2;
        // `settings` turns retries off and keeps the default body cap.
        SimHarness::start(sim, |url| {
            Arc::new(PromptCrafterAdapter::new(settings(url, Some(TOKEN))).with_list_mode(mode))
        })
        .await
        .boxed()
    }
}

#[tokio::test]
async fn conformance_as_built() {
    run_conformance(&Factory(Quirks::AsBuilt, false, ListMode::Auto)).await;
}

/// The service as built queries `{promptId: null}`: `list_mode = "auto"`
/// finds the logs per prompt.
#[tokio::test]
async fn conformance_as_built_with_logs_only_per_prompt() {
    run_conformance(&Factory(Quirks::AsBuilt, true, ListMode::Auto)).await;
}

#[tokio::test]
async fn conformance_per_prompt_as_documented() {
    run_conformance(&Factory(Quirks::Documented, false, ListMode::PerPrompt)).await;
}

#[tokio::test]
async fn conformance_as_documented() {
    run_conformance(&Factory(Quirks::Documented, false, ListMode::Auto)).await;
}
