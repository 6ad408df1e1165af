//! The filter cases, chosen from the snapshot itself so that present
//! values really occur (and bounds sit exactly on record timestamps, to
//! test inclusivity), plus values no record has; each is traversed and
//! compared with the reference matcher, and `pushed` is checked for it.

use std::collections::BTreeMap;

use serde_json::Value;

use super::report::describe;
use super::traverse::{assert_traversal, pinned_query, Traversal};
use super::{Harness, LARGE_BUDGET, ORDERS};
use crate::query::{Filters, LevelSet, Order};
use crate::record::{sort_records, Level, LogRecord};

/// A value no generated data should hold.
const ABSENT: &str = "zq-absent-value-7f3";

/// One filter combination; `present` when it was built from values that
/// occur (traversed in both orders), else expected empty (desc only).
pub(crate) struct FilterCase {
    pub name: String,
    pub filters: Filters,
    pub present: bool,
}

/// Traverses every filter case (each unified filter alone, present and
/// absent values, a few combinations) with want 50, comparing with the
/// reference matcher, and checks `pushed` for each.
pub async fn assert_filters(harness: &dyn Harness) {
    let snapshot = harness.snapshot().await;
    let adapter = harness.adapter();
    let kind = adapter.kind();
    for case in filter_cases(&snapshot) {
        let orders: &[Order] = if case.present {
            &ORDERS
        } else {
            &[Order::Desc]
        };
        for &order in orders {
            let query = pinned_query(case.filters.clone(), order);
            if query.filters.is_unsatisfiable() {
                continue;
            }
            let names = query.filters.names();
            let pushed = adapter.pushed(&query.filters);
            for name in &pushed {
                if !names.contains(name) {
                    panic!(
                        "conformance [{kind}] filter {}: pushed reports {name:?}, which is not set \
                         (set: {names:?}; {})",
                        case.name,
                        describe(&query.filters)
                    );
                }
                if !adapter.capabilities().pushdown.contains(name) {
                    panic!(
                        "conformance [{kind}] filter {}: pushed reports {name:?}, which is not in \
                         capabilities().pushdown {:?}",
                        case.name,
                        adapter.capabilities().pushdown
                    );
                }
            }
            let mut traversal = Traversal::new(&query, 50, LARGE_BUDGET);
            traversal.name = format!("filter {}", case.name);
            assert_traversal(harness, &traversal).await;
        }
    }
}

/// Sparse filters under a small budget (want 3, budget 5): most fetches
/// find nothing, and the frontier must still advance to the end.
pub async fn assert_sparse_progress(harness: &dyn Harness) {
    let snapshot = harness.snapshot().await;
    let count = |level: Level| snapshot.iter().filter(|r| r.level == level).count();
    let rarest = Level::ALL
        .into_iter()
        .filter(|l| count(*l) > 0)
        .min_by_key(|l| count(*l));
    let mut sparse: Vec<(String, Filters)> = Vec::new();
    if let Some(level) = rarest {
        sparse.push((format!("sparse level {level}"), levels(&[level])));
    }
    let cases = filter_cases(&snapshot);
    if let Some(case) = cases.iter().find(|c| c.name == "q") {
        sparse.push(("sparse q".to_string(), case.filters.clone()));
    }
    sparse.push(("sparse q absent".to_string(), q(ABSENT)));
    for (name, filters) in sparse {
        for order in ORDERS {
            let query = pinned_query(filters.clone(), order);
            let mut traversal = Traversal::new(&query, 3, 5);
            traversal.name = name.clone();
            assert_traversal(harness, &traversal).await;
        }
    }
}

/// The cases for `snapshot`.
pub(crate) fn filter_cases(snapshot: &[LogRecord]) -> Vec<FilterCase> {
    let mut sorted = snapshot.to_vec();
    sort_records(&mut sorted, Order::Asc);
    let mut cases = Cases::default();
    time_cases(&sorted, &mut cases);
    level_cases(&sorted, &mut cases);
    field_cases(&sorted, &mut cases);
    combination_cases(&sorted, &mut cases);
    cases.0
}

