//! One read of a split window's fresh part shared by every query of a pin
//! (issue 16, spec §9; README "Cache and request coalescing").
//!
//! A dashboard's panels differ only in their filters, and a split window's
//! settled part ([`super::split`]) is cached for `settled_ttl`; what each
//! refresh reads again is the fresh part `[G, E]`. Read with each panel's
//! filters, that is one upstream request per panel and pin; read *without*
//! them ([`FreshRead::Shared`]: the same window, order and `include_raw`, from
//! the start, one upstream page of [`SHARED_FRESH_WANT`]) it is one native
//! request for every panel of the pin — coalesced while in flight, cached
//! for `fresh_ttl` — and each panel's filters are applied here with the
//! reference matcher ([`Filters::matches`], which every pushed filter
//! equals), as `/logs/stats` does for its fresh parts.
//!
//! Exactness rests on the keyset contract of a [`Batch`]: every record
//! before the shared read's frontier `F` in traversal order was returned,
//! so the records it holds that match the filters and that the fetch's
//! position does not cover are *every* such record up to `F`. The fetch
//! answers them with the frontier `F` (its offset hint dropped: the hint
//! belongs to the unfiltered request), and the next fetch continues from
//! `F` with the filters — the position handed from the unfiltered read to
//! a filtered one. When the shared read cannot answer ([`serve`] says
//! `None`: records it could not read, no keyset frontier, or a position at
//! or past `F`), the fetch reads with the filters as before, in the same
//! call.
//!
//! A fetch that filters on time only and starts the fresh part sends that
//! same request itself ([`FreshRead::Widened`]: from the start, at least
//! one page), so a "newest N" panel shares it too, whatever its `N`.
//!
//! A busy source whose fresh part is larger than one page cannot serve
//! most panels from the shared page; each fetch the shared page did not
//! finish costs one more sequential round trip on a cache miss, so after
//! one such fetch the source reads its fresh parts with the filters for
//! [`PAUSE_AFTER_UNSERVED_MS`] ([`FreshSharing`]).

use std::sync::atomic::{AtomicI64, Ordering};

use loggate_core::position::ts_cmp_in_order;
use loggate_core::{Batch, Filters, Position, Resume, SourceQuery};

/// Records the shared read of a fresh part asks for: one upstream page
/// (the providers' largest page is 100, and Alloy asks for one record more
/// than it wants: 100 costs it a second request, `cache_bench`'s burst).
/// `/logs/stats`' scan reads its fresh parts with the same size, so a
/// `/logs` page and a count of the same pin share the request.
pub(super) const SHARED_FRESH_WANT: usize = 99;

/// How long a source reads its fresh parts with the filters after a shared
/// read did not finish a fetch (ms).
pub(super) const PAUSE_AFTER_UNSERVED_MS: i64 = 60_000;

/// One source's memory of whether its shared fresh reads serve.
#[derive(Debug, Default)]
pub struct FreshSharing {
    /// Epoch ms before which no shared read is tried.
    paused_until_ms: AtomicI64,
}

impl FreshSharing {
    /// Whether a shared read may be tried at `now_ms`.
    pub(super) fn active(&self, now_ms: i64) -> bool {
        now_ms >= self.paused_until_ms.load(Ordering::Relaxed)
    }

    /// A shared read did not finish its fetch at `now_ms`: pause.
    pub(super) fn pause(&self, now_ms: i64) {
        let until = now_ms.saturating_add(PAUSE_AFTER_UNSERVED_MS);
        self.paused_until_ms.fetch_max(until, Ordering::Relaxed);
    }
}

/// How a fetch of a split window's fresh part reads ([`plan`]).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FreshRead {
    /// Its query filters on content: read this unfiltered query from the
    /// start, [`SHARED_FRESH_WANT`] records, and [`serve`] the fetch.
    Shared(SourceQuery),
    /// It filters on time only and its position covers nothing of the
    /// window: its own query is the shared one; read it from the start for
    /// at least [`SHARED_FRESH_WANT`] records (a larger `want` and an
    /// equivalent position, so that every such fetch of the pin sends the
    /// same native request as the shared read).
    Widened { position: Position, want: usize },
    /// Read as asked.
    Own,
}

