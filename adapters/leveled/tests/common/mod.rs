//! Shared by the adapter-vs-simulator tests: a simulator on loopback with
//! a `LeveledAdapter` pointed at it, usable as the testkit's `Harness`.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use loggate_core::sim::{Faults, SimSpec};
use loggate_core::testkit::{test_settings, DataSet, Harness, HarnessFactory, SimHarness};
use loggate_core::time::now_ms;
use loggate_core::{Adapter, SourceSettings};
use loggate_leveled::{LeveledAdapter, LeveledSim, SimConfig};

pub const TOKEN: &str = "test-token-5d1c";

/// A small data set ending a second before now.
pub fn config(seed: u64, records: usize, distinct: usize) -> SimConfig {
    SimConfig {
        spec: SimSpec {
            seed,
            records,
            now_ms: now_ms() - 1000,
            span_ms: 3_600_000,
            distinct_timestamps: Some(distinct),
            token: TOKEN.to_string(),
            variant: String::new(),
        },
        ..SimConfig::demo(0)
    }
}

pub fn settings(base_url: &str, token: &str) -> SourceSettings {
    SourceSettings {
        name: "app".into(),
        ..test_settings(base_url, Some(token))
    }
}

/// An adapter for the simulator at `base_url`.
pub fn adapter(base_url: &str, token: &str, search_pushdown: bool) -> LeveledAdapter {
    LeveledAdapter::new(settings(base_url, token)).with_search_pushdown(search_pushdown)
}

/// A simulator serving on loopback and an adapter for it.
pub type Setup = SimHarness<LeveledSim>;

pub async fn start(config: SimConfig) -> Setup {
    start_with_pushdown(config, true).await
}

pub async fn start_with_pushdown(config: SimConfig, search_pushdown: bool) -> Setup {
    let token = config.spec.token.clone();
    SimHarness::start(LeveledSim::new(config), |url| {
        Arc::new(adapter(url, &token, search_pushdown))
    })
    .await
}

/// Starts the default simulator for each data set the testkit asks for.
pub struct Factory;

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        start(config(data.seed, data.records, data.distinct_timestamps))
            .await
            .boxed()
    }
}

/// One fetch with an ordinary deadline.
pub async fn fetch_once(
    adapter: &dyn Adapter,
    query: &loggate_core::SourceQuery,
    position: &loggate_core::Position,
    want: usize,
) -> Result<loggate_core::Batch, loggate_core::SourceError> {
    let ctx = loggate_core::testkit::normal_ctx();
    adapter
        .fetch(loggate_core::FetchRequest {
            query,
            position,
            want,
            budget: loggate_core::testkit::LARGE_BUDGET,
            ctx: &ctx,
        })
        .await
}

/// The decoded query pairs of every request the simulator saw.
pub fn seen_queries(faults: &Faults) -> Vec<Vec<(String, String)>> {
    faults.seen().iter().map(|r| r.query_pairs()).collect()
}

/// `pairs` as owned strings, for comparing with [`seen_queries`].
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
