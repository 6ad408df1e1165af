//! The unified query one adapter receives, and the reference matcher.
//!
//! Adapters push down what their provider evaluates natively and then apply
//! [`Filters::matches`] to every record themselves, so a result never depends
//! on what was pushed down.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{Level, LogRecord};

/// The query parameter name of each filter as clients spell it (spec §3),
/// declared once: [`Filters::names`] names the set filters with them (the
/// spelling of every adapter's `pushed`/`residual`), and the gateway's
/// parameter table (`src/engine/params.rs`) takes its filters' names from
/// here.
pub mod filter_param {
    pub const START: &str = "start";
    pub const END: &str = "end";
    pub const LEVEL: &str = "level";
    pub const MIN_LEVEL: &str = "min_level";
    pub const Q: &str = "q";
    pub const SERVICE: &str = "service";
    pub const USER_ID: &str = "user_id";
    /// The `attr.NAME` family, as the parameter table names it.
    pub const ATTR: &str = "attr.NAME";
    /// The prefix of the `attr.NAME` family (`attr.promptId`).
    pub const ATTR_PREFIX: &str = "attr.";
}

/// Traversal order by (timestamp, source, native id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    #[default]
    Desc,
    Asc,
}

impl Order {
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Desc => "desc",
            Order::Asc => "asc",
        }
    }
}

/// A set of levels as a bit mask (compact in cursors, cheap to test).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LevelSet(u8);

impl LevelSet {
    pub const EMPTY: LevelSet = LevelSet(0);

    pub fn all() -> Self {
        Level::ALL.iter().copied().collect()
    }

    pub fn at_least(min: Level) -> Self {
        Level::ALL.iter().copied().filter(|l| *l >= min).collect()
    }

    pub fn contains(self, level: Level) -> bool {
        self.0 & level.bit() != 0
    }

    pub fn intersect(self, other: LevelSet) -> LevelSet {
        LevelSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Level> {
        Level::ALL.into_iter().filter(move |l| self.contains(*l))
    }

    /// The one level of the set, if it has exactly one.
    pub fn single(self) -> Option<Level> {
        let mut levels = self.iter();
        match (levels.next(), levels.next()) {
            (Some(level), None) => Some(level),
            _ => None,
        }
    }
}

impl FromIterator<Level> for LevelSet {
    fn from_iter<I: IntoIterator<Item = Level>>(iter: I) -> Self {
        LevelSet(iter.into_iter().fold(0, |mask, l| mask | l.bit()))
    }
}

/// Every filter of `GET /logs`, normalised. All bounds are inclusive epoch ms.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
    /// `level=`: exact levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<LevelSet>,
    /// `min_level=`: that level or more severe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_level: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `attr.NAME=VALUE`, keyed by NAME.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

impl Filters {
    /// The levels a record may have, combining `level` and `min_level`;
    /// `None` when neither is set.
    pub fn levels(&self) -> Option<LevelSet> {
        match (self.level, self.min_level) {
            (None, None) => None,
            (Some(set), None) => Some(set),
            (None, Some(min)) => Some(LevelSet::at_least(min)),
            (Some(set), Some(min)) => Some(set.intersect(LevelSet::at_least(min))),
        }
    }

    /// The names of the filters that are set, as the query parameters spell
    /// them (`start`, `level`, `attr.promptId`, ...), in a fixed order.
    /// Whether a set filter is missing from `pushed` (the names the
    /// upstream request evaluates): then the adapter drops entries itself
    /// and cannot know how many of a page will match, so sizing a request
    /// to the records still wanted would scan a sparse match in small
    /// pages (issue 13 item 2 sizes requests to the page only where the
    /// upstream does the filtering: a `limit=10` page of an unmatched
    /// `user_id` took 10 requests where one would do, and spent the demo's
    /// 10 requests/s until its deadline).
    pub fn has_residual(&self, pushed: &[String]) -> bool {
        self.names().iter().any(|name| !pushed.contains(name))
    }

    pub fn names(&self) -> Vec<String> {
        use filter_param as p;
        let mut names = Vec::new();
        let flags = [
            (p::START, self.start.is_some()),
            (p::END, self.end.is_some()),
            (p::LEVEL, self.level.is_some()),
            (p::MIN_LEVEL, self.min_level.is_some()),
            (p::Q, self.q.is_some()),
            (p::SERVICE, self.service.is_some()),
            (p::USER_ID, self.user_id.is_some()),
        ];
        for (name, set) in flags {
            if set {
                names.push(name.to_string());
            }
        }
        names.extend(self.attrs.keys().map(|k| format!("{}{k}", p::ATTR_PREFIX)));
        names
    }

