//! The exact outgoing request for every pushed filter, both orders, and
//! what is not pushed.
#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_core::adapter::Adapter;
use loggate_core::{Filters, Level, Order, Position};
use serde_json::{json, Value};

/// Fetches the first page of `filters` (pinned to no end) and returns the
/// single request it sent.
async fn first_request(filters: Filters, order: Order) -> loggate_core::sim::SeenRequest {
    let setup = setup(config(1, 30, None)).await;
    fetch(
        &setup.adapter,
        &query(filters, order),
        &Position::start(),
        50,
        10_000,
    )
    .await
    .unwrap();
    let seen = setup.sim.faults().seen();
    assert_eq!(seen.len(), 1, "one request for a 30-log account");
    seen.into_iter().next().unwrap()
}

#[tokio::test]
async fn an_unfiltered_page_sends_path_headers_and_sort() {
    for order in [Order::Desc, Order::Asc] {
        let seen = first_request(Filters::default(), order).await;
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.path, "/logs");
        assert_eq!(
            seen.header("authorization"),
            Some(format!("bearer {TOKEN}").as_str())
        );
        assert_eq!(seen.header("x-api-version"), Some("2025-09"));
        let pairs: Vec<(String, String)> = seen.query_pairs();
        let expected: Vec<(String, String)> = [
            ("skip", "0"),
            ("limit", "51"),
            ("sortBy", "createdAt"),
            ("sortOrder", order.as_str()),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
        assert_eq!(pairs, expected);
    }
}

#[tokio::test]
async fn start_and_end_are_widened_by_a_millisecond() {
    let filters = Filters {
        start: Some(1_745_948_650_432),
        end: Some(1_745_948_660_000),
        ..Filters::default()
    };
    for order in [Order::Desc, Order::Asc] {
        let seen = first_request(filters.clone(), order).await;
        assert_eq!(
            filters_of(&seen),
            json!([
                clause("createdAt", "greaterthan", "2025-04-29T17:44:10.431999999Z"),
                clause("createdAt", "lessthan", "2025-04-29T17:44:20.001Z"),
            ])
        );
        assert_eq!(param(&seen, "sortOrder").as_deref(), Some(order.as_str()));
    }
}

#[tokio::test]
async fn each_pushable_filter_becomes_its_clause() {
    let hex = "67a21c7d10e1dee8d5ec3a3d";
    let attr = |name: &str, value: &str| Filters {
        attrs: [(name.to_string(), value.to_string())].into(),
        ..Filters::default()
    };
    let cases: Vec<(Filters, Value)> = vec![
        (
            Filters {
                level: Some([Level::Error].into_iter().collect()),
                ..Filters::default()
            },
            clause("message", "equals", "executionError"),
        ),
        (
            Filters {
                level: Some([Level::Info, Level::Debug].into_iter().collect()),
                ..Filters::default()
            },
            clause("message", "notequals", "executionError"),
        ),
        (
            Filters {
                min_level: Some(Level::Warn),
                ..Filters::default()
            },
            clause("message", "equals", "executionError"),
        ),
        (
            Filters {
                q: Some("ERROR".into()),
                ..Filters::default()
            },
            clause("message", "contains", "Error"),
        ),
        (
            Filters {
                user_id: Some(hex.into()),
                ..Filters::default()
            },
            clause("userId", "equals", hex),
        ),
        (
            attr("forgeWorkflowId", hex),
            clause("forgeWorkflowId", "equals", hex),
        ),
        (
            attr("executionId", hex),
            clause("data.executionId", "equals", hex),
        ),
        (
            attr("integrationId", hex),
            clause("forgeWorkflow.integrationId._id", "equals", hex),
        ),
        (
            attr("workflowVersion", "3"),
            clause("workflowVersion", "equals", "3"),
        ),
    ];
    let setup = setup(config(1, 5, None)).await;
    for (filters, expected) in cases {
        assert_eq!(
            setup.adapter.pushed(&filters),
            filters.names(),
            "{filters:?}"
        );
        for order in [Order::Desc, Order::Asc] {
            setup.sim.faults().forget_seen();
            fetch(
                &setup.adapter,
                &query(filters.clone(), order),
                &Position::start(),
                50,
                10_000,
            )
            .await
            .unwrap();
            let seen = setup.sim.faults().seen();
            assert_eq!(filters_of(&seen[0]), json!([expected]), "{filters:?}");
            assert_eq!(
                param(&seen[0], "sortOrder").as_deref(),
                Some(order.as_str())
            );
        }
    }
}

