//! Counting (spec §7): for every filter case and a few windows (bounds on
//! record timestamps, one shared millisecond), both methods must give the
//! reference count of the simulator's data: the adapter's own total
//! ([`Adapter::count`], where [`Adapter::counts_exactly`] says it can) and
//! a counting scan (an ascending traversal, what the engine falls back to).
//!
//! [`Adapter::count`]: crate::Adapter::count
//! [`Adapter::counts_exactly`]: crate::Adapter::counts_exactly

use super::cases::filter_cases;
use super::report::describe;
use super::traverse::normal_ctx;
use super::{Harness, LARGE_BUDGET};
use crate::adapter::FetchRequest;
use crate::position::Position;
use crate::query::{Filters, Order, SourceQuery};
use crate::record::LogRecord;

/// Fetches a counting scan may make before it is called stuck.
const MAX_FETCHES: usize = 10_000;

/// Checks both counting methods against the reference for every filter
/// case and window; returns how many cases the adapter counted by its
/// totals.
pub async fn assert_counts(harness: &dyn Harness) -> usize {
    let snapshot = harness.snapshot().await;
    let adapter = harness.adapter();
    let kind = adapter.kind();
    let mut by_total = 0;
    for case in filter_cases(&snapshot).into_iter().filter(|c| c.present) {
        for (window_name, start, end) in windows(&snapshot) {
            let mut filters = case.filters.clone();
            filters.start = Some(filters.start.map_or(start, |s| s.max(start)));
            filters.end = Some(filters.end.map_or(end, |e| e.min(end)));
            if filters.is_unsatisfiable() {
                continue;
            }
            let expected = snapshot.iter().filter(|r| filters.matches(r)).count() as u64;
            let what = format!(
                "conformance [{kind}] count of filter {} over {window_name} ({})",
                case.name,
                describe(&filters)
            );
            let scanned = scan_count(harness, &filters, &what).await;
            assert_eq!(
                scanned, expected,
                "{what}: a counting scan found {scanned}, the data holds {expected}"
            );
            if adapter.counts_exactly(&filters) {
                match adapter.count(&filters, &normal_ctx()).await {
                    Ok(Some(total)) => {
                        by_total += 1;
                        assert_eq!(
                            total, expected,
                            "{what}: the provider's total says {total}, the data holds {expected}"
                        );
                    }
                    Ok(None) => {}
                    Err(e) => panic!("{what}: count failed: {e}"),
                }
            }
        }
    }
    by_total
}

/// The whole data's span, an inner window whose bounds sit on record
/// timestamps (inclusive), and one millisecond holding a tie group.
fn windows(snapshot: &[LogRecord]) -> Vec<(&'static str, i64, i64)> {
    let mut stamps: Vec<i64> = snapshot.iter().map(|r| r.timestamp_ms).collect();
    stamps.sort_unstable();
    let (Some(&first), Some(&last)) = (stamps.first(), stamps.last()) else {
        return Vec::new();
    };
    let (a, b) = (stamps[stamps.len() / 4], stamps[stamps.len() * 3 / 4]);
    let tie = stamps.windows(2).find(|w| w[0] == w[1]).map_or(a, |w| w[0]);
    vec![
        ("the whole data", first - 1, last + 1),
        ("an inner window", a, b),
        ("one millisecond", tie, tie),
    ]
}

/// Counts `filters` by an ascending traversal, as the engine's counting
/// scan does.
async fn scan_count(harness: &dyn Harness, filters: &Filters, what: &str) -> u64 {
    let adapter = harness.adapter();
    let query = SourceQuery {
        filters: filters.clone(),
        order: Order::Asc,
        include_raw: false,
    };
    let mut position = Position::start();
    let mut count = 0u64;
    for _ in 0..MAX_FETCHES {
        let ctx = normal_ctx();
        let batch = adapter
            .fetch(FetchRequest {
                query: &query,
                position: &position,
                want: 1000,
                budget: LARGE_BUDGET,
                ctx: &ctx,
            })
            .await
            .unwrap_or_else(|e| panic!("{what}: a counting scan failed: {e}"));
        count += batch.records.iter().filter(|r| filters.matches(r)).count() as u64;
        position = batch.frontier;
        if position.done {
            return count;
        }
    }
    panic!("{what}: a counting scan did not finish in {MAX_FETCHES} fetches")
}
