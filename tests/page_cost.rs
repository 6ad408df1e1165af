//! Bounded work per page (spec §3 "Ordering and pagination"), over every
//! registered provider: a source of 50,000 logs, paged with `limit=100`
//! (500 pages), and the upstream requests and records scanned that each
//! page reports in its `sources` block (`common::page_cost`). `cargo test
//! --test page_cost --test 'provider_*_page_cost' -- --nocapture` prints
//! the table.
//!
//! A provider whose upstream sends its whole log every time costs the same
//! on every page, proportional to the account's size: asserted here for
//! each of them. Where the native API pages, page 500 costs what page 1
//! costs: a claim each such provider makes in its own
//! `tests/provider_<kind>_page_cost.rs` (which variants, how many logs its
//! simulator pages through in a debug build, what grows with depth
//! invisibly), and this file checks that every one of them has it.

mod common;

use std::path::Path;

use common::fleet::Kind;
use common::page_cost::{fleet, page, LIMIT, PAGES, RECORDS};

/// Every page is one request that downloads the whole log array (all
/// 50,000 scanned), sorted and filtered locally — constant in depth,
/// proportional to the account's size. Deep pages are reached
/// legitimately by following cursors with a large limit.
async fn downloads_everything_on_every_page(kind: Kind) {
    let what = kind.provider();
    let fleet = fleet(kind, RECORDS, "max_body_bytes = 268435456").await;
    let mut costs = Vec::new();
    let mut returned = 0u64;
    let mut path = format!("/logs?limit={LIMIT}");
    // Pages 1..=10 with limit 100, then 1,000 at a time to log 49,900,
    // then page 500 with limit 100.
    for i in 0.. {
        let (cost, next) = page(&fleet, &path).await;
        returned += cost.returned;
        costs.push((i, cost));
        let Some(cursor) = next else { break };
        let limit = if !(1_000..49_000).contains(&returned) {
            LIMIT
        } else {
            1_000
        };
        path = format!("/logs?cursor={cursor}&limit={limit}");
        assert!(i < 200, "{what}: traversal does not end");
    }
    assert_eq!(returned, RECORDS as u64, "{what}: every log once");
    let (_, first) = costs[0];
    let (_, deep) = costs[costs.len() - 1];
    println!(
        "{what:<28} page 1: {:>3} req {:>6} scanned | page {PAGES}: {:>3} req {:>6} scanned | {} pages (deep ones reached with limit 1000)",
        first.requests,
        first.scanned,
        deep.requests,
        deep.scanned,
        costs.len()
    );
    for (i, cost) in &costs {
        assert_eq!(cost.requests, 1, "{what} page {}: one download", i + 1);
        assert_eq!(
            cost.scanned,
            RECORDS as u64,
            "{what} page {}: all scanned",
            i + 1
        );
    }
    assert_eq!(deep.returned, LIMIT as u64, "{what}: page {PAGES} is full");
}

#[tokio::test]
async fn whole_log_providers_download_everything_on_every_page() {
    let whole_log: Vec<Kind> = Kind::all().into_iter().filter(|k| k.whole_log()).collect();
    assert!(!whole_log.is_empty(), "a registered whole-log provider");
    for kind in whole_log {
        downloads_everything_on_every_page(kind).await;
    }
}

/// Each provider whose upstream pages states its page cost in its own
/// test file, so a new provider cannot go unmeasured.
#[test]
fn every_paged_provider_has_its_page_cost_test() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for kind in Kind::each_provider().into_iter().filter(|k| !k.whole_log()) {
        let file = format!("provider_{}_page_cost.rs", kind.provider());
        assert!(
            tests.join(&file).is_file(),
            "{} pages upstream but has no tests/{file}",
            kind.provider()
        );
    }
}
