//! The conformance suite every adapter runs against its own simulator.
//!
//! A provider crate implements [`Harness`] and [`HarnessFactory`] for its
//! simulator in its tests and calls [`run_conformance`]; it then gets, for
//! free: exactly-once traversal in both orders under heavy timestamp ties
//! (want 1 to 1000, budgets down to 1, inserts between fetches, the
//! engine's rewinds after a partly used batch), each batch checked as it
//! arrives (strictly after its position, in order, matching, `next`
//! covering it and passing no pending record, progress made), every
//! unified filter checked against the reference matcher over the
//! simulator's data, honest `pushed` reporting, each upstream failure
//! mapped to the right typed error (redirects and every `Retry-After`
//! form included), and bodies read through any packaging of spec §10
//! (gzip, deflate, br, a byte-order mark, a non-JSON content type).
//!
//! The reference is the simulator's data normalised by the adapter crate's
//! own mapping (`Harness::snapshot`); the mapping itself is pinned by the
//! crate's example-based tests.
//!
//! The pieces are public too, for a crate's own targeted tests:
//! [`traverse`] (follow a query to the end, checking every batch),
//! [`assert_traversal`] (the same, compared with the snapshot),
//! [`reference`], [`pinned_query`], [`assert_filters`],
//! [`assert_sparse_progress`], [`assert_fault_mapping`] and
//! [`assert_packaging`]; and
//! [`run_conformance_with`] runs a chosen part of the suite.
//!
//! Every violation panics with `conformance [<kind>] <case>: <what>`, where
//! the case names the order, `want`, `budget` and filters.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::adapter::Adapter;
use crate::query::{Filters, Order};
use crate::record::{Level, LogRecord};
use crate::sim::Faults;

mod cases;
mod counts;
mod faults;
mod packaging;
mod report;
mod traverse;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod selftest;

mod harness;
mod identical;

pub use cases::{assert_filters, assert_sparse_progress};
pub use counts::assert_counts;
pub use faults::assert_fault_mapping;
pub use harness::{test_settings, SimHarness};
pub use packaging::assert_packaging;
pub use report::describe;
pub use traverse::{assert_traversal, normal_ctx, pinned_query, reference, traverse, Traversal};

/// The shape of a generated data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSet {
    pub seed: u64,
    /// How many records the simulator starts with.
    pub records: usize,
    /// How many distinct timestamps they share (fewer = more ties).
    pub distinct_timestamps: usize,
}

/// One running simulator with an adapter pointed at it.
///
/// The adapter must be built with `UpstreamPolicy { retries: 0, ..Default::default() }`:
/// no retries, so each fault is observed directly (and a 503 or 429 does
/// not sleep), and the default 16 MiB body cap, which the suite's 20 MiB
/// oversized body exceeds. Any `timeout` of a few seconds or more works: the
/// hang case bounds the call by its own short deadline.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The adapter under test, configured for this simulator (retries 0,
    /// so fault mapping is observed directly).
    fn adapter(&self) -> Arc<dyn Adapter>;
    /// Every record the simulator holds now, normalised with the adapter
    /// crate's mapping and with `raw` set to `None`.
    async fn snapshot(&self) -> Vec<LogRecord>;
    /// Writes `n` new records upstream, stamped strictly later than any
    /// `now` observed before the call (e.g. `now + 1 ms`).
    async fn insert_new(&self, n: usize);
    /// Writes `n` records stamped `at_ms` that are identical except for
    /// their native ids where the provider has ids; `false` when the
    /// harness cannot (the identical-group cases are then skipped).
    async fn insert_copies(&self, _n: usize, _at_ms: i64) -> bool {
        false
    }
    /// The simulator's fault switches.
    fn faults(&self) -> &Faults;
}

/// Starts simulators for the suite.
#[async_trait]
pub trait HarnessFactory: Send + Sync {
    async fn start(&self, data: DataSet) -> Box<dyn Harness>;
}

