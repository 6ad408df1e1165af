//! Following one query from the start to the end through an adapter,
//! checking every batch against the fetch contract as it arrives, and
//! comparing the whole with the reference matcher over a snapshot.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use serde_json::Value;
use tokio::time::Instant;

use super::report::{describe, difference, panic_text, show_key, show_keys};
use super::Harness;
use crate::adapter::{Adapter, Batch, FetchRequest};
use crate::http::CallContext;
use crate::position::Position;
use crate::query::{Filters, Order, SourceQuery};
use crate::record::{cmp_in_order, sort_records, Key, LogRecord};
use crate::time::now_ms;

/// Consecutive fetches that may return nothing and leave the position
/// unchanged before the traversal counts as stuck.
const MAX_STALLS: usize = 3;

/// The context of an ordinary fetch: a deadline far enough away that only
/// a hung adapter reaches it.
pub fn normal_ctx() -> CallContext {
    CallContext::new(Instant::now() + Duration::from_secs(30))
}

/// `filters` as the engine hands them to an adapter at the start of a
/// traversal: `end` pinned to now (or kept when the client's is earlier).
pub fn pinned_query(filters: Filters, order: Order) -> SourceQuery {
    let now = now_ms();
    let mut filters = filters;
    filters.end = Some(filters.end.map_or(now, |end| end.min(now)));
    SourceQuery {
        filters,
        order,
        include_raw: false,
    }
}

/// What a traversal of `query` must yield over `snapshot`: the matching
/// records in traversal order, without `raw`.
pub fn reference(snapshot: &[LogRecord], query: &SourceQuery) -> Vec<LogRecord> {
    let mut records: Vec<LogRecord> = snapshot
        .iter()
        .filter(|r| query.filters.matches(r))
        .map(|r| LogRecord {
            raw: None,
            ..r.clone()
        })
        .collect();
    sort_records(&mut records, query.order);
    records
}

/// One traversal to drive: the query, the fetch sizes, and how many
/// records to write upstream after each fetch.
#[derive(Debug, Clone)]
pub struct Traversal<'a> {
    pub query: &'a SourceQuery,
    pub want: usize,
    pub budget: usize,
    /// Records written with `Harness::insert_new` after every fetch
    /// (only [`assert_traversal`] does that; it has the harness).
    pub insert_per_fetch: usize,
    /// Resume like the engine does when a page fills up mid-batch: keep
    /// only the first half of each batch of two or more records, and
    /// continue from `Position::after(last kept, hint of the position the
    /// batch was fetched from)`, re-fetching the rest.
    pub rewind: bool,
    /// A name for messages (the order, sizes and filters are added).
    pub name: String,
}

impl<'a> Traversal<'a> {
    pub fn new(query: &'a SourceQuery, want: usize, budget: usize) -> Self {
        Traversal {
            query,
            want,
            budget,
            insert_per_fetch: 0,
            rewind: false,
            name: String::from("traversal"),
        }
    }

    fn label(&self, kind: &str) -> String {
        let mut label = format!(
            "conformance [{kind}] {} (order={} want={} budget={}",
            self.name,
            self.query.order.as_str(),
            self.want,
            self.budget
        );
        if self.insert_per_fetch > 0 {
            let _ = write!(label, " inserting {} per fetch", self.insert_per_fetch);
        }
        if self.rewind {
            label.push_str(" rewinding like the engine");
        }
        if self.query.include_raw {
            label.push_str(" include_raw");
        }
        let _ = write!(label, ", {})", describe(&self.query.filters));
        label
    }
}

/// Follows `query` from `Position::start()` until `next.done`, checking
/// each batch (records strictly after the position, in order, matching,
/// covered by `next`; progress), and returns every record, in order.
pub async fn traverse(
    adapter: &dyn Adapter,
    query: &SourceQuery,
    want: usize,
    budget: usize,
) -> Vec<LogRecord> {
    drive(
        adapter,
        &Traversal::new(query, want, budget),
        None,
        None,
        20_000,
    )
    .await
}

