//! A tie group larger than a page that the upstream never shows whole is
//! an error of the source (the engine then reports it and its cursor
//! resumes at the group), never a page that silently lacks part of it;
//! one of identical records is counted and returned whole (issue 11
//! item 5).
#![cfg(feature = "sim")]

mod common;

use axum::routing::get;
use axum::Json;
use common::{adapter, config, fetch_once, pairs, seen_queries, TOKEN};
use loggate_core::sim::serve_loopback;
use loggate_core::testkit::pinned_query;
use loggate_core::{Filters, Order, Position, SourceError};
use loggate_leveled::{LeveledAdapter, LeveledSim};
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

/// Issue 11 item 5's upstream: 101 copies of one health-check line at
/// 10:00:01, one log a second older and one a second newer.
fn healthz_sim(copies: usize) -> (LeveledSim, i64) {
    let sim = LeveledSim::new(config(43, 0, 1));
    let at = loggate_core::time::parse_rfc3339_ms("2024-06-03T10:00:01Z").unwrap();
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:00Z", "level": "INFO", "service": "lb",
                      "message": "older"}),
    );
    sim.insert_copies(copies, at);
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:02Z", "level": "INFO", "service": "lb",
                      "message": "newer"}),
    );
    (sim, at)
}

/// Follows the adapter to the end with `want`, returning every record.
async fn drain(
    adapter: &LeveledAdapter,
    order: Order,
    want: usize,
) -> Vec<loggate_core::LogRecord> {
    let query = pinned_query(Filters::default(), order);
    let mut position = Position::start();
    let mut out = Vec::new();
    for _ in 0..100 {
        let batch = fetch_once(adapter, &query, &position, want).await.unwrap();
        // Like the engine: keep at most `want` and resume after the last.
        let kept: Vec<_> = batch.records.into_iter().take(want).collect();
        position = match kept.last() {
            Some(last) if kept.len() == want => Position::after(last.key(), None),
            _ => batch.frontier,
        };
        out.extend(kept);
        if position.done {
            return out;
        }
    }
    panic!("no end after 100 fetches");
}

#[tokio::test]
async fn identical_records_over_two_pages_are_each_returned_once() {
    for copies in [101, 250] {
        let (sim, at) = healthz_sim(copies);
        let served = serve_loopback(sim.router()).await.unwrap();
        let adapter = adapter(&served.base_url(), TOKEN, true);
        for order in [Order::Desc, Order::Asc] {
            for want in [50, 7, 1000] {
                let got = drain(&adapter, order, want).await;
                assert_eq!(got.len(), copies + 2, "{copies} {order:?} {want}");
                let mut ids: Vec<&str> = got.iter().map(|r| r.native_id.as_str()).collect();
                ids.sort();
                ids.dedup();
                assert_eq!(ids.len(), copies + 2, "each copy once");
                let at_group = got.iter().filter(|r| r.timestamp_ms == at).count();
                assert_eq!(at_group, copies);
                let (first, last) = (&got[0].message, &got[copies + 1].message);
                let expected = match order {
                    Order::Desc => ("newer", "older"),
                    Order::Asc => ("older", "newer"),
                };
                assert_eq!((first.as_str(), last.as_str()), expected);
            }
        }
    }
}

#[tokio::test]
async fn the_group_sweep_asks_for_two_passes_of_the_one_millisecond_window() {
    let (sim, _) = healthz_sim(101);
    let served = serve_loopback(sim.router()).await.unwrap();
    let adapter = adapter(&served.base_url(), TOKEN, true);
    let query = pinned_query(Filters::default(), Order::Desc);
    let batch = fetch_once(&adapter, &query, &Position::start(), 50)
        .await
        .unwrap();
    // The newer log ends the first fetch (records in hand: the merge asks
    // again only if it needs more); the group's cut part is not kept.
    assert_eq!(batch.records.len(), 1);
    // The next fetch reads the whole group (finished beyond `want`).
    let group_batch = fetch_once(&adapter, &query, &batch.frontier, 50)
        .await
        .unwrap();
    assert_eq!(group_batch.records.len(), 101);
    let end = query
        .filters
        .end
        .map(loggate_core::time::format_ms_end)
        .unwrap();
    // Upper bounds reach the end of their millisecond (spec §10).
    let group = |offset: &str| {
        pairs(&[
            ("limit", "100"),
            ("offset", offset),
            ("startDate", "2024-06-03T10:00:01.000Z"),
            ("endDate", "2024-06-03T10:00:01.000999999Z"),
        ])
    };
    // Requests are sized to `want + 1`; an answer of one timestamp is read
    // again at the provider's full page before the group is swept.
    let expected = vec![
        pairs(&[("limit", "51"), ("offset", "0"), ("endDate", &end)]),
        pairs(&[
            ("limit", "51"),
            ("offset", "0"),
            ("endDate", "2024-06-03T10:00:01.000999999Z"),
        ]),
        pairs(&[
            ("limit", "100"),
            ("offset", "0"),
            ("endDate", "2024-06-03T10:00:01.000999999Z"),
        ]),
        group("0"),
        group("100"),
        group("0"),
        group("100"),
    ];
    assert_eq!(seen_queries(sim.faults()), expected);
}
