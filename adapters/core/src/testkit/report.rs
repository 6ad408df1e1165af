//! Messages of the suite: filters, keys and record lists as short text,
//! and the difference between a traversal and its reference.

use std::any::Any;
use std::collections::HashSet;
use std::fmt::Write as _;

use crate::query::Filters;
use crate::record::{Key, LogRecord};

/// How many records of a list a message shows.
const SHOWN: usize = 5;

/// The filters as a short readable line (`start=.. level=INFO,WARN q="x"`).
pub fn describe(filters: &Filters) -> String {
    let mut parts = Vec::new();
    if let Some(start) = filters.start {
        parts.push(format!("start={start}"));
    }
    if let Some(end) = filters.end {
        parts.push(format!("end={end}"));
    }
    if let Some(levels) = filters.level {
        let names: Vec<&str> = levels.iter().map(|l| l.as_str()).collect();
        parts.push(format!("level={}", names.join(",")));
    }
    if let Some(min) = filters.min_level {
        parts.push(format!("min_level={min}"));
    }
    if let Some(q) = &filters.q {
        parts.push(format!("q={q:?}"));
    }
    if let Some(service) = &filters.service {
        parts.push(format!("service={service:?}"));
    }
    if let Some(user) = &filters.user_id {
        parts.push(format!("user_id={user:?}"));
    }
    for (name, value) in &filters.attrs {
        parts.push(format!("attr.{name}={value:?}"));
    }
    if parts.is_empty() {
        "no filters".to_string()
    } else {
        parts.join(" ")
    }
}

/// Why `got` is not `expected`, in a line or two; `None` when equal.
pub(crate) fn difference(got: &[LogRecord], expected: &[LogRecord]) -> Option<String> {
    if got == expected {
        return None;
    }
    let got_keys: HashSet<Key> = got.iter().map(LogRecord::key).collect();
    let expected_keys: HashSet<Key> = expected.iter().map(LogRecord::key).collect();
    let missing: Vec<Key> = expected
        .iter()
        .map(LogRecord::key)
        .filter(|k| !got_keys.contains(k))
        .collect();
    let extra: Vec<Key> = got
        .iter()
        .map(LogRecord::key)
        .filter(|k| !expected_keys.contains(k))
        .collect();
    let mut text = format!(
        "the traversal returned {} records, the reference over the snapshot has {}",
        got.len(),
        expected.len()
    );
    if !missing.is_empty() {
        let _ = write!(
            text,
            "; missing {}: {}",
            missing.len(),
            show_keys(missing.iter())
        );
    }
    if !extra.is_empty() {
        let _ = write!(
            text,
            "; not in the reference {}: {}",
            extra.len(),
            show_keys(extra.iter())
        );
    }
    if missing.is_empty() && extra.is_empty() {
        // Same keys, so some record's fields differ from the snapshot's.
        if let Some((g, e)) = got.iter().zip(expected).find(|(g, e)| g != e) {
            let _ = write!(
                text,
                "; record {} differs from the snapshot:\n  returned {g:?}\n  snapshot {e:?}",
                show_key(&g.key())
            );
        }
    }
    Some(text)
}

/// The message of a caught panic.
pub(crate) fn panic_text(cause: &(dyn Any + Send)) -> String {
    if let Some(text) = cause.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = cause.downcast_ref::<&str>() {
        (*text).to_string()
    } else {
        "(no message)".to_string()
    }
}

pub(crate) fn show_key(key: &Key) -> String {
    format!("({}, {:?})", key.timestamp_ms, key.native_id)
}

pub(crate) fn show_keys<'k>(keys: impl Iterator<Item = &'k Key>) -> String {
    let keys: Vec<&Key> = keys.collect();
    let mut text: Vec<String> = keys.iter().take(SHOWN).map(|k| show_key(k)).collect();
    if keys.len() > SHOWN {
        text.push(format!("and {} more", keys.len() - SHOWN));
    }
    text.join(", ")
}
