//! Evaluating the metric queries of [`crate::logql::metric`] (spec §7) at
//! evaluation times `t`: each sample counts the entries (or line bytes) of
//! its stream in the left-open window `(t - offset - range, t - offset]`,
//! as Loki does; a stream has a sample at `t` only when an entry lies in
//! the window. `sum`/`count` then fold the streams by their labels
//! (`by`: only those kept; `without`: those dropped).
//!
//! Queries the counting engine can count exactly (Grafana's volume
//! queries, alert rules) are counted there ([`super::counted`]); the
//! others' entries are read once, oldest first, through the same scan as log
//! queries (every selector and filter pushed down as for `/logs`). A scan
//! stopped by its bound leaves out the evaluation times it did not fully
//! read, and says so in `warnings`: a sample is never an undercount.

use std::collections::{BTreeMap, HashMap};

use super::counted::evaluate_counted;
use super::params::{Nanos, MS};
use super::scan::{scan, ScanSpec};
use super::{readable, LokiError};
use crate::engine::Caller;
use crate::http::AppState;
use crate::logql::metric::{MetricQuery, VectorOp};
use crate::logql::plan::plan_log_expr;

/// One series of the answer: labels and `(index of the time, value)`.
pub struct SeriesOut {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(usize, f64)>,
}

/// What an evaluation produced.
pub struct Evaluated {
    pub series: Vec<SeriesOut>,
    pub warnings: Vec<String>,
    pub scanned: usize,
}

/// Per stream: entries and values added (difference arrays over the
/// evaluation times).
struct Stream {
    entries: Vec<i64>,
    values: Vec<f64>,
}

/// Evaluates `query` at `first + k * step` for `k < n` (`step` 0 with one
/// time: an instant query).
pub async fn evaluate(
    state: &AppState,
    caller: &Caller,
    text: &str,
    query: &MetricQuery<'_>,
    (first, step, n): (Nanos, Nanos, usize),
) -> Result<Evaluated, LokiError> {
    let plan = plan_log_expr(text, query.log, &readable(state, caller), state.loki.line)?;
    if let Some(counted) = evaluate_counted(state, caller, &plan, query, (first, step, n)).await? {
        return Ok(counted);
    }
    let range = Nanos::from(query.range_ms) * MS;
    let offset = Nanos::from(query.offset_ms) * MS;
    let last = first + step * (n as Nanos - 1);
    let spec = ScanSpec {
        plan: &plan,
        start: first - offset - range + 1,
        end: last - offset + 1,
        forward: true,
        line_mode: state.loki.line,
        want: None,
        max_records: super::query::SCAN_RECORDS,
    };
    let read = scan(state, caller, &spec).await?;
    let mut warnings: Vec<String> = read.warnings.into_iter().collect();
    // Incomplete: only times whose window lies before the last millisecond
    // read are whole.
    let mut usable = n;
    if !read.complete {
        let read_up_to = read
            .entries
            .iter()
            .map(|e| e.ns)
            .max()
            .unwrap_or(spec.start);
        let whole_before = read_up_to - read_up_to.rem_euclid(MS);
        usable = (0..n)
            .take_while(|k| first + step * *k as Nanos - offset < whole_before)
            .count();
        warnings.push(format!(
            "loggate stopped after reading {} records for this query; samples after {} of {n} evaluation times are left out rather than undercounted: narrow the query or its range",
            read.scanned, usable
        ));
    }
    let streams = accumulate(&read.entries, query, (first, step, n), offset, range);
    let series = fold(&streams, query, n.min(usable), range);
    Ok(Evaluated {
        series,
        warnings,
        scanned: read.scanned,
    })
}

/// The streams of `entries` with their difference arrays over the
/// evaluation times: each entry adds to the times whose window holds it.
fn accumulate(
    entries: &[super::scan::Entry],
    query: &MetricQuery<'_>,
    (first, step, n): (Nanos, Nanos, usize),
    offset: Nanos,
    range: Nanos,
) -> HashMap<Vec<(&'static str, String)>, Stream> {
    let mut streams: HashMap<Vec<(&'static str, String)>, Stream> = HashMap::new();
    for entry in entries {
        // Times t with t - offset - range < ns <= t - offset.
        let lo = entry.ns + offset;
        let hi = entry.ns + offset + range - 1;
        let (k_lo, k_hi) = if step == 0 {
            if first < lo || first > hi {
                continue;
            }
            (0, 0)
        } else {
            let k_lo = (lo - first + step - 1).div_euclid(step).max(0);
            let k_hi = (hi - first).div_euclid(step).min(n as Nanos - 1);
            if k_lo > k_hi {
                continue;
            }
            (k_lo as usize, k_hi as usize)
        };
        let value = if query.op.counts_bytes() {
            entry.line.len() as f64
        } else {
            1.0
        };
        let labels = entry.view().stream().into_iter().collect();
        let stream = streams.entry(labels).or_insert_with(|| Stream {
            entries: vec![0; n + 1],
            values: vec![0.0; n + 1],
        });
        stream.entries[k_lo] += 1;
        stream.entries[k_hi + 1] -= 1;
        stream.values[k_lo] += value;
        stream.values[k_hi + 1] -= value;
    }
    streams
}

/// Samples per stream, or folded by the aggregation, for the first
/// `usable` evaluation times.
fn fold(
    streams: &HashMap<Vec<(&'static str, String)>, Stream>,
    query: &MetricQuery<'_>,
    usable: usize,
    range: Nanos,
) -> Vec<SeriesOut> {
    let seconds = (range as f64) / 1e9;
    let per_second = query.op.per_second();
    let samples_of = |stream: &Stream| -> Vec<(usize, f64)> {
        let (mut entries, mut value) = (0i64, 0.0f64);
        let mut out = Vec::new();
        for k in 0..usable {
            entries += stream.entries[k];
            value += stream.values[k];
            if entries > 0 {
                out.push((
                    k,
                    if per_second {
                        value / seconds
                    } else {
                        value.round()
                    },
                ));
            }
        }
        out
    };
    match query.aggregation {
        None => {
            let mut series: Vec<SeriesOut> = streams
                .iter()
                .map(|(labels, stream)| SeriesOut {
                    labels: labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect(),
                    samples: samples_of(stream),
                })
                .filter(|s| !s.samples.is_empty())
                .collect();
            // Sorted by labels, as Loki sorts a matrix or vector.
            series.sort_by(|a, b| a.labels.cmp(&b.labels));
            series
        }
        Some((op, grouping)) => {
            let mut groups: BTreeMap<BTreeMap<String, String>, BTreeMap<usize, f64>> =
                BTreeMap::new();
            for (labels, stream) in streams {
                let kept = labels
                    .iter()
                    .filter(|(k, _)| match grouping {
                        None => false,
                        Some(g) => g.labels.iter().any(|l| l == k) != g.without,
                    })
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                let group = groups.entry(kept).or_default();
                for (k, v) in samples_of(stream) {
                    *group.entry(k).or_default() += if op == VectorOp::Count { 1.0 } else { v };
                }
            }
            groups
                .into_iter()
                .filter(|(_, samples)| !samples.is_empty())
                .map(|(labels, samples)| SeriesOut {
                    labels,
                    samples: samples.into_iter().collect(),
                })
                .collect()
        }
    }
}
