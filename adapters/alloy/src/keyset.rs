//! Which records of an upstream page may be emitted, and where the
//! position goes next (pure; the HTTP loop lives in `adapter.rs`).
//!
//! Alloy sorts by `createdAt` only: records sharing a timestamp come back
//! in any order. A page therefore holds every record of each timestamp it
//! shows except, when it is full, possibly the last one (its group may go
//! on in the next page). Those complete groups are emitted; the next
//! request is bounded by the incomplete group's timestamp (inclusive) and
//! re-reads it whole, dropping what the position covers.

use loggate_core::record::sort_records;
use loggate_core::{Filters, Key, LogRecord, Order, Position};

/// How emitting a run of complete groups ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emitted {
    /// Every matching record not covered was emitted.
    All,
    /// `want` was reached before the end: resume after this key.
    Cut(Key),
}

/// The timestamp furthest along in traversal order among `records`.
pub fn frontier_ts(records: &[LogRecord], order: Order) -> Option<i64> {
    let timestamps = records.iter().map(|r| r.timestamp_ms);
    match order {
        Order::Asc => timestamps.max(),
        Order::Desc => timestamps.min(),
    }
}

/// Splits off the records of the (possibly incomplete) group at `ts`.
pub fn without_group(records: Vec<LogRecord>, ts: i64) -> Vec<LogRecord> {
    records
        .into_iter()
        .filter(|r| r.timestamp_ms != ts)
        .collect()
}

/// Appends to `out`, in traversal order, the records of `complete` (whole
/// timestamp groups) that match `filters` and are not covered by
/// `position`, until `out` holds `want`.
pub fn emit(
    mut complete: Vec<LogRecord>,
    position: &Position,
    filters: &Filters,
    order: Order,
    want: usize,
    out: &mut Vec<LogRecord>,
) -> Emitted {
    sort_records(&mut complete, order);
    complete.dedup_by(|a, b| a.native_id == b.native_id && a.timestamp_ms == b.timestamp_ms);
    let mut candidates = complete
        .into_iter()
        .filter(|r| !position.covers_record(r, order) && filters.matches(r))
        .peekable();
    while candidates.peek().is_some() {
        if out.len() >= want.max(1) {
            return match out.last() {
                Some(last) => Emitted::Cut(last.key()),
                None => Emitted::All,
            };
        }
        out.extend(candidates.next());
    }
    Emitted::All
}

/// The position once every record at `ts` is done and none after it:
/// timestamps are whole milliseconds, so the next group starts one
/// millisecond further along.
pub fn past_group(ts: i64, order: Order) -> Position {
    match order {
        Order::Asc => Position::group(ts.saturating_add(1), None),
        Order::Desc => Position::group(ts.saturating_sub(1), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::Level;
    use serde_json::Map;

    fn record(ts: i64, id: &str, level: Level) -> LogRecord {
        LogRecord {
            native_id: id.into(),
            timestamp_ms: ts,
            level,
            message: String::new(),
            service: None,
            user_id: None,
            attributes: Map::new(),
            raw: None,
        }
    }

    #[test]
    fn emits_in_order_and_drops_covered_and_non_matching() {
        let records = vec![
            record(5, "b", Level::Info),
            record(5, "a", Level::Info),
            record(7, "c", Level::Error),
            record(6, "d", Level::Info),
        ];
        let position = Position::after(Key::new(5, "a"), None);
        let filters = Filters {
            level: Some([Level::Info].into_iter().collect()),
            ..Filters::default()
        };
        let mut out = Vec::new();
        let emitted = emit(records, &position, &filters, Order::Asc, 10, &mut out);
        assert_eq!(emitted, Emitted::All);
        let ids: Vec<&str> = out.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!(ids, vec!["b", "d"]);
    }

    #[test]
    fn cuts_at_want_only_when_more_remain() {
        let records = vec![record(5, "a", Level::Info), record(4, "b", Level::Info)];
        let mut out = Vec::new();
        let emitted = emit(
            records.clone(),
            &Position::start(),
            &Filters::default(),
            Order::Desc,
            1,
            &mut out,
        );
        assert_eq!(emitted, Emitted::Cut(Key::new(5, "a")));
        let mut out = Vec::new();
        let emitted = emit(
            records,
            &Position::start(),
            &Filters::default(),
            Order::Desc,
            2,
            &mut out,
        );
        assert_eq!(emitted, Emitted::All);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn frontier_and_past_group_follow_the_order() {
        let records = vec![record(5, "a", Level::Info), record(9, "b", Level::Info)];
        assert_eq!(frontier_ts(&records, Order::Asc), Some(9));
        assert_eq!(frontier_ts(&records, Order::Desc), Some(5));
        assert!(past_group(9, Order::Asc).covers(&Key::new(9, "zzz"), Order::Asc));
        assert!(!past_group(9, Order::Asc).covers(&Key::new(10, ""), Order::Asc));
        assert!(past_group(5, Order::Desc).covers(&Key::new(5, ""), Order::Desc));
        assert!(!past_group(5, Order::Desc).covers(&Key::new(4, "z"), Order::Desc));
    }
}
