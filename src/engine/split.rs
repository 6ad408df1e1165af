//! Partial-range reuse (spec §9, README "Cache and request coalescing"):
//! one source's window split at a settled boundary, so that the settled
//! part's native request stays identical from refresh to refresh (cached
//! for `settled_ttl`) and only the fresh part is read again.
//!
//! For a query ending at `E` (the pinned end folded in) the boundary is
//! `G = floor(E − freshness_horizon, settled_grid)`: the settled segment
//! is `[floor(start, settled_grid), G − 1]`, the fresh one `[G, E]`. A
//! moving `start` is aligned down to the grid for the settled request and
//! the records before the real `start` are dropped here. Only a source
//! that sends the end upstream is split ([`bounds_upstream`]).
//!
//! Exactness does not rest on the split: a [`Position`] is a keyset bound,
//! and a segment is a time range, so a fetch continues in the segment that
//! holds the position's timestamp, and the first segment's end (or a
//! frontier of it past `G`, which speaks only for that segment's window)
//! hands over with the keyset bound "everything on `G`'s near side is
//! done", without the segment's offset hint. That bound is passed to the
//! other segment unchanged (never rewritten to `Start`: an adapter's own
//! frontier may equal it). Were `G` to differ between two pages, every
//! position would still mean the same.

use loggate_core::{Adapter, LazyBatch, Order, Position, Resume, SourceQuery};

/// `[cache] settled_grid` and `freshness_horizon`, in epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitGrid {
    /// Boundaries and aligned starts are multiples of this (ms, > 0).
    pub grid_ms: i64,
    /// A window ending this long before now is settled (ms).
    pub horizon_ms: i64,
}

/// One call of a split fetch: the segment's query, the position to send,
/// what to do with the batch.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Segment {
    pub query: SourceQuery,
    pub position: Position,
    /// The cache window's end of this segment's requests (epoch ms).
    pub window_end: i64,
    /// The real `start` when the segment's start was aligned down: records
    /// before it are dropped.
    pub drop_before: Option<i64>,
    /// The frontier that replaces a `done` one: the other segment remains.
    pub handoff: Option<Position>,
    /// Fetch at least this many (a settled request's size stays the same
    /// from refresh to refresh).
    pub want: usize,
    /// The fresh part `[G, E]` (its read may be shared across filters:
    /// [`super::fresh`]).
    pub fresh: bool,
}

/// The smallest `want` of a settled request (rounded up to a power of two
/// so that a page's varying remainder sends the same native request).
const MIN_SETTLED_WANT: usize = 16;

impl SplitGrid {
    /// The segment `query` continues in from `position` for `want`
    /// records, or `None` when the window is not split: no end, a window
    /// wholly fresh (start at or after the boundary) or wholly settled
    /// (its end at least `horizon` before `now_ms`).
    pub(super) fn segment(
        &self,
        query: &SourceQuery,
        position: &Position,
        want: usize,
        now_ms: i64,
    ) -> Option<Segment> {
        let end = query.filters.end?;
        if end < now_ms.saturating_sub(self.horizon_ms) || self.grid_ms <= 0 {
            return None;
        }
        let boundary = floor(end.saturating_sub(self.horizon_ms), self.grid_ms);
        let start = query.filters.start;
        if start.is_some_and(|s| s >= boundary) {
            return None;
        }
        let aligned = start.map(|s| floor(s, self.grid_ms));
        let in_settled = position.bound_ts().is_some_and(|ts| ts < boundary)
            || (query.order == Order::Asc && position.resume == Resume::Start);
        // The position goes to the adapter as it is, a hand-over included:
        // it means the same in either part (a keyset bound), and a
        // hand-over is the same position on every refresh, so the settled
        // request stays the same. (Remapping the hand-over to `Start` once
        // also remapped an adapter's own frontier that happened to equal
        // it — in `desc` a fresh part stopped at the group at `G`, in `asc`
        // a settled part stopped at `G − 1` — and re-read that part from
        // its top, emitting records twice.)
        let mut segment = query.clone();
        if in_settled {
            segment.filters.start = aligned;
            segment.filters.end = Some(boundary - 1);
            Some(Segment {
                query: segment,
                position: position.clone(),
                window_end: boundary - 1,
                drop_before: start.filter(|s| Some(*s) != aligned),
                handoff: (query.order == Order::Asc).then(|| Position::group(boundary, None)),
                want: want.next_power_of_two().max(MIN_SETTLED_WANT),
                fresh: false,
            })
        } else {
            segment.filters.start = Some(boundary);
            Some(Segment {
                query: segment,
                position: position.clone(),
                window_end: end,
                drop_before: None,
                handoff: (query.order == Order::Desc).then(|| Position::group(boundary - 1, None)),
                want,
                fresh: true,
            })
        }
    }
}

impl Segment {
    /// `batch` as the whole window's: records before the real start
    /// dropped (in `desc`, a frontier past the start ends the source), a
    /// segment's end handed over to the other segment. Only timestamps and
    /// the frontier are read: deferred records stay deferred until emitted.
    pub(super) fn finish(&self, mut batch: LazyBatch) -> LazyBatch {
        if let Some(start) = self.drop_before {
            batch.records.retain(|r| r.timestamp_ms() >= start);
            let frontier = &mut batch.frontier;
            let past_start = frontier.bound_ts().is_some_and(|ts| ts < start);
            if self.query.order == Order::Desc && past_start {
                *frontier = Position::finished();
            }
        }
        if let Some(handoff) = &self.handoff {
            // The first part's frontier speaks for its own window only: at
            // its end, or past the boundary (an adapter may put it at the
            // window's start, with an offset hint of this part's request),
            // the other part starts whole.
            let boundary_ts = handoff.bound_ts().unwrap_or_default();
            let frontier = &mut batch.frontier;
            let past = frontier
                .bound_ts()
                .is_some_and(|ts| match self.query.order {
                    Order::Desc => ts <= boundary_ts,
                    Order::Asc => ts >= boundary_ts,
                });
            if frontier.done || past {
                *frontier = handoff.clone();
            }
        }
        batch
    }
}

/// Whether `adapter` sends `query`'s end upstream (it pushes `end` down):
/// only then are a settled part's native requests about the settled
/// window alone, so that their answers stay true for `settled_ttl`. A
/// source whose requests read its whole log (PromptCrafter, Logto without
/// a time filter in use) is not split: its settled part would send the
/// same requests as the fresh one, and a stored page of the whole log
/// holds offsets that any late log moves (a tie-group sweep over them
/// never found the whole group: soak seed `f61c9ff`).
pub(super) fn bounds_upstream(adapter: &dyn Adapter, query: &SourceQuery) -> bool {
    query.filters.end.is_some() && adapter.pushed(&query.filters).iter().any(|n| n == "end")
}

/// `t` rounded down to a multiple of `grid` (both ms).
fn floor(t: i64, grid: i64) -> i64 {
    t.div_euclid(grid) * grid
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
