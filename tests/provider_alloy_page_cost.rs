//! Black-box, Alloy: bounded work per page (spec §3 "Ordering and
//! pagination"). Its `filters` take a `createdAt` bound, so the last page
//! costs what page 1 costs, in both orders (`common::page_cost`; the
//! registry-driven part is `tests/page_cost.rs`).
//!
//! The Alloy simulator filters and sorts its whole data set on every
//! request, so 500 pages of 50,000 take minutes in a debug build: by
//! default it runs with 10,000 logs (page 100 against page 1, the same
//! depth-independence claim); `LOGGATE_SOAK=1` runs it at 50,000.

mod common;

use common::fleet::Kind;
use common::page_cost::{constant_cost, soak_or, RECORDS};

#[tokio::test]
async fn alloy_page_500_costs_what_page_1_costs() {
    let kind = Kind::new("alloy", "default");
    let records = soak_or(RECORDS, 10_000);
    constant_cost(kind, records, &["desc", "asc"], "alloy").await;
}