/// What [`run_conformance_with`] runs; [`Default`] is what
/// [`run_conformance`] runs.
#[derive(Debug, Clone)]
pub struct ConformanceOptions {
    /// Traversals (want 1, 7, 50, 1000; 7 and 50 also with engine-style
    /// rewinds; one with `include_raw`), the filter cases and the faults.
    pub traversal: DataSet,
    /// Traversals with `insert_per_fetch` records written after each fetch.
    pub inserts: DataSet,
    pub insert_per_fetch: usize,
    /// Traversals with budgets 1 and 5 (and sparse filters with budget 5,
    /// when filters are checked).
    pub small_budgets: DataSet,
    /// Traversals (both orders, want 1, 50, 1000, and a `[t, t]` window)
    /// over this data plus `identical_copies` identical records sharing one
    /// timestamp: a tie group of 2.5 pages of 100 (issue 11 item 5).
    pub identical: DataSet,
    pub identical_copies: usize,
    pub check_traversal: bool,
    pub check_inserts: bool,
    pub check_small_budgets: bool,
    pub check_filters: bool,
    pub check_faults: bool,
    /// Compressed, BOM-prefixed, non-JSON-typed bodies (spec §10).
    pub check_packaging: bool,
    pub check_identical: bool,
    /// Both counting methods against the data (spec §7), for the filter
    /// cases (with `check_filters`).
    pub check_counts: bool,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions {
            traversal: DataSet {
                seed: 7,
                records: 300,
                distinct_timestamps: 37,
            },
            inserts: DataSet {
                seed: 11,
                records: 160,
                distinct_timestamps: 20,
            },
            insert_per_fetch: 2,
            small_budgets: DataSet {
                seed: 13,
                records: 120,
                distinct_timestamps: 15,
            },
            identical: DataSet {
                seed: 17,
                records: 60,
                distinct_timestamps: 20,
            },
            identical_copies: 250,
            check_traversal: true,
            check_inserts: true,
            check_small_budgets: true,
            check_filters: true,
            check_faults: true,
            check_packaging: true,
            check_identical: true,
            check_counts: true,
        }
    }
}

/// The `budget` of fetches that should never be cut short by it.
pub const LARGE_BUDGET: usize = 10_000;

const ORDERS: [Order; 2] = [Order::Desc, Order::Asc];

/// Runs the whole suite; panics with a precise message on the first
/// violation.
pub async fn run_conformance(factory: &dyn HarnessFactory) {
    run_conformance_with(factory, &ConformanceOptions::default()).await
}

/// Runs the parts of the suite `options` selects, on the data sets it names.
pub async fn run_conformance_with(factory: &dyn HarnessFactory, options: &ConformanceOptions) {
    if options.check_traversal
        || options.check_filters
        || options.check_faults
        || options.check_packaging
    {
        let harness = start(factory, options.traversal).await;
        if options.check_traversal {
            assert_traversals(&*harness).await;
        }
        if options.check_filters {
            assert_filters(&*harness).await;
        }
        if options.check_filters && options.check_counts {
            assert_counts(&*harness).await;
        }
        if options.check_faults {
            assert_fault_mapping(&*harness).await;
        }
        if options.check_packaging {
            assert_packaging(&*harness).await;
        }
    }
    if options.check_inserts {
        assert_inserts(factory, options).await;
    }
    if options.check_identical {
        identical::assert_identical_group(factory, options).await;
    }
    if options.check_small_budgets {
        let harness = start(factory, options.small_budgets).await;
        for order in ORDERS {
            for budget in [1, 5] {
                let query = pinned_query(Filters::default(), order);
                assert_traversal(&*harness, &Traversal::new(&query, 3, budget)).await;
            }
        }
        if options.check_filters {
            assert_sparse_progress(&*harness).await;
        }
    }
}

