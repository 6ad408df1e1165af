//! A tie group larger than a page that the upstream never shows whole is
//! an error of the source (the engine then reports it and its cursor
//! resumes at the group), never a page that silently lacks part of it.
#![cfg(feature = "sim")]

mod common;

use axum::routing::get;
use axum::Json;
use common::{adapter, config, fetch_once, TOKEN};
use loggate_core::sim::serve_loopback;
use loggate_core::testkit::pinned_query;
use loggate_core::{Filters, Order, Position, SourceError};
use loggate_leveled::LeveledSim;
use serde_json::{json, Value};

#[tokio::test]
async fn a_tie_group_never_shown_whole_fails_the_source() {
    // 150 entries on one timestamp, of which the upstream only ever
    // returns the same 100 while announcing 150.
    let sim = LeveledSim::new(config(41, 150, 1));
    let shown: Vec<Value> = sim.raw_records().into_iter().take(100).collect();
    let answer = json!({"status": "success", "data": {"logs": shown,
        "pagination": {"total": 150, "limit": 100, "offset": 0, "nextOffset": 100}}});
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = requests.clone();
    let router = axum::Router::new().route(
        "/logs",
        get(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = answer.clone();
            async move { Json(answer) }
        }),
    );
    let served = serve_loopback(router).await.unwrap();
    let adapter = adapter(&served.base_url(), TOKEN, true);
    for order in [Order::Desc, Order::Asc] {
        let query = pinned_query(Filters::default(), order);
        let error = fetch_once(&adapter, &query, &Position::start(), 10)
            .await
            .unwrap_err();
        let SourceError::Upstream { message, .. } = &error else {
            panic!("expected an upstream error, got {error:?}");
        };
        assert!(
            message.contains("could not read all 150 logs stamped")
                && message.contains("100 distinct were returned"),
            "{message}"
        );
        assert_eq!(error.code(), "upstream_error");
    }
    // Bounded: the sweeps stop (16 * 2 + 16 per group read, plus landing).
    assert!(requests.load(std::sync::atomic::Ordering::SeqCst) <= 2 * (48 + 8));
}
