//! Sparse residual filters (spec §3): `attr.NAME=VALUE` on an attribute no
//! adapter pushes down, matching 2 of 20,000 records (planted with each
//! simulator's `insert`). With `scan_budget = 500` every page reads at most
//! the budget plus one upstream page, `next_cursor` advances on every
//! page (empty ones included), and the traversal still ends with each
//! match exactly once — for each provider and both orders.

mod common;

use common::fleet::{Fleet, Kind, Spec};
use common::{assert_same_ids, reference};
use loggate_core::{Filters, Order};

const RECORDS: usize = 20_000;
const BUDGET: u64 = 500;
const NEEDLE: &str = "needle-4f1c9e";

async fn sparse(kind: Kind) {
    let fleet = Fleet::start(
        &[Spec::new(kind, 5, RECORDS, RECORDS / 4)],
        &format!("scan_budget = {BUDGET}"),
        "max_body_bytes = 268435456",
    )
    .await;
    let sim = fleet.sim("s0");
    let raw = sim.raw_records();
    let mut name = "";
    for (n, at) in [RECORDS / 3, 2 * RECORDS / 3].into_iter().enumerate() {
        let (record, attr) = sim.planted(&raw[at], n, NEEDLE);
        sim.insert(record);
        name = attr;
    }
    let mut filters = Filters::default();
    filters.attrs.insert(name.to_string(), NEEDLE.to_string());
    // A whole-log upstream's one page is the whole array; the others read
    // pages of at most 125 (Logto asks a quarter more than wanted).
    let upstream_page = if kind.whole_log() {
        RECORDS as u64 + 2
    } else {
        125
    };
    for order in [Order::Desc, Order::Asc] {
        let expected = reference(&fleet.snapshot(), &filters, order);
        assert_eq!(expected.len(), 2, "{kind:?}: the planted records match");
        let mut path = format!(
            "/logs?attr.{name}={NEEDLE}&order={}&limit=10",
            order.as_str()
        );
        let mut got = Vec::new();
        let mut cursors = std::collections::HashSet::new();
        let mut pages = 0;
        loop {
            let (status, body) = fleet.gateway.get(&path).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            let report = &body["sources"]["s0"];
            let residual = report["residual"].as_array().expect("residual");
            assert!(
                residual.iter().any(|r| r == &format!("attr.{name}")),
                "{kind:?}: attr.{name} is applied by the gateway alone: {report}"
            );
            let scanned = report["scanned"].as_u64().expect("scanned");
            assert!(
                scanned <= BUDGET + upstream_page,
                "{kind:?} page {pages}: scanned {scanned} with budget {BUDGET}"
            );
            got.extend(
                body["logs"]
                    .as_array()
                    .expect("logs")
                    .iter()
                    .map(|l| l["id"].as_str().expect("id").to_string()),
            );
            match body["next_cursor"].as_str() {
                Some(cursor) => {
                    assert!(
                        cursors.insert(cursor.to_string()),
                        "{kind:?} page {pages}: the cursor did not advance"
                    );
                    path = format!("/logs?cursor={cursor}&limit=10");
                }
                None => break,
            }
            assert!(pages < 1_000, "{kind:?}: traversal does not end");
        }
        if !kind.whole_log() {
            assert!(
                pages as u64 >= RECORDS as u64 / (BUDGET + upstream_page),
                "{kind:?}: only {pages} pages: the budget did not bound them"
            );
        }
        println!(
            "{kind:?} {order:?}: {pages} pages for {} matches",
            got.len()
        );
        assert_same_ids(&got, &expected, &format!("{kind:?} {order:?} sparse"));
    }
}

/// Every variant of every registered provider, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sparse_residual_filter_for_every_provider() {
    futures::future::join_all(Kind::all().into_iter().map(sparse)).await;
}
