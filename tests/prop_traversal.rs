//! Property: over the real gateway and any mix of the four provider
//! simulators (both Logto generations), with generated data sets full of
//! timestamp ties, random queries using every filter of spec §3, both
//! orders, limits 1–1000 (mostly small, so pages are many) and upstream
//! inserts between pages, following `next_cursor` yields exactly the data
//! as it was before page one, filtered, bounded by the pinned end and
//! ordered by (timestamp, source, id).
//!
//! 64 cases by default (a few seconds); `LOGGATE_SOAK=1` runs 512 with data
//! sets of up to 400 records per source; `PROPTEST_CASES=N` runs N (either
//! data-set size).

mod common;

use common::fleet::{Fleet, Kind, Spec};
use common::{assert_same_ids, reference};
use loggate_core::query::LevelSet;
use loggate_core::time::format_ms;
use loggate_core::{Filters, Level, LogRecord, Order};
use proptest::prelude::*;
use serde_json::Value;

/// The `[server]` body of every case, and the answer cache on with its
/// defaults (spec §9: pinned end rounded down to 1 s, settled and fresh
/// lifetimes, each window split at `now − 10m` rounded down to 5 min,
/// inside the generated hour): a cached answer must never hide a log the
/// traversal includes.
const WITH_CACHE: &str = "scan_budget = 10000\n[cache]\nenabled = true";

fn soak() -> bool {
    std::env::var("LOGGATE_SOAK").is_ok_and(|v| v == "1")
}

/// How many cases a property runs: `PROPTEST_CASES` when set (proptest's
/// own variable, which an explicit `cases` would otherwise override), else
/// `soak` with `LOGGATE_SOAK=1`, else `quick`.
fn cases(quick: u32, soak_cases: u32) -> u32 {
    let from_env = std::env::var("PROPTEST_CASES").ok();
    match from_env.as_deref().map(str::parse::<u32>) {
        Some(Ok(n)) => n,
        Some(Err(e)) => panic!("PROPTEST_CASES must be a number of cases: {e}"),
        None if soak() => soak_cases,
        None => quick,
    }
}

/// One filter of spec §3, still to be resolved against the generated data:
/// `pick` chooses the record (or timestamps, levels) the value comes from,
/// `absent` asks for a value no record has.
#[derive(Debug, Clone)]
struct FilterPick {
    what: u8,
    pick: u64,
    absent: bool,
}

#[derive(Debug, Clone)]
struct Case {
    specs: Vec<Spec>,
    /// The record every filter value is taken from (so that filters
    /// combine to something non-empty unless one asks for absence).
    anchor: u64,
    filters: Vec<FilterPick>,
    asc: bool,
    limit: usize,
    /// Before page `i + 1`: insert `n` new records into source `s`.
    inserts: Vec<(usize, usize)>,
}

fn spec(max_records: usize) -> impl Strategy<Value = Spec> {
    (
        prop::sample::select(Kind::all()),
        any::<u64>(),
        1..=max_records,
        1usize..=12,
    )
        .prop_map(|(kind, seed, records, distinct)| Spec::new(kind, seed, records, distinct))
}

fn case() -> impl Strategy<Value = Case> {
    let max_records = if soak() { 400 } else { 80 };
    (
        prop::collection::vec(spec(max_records), 1..=4),
        any::<u64>(),
        prop::collection::vec(
            (0u8..9, any::<u64>(), prop::bool::weighted(0.1))
                .prop_map(|(what, pick, absent)| FilterPick { what, pick, absent }),
            0..=3,
        ),
        any::<bool>(),
        prop_oneof![4 => 1usize..=4, 3 => 5usize..=40, 1 => 41usize..=1000],
        prop::collection::vec((0usize..4, 0usize..=3), 0..=6),
    )
        .prop_map(|(specs, anchor, filters, asc, limit, inserts)| Case {
            specs,
            anchor,
            filters,
            asc,
            limit,
            inserts,
        })
}