/// Unfiltered traversals in both orders at several page sizes, resumed
/// after part of a batch, two at once, and with `raw`.
async fn assert_traversals(harness: &dyn Harness) {
    for order in ORDERS {
        for want in [1, 7, 50, 1000] {
            let query = pinned_query(Filters::default(), order);
            assert_traversal(harness, &Traversal::new(&query, want, LARGE_BUDGET)).await;
        }
    }
    // The engine keeps part of a batch and resumes after it.
    for order in ORDERS {
        for want in [7, 50] {
            let query = pinned_query(Filters::default(), order);
            let mut traversal = Traversal::new(&query, want, LARGE_BUDGET);
            traversal.rewind = true;
            assert_traversal(harness, &traversal).await;
        }
    }
    // Two traversals at once on one adapter: no state may leak
    // from one into the other.
    let desc = pinned_query(Filters::default(), Order::Desc);
    let warn = Filters {
        min_level: Some(Level::Warn),
        ..Filters::default()
    };
    let asc = pinned_query(warn, Order::Asc);
    let mut first = Traversal::new(&desc, 7, LARGE_BUDGET);
    first.name = "interleaved traversal".into();
    let mut second = Traversal::new(&asc, 7, LARGE_BUDGET);
    second.name = "interleaved traversal".into();
    futures::future::join(
        assert_traversal(harness, &first),
        assert_traversal(harness, &second),
    )
    .await;
    // `raw` only when asked for, and then the upstream object.
    let mut query = pinned_query(Filters::default(), Order::Desc);
    query.include_raw = true;
    assert_traversal(harness, &Traversal::new(&query, 50, LARGE_BUDGET)).await;
}

/// Traversals with inserts landing between fetches.
async fn assert_inserts(factory: &dyn HarnessFactory, options: &ConformanceOptions) {
    for order in ORDERS {
        for want in [1, 7, 50] {
            // A fresh simulator each time: the inserts of one traversal
            // would otherwise swell the data of the next.
            let harness = start(factory, options.inserts).await;
            let query = pinned_query(Filters::default(), order);
            let mut traversal = Traversal::new(&query, want, LARGE_BUDGET);
            traversal.insert_per_fetch = options.insert_per_fetch;
            assert_traversal(&*harness, &traversal).await;
        }
    }
}

/// Starts a simulator and makes sure its data can test anything: about
/// the records asked for, with timestamps shared (ties) when asked for.
pub(crate) async fn start(factory: &dyn HarnessFactory, data: DataSet) -> Box<dyn Harness> {
    let harness = factory.start(data).await;
    let snapshot = harness.snapshot().await;
    let kind = harness.adapter().kind();
    let mut per_stamp: HashMap<i64, usize> = HashMap::new();
    for record in &snapshot {
        *per_stamp.entry(record.timestamp_ms).or_default() += 1;
    }
    let largest_tie = per_stamp.values().copied().max().unwrap_or(0);
    if snapshot.len() < data.records / 2 || snapshot.is_empty() {
        panic!(
            "conformance [{kind}] setup: the snapshot holds {} records for {data:?}; the \
             simulator must start with about `records` records",
            snapshot.len()
        );
    }
    if data.distinct_timestamps < data.records && largest_tie < 2 {
        panic!(
            "conformance [{kind}] setup: no two records share a timestamp for {data:?}; the \
             simulator must cap distinct timestamps at `distinct_timestamps`"
        );
    }
    harness
}

/// A mapping's outcome with the record's `raw` written again from its
/// parsed tree: two readings of one upstream object (from its text, from
/// a `Value`) then compare equal when their `raw` differs only in
/// spelling (key order, spaces, escapes), not in content.
pub fn raw_respelled(mapped: Result<LogRecord, String>) -> Result<LogRecord, String> {
    mapped.map(|mut record| {
        record.raw = record
            .raw
            .map(|raw| crate::RawJson::from_value(&raw.to_value()));
        record
    })
}
