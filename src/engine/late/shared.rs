//! Shared tail pollers while `follow.late_window` is on (issue 17 item 4
//! with item 5).
//!
//! Two follow cursors of one query caught up at one bound may differ in
//! the late records they delivered (each re-read its window at its own
//! times), so a subscriber cannot forward its group's cursors as its own.
//! Instead the group polls with a cursor that remembers nothing
//! ([`Engine::shared_late_cursor`]: every delivered-id set empty, every
//! floor at the beginning of time) and pages with
//! [`LogsRequest::shared_poll`](crate::engine::query::LogsRequest), so each
//! of its polls keeps every record of the re-read window; each subscriber
//! then takes from every group page what its own cursor would have
//! delivered ([`Engine::share_late_page`]): the records its positions have
//! not passed and whose ids it did not deliver, and moves its own cursor
//! — the group's positions where they are further on, its own delivered
//! ids, floors and shrinks. The group's restarts re-read from old bound +
//! 1 − L, never later than a subscriber's own (which also respect its
//! floor), so a group page holds everything the subscriber's own page
//! would have read; what the subscriber's cursor passed or delivered
//! already is dropped. A subscriber leaving the group continues on its own
//! from its own cursor, which is an ordinary follow cursor.
//!
//! Since the group's pages hold the records already delivered too, its
//! re-read of a busy window takes several pages; it finishes its window
//! before moving it ([`Engine::window_in_progress`]): a window moved at
//! every page would restart each source as soon as it finished, and the
//! group would re-read forever without ever being caught up.

use std::collections::{BTreeMap, HashSet};

use loggate_core::{LogRecord, Position, Resume};

use super::delivered_set;
use crate::engine::{CursorState, Engine, EngineError, Page};

impl Engine {
    /// The cursor a shared poller polls with while `late_window` is on:
    /// `cursor` with every source's delivered ids forgotten and its floor
    /// lowered to the beginning of time, so each restart re-reads the whole
    /// window (`None`: not a cursor of this gateway).
    pub fn shared_late_cursor(&self, cursor: &str) -> Option<String> {
        let mut state = self.signer.decode(cursor).ok()?;
        for set in state.late.values_mut() {
            set.floor = i64::MIN;
            set.ids.clear();
        }
        Some(self.signer.encode(&state))
    }

    /// The bound of a follow cursor in the middle of its window (`None`
    /// when every source finished it, or for any other cursor): a shared
    /// poller with `late_window` on pages up to it before moving on.
    pub fn window_in_progress(&self, cursor: &str) -> Option<i64> {
        let state = self.signer.decode(cursor).ok()?;
        let caught_up = state.positions.values().all(|p| p.done);
        (state.follow && !caught_up).then_some(state.pinned_end)
    }

    /// A subscriber's own page from its group's `page` (paged with
    /// `shared_poll`), given the follow cursor `mine` after the subscriber's
    /// last event and the group's cursor `after` the page (`None`: the
    /// follow ended). The page holds the records `mine` would have
    /// delivered; its `next_cursor` is the subscriber's own.
    pub fn share_late_page(
        &self,
        mine: &str,
        page: &Page,
        after: Option<&str>,
    ) -> Result<Page, EngineError> {
        let mut state = self.signer.decode(mine)?;
        let group = after.map(|a| self.signer.decode(a)).transpose()?;
        // The group's page began by moving its window to its new bound;
        // the restarts do not depend on the new bound's value.
        self.advance_to(
            &mut state,
            group.as_ref().map_or(i64::MAX, |g| g.pinned_end),
        );
        let logs = unseen(&state, &page.logs);
        let mut sources = page.sources.clone();
        for report in sources.values_mut() {
            report.returned = 0;
        }
        for (source, _, _) in &logs {
            if let Some(report) = sources.get_mut(&**source) {
                report.returned += 1;
            }
        }
        let mut shared = Page {
            logs,
            next_cursor: None,
            partial: page.partial,
            caught_up: page.caught_up,
            sources,
            warnings: page.warnings.clone(),
            room: None,
            // The follow ended (no group cursor after the page): the
            // group's terminal cursor ends this subscriber's tail too (same
            // key, sources and filters; nothing continues from it).
            terminal_cursor: page.terminal_cursor.clone(),
        };
        if let Some(group) = group {
            follow_group(&mut state, group);
            let delivered = shared.logs.iter().map(|(s, _, r)| (&**s, r));
            let shrunk = self.record_late(&mut state, delivered);
            shared.warnings.extend(shrunk);
            self.follow_page(&state, &mut shared);
        }
        Ok(shared)
    }
}

