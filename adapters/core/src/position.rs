//! Where one source stands in a traversal.
//!
//! A position is a keyset bound, never a page number: upstreams order by
//! time only and their offsets drift when logs arrive, so "everything up to
//! this (timestamp, id) is done" is the only state that survives ties and
//! inserts. Providers that can only page by offset keep an advisory `hint`
//! and still drop what the bound says is done.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::query::Order;
use crate::record::{Key, LogRecord};

/// The keyset part of a position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Resume {
    /// Nothing emitted or passed yet.
    #[default]
    #[serde(rename = "s")]
    Start,
    /// Every record whose timestamp sorts before `ts` in traversal order is
    /// done; none at `ts` is (the group sharing `ts` must be read whole).
    #[serde(rename = "g")]
    Group(i64),
    /// Every record up to and including this key, in traversal order, is done.
    #[serde(rename = "a")]
    After(Key),
}

/// A source's resumable state, carried inside the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Position {
    #[serde(rename = "r", default)]
    pub resume: Resume,
    /// Provider-specific advisory hint (an offset or page), never trusted
    /// for correctness.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<u64>,
    /// Nothing of this source remains.
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

impl Position {
    pub fn start() -> Self {
        Position::default()
    }

    pub fn finished() -> Self {
        Position {
            done: true,
            ..Position::default()
        }
    }

    pub fn after(key: Key, hint: Option<u64>) -> Self {
        Position {
            resume: Resume::After(key),
            hint,
            done: false,
        }
    }

    pub fn group(timestamp_ms: i64, hint: Option<u64>) -> Self {
        Position {
            resume: Resume::Group(timestamp_ms),
            hint,
            done: false,
        }
    }

    /// True when the record with `key` was already emitted or passed.
    pub fn covers(&self, key: &Key, order: Order) -> bool {
        self.covers_at(key.timestamp_ms, &key.native_id, order)
    }

    /// [`Position::covers`] for a record, without building its [`Key`]
    /// (it runs for every record read).
    pub fn covers_record(&self, record: &LogRecord, order: Order) -> bool {
        self.covers_at(record.timestamp_ms, &record.native_id, order)
    }

    /// [`Position::covers`] for the key `(timestamp_ms, native_id)`.
    pub fn covers_at(&self, timestamp_ms: i64, native_id: &str, order: Order) -> bool {
        if self.done {
            return true;
        }
        match &self.resume {
            Resume::Start => false,
            Resume::Group(ts) => ts_cmp_in_order(timestamp_ms, *ts, order) == Ordering::Less,
            Resume::After(bound) => {
                let ascending = timestamp_ms
                    .cmp(&bound.timestamp_ms)
                    .then_with(|| native_id.cmp(bound.native_id.as_str()));
                let in_order = match order {
                    Order::Asc => ascending,
                    Order::Desc => ascending.reverse(),
                };
                in_order != Ordering::Greater
            }
        }
    }

    /// The timestamp a keyset provider may bound its next request by
    /// (inclusive: the group at that timestamp must be re-read whole).
    /// For `desc` it is an upper bound, for `asc` a lower one.
    pub fn bound_ts(&self) -> Option<i64> {
        match &self.resume {
            Resume::Start => None,
            Resume::Group(ts) => Some(*ts),
            Resume::After(key) => Some(key.timestamp_ms),
        }
    }
}

/// Compares two timestamps in traversal order.
pub fn ts_cmp_in_order(a: i64, b: i64, order: Order) -> Ordering {
    match order {
        Order::Asc => a.cmp(&b),
        Order::Desc => b.cmp(&a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_covers_only_strictly_earlier_timestamps() {
        let p = Position::group(10, None);
        assert!(p.covers(&Key::new(11, "z"), Order::Desc));
        assert!(!p.covers(&Key::new(10, "z"), Order::Desc));
        assert!(p.covers(&Key::new(9, "a"), Order::Asc));
        assert!(!p.covers(&Key::new(10, "a"), Order::Asc));
    }

    #[test]
    fn after_covers_the_key_itself_and_ties_before_it() {
        let p = Position::after(Key::new(10, "m"), Some(3));
        assert!(p.covers(&Key::new(10, "m"), Order::Asc));
        assert!(p.covers(&Key::new(10, "a"), Order::Asc));
        assert!(!p.covers(&Key::new(10, "n"), Order::Asc));
        assert!(p.covers(&Key::new(10, "z"), Order::Desc));
        assert!(!p.covers(&Key::new(10, "a"), Order::Desc));
    }

    #[test]
    fn serialises_compactly_and_round_trips() {
        let p = Position::after(Key::new(10, "m"), Some(3));
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"r":{"a":{"t":10,"i":"m"}},"h":3}"#);
        assert_eq!(serde_json::from_str::<Position>(&text).unwrap(), p);
        let done = serde_json::to_string(&Position::finished()).unwrap();
        assert_eq!(done, r#"{"r":"s","d":true}"#);
    }
}
