//! The shared conformance suite (`loggate_core::testkit`) against the
//! simulator, as built and as documented.

#![cfg(feature = "sim")]

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use common::{settings, TOKEN};
use loggate_core::sim::{serve_loopback, Faults, Served};
use loggate_core::testkit::{run_conformance, DataSet, Harness, HarnessFactory};
use loggate_core::{Adapter, LogRecord};
use loggate_promptcrafter::{PromptCrafterAdapter, PromptCrafterSim, Quirks, SimConfig};

struct PromptCrafterHarness {
    sim: PromptCrafterSim,
    adapter: Arc<PromptCrafterAdapter>,
    _served: Served,
}

#[async_trait]
impl Harness for PromptCrafterHarness {
    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter.clone()
    }

    async fn snapshot(&self) -> Vec<LogRecord> {
        self.sim.snapshot()
    }

    async fn insert_new(&self, n: usize) {
        self.sim.insert_new(n);
    }

    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
}

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
        let served = serve_loopback(sim.router()).await.unwrap();
        // `settings` turns retries off and keeps the default body cap.
        let adapter = Arc::new(PromptCrafterAdapter::new(settings(
            &served.base_url(),
            Some(TOKEN),
        )));
        Box::new(PromptCrafterHarness {
            sim,
            adapter,
            _served: served,
        })
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