    /// The reference matcher: true when `record` satisfies every filter.
    pub fn matches(&self, record: &LogRecord) -> bool {
        self.matches_time(record.timestamp_ms)
            && self.levels().is_none_or(|set| set.contains(record.level))
            && self
                .q
                .as_deref()
                .is_none_or(|q| contains_case_insensitive(&record.message, q))
            && self
                .service
                .as_deref()
                .is_none_or(|s| record.service.as_deref() == Some(s))
            && self
                .user_id
                .as_deref()
                .is_none_or(|u| record.user_id.as_deref() == Some(u))
            && self.attrs.iter().all(|(name, wanted)| {
                record
                    .attributes
                    .get(name)
                    .is_some_and(|value| attribute_equals(value, wanted))
            })
    }

    /// True when a filter looks at more than the timestamp (`level`,
    /// `min_level`, `q`, `service`, `user_id`, `attr.*`): deciding
    /// [`Filters::matches`] needs the mapped record, not a lazily read
    /// one ([`crate::lazy`]).
    pub fn constrains_content(&self) -> bool {
        self.level.is_some()
            || self.min_level.is_some()
            || self.q.is_some()
            || self.service.is_some()
            || self.user_id.is_some()
            || !self.attrs.is_empty()
    }

    pub fn matches_time(&self, timestamp_ms: i64) -> bool {
        self.start.is_none_or(|s| timestamp_ms >= s) && self.end.is_none_or(|e| timestamp_ms <= e)
    }

    /// True when no record can match: an empty level set, or an empty
    /// window (`start` after `end`, or an `end` before [`EARLIEST_MS`]).
    /// No source is asked for such a query (the engine's pages and counts,
    /// each adapter).
    pub fn is_unsatisfiable(&self) -> bool {
        self.levels().is_some_and(LevelSet::is_empty)
            || matches!((self.start, self.end), (Some(s), Some(e)) if s > e)
            || self.end.is_some_and(|e| e < EARLIEST_MS)
    }
}

/// The earliest instant a log is looked for, epoch ms: the Unix epoch,
/// 1970-01-01T00:00:00Z. Every provider stamps a record when it is written
/// (Logto's `createdAt` is itself epoch milliseconds), so a window ending
/// before it is empty and answered without asking any source (README
/// "Decisions where the spec is silent"). A record an upstream does stamp
/// earlier (a clock never set) is still served by a window reaching back
/// to it that does not end before the epoch.
pub const EARLIEST_MS: i64 = 0;

/// `attr.NAME` semantics: strings compare exactly; a number or boolean
/// matches its JSON text (`attr.score=9` matches `9`, not `9.0`).
pub fn attribute_equals(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Number(n) => n.to_string() == wanted,
        Value::Bool(b) => (if *b { "true" } else { "false" }) == wanted,
        _ => false,
    }
}

/// Case-insensitive substring test: `needle` occurs in `haystack` once
/// both are put through full Unicode case folding (CaseFolding.txt,
/// statuses C and F, by the `caseless` crate): `ΟΔΟΣ` matches
/// `οδος`/`ΟΔΟΣΤΡΩΜΑ`, `STRASSE` matches `straße`. No normalisation (NFC
/// and NFD spellings of one letter differ). The one `q` semantics of every
/// path (spec §3, §10).
pub fn contains_case_insensitive(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        // ASCII folds to ASCII lower case: no allocation on the hot path.
        let needle = needle.as_bytes();
        return needle.is_empty()
            || haystack
                .as_bytes()
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle));
    }
    fold_case(haystack).contains(&fold_case(needle))
}

/// `text` under full Unicode case folding (what [`contains_case_insensitive`]
/// compares).
pub fn fold_case(text: &str) -> String {
    caseless::default_case_fold_str(text)
}

/// The full case folds of the non-ASCII characters whose fold holds an
/// ASCII character (`ß` → `ss`, `K` KELVIN SIGN → `k`, `ﬁ` → `fi`, `İ` →
/// `i` + U+0307, ...). A unit test recomputes the list from the folding
/// tables, so it cannot drift from [`fold_case`].
pub const FOLDS_REACHING_ASCII: [&str; 17] = [
    "ss", "i\u{307}", "\u{2bc}n", "s", "j\u{30c}", "h\u{331}", "t\u{308}", "w\u{30a}", "y\u{30a}",
    "a\u{2be}", "k", "ff", "fi", "fl", "ffi", "ffl", "st",
];

