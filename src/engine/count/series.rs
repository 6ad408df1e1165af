//! Folding per-source counts into the series of a `/logs/stats` answer.

use std::collections::BTreeMap;

use super::{GroupBy, GroupKey, SourceCount, Stats, StatsRequest};

/// One series: its group and a point per bucket every feeding source
/// covered.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `(by, value)` in `by` order; `None` for a record without a service.
    pub group: Vec<(GroupBy, Option<String>)>,
    /// `(bucket start epoch ms, count)`, ascending, dense from the first
    /// bucket up to the last one covered.
    pub points: Vec<(i64, u64)>,
}

/// The series, completeness and warnings of the counted sources.
pub(super) fn assemble(request: StatsRequest, sources: BTreeMap<String, SourceCount>) -> Stats {
    let buckets = request.buckets;
    let n = buckets.len();
    let by = request.by.clone();
    let mut totals: BTreeMap<GroupKey, Vec<u64>> = BTreeMap::new();
    for count in sources.values() {
        for (key, row) in &count.counts {
            let sum = totals.entry(key.clone()).or_insert_with(|| vec![0; n]);
            sum.iter_mut().zip(row).for_each(|(s, c)| *s += c);
        }
    }
    // Groups that exist whatever the counts: the one group without `by`,
    // each source's own when grouping only by source or provider.
    let constant_only = by
        .iter()
        .all(|g| matches!(g, GroupBy::Source | GroupBy::Provider));
    if constant_only {
        for (name, count) in &sources {
            let key = constant_key(&by, name, count.kind);
            totals.entry(key).or_insert_with(|| vec![0; n]);
        }
    }
    let series = totals
        .into_iter()
        .filter(|(_, row)| constant_only || row.iter().any(|c| *c > 0))
        .map(|(key, row)| {
            let covered = feeding(&by, &key, &sources)
                .map(|c| c.covered)
                .min()
                .unwrap_or(n);
            Series {
                group: by.iter().copied().zip(key).collect(),
                points: (0..covered)
                    .map(|i| (buckets.bounds(i).0, row[i]))
                    .collect(),
            }
        })
        .collect();
    let complete = sources
        .values()
        .all(|c| c.covered == n && c.failure.is_none());
    let warnings = sources
        .iter()
        .flat_map(|(name, c)| warnings_of(name, c, n))
        .collect();
    Stats {
        buckets,
        by,
        series,
        complete,
        sources,
        warnings,
    }
}

/// The key of the groups a source alone forms (`by` of source/provider).
fn constant_key(by: &[GroupBy], name: &str, kind: &str) -> GroupKey {
    by.iter()
        .map(|g| match g {
            GroupBy::Provider => Some(kind.to_string()),
            _ => Some(name.to_string()),
        })
        .collect()
}

/// The sources whose records can fall into the group `key`: those whose
/// own `source`/`provider` values match it.
fn feeding<'a>(
    by: &'a [GroupBy],
    key: &'a GroupKey,
    sources: &'a BTreeMap<String, SourceCount>,
) -> impl Iterator<Item = &'a SourceCount> {
    sources.iter().filter_map(move |(name, count)| {
        let matches = by.iter().zip(key).all(|(g, value)| match g {
            GroupBy::Source => value.as_deref() == Some(name.as_str()),
            GroupBy::Provider => value.as_deref() == Some(count.kind),
            _ => true,
        });
        matches.then_some(count)
    })
}

fn warnings_of(name: &str, count: &SourceCount, buckets: usize) -> Vec<String> {
    let mut warnings = Vec::new();
    if count.covered < buckets {
        let why = count.reason.as_deref().unwrap_or("not counted");
        warnings.push(format!(
            "{name}: counted {} of {buckets} buckets: {why}",
            count.covered
        ));
    }
    if count.skipped > 0 {
        warnings.push(format!(
            "{name}: skipped {} upstream records that could not be read; its counts leave them out",
            count.skipped
        ));
    }
    warnings
}
