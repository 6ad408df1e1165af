//! Exactly-once traversal against the simulator: both orders, both server
//! generations, heavy ties, tie groups larger than a page, inserts between
//! fetches, and bounded work per page.

mod common;

use common::*;
use loggate_core::query::Filters;
use loggate_core::{Adapter, Order, Position};
use loggate_logto::TimeFilter;

async fn exactly_once(
    records: usize,
    distinct: usize,
    honours: bool,
    order: Order,
    want: usize,
    filters: Filters,
) {
    let env = start(
        config(records, distinct, honours),
        Creds::Static,
        TimeFilter::Auto,
    )
    .await;
    // The engine pins the traversal's upper bound when it serves page one.
    let filters = Filters {
        end: Some(env.sim.now_ms()),
        ..filters
    };
    let query = query(filters, order);
    let want_keys = expected(env.sim.snapshot(), &query);
    let sim = env.sim.clone();
    let got = traverse(env.adapter.as_ref(), &query, want, 10_000, |_| {
        sim.insert_new(3)
    })
    .await;
    assert_eq!(
        keys(&got),
        want_keys,
        "honours={honours} order={order:?} want={want}"
    );
    assert!(!want_keys.is_empty());
}

#[tokio::test]
async fn desc_with_ties_and_inserts_on_both_generations() {
    for honours in [true, false] {
        exactly_once(600, 60, honours, Order::Desc, 7, Filters::default()).await;
    }
}

#[tokio::test]
async fn asc_with_ties_and_inserts_on_both_generations() {
    for honours in [true, false] {
        exactly_once(600, 60, honours, Order::Asc, 7, Filters::default()).await;
    }
}

#[tokio::test]
async fn groups_larger_than_a_page_are_read_whole() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            exactly_once(450, 3, honours, order, 40, Filters::default()).await;
        }
    }
}

#[tokio::test]
async fn odd_page_sizes_and_single_record_pages() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            exactly_once(150, 40, honours, order, 1, Filters::default()).await;
            exactly_once(300, 90, honours, order, 1000, Filters::default()).await;
        }
    }
}

#[tokio::test]
async fn pushed_and_residual_filters_with_a_client_window() {
    let sim_records = LogtoSimProbe::records();
    let filters = Filters {
        start: Some(NOW - 2_400_000),
        q: Some("token".into()),
        attrs: [(
            "key".to_string(),
            "ExchangeTokenBy.RefreshToken".to_string(),
        )]
        .into(),
        ..Filters::default()
    };
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            exactly_once(sim_records, 100, honours, order, 5, filters.clone()).await;
        }
    }
}

#[tokio::test]
async fn user_filter_traverses_exactly_once() {
    let env = start(config(800, 100, true), Creds::Static, TimeFilter::Auto).await;
    let user = env
        .sim
        .snapshot()
        .into_iter()
        .find_map(|r| r.user_id)
        .unwrap();
    for honours in [true, false] {
        let filters = Filters {
            user_id: Some(user.clone()),
            ..Filters::default()
        };
        exactly_once(800, 100, honours, Order::Desc, 3, filters.clone()).await;
        exactly_once(800, 100, honours, Order::Asc, 3, filters).await;
    }
}

/// The data sizes used above, kept in one place.
struct LogtoSimProbe;

impl LogtoSimProbe {
    fn records() -> usize {
        700
    }
}

#[tokio::test]
async fn a_small_budget_still_makes_progress_and_misses_nothing() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            let env = start(config(500, 80, honours), Creds::Static, TimeFilter::Auto).await;
            let filters = Filters {
                end: Some(env.sim.now_ms()),
                q: Some("Interaction.End".into()),
                ..Filters::default()
            };
            let query = query(filters, order);
            let want_keys = expected(env.sim.snapshot(), &query);
            let got = traverse(env.adapter.as_ref(), &query, 50, 1, |_| {}).await;
            assert_eq!(keys(&got), want_keys, "honours={honours} order={order:?}");
        }
    }
}

#[tokio::test]
async fn deep_pages_with_the_time_filter_cost_what_the_first_costs() {
    for order in [Order::Desc, Order::Asc] {
        let env = start(config(3000, 3000, true), Creds::Static, TimeFilter::On).await;
        let query = query(
            Filters {
                end: Some(env.sim.now_ms()),
                ..Filters::default()
            },
            order,
        );
        let mut position = Position::start();
        let mut costs = Vec::new();
        for _ in 0..40 {
            let ctx = ctx();
            let batch = env
                .adapter
                .fetch(loggate_core::FetchRequest {
                    query: &query,
                    position: &position,
                    want: 50,
                    budget: 10_000,
                    ctx: &ctx,
                })
                .await
                .unwrap();
            costs.push((ctx.requests(), batch.scanned));
            position = batch.frontier;
        }
        // About `want` rows plus the rest of a tie group, a request or two,
        // at page 40 as at page 1.
        for (requests, scanned) in &costs[1..] {
            assert!(*requests <= 3, "{order:?}: {costs:?}");
            assert!(*scanned <= 200, "{order:?}: {costs:?}");
        }
    }
}

#[tokio::test]
async fn unsatisfiable_filters_cost_nothing() {
    let env = start(config(50, 10, true), Creds::Static, TimeFilter::Auto).await;
    let query = query(
        Filters {
            start: Some(10),
            end: Some(5),
            ..Filters::default()
        },
        Order::Desc,
    );
    let batch = fetch(env.adapter.as_ref(), &query, &Position::start(), 10)
        .await
        .unwrap();
    assert!(batch.frontier.done && batch.records.is_empty());
    assert_eq!(env.sim.faults().seen_count(), 0);
    let _ = env.adapter.kind();
}

#[tokio::test]
async fn one_timestamp_shared_by_several_pages_of_logs() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            exactly_once(350, 1, honours, order, 100, Filters::default()).await;
        }
    }
}

#[tokio::test]
async fn wrong_hints_cost_requests_never_records() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            let env = start(config(400, 60, honours), Creds::Static, TimeFilter::Auto).await;
            let q = query(
                Filters {
                    end: Some(env.sim.now_ms()),
                    ..Filters::default()
                },
                order,
            );
            let want_keys = expected(env.sim.snapshot(), &q);
            let sim = env.sim.clone();
            let got = traverse_mutating(
                env.adapter.as_ref(),
                &q,
                13,
                10_000,
                |_| sim.insert_new(2),
                |round, position| {
                    position.hint = match round % 5 {
                        0 => None,
                        1 => Some(0),
                        2 => Some(1 << 40 | 7),
                        3 => Some(u64::MAX),
                        _ => position.hint.map(|h| h.saturating_mul(3)),
                    }
                },
            )
            .await;
            assert_eq!(keys(&got), want_keys, "honours={honours} order={order:?}");
        }
    }
}
