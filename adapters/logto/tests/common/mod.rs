//! Helpers shared by the adapter-vs-simulator tests: a served simulator
//! with an adapter pointed at it, and a driver that follows positions the
//! way the engine does, checking the fetch contract on every batch.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use loggate_core::http::{CallContext, UpstreamClient, UpstreamPolicy};
use loggate_core::query::Filters;
use loggate_core::record::{cmp_in_order, sort_records};
use loggate_core::sim::{serve_loopback, Served, SimSpec};
use loggate_core::{
    Adapter, Batch, FetchRequest, Key, LogRecord, Order, Position, SourceError, SourceQuery,
    SourceSettings,
};
use loggate_logto::sim::{LogtoSim, SimConfig};
use loggate_logto::TimeFilter;
use loggate_logto::{LogtoAdapter, LogtoParams};
use secrecy::SecretString;

pub const NOW: i64 = 1_760_000_000_000;

pub fn config(records: usize, distinct: usize, honours: bool) -> SimConfig {
    SimConfig {
        spec: SimSpec {
            seed: 42,
            records,
            now_ms: NOW,
            span_ms: 3_600_000,
            distinct_timestamps: Some(distinct),
            ..SimConfig::demo(NOW).spec
        },
        honours_time_filter: honours,
        token_expires_in: 3600,
        ..SimConfig::demo(NOW)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Creds {
    Static,
    Grant,
}

pub struct Env {
    pub sim: LogtoSim,
    pub served: Served,
    pub adapter: Arc<LogtoAdapter>,
}

/// The adapter's settings and Logto keys for the simulator at `base_url`.
pub fn settings(
    base_url: &str,
    sim: &SimConfig,
    creds: Creds,
    time_filter: TimeFilter,
) -> (SourceSettings, LogtoParams) {
    let policy = UpstreamPolicy {
        retries: 0,
        timeout: Duration::from_secs(10),
        ..UpstreamPolicy::default()
    };
    let params = match creds {
        Creds::Static => LogtoParams {
            token: Some(SecretString::from(sim.spec.token.clone())),
            time_filter,
            ..LogtoParams::default()
        },
        Creds::Grant => LogtoParams {
            client_id: Some(sim.client_id.clone()),
            client_secret: Some(SecretString::from(sim.client_secret.clone())),
            resource: Some(sim.resource.clone()),
            time_filter,
            ..LogtoParams::default()
        },
    };
    let settings = SourceSettings {
        name: "auth".into(),
        base_url: url::Url::parse(base_url).unwrap(),
        token: params.token.clone(),
        client: UpstreamClient::new(policy),
    };
    (settings, params)
}

/// An adapter for the simulator at `base_url`.
pub fn adapter(
    base_url: &str,
    sim: &SimConfig,
    creds: Creds,
    time_filter: TimeFilter,
) -> LogtoAdapter {
    let (settings, params) = settings(base_url, sim, creds, time_filter);
    LogtoAdapter::new(settings, &params)
}

pub async fn start(config: SimConfig, creds: Creds, time_filter: TimeFilter) -> Env {
    let sim = LogtoSim::new(config.clone());
    let served = serve_loopback(sim.router()).await.unwrap();
    let adapter = Arc::new(adapter(&served.base_url(), &config, creds, time_filter));
    Env {
        sim,
        served,
        adapter,
    }
}

pub fn query(filters: Filters, order: Order) -> SourceQuery {
    SourceQuery {
        filters,
        order,
        include_raw: false,
    }
}

pub fn ctx() -> CallContext {
    CallContext::new(tokio::time::Instant::now() + Duration::from_secs(60))
}

pub async fn fetch(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    position: &Position,
    want: usize,
) -> Result<Batch, SourceError> {
    let ctx = ctx();
    adapter
        .fetch(FetchRequest {
            query,
            position,
            want,
            budget: 10_000,
            ctx: &ctx,
        })
        .await
}

/// Follows positions to the end, checking every batch against the fetch
/// contract; `between` runs before each fetch after the first.
pub async fn traverse(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    want: usize,
    budget: usize,
    between: impl FnMut(usize),
) -> Vec<LogRecord> {
    traverse_mutating(adapter, query, want, budget, between, |_, _| {}).await
}

/// [`traverse`], letting `mutate` change each position before it is used
/// (hints are advisory: a wrong one may cost requests, never records).
pub async fn traverse_mutating(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    want: usize,
    budget: usize,
    mut between: impl FnMut(usize),
    mut mutate: impl FnMut(usize, &mut Position),
) -> Vec<LogRecord> {
    let mut position = Position::start();
    let mut all: Vec<LogRecord> = Vec::new();
    for round in 0..10_000 {
        if round > 0 {
            between(round);
        }
        let ctx = ctx();
        let batch = adapter
            .fetch(FetchRequest {
                query,
                position: &position,
                want,
                budget,
                ctx: &ctx,
            })
            .await
            .unwrap_or_else(|e| panic!("fetch {round} failed: {e}"));
        let mut sorted = batch.records.clone();
        sort_records(&mut sorted, query.order);
        assert_eq!(
            sorted, batch.records,
            "batch {round} not in traversal order"
        );
        for record in &batch.records {
            assert!(
                !position.covers(&record.key(), query.order),
                "batch {round} repeats {:?}",
                record.key()
            );
            assert!(
                batch.frontier.covers(&record.key(), query.order),
                "next does not cover {:?}",
                record.key()
            );
            assert!(
                query.filters.matches(record),
                "batch {round} has a non-matching record"
            );
        }
        if let (Some(prev), Some(first)) = (all.last(), batch.records.first()) {
            assert_eq!(
                cmp_in_order(&prev.key(), &first.key(), query.order),
                std::cmp::Ordering::Less
            );
        }
        all.extend(batch.records);
        if batch.frontier.done {
            return all;
        }
        position = batch.frontier;
        mutate(round, &mut position);
    }
    panic!("traversal did not finish");
}

/// What a traversal must yield: the snapshot filtered and sorted.
pub fn expected(snapshot: Vec<LogRecord>, query: &SourceQuery) -> Vec<Key> {
    let mut records: Vec<LogRecord> = snapshot
        .into_iter()
        .filter(|r| query.filters.matches(r))
        .collect();
    sort_records(&mut records, query.order);
    records.iter().map(LogRecord::key).collect()
}

pub fn keys(records: &[LogRecord]) -> Vec<Key> {
    records.iter().map(LogRecord::key).collect()
}

/// Requests to `/api/logs` the simulator saw, as decoded query pairs.
pub fn log_requests(sim: &LogtoSim) -> Vec<Vec<(String, String)>> {
    sim.faults()
        .seen()
        .iter()
        .filter(|r| r.path == "/api/logs")
        .map(|r| r.query_pairs())
        .collect()
}

pub fn token_requests(sim: &LogtoSim) -> usize {
    sim.faults()
        .seen()
        .iter()
        .filter(|r| r.path == "/oidc/token")
        .count()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