/// True when a provider whose search is an ASCII-case-insensitive
/// substring test returns every message [`contains_case_insensitive`]
/// matches for `q`, so pushing `q` there only over-selects (spec §10).
///
/// That holds when `q` is non-empty ASCII and no part of it can come from
/// a non-ASCII character: no alignment of a [`FOLDS_REACHING_ASCII`] entry
/// with `q` agrees on the characters they share. `error` is safe; `über`
/// (non-ASCII), `ok` (KELVIN SIGN), `class` (`ß`, `ſ`) and `login` (`ﬂ`
/// folds to `fl`, so `ﬂogin` holds `login`) are not.
pub fn ascii_search_is_superset(q: &str) -> bool {
    if q.is_empty() || !q.is_ascii() {
        return false;
    }
    let q: Vec<char> = q.to_ascii_lowercase().chars().collect();
    !FOLDS_REACHING_ASCII
        .iter()
        .any(|fold| shares_a_part(&q, &fold.chars().collect::<Vec<_>>()))
}

/// Whether `fold`, placed at some offset against `q` (overhanging either
/// end), overlaps it in at least one character and agrees on all shared
/// ones.
fn shares_a_part(q: &[char], fold: &[char]) -> bool {
    let (q_len, f_len) = (q.len() as isize, fold.len() as isize);
    (1 - f_len..q_len).any(|at| {
        let shared: Vec<(char, char)> = (0..f_len)
            .filter(|j| (0..q_len).contains(&(at + j)))
            .map(|j| (fold[j as usize], q[(at + j) as usize]))
            .collect();
        !shared.is_empty() && shared.iter().all(|(f, c)| f == c)
    })
}

/// What one adapter is asked for: the filters, the order, and the
/// traversal's pinned window (already folded into `filters.start`/`end`
/// by the engine together with the client's own bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceQuery {
    pub filters: Filters,
    pub order: Order,
    /// Keep each record's untouched upstream object in `raw`.
    pub include_raw: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(level: Level, message: &str) -> LogRecord {
        LogRecord {
            native_id: "x".into(),
            timestamp_ms: 1000,
            level,
            message: message.into(),
            service: Some("api".into()),
            user_id: None,
            attributes: json!({"score": 9, "ok": true, "name": "a"})
                .as_object()
                .cloned()
                .unwrap(),
            raw: None,
        }
    }

    /// An empty window is unsatisfiable in each of its forms: `start`
    /// after `end`, and an `end` before the epoch (with or without
    /// `start`); a window ending at the epoch or later is not.
    #[test]
    fn empty_windows_are_unsatisfiable() {
        let window = |start: Option<i64>, end: Option<i64>| Filters {
            start,
            end,
            ..Filters::default()
        };
        for (start, end) in [
            (Some(5), Some(4)),
            (None, Some(-1)),
            (Some(-62_135_596_800_000), Some(-62_135_596_800_000)),
            (None, Some(-62_135_596_800_000)),
        ] {
            assert!(window(start, end).is_unsatisfiable(), "{start:?} {end:?}");
        }
        for (start, end) in [
            (None, Some(0)),
            (Some(-5), Some(0)),
            (Some(4), Some(4)),
            (None, None),
        ] {
            assert!(!window(start, end).is_unsatisfiable(), "{start:?} {end:?}");
        }
    }

    #[test]
    fn level_and_min_level_intersect() {
        let filters = Filters {
            level: Some([Level::Info, Level::Error].into_iter().collect()),
            min_level: Some(Level::Warn),
            ..Filters::default()
        };
        assert_eq!(filters.levels().unwrap().single(), Some(Level::Error));
        assert!(filters.matches(&record(Level::Error, "m")));
        assert!(!filters.matches(&record(Level::Info, "m")));
    }

    #[test]
    fn attributes_match_json_text_of_numbers_and_booleans() {
        let r = record(Level::Info, "m");
        assert!(attribute_equals(&r.attributes["score"], "9"));
        assert!(!attribute_equals(&r.attributes["score"], "9.0"));
        assert!(attribute_equals(&r.attributes["ok"], "true"));
        let filters = Filters {
            attrs: [("missing".to_string(), "a".to_string())].into(),
            ..Filters::default()
        };
        assert!(!filters.matches(&r));
    }

    #[test]
    fn q_is_case_insensitive_also_beyond_ascii() {
        assert!(contains_case_insensitive("Failed to LOGIN", "login"));
        assert!(contains_case_insensitive("ÉCHEC de connexion", "échec"));
        assert!(!contains_case_insensitive("ok", "fail"));
    }

    #[test]
    fn service_filter_never_matches_null() {
        let mut r = record(Level::Info, "m");
        r.service = None;
        let filters = Filters {
            service: Some("api".into()),
            ..Filters::default()
        };
        assert!(!filters.matches(&r));
    }

    #[test]
    fn names_use_parameter_spelling() {
        let filters = Filters {
            start: Some(1),
            q: Some("x".into()),
            attrs: [("promptId".to_string(), "p".to_string())].into(),
            ..Filters::default()
        };
        assert_eq!(filters.names(), vec!["start", "q", "attr.promptId"]);
    }
}

#[cfg(test)]
#[path = "query_fold_tests.rs"]
mod fold_tests;