/// The query string and the filters it means, for `picks` resolved
/// against `data`; also the sources it names (all when `None`).
fn resolve(
    anchor: u64,
    picks: &[FilterPick],
    data: &[(&str, Vec<LogRecord>)],
) -> (String, Filters, Option<Vec<String>>) {
    let all: Vec<&LogRecord> = data.iter().flat_map(|(_, r)| r.iter()).collect();
    let mut filters = Filters::default();
    let mut sources = None;
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    for p in picks {
        let record = all[(anchor % all.len() as u64) as usize];
        let other = all[(p.pick % all.len() as u64) as usize];
        match p.what {
            0 => {
                let (lo, hi) = if record.timestamp_ms <= other.timestamp_ms {
                    (record.timestamp_ms, other.timestamp_ms)
                } else {
                    (other.timestamp_ms, record.timestamp_ms)
                };
                // A window beyond every record when absent.
                let (lo, hi) = if p.absent {
                    (hi + 1, hi + 1000)
                } else {
                    (lo, hi)
                };
                match p.pick % 3 {
                    0 => filters.start = Some(lo),
                    1 => filters.end = Some(hi),
                    _ => (filters.start, filters.end) = (Some(lo), Some(hi)),
                }
            }
            1 => {
                let mut levels = vec![record.level];
                levels.extend(
                    Level::ALL
                        .into_iter()
                        .filter(|l| (p.pick >> (8 + *l as u8)) & 1 == 1),
                );
                if p.absent {
                    levels = vec![Level::Trace];
                }
                filters.level = Some(levels.into_iter().collect::<LevelSet>());
            }
            2 => {
                // At most the anchor's severity unless absence is asked for.
                let at_most = Level::ALL
                    .iter()
                    .position(|l| *l == record.level)
                    .unwrap_or(0);
                let i = if p.absent {
                    5
                } else {
                    (p.pick % (at_most as u64 + 1)) as usize
                };
                filters.min_level = Some(Level::ALL[i]);
            }
            3 => {
                let chars: Vec<char> = record.message.chars().collect();
                filters.q = Some(if p.absent || chars.is_empty() {
                    "zqx-nowhere".into()
                } else {
                    let start = (p.pick % chars.len() as u64) as usize;
                    let len = 1 + ((p.pick >> 16) % 8) as usize;
                    let q: String = chars[start..(start + len).min(chars.len())]
                        .iter()
                        .collect();
                    // The match is case-insensitive: vary the case.
                    if p.pick & 1 == 1 {
                        q.to_uppercase()
                    } else {
                        q
                    }
                });
            }
            4 => {
                filters.service = match (&record.service, p.absent) {
                    (Some(s), false) if !s.is_empty() => Some(s.clone()),
                    _ => Some("no-such-service".into()),
                }
            }
            5 => {
                filters.user_id = match (&record.user_id, p.absent) {
                    (Some(u), false) if !u.is_empty() => Some(u.clone()),
                    _ => Some("no-such-user".into()),
                }
            }
            6 | 7 => {
                let names: Vec<&String> = record.attributes.keys().collect();
                if names.is_empty() {
                    continue;
                }
                let name = names[((p.pick >> 8) % names.len() as u64) as usize];
                let value = match &record.attributes[name] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => continue,
                };
                let valid_name = name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid_name || name.len() > 64 || value.is_empty() || value.len() > 1024 {
                    continue;
                }
                let value = if p.absent {
                    "no-such-value".into()
                } else {
                    value
                };
                filters.attrs.insert(name.clone(), value);
            }
            _ => {
                let chosen: Vec<String> = data
                    .iter()
                    .enumerate()
                    .filter(|(i, (_, records))| {
                        (p.pick >> i) & 1 == 1 || records.iter().any(|r| std::ptr::eq(r, record))
                    })
                    .map(|(_, (name, _))| name.to_string())
                    .collect();
                if !chosen.is_empty() {
                    sources = Some(chosen);
                }
            }
        }
    }
    // Two window picks may cross: the gateway rightly refuses start > end
    // (400), which is not what this property is about.
    if let (Some(start), Some(end)) = (filters.start, filters.end) {
        if start > end {
            (filters.start, filters.end) = (Some(end), Some(start));
        }
    }
    if let Some(s) = &sources {
        params.append_pair("source", &s.join(","));
    }
    if let Some(t) = filters.start {
        params.append_pair("start", &format_ms(t));
    }
    if let Some(t) = filters.end {
        params.append_pair("end", &format_ms(t));
    }
    if let Some(set) = filters.level {
        let names: Vec<&str> = set.iter().map(Level::as_str).collect();
        params.append_pair("level", &names.join(","));
    }
    if let Some(l) = filters.min_level {
        params.append_pair("min_level", l.as_str());
    }
    for (name, value) in [("q", &filters.q), ("service", &filters.service)] {
        if let Some(v) = value {
            params.append_pair(name, v);
        }
    }
    if let Some(u) = &filters.user_id {
        params.append_pair("user_id", u);
    }
    for (name, value) in &filters.attrs {
        params.append_pair(&format!("attr.{name}"), value);
    }
    (params.finish(), filters, sources)
}

