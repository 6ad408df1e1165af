//! Shared by the adapter-vs-simulator tests: a simulator on loopback with
//! an adapter pointed at it (retries off, so every fault is seen as is).

#![allow(dead_code)]

use std::time::Duration;

use loggate_core::sim::{serve_loopback, Served, SimSpec};
use loggate_core::{
    Adapter, Batch, CallContext, Filters, Order, Position, SourceError, SourceQuery, SourceSettings,
};
use loggate_promptcrafter::{PromptCrafterAdapter, PromptCrafterSim, Quirks, SimConfig};

pub const TOKEN: &str = "promptcrafter-test-token";

pub fn settings(base_url: &str, token: Option<&str>) -> SourceSettings {
    SourceSettings {
        name: "prompts".into(),
        ..loggate_core::testkit::test_settings(base_url, token)
    }
}

pub struct Setup {
    pub sim: PromptCrafterSim,
    pub served: Served,
    pub adapter: PromptCrafterAdapter,
}

pub fn config(quirks: Quirks, records: usize) -> SimConfig {
    SimConfig {
        spec: SimSpec {
            seed: 7,
            records,
            distinct_timestamps: Some(records / 6 + 1),
            token: TOKEN.into(),
            ..SimConfig::default().spec
        },
        quirks,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> Setup {
    start_with_token(config, Some(TOKEN)).await
}

pub async fn start_with_token(config: SimConfig, token: Option<&str>) -> Setup {
    let sim = PromptCrafterSim::new(config);
    let served = serve_loopback(sim.router()).await.unwrap();
    let adapter = PromptCrafterAdapter::new(settings(&served.base_url(), token));
    Setup {
        sim,
        served,
        adapter,
    }
}

pub fn query(order: Order, filters: Filters) -> SourceQuery {
    SourceQuery {
        filters,
        order,
        include_raw: false,
    }
}

pub fn prompt_filter(prompt_id: &str) -> Filters {
    Filters {
        attrs: [("promptId".to_string(), prompt_id.to_string())].into(),
        ..Filters::default()
    }
}

pub async fn fetch(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    position: &Position,
    want: usize,
) -> Result<Batch, SourceError> {
    // A generous deadline: it only bounds a hung test, nothing waits on it.
    let ctx = CallContext::new(tokio::time::Instant::now() + Duration::from_secs(30));
    adapter
        .fetch(loggate_core::FetchRequest {
            query,
            position,
            want,
            budget: 100,
            ctx: &ctx,
        })
        .await
}
