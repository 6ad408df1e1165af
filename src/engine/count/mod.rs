//! Counts over time (spec §7), no HTTP in it: [`Engine::stats`] resolves
//! the sources, counts each one concurrently ([`source`]: total-count
//! pushdown or a budgeted ascending scan, [`scan`]) and folds the
//! per-source counts into series ([`series`]). [`params`] parses
//! `GET /logs/stats`.
//!
//! With the answer cache (spec §9, README "Counting and the cache"), a
//! count is judged as of its pin, as a `/logs` page is: the cache window
//! of every upstream request is capped at now rounded down to
//! `pin_rounding`, so a window ending after now (Grafana's end is the next
//! step) is answered from answers read at or after that pin, for
//! `fresh_ttl`, instead of never. And a window reaching into the last
//! `freshness_horizon` is cut at a settled boundary `S` ([`Counting`]):
//! `auto` weighs an estimate from the settled part's total ([`probe`]), and
//! a scan reads the settled part with the filters and the fresh part once
//! for every filter ([`scan`]).
//!
//! Buckets are half-open `[bucket start, bucket start + interval)`, aligned
//! to `start`; the last one ends at `end` (exclusive) and may be shorter.
//! What a source could not count (budget, deadline, failure) is reported
//! as its `covered` range and `reason`, never extrapolated: a series has a
//! point only for the buckets every source that feeds it covered.

mod choose;
pub mod params;
mod probe;
mod scan;
mod series;
mod source;
mod total;

use std::collections::BTreeMap;

use loggate_core::{Filters, Level};
use tokio::time::Instant;

use super::{Caller, Engine, EngineError};
pub use params::{parse_stats_query, StatsRequest};
pub use series::Series;
pub use source::{CountMethod, SourceCount};

/// Most buckets one request may ask for (spec §7).
pub const MAX_BUCKETS: usize = 1_000;

/// Most upstream requests one source may spend on total-count pushdown for
/// one request: a plan that needs more (buckets × groups) is answered 400
/// unless a scan is known to fit its budget.
pub const MAX_COUNT_REQUESTS: usize = 2_000;

/// The scan budget of counting, per source and request, as a multiple of
/// `server.scan_budget` (records).
pub const SCAN_BUDGET_FACTOR: usize = 10;

/// What a series is grouped by (`by`, up to two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    Level,
    Source,
    Provider,
    Service,
}

impl GroupBy {
    pub const ALL: [GroupBy; 4] = [
        GroupBy::Level,
        GroupBy::Source,
        GroupBy::Provider,
        GroupBy::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Level => "level",
            GroupBy::Source => "source",
            GroupBy::Provider => "provider",
            GroupBy::Service => "service",
        }
    }
}

/// The buckets of a request: `[start, end)` cut every `interval_ms` from
/// `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    /// Epoch ms, inclusive.
    pub start: i64,
    /// Epoch ms, exclusive.
    pub end: i64,
    pub interval_ms: i64,
}

