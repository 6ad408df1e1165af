//! Black-box, Logto: bounded work per page (spec §3 "Ordering and
//! pagination") for its server generations (`common::page_cost`; the
//! registry-driven part is `tests/page_cost.rs`).
//!
//! The Logto simulator filters and sorts its whole data set on every
//! request, so 500 pages of 50,000 take minutes in a debug build: by
//! default it runs with 10,000 logs (page 100 against page 1, the same
//! depth-independence claim); `LOGGATE_SOAK=1` runs it at 50,000.

mod common;

use common::fleet::Kind;
use common::page_cost::{assert_constant, constant_cost, fleet, report, soak_or, walk};
use common::page_cost::{LIMIT, RECORDS};

/// Logto v1.42+ honours `start_time`/`end_time`: the last page costs what
/// page 1 costs, in both orders.
#[tokio::test]
async fn logto_with_the_time_filter_page_500_costs_what_page_1_costs() {
    let kind = Kind::new("logto", "timed");
    let records = soak_or(RECORDS, 10_000);
    constant_cost(kind, records, &["desc", "asc"], "logto (time filter)").await;
}

/// Logto before v1.40 ignores `start_time`/`end_time`: the adapter pages by
/// offset, keeping the offset as a hint in the cursor. loggate still reads
/// about one upstream page per page (the shape asserted here); what grows
/// with depth is the provider's own database `OFFSET`, invisible to us.
#[tokio::test]
async fn logto_without_the_time_filter_reads_about_one_page_per_page() {
    let kind = Kind::new("logto", "untimed");
    let records = soak_or(RECORDS, 10_000);
    let fleet = fleet(kind, records, "").await;
    let pages = records / LIMIT;
    let costs = walk(&fleet, "desc", pages).await;
    report("logto (no time filter) desc", &costs, pages);
    assert_constant("logto (no time filter) desc", &costs, pages);
}
