//! Black-box, leveled: bounded work per page (spec §3 "Ordering and
//! pagination"). Its native API takes a time bound, so page 500 of a
//! 50,000-log source costs what page 1 costs, in both orders
//! (`common::page_cost`; the registry-driven part is `tests/page_cost.rs`).

mod common;

use common::fleet::Kind;
use common::page_cost::{constant_cost, RECORDS};

#[tokio::test]
async fn leveled_page_500_costs_what_page_1_costs() {
    let kind = Kind::new("leveled", "default");
    constant_cost(kind, RECORDS, &["desc", "asc"], "leveled").await;
}
