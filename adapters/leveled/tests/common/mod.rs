//! Shared by the adapter-vs-simulator tests: a simulator on loopback with
//! a `LeveledAdapter` pointed at it, usable as the testkit's `Harness`.
#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use loggate_core::http::UpstreamPolicy;
use loggate_core::sim::{serve_loopback, Faults, Served};
use loggate_core::testkit::{DataSet, Harness, HarnessFactory};
use loggate_core::time::now_ms;
use loggate_core::{Adapter, LogRecord, SourceSettings, TimeFilter, UpstreamClient};
use loggate_leveled::{LeveledAdapter, LeveledSim, SimConfig};
use secrecy::SecretString;

pub const TOKEN: &str = "test-token-5d1c";

/// A small data set ending a second before now.
pub fn config(seed: u64, records: usize, distinct: usize) -> SimConfig {
    SimConfig {
        seed,
        records,
        now_ms: now_ms() - 1000,
        span_ms: 3_600_000,
        distinct_timestamps: Some(distinct),
        token: TOKEN.to_string(),
        ..SimConfig::demo(0)
    }
}

pub fn settings(base_url: &str, token: &str, search_pushdown: bool) -> SourceSettings {
    SourceSettings {
        name: "app".into(),
        base_url: base_url.parse().unwrap(),
        token: Some(SecretString::from(token.to_string())),
        client_id: None,
        client_secret: None,
        resource: None,
        time_filter: TimeFilter::Auto,
        search_pushdown,
        client: UpstreamClient::new(UpstreamPolicy {
            retries: 0,
            ..UpstreamPolicy::default()
        })
        .with_secrets(vec![SecretString::from(token.to_string())]),
    }
}

/// A simulator serving on loopback and an adapter for it.
pub struct Setup {
    pub sim: LeveledSim,
    pub served: Served,
    pub adapter: Arc<LeveledAdapter>,
}

impl Setup {
    pub async fn start(config: SimConfig) -> Self {
        Setup::with_pushdown(config, true).await
    }

    pub async fn with_pushdown(config: SimConfig, search_pushdown: bool) -> Self {
        let token = config.token.clone();
        let sim = LeveledSim::new(config);
        let served = serve_loopback(sim.router()).await.unwrap();
        let adapter = Arc::new(LeveledAdapter::new(settings(
            &served.base_url(),
            &token,
            search_pushdown,
        )));
        Setup {
            sim,
            served,
            adapter,
        }
    }
}

#[async_trait]
impl Harness for Setup {
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

/// Starts the default simulator for each data set the testkit asks for.
pub struct Factory;

#[async_trait]
impl HarnessFactory for Factory {
    async fn start(&self, data: DataSet) -> Box<dyn Harness> {
        Box::new(Setup::start(config(data.seed, data.records, data.distinct_timestamps)).await)
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
