//! Reading only what the page needs (issue 13 item 2): each request is
//! sized to `want + 1`, and an upstream that answers fewer entries than
//! asked (a silent page cap) costs one request per fetch; the merge asks
//! again only when it needs more. Traversals over a capped upstream stay
//! exactly-once.
#![cfg(feature = "sim")]

mod common;

use common::{config, fetch_once, seen_queries, Setup};
use loggate_core::testkit::{assert_traversal, pinned_query, Traversal, LARGE_BUDGET};
use loggate_core::{Filters, Order, Position};
use loggate_leveled::SimConfig;

fn limits(setup: &Setup) -> Vec<String> {
    seen_queries(setup.sim.faults())
        .into_iter()
        .map(|pairs| {
            let (_, limit) = pairs.into_iter().find(|(n, _)| n == "limit").unwrap();
            limit
        })
        .collect()
}

fn capped(seed: u64, records: usize, distinct: usize, cap: u64) -> SimConfig {
    SimConfig {
        page_cap: Some(cap),
        ..config(seed, records, distinct)
    }
}

#[tokio::test]
async fn a_page_of_fifty_reads_fifty_one_entries_in_one_request() {
    let setup = common::start(config(11, 400, 1_000_000)).await;
    let query = pinned_query(Filters::default(), Order::Desc);
    let batch = fetch_once(&*setup.adapter, &query, &Position::start(), 50)
        .await
        .unwrap();
    assert_eq!(batch.records.len(), 50);
    assert_eq!(batch.scanned, 51);
    assert_eq!(limits(&setup), vec!["51"]);
}

#[tokio::test]
async fn a_short_upstream_page_costs_one_request_per_fetch() {
    // Distinct timestamps: of 20 entries, the 19 newest are whole groups.
    for order in [Order::Desc, Order::Asc] {
        let setup = common::start(capped(12, 400, 1_000_000, 20)).await;
        let query = pinned_query(Filters::default(), order);
        let mut position = Position::start();
        if order == Order::Asc {
            // The first ascending fetch learns the window's total: two
            // requests; what is measured is the next one.
            let first = fetch_once(&*setup.adapter, &query, &position, 50)
                .await
                .unwrap();
            position = first.frontier;
            setup.sim.faults().forget_seen();
        }
        let batch = fetch_once(&*setup.adapter, &query, &position, 50)
            .await
            .unwrap();
        assert_eq!(limits(&setup).len(), 1, "{order:?}: one request");
        // At most the 19 whole groups of the 20 entries, never none.
        let n = batch.records.len();
        assert!((1..=19).contains(&n), "{order:?}: {n} records");
        assert!(!batch.frontier.done, "{order:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversals_over_a_capped_upstream_are_exactly_once() {
    // Caps below, at and above `want + 1`, with tie groups and inserts.
    for (seed, cap) in [(21, 5), (22, 20), (23, 60)] {
        let setup = common::start(capped(seed, 300, 60, cap)).await;
        for order in [Order::Desc, Order::Asc] {
            for want in [1, 7, 50] {
                let query = pinned_query(Filters::default(), order);
                let mut traversal = Traversal::new(&query, want, LARGE_BUDGET);
                traversal.insert_per_fetch = 2;
                assert_traversal(&setup, &traversal).await;
            }
        }
    }
}