/// The cache split each source's window (README "Cache": partial-range
/// reuse) at `now − 20m` rounded down to 7 min, inside the generated hour
/// of data, so that windows have a settled and a fresh part and moving
/// starts are aligned down.
const WITH_SPLIT: &str = "scan_budget = 10000\n[cache]\nenabled = true\n\
                          freshness_horizon = \"20m\"\nsettled_grid = \"7m\"";

const HORIZON_MS: i64 = 20 * 60_000;
const GRID_MS: i64 = 7 * 60_000;

async fn check(case: Case) -> Result<(), TestCaseError> {
    let fleet = Fleet::start(&case.specs, WITH_CACHE, "").await;
    traverse_and_compare(&fleet, &case, None).await;
    Ok(())
}

/// With the split: a first traversal (inserts between pages), logs written
/// into the fresh part of the window (at its boundary and at its end),
/// then a second traversal of the same query ending just after they were
/// written, whose settled part is answered by the first traversal's cached
/// requests: both equal the data as it was before their first page. (A
/// window ending before the writes would make them late logs, which §3
/// lets the cache miss until its lifetimes end: README "Cache".)
async fn check_split(case: Case) -> Result<(), TestCaseError> {
    let fleet = Fleet::start(&case.specs, WITH_SPLIT, "").await;
    traverse_and_compare(&fleet, &case, None).await;
    let written = loggate_core::time::now_ms();
    let end = written + 1;
    let boundary = (end - HORIZON_MS).div_euclid(GRID_MS) * GRID_MS;
    for (_, _, sim) in &fleet.sims {
        sim.insert_copies(2, boundary);
        sim.insert_copies(1, written);
    }
    // The second traversal's pinned end (now rounded down to 1 s) must be
    // at or after `end`: logs written before `end` are then part of it
    // (spec §3; README "Cache": a stored answer serves only windows that
    // ended before it was read).
    let wait = (end + 1_000 - loggate_core::time::now_ms()).max(0) as u64;
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    traverse_and_compare(&fleet, &case, Some(end)).await;
    Ok(())
}

/// One traversal of `case`'s query (its `end` replaced by `end` if given)
/// against the data before its first page.
async fn traverse_and_compare(fleet: &Fleet, case: &Case, end: Option<i64>) {
    let before = fleet.snapshot();
    let (query, mut filters, sources) = resolve(case.anchor, &case.filters, &before);
    let mut query = query;
    if let Some(end) = end {
        if filters.start.is_some_and(|s| s > end) {
            return;
        }
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .filter(|(name, _)| name != "end")
            .collect();
        filters.end = Some(end);
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        params.extend_pairs(pairs);
        params.append_pair("end", &format_ms(filters.end.unwrap_or(end)));
        query = params.finish();
    }
    let order = if case.asc { Order::Asc } else { Order::Desc };
    let query = format!("{query}&order={}", order.as_str());
    let (got, pinned) = fleet
        .gateway
        .traverse_pinned(&query, case.limit, |page| {
            if let Some(&(s, n)) = case.inserts.get(page) {
                fleet.sims[s % fleet.sims.len()].2.insert_new(n);
            }
        })
        .await;
    let data: Vec<(&str, Vec<LogRecord>)> = before
        .into_iter()
        .filter(|(name, _)| sources.as_ref().is_none_or(|s| s.iter().any(|n| n == name)))
        .collect();
    let expected = pinned.expected(&got, |pin| {
        let mut bounded = filters.clone();
        bounded.end = Some(bounded.end.map_or(pin, |e| e.min(pin)));
        reference(&data, &bounded, order)
    });
    // Visible with --nocapture: how much each case exercised.
    eprintln!("{} logs, limit {}: {query}", expected.len(), case.limit);
    if got != expected {
        explain(fleet, &got, &expected, pinned.latest);
    }
    assert_same_ids(
        &got,
        &expected,
        &format!("{query} limit {} over {:?}", case.limit, case.specs),
    );
}

