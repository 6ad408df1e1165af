//! Metric queries counted by the counting engine (`Engine::stats`, spec
//! §7) instead of by reading entries: each source counted by total-count
//! pushdown (one small request per bucket × group) or its budgeted scan,
//! whichever `auto` picks.
//!
//! Served this way: `count_over_time` and `rate` of a log query whose plan
//! is exact ([`LogPlan::exact`]: no line filter, nothing the gateway would
//! have to re-check), summed (`sum`) by labels among `level`,
//! `detected_level`, `source` and `provider` — Grafana's volume queries
//! `sum by (level, detected_level) (count_over_time({...} | drop __error__
//! [step]))` and `sum by (level) (count_over_time({...}[step]))`, and an
//! alert rule's `sum(count_over_time({source="app", level="error"}[5m]))`.
//! Everything else (`bytes_over_time`, line filters, per-stream answers,
//! `count`, more than [`MAX_BUCKETS`] buckets) is evaluated by reading
//! entries ([`super::metric`]).
//!
//! Buckets are `gcd(step, range)` wide and start at `first − offset −
//! range`, `first` being aligned to `step`: a bucket's bounds depend on the
//! step, range and offset only, never on the query's `start`, so the
//! total-count request of a settled bucket is the same native request on
//! every dashboard refresh and the upstream answer cache (spec §9) serves
//! it. Each evaluation time `t` sums the buckets of its window `[t − offset
//! − range, t − offset)` in milliseconds. Loki's window is `(t − offset −
//! range, t − offset]` in nanoseconds; loggate's entry nanoseconds are the
//! record's millisecond plus a tie-break in `[0, 10⁶)` (spec §6), so the
//! two differ only for a record at a window's edge millisecond whose
//! tie-break is exactly 0 (one in a million).

use std::collections::BTreeMap;

use super::metric::{Evaluated, SeriesOut};
use super::params::{Nanos, MS};
use super::LokiError;
use crate::engine::count::{Buckets, GroupBy, Stats, StatsRequest, MAX_BUCKETS};
use crate::engine::{Caller, EngineError};
use crate::http::AppState;
use crate::logql::labels::STREAM_LABELS;
use crate::logql::metric::{MetricQuery, RangeOp, VectorOp};
use crate::logql::plan::LogPlan;

/// How a metric query is cut into the counting engine's buckets.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CountPlan {
    pub request: StatsRequest,
    /// The kept labels of each `by` entry: `level` may stand for both
    /// `level` and `detected_level`.
    pub labels: Vec<(GroupBy, Vec<&'static str>)>,
    /// Buckets per evaluation step and per window.
    pub per_step: usize,
    pub per_window: usize,
    /// Evaluation times.
    pub n: usize,
    pub range_seconds: f64,
    pub per_second: bool,
}