/// The logs of a group page that `state` (advanced like the group's) would
/// have delivered: not passed by its position, not among its delivered ids.
fn unseen(
    state: &CursorState,
    logs: &[(std::sync::Arc<str>, &'static str, LogRecord)],
) -> Vec<(std::sync::Arc<str>, &'static str, LogRecord)> {
    let delivered: BTreeMap<&str, HashSet<u64>> = state
        .sources
        .iter()
        .map(|name| (name.as_str(), delivered_set(state, name)))
        .collect();
    logs.iter()
        .filter(|(source, _, record)| {
            let passed = state
                .positions
                .get(&**source)
                .is_some_and(|p| p.covers_record(record, state.order));
            let known = delivered
                .get(&**source)
                .is_some_and(|ids| ids.contains(&super::digest(&record.native_id)));
            !passed && !known
        })
        .cloned()
        .collect()
}

/// Moves `state` to the group's window and, per source, to the group's
/// position where it is further on (the group read everything up to it).
fn follow_group(state: &mut CursorState, group: CursorState) {
    state.pinned_end = group.pinned_end;
    state.served = group.served;
    for (name, theirs) in group.positions {
        let mine = state.positions.entry(name).or_default();
        if further(&theirs, mine) {
            *mine = theirs;
        }
    }
}

/// Whether ascending position `a` has passed more than `b`.
fn further(a: &Position, b: &Position) -> bool {
    if b.done {
        return false;
    }
    if a.done {
        return true;
    }
    match (&a.resume, &b.resume) {
        (Resume::Start, _) => false,
        (_, Resume::Start) => true,
        (Resume::Group(x), Resume::Group(y)) => x > y,
        // Group(x) has passed everything before x; After(k) everything up
        // to k, within k's timestamp too.
        (Resume::Group(x), Resume::After(k)) => *x > k.timestamp_ms,
        (Resume::After(k), Resume::Group(y)) => k.timestamp_ms >= *y,
        (Resume::After(k), Resume::After(j)) => k > j,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::late::{digest, Delivered};
    use crate::engine::{CursorSigner, EngineSettings};
    use loggate_core::{Filters, Key, Order};
    use std::sync::Arc;
    use std::time::Duration;

    fn engine() -> Engine {
        let settings = EngineSettings {
            request_timeout: Duration::from_secs(1),
            scan_budget: 1000,
            max_queue_wait: Duration::from_secs(1),
            settle: Duration::ZERO,
            pin_rounding: Duration::from_millis(1),
            late_window: Duration::from_millis(1000),
            late_ids: 256,
            split: None,
            freshness_horizon: None,
        };
        Engine::new(Vec::new(), CursorSigner::new(b"s"), settings)
    }

    /// A caught-up cursor of source `a` at `bound` that delivered `ids`.
    fn cursor(bound: i64, floor: i64, ids: &[(i64, &str)]) -> CursorState {
        let ids = ids.iter().map(|(ts, id)| (*ts, digest(id))).collect();
        CursorState {
            sources: vec!["a".into()],
            filters: Filters::default(),
            order: Order::Asc,
            pinned_end: bound,
            key: None,
            positions: [("a".to_string(), Position::finished())].into(),
            follow: true,
            served: BTreeMap::new(),
            late: [(
                "a".to_string(),
                Delivered {
                    floor,
                    reread_end: i64::MIN,
                    ids,
                },
            )]
            .into(),
            terminal: false,
        }
    }

    fn rec(ts: i64, id: &str) -> (Arc<str>, &'static str, LogRecord) {
        let record = LogRecord {
            native_id: id.into(),
            timestamp_ms: ts,
            level: loggate_core::Level::Info,
            message: String::new(),
            service: None,
            user_id: None,
            attributes: Default::default(),
            raw: None,
        };
        (Arc::from("a"), "test", record)
    }

    fn ids(page: &Page) -> Vec<String> {
        page.logs
            .iter()
            .map(|(_, _, r)| r.native_id.clone())
            .collect()
    }

    #[test]
    fn each_subscriber_takes_what_its_own_cursor_would_deliver() {
        let engine = engine();
        // The group re-read its window from 10 001 − 1 000 up to 11 000.
        let group = engine.signer.encode(&cursor(11_000, i64::MIN, &[]));
        let page = Page {
            logs: vec![rec(8_000, "old"), rec(9_500, "x"), rec(10_500, "y")],
            next_cursor: Some(group.clone()),
            partial: false,
            caught_up: Some(true),
            sources: BTreeMap::new(),
            warnings: Vec::new(),
            room: None,
            terminal_cursor: None,
        };
        // One delivered the late `x` already, one did not, one started
        // after its time (its floor): only the second gets `x` now.
        let had_x = engine
            .signer
            .encode(&cursor(10_000, 9_001, &[(9_500, "x")]));
        let missed_x = engine.signer.encode(&cursor(10_000, 9_001, &[]));
        let started_later = engine.signer.encode(&cursor(10_000, 9_900, &[]));
        let mut got = Vec::new();
        for mine in [&had_x, &missed_x, &started_later] {
            let shared = engine.share_late_page(mine, &page, Some(&group)).unwrap();
            got.push(ids(&shared));
            let next = engine
                .signer
                .decode(shared.next_cursor.as_deref().unwrap())
                .unwrap();
            assert_eq!(next.pinned_end, 11_000);
            assert!(next.positions["a"].done);
            // Kept: what a later re-read (from 11 001 − 1 000) may meet.
            assert_eq!(next.late["a"].ids, vec![(10_500, digest("y"))]);
            assert_eq!(shared.caught_up, Some(true));
        }
        assert_eq!(got, [vec!["y"], vec!["x", "y"], vec!["y"]]);
    }

    #[test]
    fn a_follow_that_ended_gives_the_records_and_no_cursor() {
        let engine = engine();
        let page = Page {
            logs: vec![rec(9_500, "x"), rec(10_500, "y")],
            next_cursor: None,
            partial: false,
            caught_up: Some(true),
            sources: BTreeMap::new(),
            warnings: Vec::new(),
            room: None,
            terminal_cursor: Some("the group's terminal cursor".into()),
        };
        let mine = engine
            .signer
            .encode(&cursor(10_000, 9_001, &[(9_500, "x")]));
        let shared = engine.share_late_page(&mine, &page, None).unwrap();
        assert_eq!(ids(&shared), ["y"]);
        assert_eq!(shared.next_cursor, None);
        // The subscriber's tail ends with the group's terminal cursor.
        assert_eq!(
            shared.terminal_cursor.as_deref(),
            Some("the group's terminal cursor")
        );
    }

    #[test]
    fn further_orders_ascending_positions() {
        let g = |ts| Position::group(ts, None);
        let a = |ts, id: &str| Position::after(Key::new(ts, id), None);
        assert!(further(&g(11), &g(10)));
        assert!(!further(&g(10), &g(10)));
        assert!(further(&a(10, "a"), &g(10)));
        assert!(!further(&g(10), &a(10, "a")));
        assert!(further(&g(11), &a(10, "z")));
        assert!(further(&a(10, "b"), &a(10, "a")));
        assert!(further(&Position::finished(), &a(10, "b")));
        assert!(!further(&a(10, "b"), &Position::finished()));
        assert!(further(&g(0), &Position::start()));
        assert!(!further(&Position::start(), &g(0)));
    }
}
