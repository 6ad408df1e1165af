//! Counting one source (spec §7): the plan (total-count pushdown per
//! bucket × group where the adapter counts every filter and the grouping
//! exactly, else a budgeted ascending scan through [`Adapter::fetch`]),
//! then its run under the request's deadline. Every upstream request goes
//! through the source's client, so its rate limit and concurrency cap hold,
//! and its circuit breaker, health and metrics ([`super::total`]).
//!
//! [`Adapter::fetch`]: loggate_core::Adapter::fetch

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::StreamExt;
use loggate_core::http::MIN_SEND_WINDOW;
use loggate_core::{Filters, Level, Order, Position, SourceError, SourceQuery};
use tokio::time::Instant;

use super::choose::{capacity, prefers_pushdown, Weights, PUSHDOWN_CONCURRENCY};
use super::{split_levels, GroupBy, GroupKey, StatsRequest, MAX_COUNT_REQUESTS};
use super::{MAX_BUCKETS, SCAN_BUDGET_FACTOR};
use crate::engine::page::FetchLimits;
use crate::engine::{Engine, EngineError, Source};

/// How a source was counted (`method`; `auto` in a request picks one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CountMethod {
    /// The provider's total-count field, one request per bucket × group.
    Pushdown,
    /// Records read through the adapter, ascending, and counted.
    Scan,
}

/// What one source counted.
#[derive(Debug)]
pub struct SourceCount {
    pub kind: &'static str,
    pub method: CountMethod,
    /// False when the scan skipped unreadable upstream records.
    pub exact: bool,
    pub upstream_requests: u32,
    /// Leading buckets counted completely (coverage is always a prefix:
    /// both methods go forward in time).
    pub covered: usize,
    /// Why not every bucket was covered.
    pub reason: Option<String>,
    /// The failure that stopped the count.
    pub failure: Option<SourceError>,
    /// Counts per group (every `by` value, the source's own included), one
    /// per bucket.
    pub counts: BTreeMap<GroupKey, Vec<u64>>,
    /// Unreadable upstream records a scan skipped.
    pub skipped: usize,
}

impl SourceCount {
    fn new(kind: &'static str, method: CountMethod) -> Self {
        SourceCount {
            kind,
            method,
            exact: true,
            upstream_requests: 0,
            covered: 0,
            reason: None,
            failure: None,
            counts: BTreeMap::new(),
            skipped: 0,
        }
    }

    fn add(&mut self, key: GroupKey, bucket: usize, n: u64, buckets: usize) {
        let row = self.counts.entry(key).or_insert_with(|| vec![0; buckets]);
        row[bucket] += n;
    }

    fn fail(&mut self, error: SourceError) {
        self.reason = Some(match &error {
            SourceError::DeadlineExceeded | SourceError::Timeout(_) => {
                "the request deadline passed".to_string()
            }
            other => format!("failed ({}): {other}", other.code()),
        });
        if !matches!(error, SourceError::DeadlineExceeded) {
            self.failure = Some(error);
        }
    }
}

/// A group's key for a record or a pushdown split of source `source`.
fn key_of(by: &[GroupBy], source: &Source, level: Level, service: Option<&str>) -> GroupKey {
    by.iter()
        .map(|g| match g {
            GroupBy::Level => Some(level.as_str().to_string()),
            GroupBy::Source => Some(source.name.to_string()),
            GroupBy::Provider => Some(source.kind.to_string()),
            GroupBy::Service => service.map(str::to_string),
        })
        .collect()
}

/// The filters of a pushdown split (one per level when grouping by level)
/// with a representative level for its key; `None` when the grouping
/// cannot be pushed (by `service` without a `service` filter) or the
/// adapter cannot count a split exactly.
fn pushdown_splits(
    source: &Source,
    base: &Filters,
    by: &[GroupBy],
) -> Option<Vec<(Filters, Level)>> {
    if by.contains(&GroupBy::Service) && base.service.is_none() {
        return None;
    }
    let splits: Vec<(Filters, Level)> = if by.contains(&GroupBy::Level) {
        split_levels(base)
            .into_iter()
            .map(|level| {
                let mut f = base.clone();
                f.level = Some([level].into_iter().collect());
                f.min_level = None;
                (f, level)
            })
            .collect()
    } else {
        vec![(base.clone(), Level::Info)]
    };
    splits
        .iter()
        .all(|(f, _)| source.adapter.counts_exactly(f))
        .then_some(splits)
}