/// Takes a snapshot, follows the traversal through the harness's adapter
/// (inserting between fetches if asked), and asserts it yields exactly the
/// reference over the snapshot; also that no `next` ever passes a matching
/// record not yet returned. Returns the records.
pub async fn assert_traversal(harness: &dyn Harness, traversal: &Traversal<'_>) -> Vec<LogRecord> {
    let adapter = harness.adapter();
    let label = traversal.label(adapter.kind());
    let snapshot = harness.snapshot().await;
    check_unique_keys(&snapshot, &label);
    let expected = reference(&snapshot, traversal.query);
    let inserts = (traversal.insert_per_fetch > 0).then_some(harness);
    let max_fetches = 8 * (snapshot.len() + 16);
    let got = drive(&*adapter, traversal, Some(&expected), inserts, max_fetches).await;
    if let Some(problem) = difference(&got, &expected) {
        panic!("{label}: {problem}");
    }
    got
}

fn check_unique_keys(snapshot: &[LogRecord], label: &str) {
    let mut keys = HashSet::new();
    for record in snapshot {
        if !keys.insert(record.key()) {
            panic!(
                "{label}: the snapshot holds two records with key {}; native ids must be unique \
                 within a source, or no traversal can tell them apart",
                show_key(&record.key())
            );
        }
    }
}

async fn drive(
    adapter: &dyn Adapter,
    traversal: &Traversal<'_>,
    expected: Option<&[LogRecord]>,
    inserts: Option<&dyn Harness>,
    max_fetches: usize,
) -> Vec<LogRecord> {
    let label = traversal.label(adapter.kind());
    let query = traversal.query;
    let order = query.order;
    let expected_keys: Vec<Key> = expected
        .unwrap_or_default()
        .iter()
        .map(LogRecord::key)
        .collect();
    let mut position = Position::start();
    let mut returned: Vec<LogRecord> = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut stalls = 0;
    for fetch in 1.. {
        if fetch > max_fetches {
            panic!(
                "{label}: no end after {max_fetches} fetches ({} records returned, position {position:?})",
                returned.len()
            );
        }
        let ctx = normal_ctx();
        let request = FetchRequest {
            query,
            position: &position,
            want: traversal.want,
            budget: traversal.budget,
            ctx: &ctx,
        };
        let batch = fetch_caught(adapter, request, &label, fetch).await;
        let at = format!("{label}: fetch {fetch} from {position:?}");
        if batch.scanned < batch.records.len() {
            panic!(
                "{at}: returned {} records but reports scanning only {} upstream records",
                batch.records.len(),
                batch.scanned
            );
        }
        let mut fetched =
            check_records(&at, batch.records, &position, &batch.frontier, query, &seen);
        check_frontier(&at, &batch.frontier, &expected_keys, &seen, &fetched, order);
        if fetched.is_empty() && batch.frontier == position {
            stalls += 1;
            if stalls >= MAX_STALLS {
                panic!("{at}: {MAX_STALLS} fetches in a row returned nothing and did not move the position");
            }
        } else {
            stalls = 0;
        }
        if let Some(harness) = inserts {
            harness.insert_new(traversal.insert_per_fetch).await;
        }
        let mut next = batch.frontier;
        if traversal.rewind && fetched.len() >= 2 {
            fetched.truncate(fetched.len().div_ceil(2));
            if let Some(last) = fetched.last() {
                next = Position::after(last.key(), position.hint);
            }
        }
        seen.extend(fetched.iter().map(LogRecord::key));
        returned.extend(fetched);
        if next.done {
            break;
        }
        position = next;
    }
    returned
}

