//! The reference of `GET /logs/stats` (spec §7): the simulators' data
//! counted per bucket and group by hand, and a response read into the
//! same shape.

use std::collections::BTreeMap;

use loggate_core::{Filters, LogRecord};
use serde_json::Value;

/// Group (`level=ERROR,source=s0`, keys sorted) → counts per bucket.
pub type Counts = BTreeMap<String, Vec<u64>>;

/// One source's data: (name, provider kind, records).
pub type SourceData<'a> = (&'a str, &'a str, Vec<LogRecord>);

/// Every source's data of `fleet` now, for [`reference_counts`].
pub fn fleet_data(fleet: &super::fleet::Fleet) -> Vec<SourceData<'_>> {
    fleet
        .sims
        .iter()
        .map(|(name, kind, sim)| (name.as_str(), kind.provider, sim.snapshot()))
        .collect()
}

/// Buckets `[start + i·interval, …)` up to `end` (exclusive).
pub fn bucket_count(start: i64, end: i64, interval: i64) -> usize {
    ((end - start + interval - 1) / interval) as usize
}

/// Counts `sources` matching `filters` (its `start`/`end` ignored) in
/// `[start, end)` per bucket and group of `by`. Groups without any record
/// are left out, except every source's own group when `by` is only
/// source/provider and the one group without `by`.
pub fn reference_counts(
    sources: &[SourceData<'_>],
    filters: &Filters,
    (start, end, interval): (i64, i64, i64),
    by: &[&str],
) -> Counts {
    let n = bucket_count(start, end, interval);
    let mut out = Counts::new();
    let constant_only = by.iter().all(|g| *g == "source" || *g == "provider");
    for (name, kind, records) in sources {
        let key_of = |r: Option<&LogRecord>| {
            let mut parts: Vec<String> = by
                .iter()
                .map(|g| {
                    let value = match (*g, r) {
                        ("source", _) => name.to_string(),
                        ("provider", _) => kind.to_string(),
                        ("level", Some(r)) => r.level.as_str().to_string(),
                        ("service", Some(r)) => r.service.clone().unwrap_or("null".into()),
                        _ => unreachable!(),
                    };
                    format!("{g}={value}")
                })
                .collect();
            parts.sort();
            parts.join(",")
        };
        if constant_only {
            out.entry(key_of(None)).or_insert_with(|| vec![0; n]);
        }
        let mut unbounded = filters.clone();
        unbounded.start = None;
        unbounded.end = None;
        for r in records.iter().filter(|r| unbounded.matches(r)) {
            if r.timestamp_ms < start || r.timestamp_ms >= end {
                continue;
            }
            let bucket = ((r.timestamp_ms - start) / interval) as usize;
            out.entry(key_of(Some(r))).or_insert_with(|| vec![0; n])[bucket] += 1;
        }
    }
    out
}

/// The series of a `/logs/stats` answer in the reference's shape, and the
/// bucket starts of each as RFC 3339 text.
pub fn response_counts(body: &Value) -> Counts {
    let mut out = Counts::new();
    for series in body["series"].as_array().expect("series") {
        let mut parts: Vec<String> = series["group"]
            .as_object()
            .expect("group")
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("null")))
            .collect();
        parts.sort();
        let points = series["points"]
            .as_array()
            .expect("points")
            .iter()
            .map(|p| p[1].as_u64().expect("count"))
            .collect();
        out.insert(parts.join(","), points);
    }
    out
}