impl Engine {
    /// Counts one source over every bucket: see the module docs.
    pub(super) async fn count_source(
        &self,
        source: &Source,
        base: &Filters,
        request: &StatsRequest,
        deadline: Instant,
    ) -> Result<SourceCount, EngineError> {
        let by = &request.by;
        let splits = match request.method {
            Some(CountMethod::Scan) => None,
            _ => pushdown_splits(source, base, by),
        };
        let Some(splits) = splits else {
            if request.method == Some(CountMethod::Pushdown) {
                return Err(EngineError::invalid(
                    "method",
                    format!(
                        "source {:?} cannot count these filters and this grouping exactly from its totals; use method=scan or auto",
                        &*source.name
                    ),
                ));
            }
            return Ok(self.count_by_scan(source, base, request, deadline).await);
        };
        if base.is_unsatisfiable() {
            let mut out = SourceCount::new(source.kind, CountMethod::Pushdown);
            out.covered = request.buckets.len();
            return Ok(out);
        }
        let cells = splits.len() * request.buckets.len();
        if request.method == Some(CountMethod::Pushdown) && cells > MAX_COUNT_REQUESTS {
            return Err(budget_error(source, cells));
        }
        // One total of the whole window: all zero costs nothing more, and
        // it tells what a scan would cost.
        let asked = Instant::now();
        let probe = self
            .count_total(source, base, deadline, request.no_cache)
            .await;
        let latency = asked.elapsed();
        let probe_requests = probe.requests;
        let total = match probe.result {
            Ok(Some(total)) => total,
            Ok(None) if request.method.is_none() => {
                let mut out = self.count_by_scan(source, base, request, deadline).await;
                out.upstream_requests += probe_requests;
                return Ok(out);
            }
            other => return Ok(probe_failed(source, other.err(), probe_requests)),
        };
        let weights = Weights {
            total,
            cells,
            scan_budget: self.count_scan_budget(),
            capacity: capacity(source, deadline, latency),
        };
        if !prefers_pushdown(request.method, weights) {
            let mut out = self.count_by_scan(source, base, request, deadline).await;
            out.upstream_requests += probe_requests;
            return Ok(out);
        }
        if cells > MAX_COUNT_REQUESTS && total > 0 {
            return Err(budget_error(source, cells));
        }
        let mut out = SourceCount::new(source.kind, CountMethod::Pushdown);
        out.upstream_requests = probe_requests;
        if total == 0 {
            out.covered = request.buckets.len();
            return Ok(out);
        }
        self.run_pushdown(source, &splits, request, deadline, &mut out)
            .await;
        Ok(out)
    }

    /// Records one counting scan may read from one source.
    pub(super) fn count_scan_budget(&self) -> usize {
        self.settings.scan_budget.saturating_mul(SCAN_BUDGET_FACTOR)
    }

