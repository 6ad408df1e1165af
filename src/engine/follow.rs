//! Follow traversals (spec §8, issue 17 item 1).
//!
//! A follow traversal is an ascending traversal whose pinned upper bound
//! moves: every call first moves `pinned_end` forward to now − `settle`,
//! and every source that had finished the previous window resumes at
//! [`Position::group`]`(old pinned_end + 1)` — everything stamped at or
//! before the old bound is done, nothing after it is. A source still inside
//! its window (it failed, or ran out of scan budget) keeps its position:
//! a keyset position stays valid when the upper bound grows. So each call
//! reads, per source, exactly the records stamped in (old bound, new bound]
//! that it had not read yet, and the cursor carries all the state: any
//! replica with the same secret continues it, nothing is kept server-side.
//!
//! The guarantee: every matching record that is visible upstream by the
//! time its timestamp is `settle` old is delivered exactly once, in order
//! per source. A record that reaches its upstream later than that, stamped
//! with a time a window has already passed, is delivered (once) only with
//! `follow.late_window` on and only while it is inside that window
//! ([`super::late`]).

use loggate_core::{Order, Position};

use super::late;
use super::query::LogsRequest;
use super::{Caller, CursorState, Engine, EngineError, Page};

impl Engine {
    /// A fresh follow traversal: ascending only, its first window ending at
    /// now − settle.
    pub(super) fn start_follow(&self, state: &mut CursorState) -> Result<(), EngineError> {
        if state.order != Order::Asc {
            return Err(EngineError::invalid(
                "follow",
                "follow=true requires order=asc",
            ));
        }
        state.follow = true;
        state.pinned_end = self.follow_bound();
        Ok(())
    }

    /// Moves a follow cursor's window forward to now − settle, or to `to`
    /// when that is earlier (a tail aligning itself with its group's
    /// poller); never backwards: a replica whose clock is behind just finds
    /// nothing new.
    pub(super) fn advance_follow(&self, state: &mut CursorState, to: Option<i64>) {
        let now_bound = self.follow_bound();
        self.advance_to(state, to.map_or(now_bound, |to| to.min(now_bound)));
    }

    /// Moves a follow cursor's window forward to `bound` (epoch ms): every
    /// source that had finished the window restarts after the old bound
    /// (less the late window). A bound not past the old one changes nothing.
    pub(super) fn advance_to(&self, state: &mut CursorState, bound: i64) {
        if bound <= state.pinned_end {
            return;
        }
        let old = state.pinned_end;
        let late_ms = self.late_ms();
        for (name, position) in state.positions.iter_mut() {
            if position.done {
                *position = late::restart(&mut state.late, name, old, late_ms);
            }
        }
        state.pinned_end = bound;
    }

    /// After a follow page: remembers the ids `delivered` (with the late
    /// window on), counting each source whose window shrank in
    /// `loggate_follow_late_window_shrinks_total`; the page's warnings.
    pub(super) fn record_late<'a>(
        &self,
        state: &mut CursorState,
        delivered: impl Iterator<Item = (&'a str, &'a loggate_core::LogRecord)>,
    ) -> Vec<String> {
        let (late_ms, max_ids) = (self.late_ms(), self.settings.late_ids);
        let shrunk = late::record(state, delivered, late_ms, max_ids);
        shrunk
            .into_iter()
            .map(|(source, warning)| {
                self.metrics.observe_late_shrink(&source);
                warning
            })
            .collect()
    }

    /// `follow.late_window` in milliseconds (0: off).
    pub(super) fn late_ms(&self) -> i64 {
        i64::try_from(self.settings.late_window.as_millis()).unwrap_or(i64::MAX)
    }

    /// `follow.late_window` (zero: off). With it on, two follow cursors of
    /// one query at one bound may differ in what they delivered: a shared
    /// poller then keeps every record it re-reads and each subscriber drops
    /// what its own cursor delivered ([`late::shared`]).
    pub fn late_window(&self) -> std::time::Duration {
        self.settings.late_window
    }

    /// The newest timestamp a follow traversal may read now (epoch ms).
    pub(super) fn follow_bound(&self) -> i64 {
        let settle = i64::try_from(self.settings.settle.as_millis()).unwrap_or(i64::MAX);
        loggate_core::time::now_ms().saturating_sub(settle)
    }

    /// The bound a follow cursor has read everything up to, when every
    /// source has finished its window (`None` for any other cursor).
    /// Two such cursors of one query with one bound continue identically:
    /// what lets a tail join its group's poller.
    pub fn caught_up_at(&self, cursor: &str) -> Option<i64> {
        let state = self.signer.decode(cursor).ok()?;
        let caught_up = state.follow && !state.terminal && state.positions.values().all(|p| p.done);
        caught_up.then_some(state.pinned_end)
    }

    /// The sources of a follow cursor that have not finished its window
    /// (a source that failed, whose page was full, or that a tail's poll
    /// left out); `None` for any other cursor.
    pub fn unfinished_sources(&self, cursor: &str) -> Option<Vec<String>> {
        let state = self.signer.decode(cursor).ok()?;
        let unfinished = state.positions.iter().filter(|(_, p)| !p.done);
        state
            .follow
            .then(|| unfinished.map(|(name, _)| name.clone()).collect())
    }

    /// Marks a follow page: `caught_up` when every source has finished the
    /// window, and a follow cursor (encoded again: the page's delivered ids
    /// are in it) instead of `null` — unless the window is caught up and
    /// past the client's own `end`, which ends the follow: then
    /// `next_cursor` is `None` and the page carries the terminal cursor a
    /// tail hands out instead ([`Page::terminal_cursor`]).
    pub(super) fn follow_page(&self, state: &CursorState, page: &mut Page) {
        let caught_up = state.positions.values().all(|p| p.done);
        page.caught_up = Some(caught_up);
        let ended = caught_up && state.filters.end.is_some_and(|end| state.pinned_end >= end);
        page.next_cursor = (!ended).then(|| self.signer.encode(state));
        page.terminal_cursor = ended.then(|| self.terminal_cursor(state));
    }

    /// The signed terminal cursor of a follow that ended at `state`
    /// ([`CursorState::terminal`]): its query (key, sources, filters,
    /// bound) without the per-page state nothing will continue from.
    fn terminal_cursor(&self, state: &CursorState) -> String {
        let mut terminal = state.clone();
        terminal.terminal = true;
        terminal.late.clear();
        terminal.served.clear();
        self.signer.encode(&terminal)
    }

    /// The page `/logs` answers a terminal cursor with (the follow is
    /// over): no logs, `caught_up: true`, `next_cursor: null`, every
    /// source reported as asked nothing.
    pub(super) fn ended_page(&self, state: &CursorState) -> Page {
        Page {
            logs: Vec::new(),
            next_cursor: None,
            partial: false,
            caught_up: Some(true),
            sources: state
                .sources
                .iter()
                .map(|name| (name.clone(), super::SourceReport::default()))
                .collect(),
            warnings: Vec::new(),
            room: None,
            terminal_cursor: Some(self.signer.encode(state)),
        }
    }
}