/// Prints the ids missing from and extra in `got`, with their timestamps
/// relative to the pinned end and to the boundary `G` of a split window
/// ending there (`WITH_SPLIT`).
fn explain(fleet: &Fleet, got: &[String], expected: &[String], pinned: i64) {
    let stamps: std::collections::HashMap<String, i64> = fleet
        .snapshot()
        .iter()
        .flat_map(|(name, records)| {
            records
                .iter()
                .map(move |r| (format!("{name}:{}", r.native_id), r.timestamp_ms))
        })
        .collect();
    let boundary = (pinned - HORIZON_MS).div_euclid(GRID_MS) * GRID_MS;
    let relative = |ids: Vec<&String>| -> Vec<(String, Option<(i64, i64)>)> {
        ids.into_iter()
            .map(|id| {
                let at = stamps.get(id).map(|t| (t - pinned, t - boundary));
                (id.clone(), at)
            })
            .collect()
    };
    let missing = relative(expected.iter().filter(|id| !got.contains(id)).collect());
    let extra = relative(got.iter().filter(|id| !expected.contains(id)).collect());
    eprintln!("(id, (ms after the pinned end, ms after G)): missing {missing:?}, extra {extra:?}");
    let first = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    let around = |ids: &[String]| relative(ids.iter().skip(first).take(4).collect());
    eprintln!(
        "from the first difference ({first}): got {:?}, expected {:?}",
        around(got),
        around(expected)
    );
}

fn run(case: Case) -> Result<(), TestCaseError> {
    runtime().block_on(check(case))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(64, 512),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn traversals_equal_the_reference_under_inserts(case in case()) {
        run(case)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(24, 256),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    /// The same property with each window split into a settled and a
    /// fresh part (partial-range reuse), and a second traversal over a
    /// warm cache after late logs arrived in the fresh part.
    #[test]
    fn split_windows_equal_the_reference_over_a_warm_cache(case in case()) {
        runtime().block_on(check_split(case))?;
    }
}

/// Shrunk by the soak: two window picks crossing (start after end) made
/// the generator send a query the gateway rightly refuses with 400; the
/// generator now orders them. Kept as a fixed case: one source whose 18
/// logs share one timestamp, a window ending after all of them, inserts
/// after page 1. Found on Logto v1.40+; run on every simulator variant.
#[test]
fn regression_window_after_every_log_with_inserts() {
    for kind in Kind::all() {
        let case = Case {
            specs: vec![Spec::new(kind, 2369508061630440168, 18, 1)],
            anchor: 0,
            filters: vec![
                FilterPick {
                    what: 0,
                    pick: 3084995513408287439,
                    absent: false,
                },
                FilterPick {
                    what: 0,
                    pick: 10915626498793145088,
                    absent: true,
                },
            ],
            asc: false,
            limit: 3,
            inserts: vec![(1, 3)],
        };
        for _ in 0..20 {
            run(case.clone()).unwrap();
        }
    }
}

/// Shrunk by the soak (seed `f61c9ff`): an untimed source (offset paging
/// over its whole log, its 158 logs on 3 instants; an older Logto) and a
/// whole-log one (PromptCrafter) under the split, `asc`, limit 31. Between the two
/// traversals, the logs written at the boundary moved the offset of every
/// newer log; the second traversal's settled part, read from the first's
/// stored pages (whole-log requests: the same as the fresh part's), placed
/// a 58-log tie group two rows off, its live sweep never found the whole
/// group, and the source failed a page (its logs came after the other
/// source's). A source that does not push `end` down is no longer split.
#[test]
fn regression_untimed_logto_is_not_split() {
    let case = Case {
        specs: vec![
            Spec::new(Kind::UNTIMED_OFFSETS, 4572603846787610122, 158, 3),
            Spec::new(Kind::SCAN_ONLY, 0, 1, 1),
        ],
        anchor: 3725045,
        filters: vec![FilterPick {
            what: 0,
            pick: 12961484904456720238,
            absent: false,
        }],
        asc: true,
        limit: 31,
        inserts: vec![(1, 1), (0, 0), (1, 0), (1, 3), (1, 1)],
    };
    for _ in 0..3 {
        runtime().block_on(check_split(case.clone())).unwrap();
    }
}