/// The filter cases built so far, in order.
#[derive(Default)]
struct Cases(Vec<FilterCase>);

impl Cases {
    fn add(&mut self, name: &str, filters: Filters, present: bool) {
        self.0.push(FilterCase {
            name: name.to_string(),
            filters,
            present,
        })
    }
}

/// How many of `sorted` have `level`.
fn level_count(sorted: &[LogRecord], level: Level) -> usize {
    sorted.iter().filter(|r| r.level == level).count()
}

fn time_cases(sorted: &[LogRecord], cases: &mut Cases) {
    // Time bounds on existing timestamps: inclusive at both ends.
    let mut stamps: Vec<i64> = sorted.iter().map(|r| r.timestamp_ms).collect();
    stamps.dedup();
    if let (Some(&first), Some(&last)) = (stamps.first(), stamps.last()) {
        let at = |fraction: usize| stamps[(stamps.len() - 1) * fraction / 4];
        let (lo, mid, hi) = (at(1), at(2), at(3));
        cases.add("start", time(Some(lo), None), true);
        cases.add("end", time(None, Some(hi)), true);
        cases.add("start+end", time(Some(lo), Some(hi)), true);
        cases.add("start=end", time(Some(mid), Some(mid)), true);
        cases.add("start after all", time(Some(last + 1), None), false);
        cases.add("end before all", time(None, Some(first - 1)), false);
    }
}

fn level_cases(sorted: &[LogRecord], cases: &mut Cases) {
    let count = |level: Level| level_count(sorted, level);
    // Levels: each alone, a few sets, minimums.
    for level in Level::ALL {
        cases.add(
            &format!("level {level}"),
            levels(&[level]),
            count(level) > 0,
        );
    }
    let mut by_count: Vec<Level> = Level::ALL.into_iter().filter(|l| count(*l) > 0).collect();
    by_count.sort_by_key(|l| std::cmp::Reverse(count(*l)));
    if by_count.len() >= 2 {
        cases.add("level two most common", levels(&by_count[..2]), true);
    }
    cases.add(
        "level warn,error,fatal",
        levels(&[Level::Warn, Level::Error, Level::Fatal]),
        true,
    );
    for min in [Level::Debug, Level::Warn, Level::Error] {
        let present = sorted.iter().any(|r| r.level >= min);
        let filters = Filters {
            min_level: Some(min),
            ..Filters::default()
        };
        cases.add(&format!("min_level {min}"), filters, present);
    }
}

fn field_cases(sorted: &[LogRecord], cases: &mut Cases) {
    // Text search: part of a real message, in other letter case.
    if let Some(needle) = sorted
        .iter()
        .skip(sorted.len() / 3)
        .find_map(|r| needle(&r.message))
    {
        cases.add("q", q(&needle), true);
    }
    cases.add("q absent", q(ABSENT), false);

    // Exact fields: the most common present value, and an absent one.
    let service = most_common(sorted.iter().filter_map(|r| r.service.clone()));
    if let Some(service) = service {
        cases.add("service", exact(Some(service), None), true);
    }
    cases.add("service absent", exact(Some(ABSENT.into()), None), false);
    let user = most_common(sorted.iter().filter_map(|r| r.user_id.clone()));
    if let Some(user) = user {
        cases.add("user_id", exact(None, Some(user)), true);
    }
    cases.add("user_id absent", exact(None, Some(ABSENT.into())), false);

    // Every attribute with a scalar value.
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in sorted {
        for (name, value) in &record.attributes {
            if let Some(text) = scalar_text(value) {
                values.entry(name.clone()).or_default().push(text);
            }
        }
    }
    for (name, texts) in values {
        if let Some(value) = most_common(texts.into_iter()) {
            cases.add(&format!("attr.{name}"), attr(&name, &value), true);
        }
        cases.add(&format!("attr.{name} absent"), attr(&name, ABSENT), false);
    }
}

