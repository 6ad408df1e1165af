//! Bounded work per page (spec §3 "Ordering and pagination"), measured the
//! same way for every provider: a source of many logs paged with
//! `limit=100`, and the upstream requests and records scanned that each
//! page reports in its `sources` block. Nothing here knows a provider: the
//! registry-driven checks are in `tests/page_cost.rs`, each paged
//! provider's own claim in `tests/provider_<kind>_page_cost.rs`.

use super::fleet::{Fleet, Kind, Spec};

/// The full-size source: 50,000 logs, 500 pages of [`LIMIT`].
pub const RECORDS: usize = 50_000;
pub const LIMIT: usize = 100;
pub const PAGES: usize = RECORDS / LIMIT;

/// `records` under `LOGGATE_SOAK=1`, else `quick`: for simulators that
/// filter and sort their whole data set on every request, where 500 pages
/// of 50,000 take minutes in a debug build (page 100 against page 1 makes
/// the same depth-independence claim).
pub fn soak_or(records: usize, quick: usize) -> usize {
    let soak = std::env::var("LOGGATE_SOAK").is_ok_and(|v| v == "1");
    if soak {
        records
    } else {
        quick
    }
}

/// What one page cost the one source `s0`.
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub requests: u64,
    pub scanned: u64,
    pub returned: u64,
}

/// A gateway over one source of `kind` holding `records` logs over a day.
pub async fn fleet(kind: Kind, records: usize, extra: &str) -> Fleet {
    let mut spec = Spec::new(kind, 42, records, records / 3);
    spec.span_ms = 24 * 3_600_000;
    Fleet::start(&[spec], "scan_budget = 10000", extra).await
}

/// Requests one page; returns its cost and `next_cursor`.
pub async fn page(fleet: &Fleet, path: &str) -> (Cost, Option<String>) {
    let (status, body) = fleet.gateway.get(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    let report = &body["sources"]["s0"];
    assert_eq!(report["status"], "ok", "{path}: {body}");
    let cost = Cost {
        requests: report["upstream_requests"]
            .as_u64()
            .expect("upstream_requests"),
        scanned: report["scanned"].as_u64().expect("scanned"),
        returned: body["logs"].as_array().expect("logs").len() as u64,
    };
    (cost, body["next_cursor"].as_str().map(str::to_string))
}

/// Pages through with `limit`; returns every page's cost.
pub async fn walk(fleet: &Fleet, order: &str, pages: usize) -> Vec<Cost> {
    let mut costs = Vec::new();
    let mut path = format!("/logs?order={order}&limit={LIMIT}");
    loop {
        let (cost, next) = page(fleet, &path).await;
        costs.push(cost);
        match next {
            Some(cursor) => path = format!("/logs?cursor={cursor}&limit={LIMIT}"),
            None => return costs,
        }
        assert!(costs.len() <= pages + 10, "traversal does not end");
    }
}

/// Prints one row of the table (`-- --nocapture`).
pub fn report(what: &str, costs: &[Cost], pages: usize) {
    let total: u64 = costs.iter().map(|c| c.returned).sum();
    let max_requests = costs.iter().map(|c| c.requests).max().unwrap_or(0);
    let max_scanned = costs.iter().map(|c| c.scanned).max().unwrap_or(0);
    let (first, deep) = (costs[0], costs[pages - 1]);
    println!(
        "{what:<28} page 1: {:>3} req {:>6} scanned | page {pages}: {:>3} req {:>6} scanned | max {max_requests} req {max_scanned} scanned | {} pages, {total} logs",
        first.requests, first.scanned, deep.requests, deep.scanned, costs.len()
    );
}

/// The last page costs no more than page 1: at most one extra request and
/// about one upstream page more read.
pub fn assert_constant(what: &str, costs: &[Cost], pages: usize) {
    let total: u64 = costs.iter().map(|c| c.returned).sum();
    assert_eq!(total, (pages * LIMIT) as u64, "{what}: every log once");
    assert!(costs.len() >= pages, "{what}: {} pages", costs.len());
    let (first, deep) = (costs[0], costs[pages - 1]);
    assert_eq!(deep.returned, LIMIT as u64, "{what}: page {pages} is full");
    assert!(
        deep.requests <= first.requests + 1,
        "{what}: page {pages} made {} requests, page 1 {}",
        deep.requests,
        first.requests
    );
    assert!(
        deep.scanned <= first.scanned + 2 * LIMIT as u64,
        "{what}: page {pages} scanned {}, page 1 {}",
        deep.scanned,
        first.scanned
    );
}

/// A source of `kind` holding `records` logs, walked to the end in each
/// of `orders`: the last page costs what page 1 costs.
pub async fn constant_cost(kind: Kind, records: usize, orders: &[&str], what: &str) {
    let fleet = fleet(kind, records, "").await;
    let pages = records / LIMIT;
    for order in orders {
        let costs = walk(&fleet, order, pages).await;
        let what = format!("{what} {order}");
        report(&what, &costs, pages);
        assert_constant(&what, &costs, pages);
    }
}