impl Buckets {
    pub fn len(&self) -> usize {
        ((self.end - self.start + self.interval_ms - 1) / self.interval_ms) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// Start (inclusive) and end (exclusive) of bucket `i`.
    pub fn bounds(&self, i: usize) -> (i64, i64) {
        let from = self.start + i as i64 * self.interval_ms;
        (from, (from + self.interval_ms).min(self.end))
    }

    /// The bucket holding `ts`, if inside `[start, end)`.
    pub fn index(&self, ts: i64) -> Option<usize> {
        (self.start..self.end)
            .contains(&ts)
            .then(|| ((ts - self.start) / self.interval_ms) as usize)
    }

    /// How many leading buckets end at or before `ts` (exclusive bound):
    /// those a scan that has read everything before `ts` covered.
    pub fn covered_before(&self, ts: i64) -> usize {
        if ts >= self.end {
            return self.len();
        }
        (ts.saturating_sub(self.start).max(0) / self.interval_ms) as usize
    }
}

/// What the counts of every source of one request share.
#[derive(Debug, Clone, Copy)]
pub(super) struct Counting {
    /// Nothing is sent or waited for past it.
    pub deadline: Instant,
    /// Now rounded down to `pin_rounding` (epoch ms): no upstream answer
    /// read before it serves the count (the cache window's end is capped
    /// at it), as none serves a page pinned there.
    pub pin: i64,
    /// `Cache-Control: no-cache`: no stored upstream answer is used.
    pub no_cache: bool,
    /// `S` (epoch ms, exclusive end of the settled part): `now −
    /// freshness_horizon` rounded down to `settled_grid` (or to the
    /// minute without it), when the cache is on, `no_cache` is not asked
    /// and `start < S < end`; `None` otherwise.
    pub settled_until: Option<i64>,
}

/// The grid of `S` without `settled_grid` (ms).
const SETTLED_STEP_MS: i64 = 60_000;

impl Counting {
    fn new(engine: &Engine, buckets: Buckets, no_cache: bool, deadline: Instant) -> Self {
        let now = loggate_core::time::now_ms();
        let step = engine
            .settings
            .split
            .map_or(SETTLED_STEP_MS, |grid| grid.grid_ms);
        let settled_until = engine
            .settings
            .freshness_horizon
            .filter(|_| !no_cache)
            .map(|horizon| {
                let settled = now.saturating_sub(horizon.as_millis() as i64);
                settled.div_euclid(step) * step
            })
            .filter(|s| (buckets.start + 1..buckets.end).contains(s));
        Counting {
            deadline,
            pin: super::pinned_now(engine.settings.pin_rounding),
            no_cache,
            settled_until,
        }
    }
}

/// A group's values in `by` order (`None`: a record without a service).
pub type GroupKey = Vec<Option<String>>;

/// The answer of `GET /logs/stats`.
#[derive(Debug)]
pub struct Stats {
    pub buckets: Buckets,
    pub by: Vec<GroupBy>,
    pub series: Vec<Series>,
    /// Every source covered every bucket.
    pub complete: bool,
    pub sources: BTreeMap<String, SourceCount>,
    /// Human-readable notes (sources that failed, ran out of budget or
    /// skipped unreadable records).
    pub warnings: Vec<String>,
}

impl Engine {
    /// Serves `GET /logs/stats`: each source counted concurrently under
    /// one deadline; fails only when every source failed outright.
    pub async fn stats(
        &self,
        request: StatsRequest,
        caller: &Caller,
    ) -> Result<Stats, EngineError> {
        let deadline = Instant::now() + self.settings.request_timeout;
        let names = self.resolve_sources(request.sources.as_deref(), caller)?;
        let base = base_filters(&request.filters, request.buckets);
        let counting = Counting::new(self, request.buckets, request.no_cache, deadline);
        let plans = names.iter().map(|name| {
            let source = &self.sources[name];
            self.count_source(source, &base, &request, counting)
        });
        let counts = futures::future::join_all(plans).await;
        let mut sources = BTreeMap::new();
        for (name, count) in names.into_iter().zip(counts) {
            sources.insert(name, count?);
        }
        // Fails only when every source failed before covering anything.
        let failures: Vec<(&str, &loggate_core::SourceError)> = sources
            .iter()
            .filter(|(_, c)| c.covered == 0)
            .filter_map(|(name, c)| Some((name.as_str(), c.failure.as_ref()?)))
            .collect();
        if !sources.is_empty() && failures.len() == sources.len() {
            return Err(super::page::page_error(&failures));
        }
        Ok(series::assemble(request, sources))
    }

    /// The requested sources (default: every source the key may read),
    /// each configured and readable by the key.
    pub(crate) fn resolve_sources(
        &self,
        names: Option<&[String]>,
        caller: &Caller,
    ) -> Result<Vec<String>, EngineError> {
        let names: Vec<String> = match names {
            Some(names) => names.to_vec(),
            None => self
                .sources
                .keys()
                .filter(|name| caller.may_read(name))
                .cloned()
                .collect(),
        };
        for name in &names {
            if !self.sources.contains_key(name) {
                return Err(EngineError::UnknownSource(name.clone()));
            }
            if !caller.may_read(name) {
                return Err(EngineError::Forbidden(name.clone()));
            }
        }
        Ok(names)
    }
}

/// The client's filters over the whole window: `start`, and `end − 1 ms`
/// as the inclusive bound [`Filters`] carries.
fn base_filters(filters: &Filters, buckets: Buckets) -> Filters {
    let mut base = filters.clone();
    base.start = Some(buckets.start);
    base.end = Some(buckets.end - 1);
    base
}

/// The levels a level-grouped count splits into: the filter's, or all.
fn split_levels(filters: &Filters) -> Vec<Level> {
    filters
        .levels()
        .map_or_else(|| Level::ALL.to_vec(), |set| set.iter().collect())
}

#[cfg(test)]
mod tests;