fn combination_cases(sorted: &[LogRecord], cases: &mut Cases) {
    // Combinations, built from one record rich in fields so they match.
    let richness = |r: &LogRecord| {
        usize::from(r.service.is_some()) + usize::from(r.user_id.is_some()) + r.attributes.len()
    };
    let middle = &sorted[sorted.len() / 2..];
    if let Some(r) = middle.iter().max_by_key(|r| richness(r)) {
        let mut f = levels(&[r.level]);
        f.q = needle(&r.message);
        cases.add("level+q", f, true);
        if r.service.is_some() {
            let mut f = exact(r.service.clone(), None);
            f.min_level = Some(r.level);
            cases.add("service+min_level", f, true);
        }
        let mut f = time(Some(r.timestamp_ms), Some(r.timestamp_ms));
        f.user_id = r.user_id.clone();
        f.level = Some([r.level].into_iter().collect());
        cases.add("start=end+user_id+level", f, true);
        if let Some((name, text)) = r
            .attributes
            .iter()
            .find_map(|(n, v)| scalar_text(v).map(|t| (n.clone(), t)))
        {
            let mut f = attr(&name, &text);
            f.level = Some([r.level, Level::Info].into_iter().collect());
            cases.add("attr+level", f, true);
        }
    }
    let mut f = levels(&[Level::Info, Level::Error]);
    f.min_level = Some(Level::Warn);
    cases.add(
        "level info,error+min_level warn",
        f,
        level_count(sorted, Level::Error) > 0,
    );
}

fn time(start: Option<i64>, end: Option<i64>) -> Filters {
    Filters {
        start,
        end,
        ..Filters::default()
    }
}

fn levels(levels: &[Level]) -> Filters {
    Filters {
        level: Some(levels.iter().copied().collect::<LevelSet>()),
        ..Filters::default()
    }
}

fn q(text: &str) -> Filters {
    Filters {
        q: Some(text.to_string()),
        ..Filters::default()
    }
}

fn exact(service: Option<String>, user_id: Option<String>) -> Filters {
    Filters {
        service,
        user_id,
        ..Filters::default()
    }
}

fn attr(name: &str, value: &str) -> Filters {
    Filters {
        attrs: [(name.to_string(), value.to_string())].into(),
        ..Filters::default()
    }
}

/// A search term from `message`: its longest word, less its first
/// character when long enough (a substring, not a word), letter case
/// swapped.
fn needle(message: &str) -> Option<String> {
    let word = message
        .split_whitespace()
        .max_by_key(|w| w.chars().count())?;
    let word: String = if word.chars().count() >= 4 {
        word.chars().skip(1).collect()
    } else {
        word.to_string()
    };
    let swapped: String = word
        .chars()
        .flat_map(|c| {
            if c.is_lowercase() {
                c.to_uppercase().collect::<Vec<_>>()
            } else {
                c.to_lowercase().collect::<Vec<_>>()
            }
        })
        .collect();
    Some(swapped)
}

/// The text `attr.NAME=` must carry to match `value` (strings, numbers and
/// booleans only).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The most frequent item (the smallest on ties, for determinism).
fn most_common(items: impl Iterator<Item = String>) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, c)| *c == best)
        .map(|(item, _)| item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_are_substrings_in_other_case() {
        assert_eq!(needle("User login failed").as_deref(), Some("AILED"));
        assert_eq!(needle("ok").as_deref(), Some("OK"));
        assert_eq!(needle("   "), None);
        let n = needle("Échec de connexion").unwrap();
        assert!(crate::query::contains_case_insensitive(
            "Échec de connexion",
            &n
        ));
    }

    #[test]
    fn scalar_texts_match_the_reference_semantics() {
        for value in [
            serde_json::json!(9.5),
            serde_json::json!(true),
            serde_json::json!("a"),
        ] {
            let text = scalar_text(&value).unwrap();
            assert!(crate::query::attribute_equals(&value, &text));
        }
        assert_eq!(scalar_text(&serde_json::json!({"a": 1})), None);
    }
}
