//! Counts over time (spec §7), no HTTP in it: [`Engine::stats`] resolves
//! the sources, counts each one concurrently ([`source`]: total-count
//! pushdown or a budgeted ascending scan) and folds the per-source counts
//! into series ([`series`]). [`params`] parses `GET /logs/stats`.
//!
//! Buckets are half-open `[bucket start, bucket start + interval)`, aligned
//! to `start`; the last one ends at `end` (exclusive) and may be shorter.
//! What a source could not count (budget, deadline, failure) is reported
//! as its `covered` range and `reason`, never extrapolated: a series has a
//! point only for the buckets every source that feeds it covered.

mod choose;
pub mod params;
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
        let plans = names.iter().map(|name| {
            let source = &self.sources[name];
            self.count_source(source, &base, &request, deadline)
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