impl Engine {
    /// Opens a tail (spec §8): the follow cursor it starts from and its
    /// sources, checked as a page would be (sources known and readable,
    /// the cursor signed with this gateway's secret for this key), without
    /// reading anything. With a cursor it must be a follow cursor; a
    /// terminal one ([`CursorState::terminal`], checked like any other)
    /// opens nothing: [`TailStart::ended`]. Without one the tail is
    /// ascending; with no `start` it begins at now − settle (nothing older
    /// is delivered).
    pub fn open_tail(
        &self,
        request: &LogsRequest,
        caller: &Caller,
    ) -> Result<TailStart, EngineError> {
        if let Some(text) = &request.cursor {
            // The kind of cursor first: a `/logs` cursor sent with a tail's
            // own query would otherwise be refused for whichever parameter
            // differs from it (`source`, `order`), not for what it is.
            if !self.signer.decode(text)?.follow {
                return Err(EngineError::InvalidCursor(NOT_A_FOLLOW_CURSOR.into()));
            }
            let state = self.resolve(request, caller)?.state;
            return Ok(self.tail_start(&state));
        }
        if request.order == Some(Order::Desc) {
            return Err(EngineError::invalid(
                "order",
                "a tail is ascending: send order=asc or leave it out",
            ));
        }
        let mut request = request.clone();
        request.order = Some(Order::Asc);
        request.follow = Some(true);
        let mut state = self.resolve(&request, caller)?.state;
        if request.filters.start.is_none() {
            for position in state.positions.values_mut() {
                *position = Position::finished();
            }
            // Nothing before the tail's start is delivered: nothing to
            // re-read there either.
            state.late.clear();
            late::prepare(&mut state, self.late_ms());
        }
        Ok(self.tail_start(&state))
    }

    fn tail_start(&self, state: &CursorState) -> TailStart {
        let query = (&state.key, &state.sources, &state.filters);
        TailStart {
            cursor: self.signer.encode(state),
            sources: state.sources.clone(),
            query_key: serde_json::to_string(&query).unwrap_or_default(),
            ended: state.terminal,
        }
    }
}

/// Why a tail refuses a cursor that is not a follow cursor (a `/logs`
/// `next_cursor` without `follow=true`), before any parameter is compared
/// with it.
const NOT_A_FOLLOW_CURSOR: &str = "not a follow cursor: a tail resumes from the id of one of its events, the cursor of one of its frames, or a next_cursor of /logs?follow=true";

/// Where a tail starts ([`Engine::open_tail`]).
#[derive(Debug, Clone)]
pub struct TailStart {
    /// The follow cursor to poll from.
    pub cursor: String,
    /// Its sources.
    pub sources: Vec<String>,
    /// The query's identity (key, sources, filters) for sharing a poller.
    pub query_key: String,
    /// The cursor is a terminal one: the tail it came from is over
    /// (its `end` passed). `/logs/tail` answers `204 No Content`, the
    /// WebSocket tail closes at once with `1000` `end`.
    pub ended: bool,
}