/// The labels an aggregation keeps of the stream labels.
fn kept_labels(query: &MetricQuery<'_>) -> Option<Vec<&'static str>> {
    let (op, grouping) = query.aggregation?;
    if op != VectorOp::Sum {
        return None;
    }
    Some(
        STREAM_LABELS
            .into_iter()
            .filter(|label| match grouping {
                None => false,
                Some(g) => g.labels.iter().any(|l| l == label) != g.without,
            })
            .collect(),
    )
}

/// The counting plan of `query` at `first + k * step` for `k < n` (`step`
/// 0: one instant), or `None` when it must be evaluated by reading entries.
pub(super) fn count_plan(
    plan: &LogPlan,
    query: &MetricQuery<'_>,
    (first, step, n): (Nanos, Nanos, usize),
) -> Option<CountPlan> {
    if !plan.exact || plan.sources.is_empty() || n == 0 {
        return None;
    }
    if !matches!(query.op, RangeOp::CountOverTime | RangeOp::Rate) {
        return None;
    }
    let kept = kept_labels(query)?;
    let mut labels: Vec<(GroupBy, Vec<&'static str>)> = Vec::new();
    for label in kept {
        let by = match label {
            "level" | "detected_level" => GroupBy::Level,
            "source" => GroupBy::Source,
            "provider" => GroupBy::Provider,
            _ => return None,
        };
        match labels.iter_mut().find(|(g, _)| *g == by) {
            Some((_, names)) => names.push(label),
            None => labels.push((by, vec![label])),
        }
    }
    // Whole milliseconds only (the engine's time unit).
    if first.rem_euclid(MS) != 0 || step.rem_euclid(MS) != 0 || query.range_ms <= 0 {
        return None;
    }
    let first_ms = i64::try_from(first / MS).ok()?;
    let step_ms = i64::try_from(step / MS).ok()?;
    let width = if step_ms == 0 {
        query.range_ms
    } else {
        gcd(step_ms, query.range_ms)
    };
    let start = first_ms - query.offset_ms - query.range_ms;
    let end = first_ms + step_ms * (n as i64 - 1) - query.offset_ms;
    let buckets = Buckets {
        start,
        end,
        interval_ms: width,
    };
    if buckets.len() > MAX_BUCKETS {
        return None;
    }
    let request = StatsRequest {
        sources: Some(plan.sources.clone()),
        filters: plan.filters.clone(),
        buckets,
        interval: format!("{width}ms"),
        by: labels.iter().map(|(g, _)| *g).collect(),
        method: None,
        no_cache: false,
    };
    Some(CountPlan {
        request,
        labels,
        per_step: (step_ms / width) as usize,
        per_window: (query.range_ms / width) as usize,
        n,
        range_seconds: query.range_ms as f64 / 1000.0,
        per_second: query.op.per_second(),
    })
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Counts `query` through the counting engine when [`count_plan`] allows;
/// `None`: evaluate it by reading entries. A request the counting engine
/// refuses as too costly (its per-request budget) is also left to reading
/// entries, which has a bound of its own.
pub(super) async fn evaluate_counted(
    state: &AppState,
    caller: &Caller,
    plan: &LogPlan,
    query: &MetricQuery<'_>,
    times: (Nanos, Nanos, usize),
) -> Result<Option<Evaluated>, LokiError> {
    let Some(count) = count_plan(plan, query, times) else {
        return Ok(None);
    };
    match state.engine.stats(count.request.clone(), caller).await {
        Ok(stats) => Ok(Some(samples(&count, stats))),
        Err(EngineError::InvalidParameter { .. }) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The samples of each series: at evaluation time `k`, the sum of the
/// buckets of its window when every one was covered and the sum is not 0
/// (Loki has a sample only where an entry lies in the window).
pub(super) fn samples(count: &CountPlan, stats: Stats) -> Evaluated {
    let mut series = Vec::new();
    // Evaluation times whose window every source covered.
    let covered = stats.sources.values().map(|c| c.covered).min();
    let mut usable = covered.map_or(count.n, |c| {
        (0..count.n)
            .take_while(|k| k * count.per_step + count.per_window <= c)
            .count()
    });
    for s in &stats.series {
        let labels: BTreeMap<String, String> = s
            .group
            .iter()
            .zip(&count.labels)
            .flat_map(|((by, value), (_, names))| {
                let value = match by {
                    GroupBy::Level => value.as_deref().unwrap_or("").to_ascii_lowercase(),
                    _ => value.clone().unwrap_or_default(),
                };
                names
                    .iter()
                    .map(move |name| (name.to_string(), value.clone()))
            })
            .collect();
        let covered = s.points.len();
        let mut out = Vec::new();
        for k in 0..count.n {
            let from = k * count.per_step;
            let to = from + count.per_window;
            if to > covered {
                usable = usable.min(k);
                break;
            }
            let sum: u64 = s.points[from..to].iter().map(|(_, c)| c).sum();
            if sum > 0 {
                let value = if count.per_second {
                    sum as f64 / count.range_seconds
                } else {
                    sum as f64
                };
                out.push((k, value));
            }
        }
        if !out.is_empty() {
            series.push(SeriesOut {
                labels,
                samples: out,
            });
        }
    }
    series.sort_by(|a, b| a.labels.cmp(&b.labels));
    let mut warnings = stats.warnings;
    if !stats.complete {
        warnings.push(format!(
            "loggate could not count every source over the whole range; samples after {usable} of {} evaluation times are left out rather than undercounted",
            count.n
        ));
    }
    Evaluated {
        series,
        warnings,
        scanned: 0,
    }
}

#[cfg(test)]
mod tests;