    /// One total per bucket × split, ascending, a few in flight; the first
    /// failure ends the count at its bucket.
    async fn run_pushdown(
        &self,
        source: &Source,
        splits: &[(Filters, Level)],
        request: &StatsRequest,
        deadline: Instant,
        out: &mut SourceCount,
    ) {
        let buckets = request.buckets;
        let n = buckets.len();
        let cells = (0..n).flat_map(|b| (0..splits.len()).map(move |s| (b, s)));
        let mut answers = futures::stream::iter(cells)
            .map(|(b, s)| {
                let (from, to) = buckets.bounds(b);
                let mut filters = splits[s].0.clone();
                filters.start = Some(from);
                filters.end = Some(to - 1);
                async move {
                    if Instant::now() + MIN_SEND_WINDOW >= deadline {
                        return (b, s, Err(SourceError::DeadlineExceeded), 0);
                    }
                    let total = self
                        .count_total(source, &filters, deadline, request.no_cache)
                        .await;
                    (b, s, total.result, total.requests)
                }
            })
            .buffered(PUSHDOWN_CONCURRENCY);
        let service = request.filters.service.as_deref();
        while let Some((b, s, result, requests)) = answers.next().await {
            out.upstream_requests += requests;
            match result {
                Ok(Some(count)) => {
                    let key = key_of(&request.by, source, splits[s].1, service);
                    out.add(key, b, count, n);
                    if s + 1 == splits.len() {
                        out.covered = b + 1;
                    }
                }
                Ok(None) => {
                    out.reason = Some("the provider's answer carried no total".into());
                    return;
                }
                Err(error) => {
                    out.fail(error);
                    return;
                }
            }
        }
    }

    /// Reads the window ascending through the adapter and counts each
    /// record into its bucket and group, within the scan budget and the
    /// deadline.
    async fn count_by_scan(
        &self,
        source: &Source,
        base: &Filters,
        request: &StatsRequest,
        deadline: Instant,
    ) -> SourceCount {
        let buckets = request.buckets;
        let n = buckets.len();
        let mut out = SourceCount::new(source.kind, CountMethod::Scan);
        if base.is_unsatisfiable() {
            out.covered = n;
            return out;
        }
        let query = Arc::new(SourceQuery {
            filters: base.clone(),
            order: Order::Asc,
            include_raw: false,
        });
        let limits = FetchLimits {
            deadline,
            no_cache: request.no_cache,
        };
        let budget = self.count_scan_budget();
        let mut position = Position::start();
        let mut scanned = 0usize;
        loop {
            if Instant::now() + MIN_SEND_WINDOW >= deadline {
                out.reason = Some("the request deadline passed".into());
                break;
            }
            if scanned >= budget {
                out.reason = Some(format!(
                    "the count's scan budget of {budget} upstream records ran out"
                ));
                break;
            }
            let left = budget - scanned;
            let fetched = self
                .fetch_one(source, position.clone(), &query, left, left, limits)
                .await;
            out.upstream_requests += fetched.ctx.requests();
            let batch = match fetched.result {
                Ok(batch) => batch.force(|reason| fetched.ctx.note_skipped(&reason)),
                Err(error) => {
                    out.fail(error);
                    break;
                }
            };
            scanned += batch.scanned;
            out.skipped += batch.skipped;
            for record in batch.records.iter().filter(|r| base.matches(r)) {
                if let Some(b) = buckets.index(record.timestamp_ms) {
                    let key = key_of(&request.by, source, record.level, record.service.as_deref());
                    out.add(key, b, 1, n);
                }
            }
            position = batch.frontier;
            if position.done {
                break;
            }
        }
        out.covered = if position.done {
            n
        } else {
            position
                .bound_ts()
                .map_or(0, |ts| buckets.covered_before(ts))
        };
        out.exact = out.skipped == 0;
        out
    }
}

/// The count of a source whose whole-window total failed (`error`) or
/// carried no total (`None`).
fn probe_failed(source: &Source, error: Option<SourceError>, requests: u32) -> SourceCount {
    let mut out = SourceCount::new(source.kind, CountMethod::Pushdown);
    out.upstream_requests = requests;
    match error {
        Some(error) => out.fail(error),
        None => out.reason = Some("the provider's answer carried no total".into()),
    }
    out
}

fn budget_error(source: &Source, cells: usize) -> EngineError {
    EngineError::invalid(
        "interval",
        format!(
            "counting source {:?} needs {cells} upstream requests (buckets × groups), more than its budget of {MAX_COUNT_REQUESTS} per request, and its records are too many to scan; use a larger interval, a shorter window or fewer groups (at most {MAX_BUCKETS} buckets)",
            &*source.name
        ),
    )
}
