//! Shared by the adapter-vs-simulator tests: a simulator on loopback with
//! an adapter pointed at it, and helpers to drive and inspect them.

#![allow(dead_code)]

use std::time::Duration;

use loggate_alloy::{AlloyAdapter, AlloySim, SimConfig};
use loggate_core::adapter::{Adapter, Batch, FetchRequest};
use loggate_core::http::CallContext;
use loggate_core::record::cmp_in_order;
use loggate_core::sim::{serve_loopback, SeenRequest, Served, SimSpec};
use loggate_core::{Filters, LogRecord, Order, Position, SourceError, SourceQuery, SourceSettings};

use serde_json::Value;
use tokio::time::Instant;

pub const TOKEN: &str = "alloy-test-key-5f2c";
/// The simulators' "now": fixed, and in the past, so inserts land after it.
pub const NOW: i64 = 1_750_000_000_000;

pub fn config(seed: u64, records: usize, distinct_timestamps: Option<usize>) -> SimConfig {
    SimConfig {
        spec: SimSpec {
            seed,
            records,
            now_ms: NOW,
            span_ms: 86_400_000,
            distinct_timestamps,
            token: TOKEN.to_string(),
            variant: String::new(),
        },
        ..SimConfig::demo(NOW)
    }
}

pub fn settings(base_url: &str, token: &str) -> SourceSettings {
    SourceSettings {
        name: "workflows".into(),
        ..loggate_core::testkit::test_settings(base_url, Some(token))
    }
}

pub struct Setup {
    pub sim: AlloySim,
    pub served: Served,
    pub adapter: AlloyAdapter,
}

pub async fn setup(config: SimConfig) -> Setup {
    let sim = AlloySim::new(config);
    let served = serve_loopback(sim.router()).await.unwrap();
    let adapter = AlloyAdapter::new(settings(&served.base_url(), TOKEN));
    Setup {
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

/// `filters` with `end` pinned at the simulators' now.
pub fn pinned(filters: Filters, order: Order) -> SourceQuery {
    let end = Some(filters.end.map_or(NOW, |e| e.min(NOW)));
    query(Filters { end, ..filters }, order)
}

pub async fn fetch(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    position: &Position,
    want: usize,
    budget: usize,
) -> Result<Batch, SourceError> {
    let ctx = CallContext::new(Instant::now() + Duration::from_secs(30));
    adapter
        .fetch(FetchRequest {
            query,
            position,
            want,
            budget,
            ctx: &ctx,
        })
        .await
}

/// Follows `query` to the end, calling `between` after every fetch, and
/// checks order, uniqueness and that `next` covers what was returned.
pub async fn traverse(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    want: usize,
    budget: usize,
    mut between: impl FnMut(),
) -> Vec<LogRecord> {
    let mut position = Position::start();
    let mut out: Vec<LogRecord> = Vec::new();
    for _ in 0..100_000 {
        let batch = fetch(adapter, query, &position, want, budget)
            .await
            .unwrap();
        for record in &batch.records {
            assert!(
                !position.covers(&record.key(), query.order),
                "returned a covered record"
            );
            assert!(
                batch.frontier.covers(&record.key(), query.order),
                "next does not cover a returned record"
            );
            if let Some(last) = out.last() {
                assert!(
                    cmp_in_order(&last.key(), &record.key(), query.order).is_lt(),
                    "out of order or repeated"
                );
            }
            out.push(record.clone());
        }
        between();
        if batch.frontier.done {
            return out;
        }
        position = batch.frontier;
    }
    panic!("traversal did not end");
}

/// What a traversal must return: the matching records of `snapshot`.
pub fn expected(snapshot: &[LogRecord], query: &SourceQuery) -> Vec<LogRecord> {
    loggate_core::testkit::reference(snapshot, query)
}

/// The decoded `filters` JSON of a request (`Value::Null` when absent).
pub fn filters_of(seen: &SeenRequest) -> Value {
    param(seen, "filters").map_or(Value::Null, |text| serde_json::from_str(&text).unwrap())
}

pub fn param(seen: &SeenRequest, name: &str) -> Option<String> {
    seen.query_pairs()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// One documented clause.
pub fn clause(column: &str, operator: &str, input: &str) -> Value {
    serde_json::json!({"columns": {"value": column}, "operators": {"value": operator},
        "userinput": {"value": input}, "condition": {"value": "and"}})
}
