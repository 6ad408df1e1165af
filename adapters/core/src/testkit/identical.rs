//! A tie group of identical records larger than an upstream page (issue 11
//! item 5): every copy must come back exactly once, in both orders,
//! whatever the page size, and at a bounded cost (the traversal's own
//! fetch limit). Identical records are interchangeable: where the provider
//! has no ids they are told apart only by their count.

use std::collections::BTreeSet;

use super::traverse::{assert_traversal, pinned_query, Traversal};
use super::{start, ConformanceOptions, HarnessFactory, LARGE_BUDGET, ORDERS};
use crate::query::Filters;
use crate::record::LogRecord;

/// Inserts `identical_copies` identical records at a timestamp no record
/// has, inside the data's span, and traverses: want 1, 50 and 1000 with
/// and without engine-style rewinds, and the window `[t, t]` alone.
pub(crate) async fn assert_identical_group(
    factory: &dyn HarnessFactory,
    options: &ConformanceOptions,
) {
    let harness = start(factory, options.identical).await;
    let kind = harness.adapter().kind();
    let at = free_stamp(&harness.snapshot().await);
    if !harness.insert_copies(options.identical_copies, at).await {
        return;
    }
    let copies = harness
        .snapshot()
        .await
        .iter()
        .filter(|r| r.timestamp_ms == at)
        .count();
    assert_eq!(
        copies, options.identical_copies,
        "conformance [{kind}] identical group: the simulator must hold the copies it was asked \
         to insert"
    );
    for order in ORDERS {
        for (want, rewind) in [
            (1000, false),
            (50, false),
            (50, true),
            (7, true),
            (1, false),
        ] {
            let query = pinned_query(Filters::default(), order);
            let mut traversal = Traversal::new(&query, want, LARGE_BUDGET);
            traversal.rewind = rewind;
            traversal.name = format!("{} identical records at one timestamp", copies);
            assert_traversal(&*harness, &traversal).await;
        }
        let window = Filters {
            start: Some(at),
            end: Some(at),
            ..Filters::default()
        };
        let query = pinned_query(window, order);
        let mut traversal = Traversal::new(&query, 50, LARGE_BUDGET);
        traversal.name = format!("{} identical records, window [t, t]", copies);
        let got = assert_traversal(&*harness, &traversal).await;
        assert_eq!(
            got.len(),
            copies,
            "conformance [{kind}] identical group: [t, t] returned {} of {copies}",
            got.len()
        );
    }
}

/// A millisecond inside the records' span that no record is stamped at.
fn free_stamp(snapshot: &[LogRecord]) -> i64 {
    let stamps: BTreeSet<i64> = snapshot.iter().map(|r| r.timestamp_ms).collect();
    let (Some(first), Some(last)) = (stamps.first(), stamps.last()) else {
        return crate::time::now_ms() - 60_000;
    };
    let mut at = first + (last - first) / 2;
    while stamps.contains(&at) {
        at += 1;
    }
    at
}