/// How a fetch of the fresh part `query` from `position` for `want`
/// records reads, with `budget` upstream records left and `sharing` the
/// source's memory at `now_ms` (filtered reads only pause).
pub(super) fn plan(
    query: &SourceQuery,
    position: &Position,
    want: usize,
    budget: usize,
    sharing: &FreshSharing,
    now_ms: i64,
) -> FreshRead {
    if budget < SHARED_FRESH_WANT || position.done {
        return FreshRead::Own;
    }
    if query.filters.constrains_content() {
        if !sharing.active(now_ms) {
            return FreshRead::Own;
        }
        return FreshRead::Shared(SourceQuery {
            filters: Filters {
                start: query.filters.start,
                end: query.filters.end,
                ..Filters::default()
            },
            order: query.order,
            include_raw: query.include_raw,
        });
    }
    if covers_none_of(position, query) {
        return FreshRead::Widened {
            position: Position::start(),
            want: want.max(SHARED_FRESH_WANT),
        };
    }
    FreshRead::Own
}

/// Whether `position` covers no record of `query`'s window (so `Start`
/// means the same for that window): it lies before the window's first
/// timestamp in traversal order, or at its first group.
fn covers_none_of(position: &Position, query: &SourceQuery) -> bool {
    let (Some(start), Some(end)) = (query.filters.start, query.filters.end) else {
        return false;
    };
    let asc = query.order == loggate_core::Order::Asc;
    match &position.resume {
        Resume::Start => true,
        // The group at `ts` is not done: nothing at or past it is.
        Resume::Group(ts) if asc => *ts <= start,
        Resume::Group(ts) => *ts >= end,
        Resume::After(key) if asc => key.timestamp_ms < start,
        Resume::After(key) => key.timestamp_ms > end,
    }
}

/// The answer to a fetch of `query` from `position` that the shared read
/// `shared` (of [`FreshRead::Shared`]'s query, from the start) gives, or
/// `None` when it cannot give one: it skipped records it could not read
/// (whether they match is unknown), its frontier is not a keyset bound, or
/// `position` is at or past that frontier (nothing new to give).
pub(super) fn serve(query: &SourceQuery, position: &Position, shared: Batch) -> Option<Batch> {
    if shared.skipped > 0 {
        return None;
    }
    let frontier = &shared.frontier;
    if !frontier.done {
        let reach = frontier.bound_ts()?;
        if let Some(at) = position.bound_ts() {
            // Only a position strictly before the frontier's timestamp
            // is sure to move forward (an `After` key in the frontier's
            // group may be at or past it).
            if ts_cmp_in_order(at, reach, query.order) != std::cmp::Ordering::Less {
                return None;
            }
        }
    }
    if position.done {
        return None;
    }
    let frontier = if shared.frontier.done {
        Position::finished()
    } else {
        Position {
            resume: match &shared.frontier.resume {
                Resume::Group(ts) => Resume::Group(*ts),
                Resume::After(key) => Resume::After(key.clone()),
                Resume::Start => return None,
            },
            hint: None,
            done: false,
        }
    };
    let records = shared
        .records
        .into_iter()
        .filter(|r| !position.covers_record(r, query.order) && query.filters.matches(r))
        .collect();
    Some(Batch {
        records,
        frontier,
        scanned: shared.scanned,
        skipped: 0,
    })
}

/// Whether `batch`, served to a fetch that wanted `want` records, finished
/// it: the window's part is done, or the fetch has what it asked for.
pub(super) fn finished(batch: &Batch, want: usize) -> bool {
    batch.frontier.done || batch.records.len() >= want
}

#[cfg(test)]
#[path = "fresh_tests.rs"]
mod tests;