/// One fetch; an error or a panic fails the traversal naming the fetch.
/// Every other fetch goes through [`Adapter::fetch_lazy`], forced (what
/// the engine's pages use, issue 13): its records must be those `fetch`
/// returns, so both paths meet every check of the traversal.
async fn fetch_caught(
    adapter: &dyn Adapter,
    request: FetchRequest<'_>,
    label: &str,
    fetch: usize,
) -> Batch {
    let position = request.position.clone();
    let fetched = async {
        if fetch.is_multiple_of(2) {
            let batch = adapter.fetch_lazy(request).await?;
            Ok(batch.force(|reason| request.ctx.note_skipped(&reason)))
        } else {
            adapter.fetch(request).await
        }
    };
    match AssertUnwindSafe(fetched).catch_unwind().await {
        Ok(Ok(batch)) => batch,
        Ok(Err(e)) => panic!("{label}: fetch {fetch} from {position:?} failed: {e} ({e:?})"),
        Err(cause) => panic!(
            "{label}: fetch {fetch} from {position:?}: the adapter panicked: {}",
            panic_text(&cause)
        ),
    }
}

/// Checks one batch's records against the position read from, the
/// frontier returned, the query and what was returned before; returns them
/// with `raw` taken out.
fn check_records(
    at: &str,
    records: Vec<LogRecord>,
    position: &Position,
    frontier: &Position,
    query: &SourceQuery,
    seen: &HashSet<Key>,
) -> Vec<LogRecord> {
    let order = query.order;
    let mut previous: Option<Key> = None;
    let mut fetched: Vec<LogRecord> = Vec::with_capacity(records.len());
    for mut record in records {
        let key = record.key();
        let shown = show_key(&key);
        if position.covers(&key, order) {
            panic!("{at}: returned {shown}, which that position already covers");
        }
        if let Some(prev) = &previous {
            if cmp_in_order(prev, &key, order).is_ge() {
                panic!(
                    "{at}: records out of {} order: {} then {shown}",
                    order.as_str(),
                    show_key(prev)
                );
            }
        }
        if !frontier.covers(&key, order) {
            panic!("{at}: next {:?} does not cover returned {shown}", frontier);
        }
        if !query.filters.matches(&record) {
            panic!("{at}: returned {shown}, which does not match the filters: {record:?}");
        }
        if seen.contains(&key) {
            panic!("{at}: returned {shown} a second time");
        }
        match (
            query.include_raw,
            record.raw.take().map(|raw| raw.to_value()),
        ) {
            (true, Some(Value::Object(_))) | (false, None) => {}
            (true, other) => {
                panic!("{at}: include_raw is set but {shown} has raw {other:?}, not an object")
            }
            (false, Some(_)) => panic!("{at}: {shown} carries raw although include_raw is off"),
        }
        previous = Some(key);
        fetched.push(record);
    }
    fetched
}

/// The frontier may pass only what was returned, and never move back.
fn check_frontier(
    at: &str,
    frontier: &Position,
    expected_keys: &[Key],
    seen: &HashSet<Key>,
    fetched: &[LogRecord],
    order: Order,
) {
    let fetched_keys: HashSet<Key> = fetched.iter().map(LogRecord::key).collect();
    // The frontier may pass only what was returned: every matching
    // record still pending must sort strictly after `next`.
    let skipped: Vec<&Key> = expected_keys
        .iter()
        .filter(|k| !seen.contains(*k) && !fetched_keys.contains(*k))
        .filter(|k| frontier.covers(k, order))
        .collect();
    if !skipped.is_empty() {
        panic!(
            "{at}: next {:?} passes {} matching record(s) never returned (they would be lost): {}",
            frontier,
            skipped.len(),
            show_keys(skipped.into_iter())
        );
    }
    // Nor may it move back: what was done stays done.
    let undone: Vec<&Key> = seen.iter().filter(|k| !frontier.covers(k, order)).collect();
    if !undone.is_empty() {
        panic!(
            "{at}: next {:?} moves back: it no longer covers {} record(s) returned earlier \
             (they would be returned again): {}",
            frontier,
            undone.len(),
            show_keys(undone.into_iter())
        );
    }
}