#[tokio::test]
async fn combined_filters_are_anded_in_a_fixed_order() {
    let filters = Filters {
        start: Some(1_000),
        level: Some([Level::Error].into_iter().collect()),
        q: Some("exec".into()),
        user_id: Some("67a21c7d10e1dee8d5ec3a3d".into()),
        attrs: [("workflowVersion".to_string(), "2".to_string())].into(),
        ..Filters::default()
    };
    let seen = first_request(filters, Order::Asc).await;
    assert_eq!(
        filters_of(&seen),
        json!([
            clause("createdAt", "greaterthan", "1970-01-01T00:00:00.999999999Z"),
            clause("message", "equals", "executionError"),
            clause("message", "contains", "exec"),
            clause("userId", "equals", "67a21c7d10e1dee8d5ec3a3d"),
            clause("workflowVersion", "equals", "2"),
        ])
    );
}

#[tokio::test]
async fn what_alloy_cannot_evaluate_is_left_to_the_gateway() {
    let filters = Filters {
        service: Some("order_id example".into()),
        user_id: Some("not-an-object-id".into()),
        q: Some("timeout".into()),
        level: Some([Level::Info, Level::Error].into_iter().collect()),
        attrs: [
            (
                "workflowId".to_string(),
                "67ef01ed8eaeb50b18e646ea".to_string(),
            ),
            ("workflowVersion".to_string(), "v2".to_string()),
            ("teamId".to_string(), "63fcaa053522280b5357aeec".to_string()),
        ]
        .into(),
        ..Filters::default()
    };
    let setup = setup(config(1, 5, None)).await;
    assert!(setup.adapter.pushed(&filters).is_empty());
    fetch(
        &setup.adapter,
        &query(filters, Order::Desc),
        &Position::start(),
        50,
        10_000,
    )
    .await
    .unwrap();
    assert_eq!(param(&setup.sim.faults().seen()[0], "filters"), None);
}

#[tokio::test]
async fn a_level_set_without_error_or_info_asks_nothing() {
    let setup = setup(config(1, 5, None)).await;
    let filters = Filters {
        level: Some([Level::Warn, Level::Debug].into_iter().collect()),
        ..Filters::default()
    };
    let batch = fetch(
        &setup.adapter,
        &query(filters, Order::Desc),
        &Position::start(),
        50,
        10_000,
    )
    .await
    .unwrap();
    assert!(batch.records.is_empty() && batch.frontier.done);
    assert_eq!(setup.sim.faults().seen_count(), 0);
}

#[tokio::test]
async fn search_pushdown_can_be_turned_off() {
    let sim = loggate_alloy::AlloySim::new(config(1, 5, None));
    let served = loggate_core::sim::serve_loopback(sim.router())
        .await
        .unwrap();
    let adapter = loggate_alloy::AlloyAdapter::new(settings(&served.base_url(), TOKEN))
        .with_search_pushdown(false);
    let filters = Filters {
        q: Some("error".into()),
        ..Filters::default()
    };
    assert!(adapter.pushed(&filters).is_empty());
    fetch(
        &adapter,
        &query(filters, Order::Desc),
        &Position::start(),
        50,
        10_000,
    )
    .await
    .unwrap();
    assert_eq!(param(&sim.faults().seen()[0], "filters"), None);
}

/// Issue 13 (read only what the page needs): the native `limit` is one
/// more than the fetch wants, at least 10 and at most the page limit (100
/// by default, 6 when configured), not 100 whatever is wanted.
#[tokio::test]
async fn the_native_limit_is_sized_to_what_the_fetch_wants() {
    // Distinct timestamps: no group is cut at a page's end, so each fetch
    // is answered by its first request.
    let sim = loggate_alloy::AlloySim::new(config(9, 300, None));
    let served = loggate_core::sim::serve_loopback(sim.router())
        .await
        .unwrap();
    let base_url = served.base_url();
    let cases = [
        (100, 1, "10"),
        (100, 9, "10"),
        (100, 10, "11"),
        (100, 50, "51"),
        (100, 99, "100"),
        (100, 1000, "100"),
        (6, 50, "6"),
    ];
    for (page_limit, want, limit) in cases {
        let adapter = loggate_alloy::AlloyAdapter::new(settings(&base_url, TOKEN))
            .with_page_limit(page_limit);
        sim.faults().forget_seen();
        let query = pinned(Filters::default(), Order::Desc);
        fetch(&adapter, &query, &Position::start(), want, 10_000)
            .await
            .unwrap();
        let seen = sim.faults().seen();
        let label = format!("page limit {page_limit}, want {want}");
        assert_eq!(param(&seen[0], "limit").as_deref(), Some(limit), "{label}");
        assert_eq!(param(&seen[0], "skip").as_deref(), Some("0"), "{label}");
    }
}
