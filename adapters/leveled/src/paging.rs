//! Keyset paging over an API that only offers `offset`/`limit`, answers
//! newest first, and breaks timestamp ties arbitrarily (per request).
//!
//! Every request is bounded by the position's timestamp (inclusive, so the
//! boundary group is re-read whole) and what the position covers is
//! dropped by key; offsets only ever count from a time bound, so a page at
//! any depth of a traversal costs the same as the first. Only whole
//! timestamp groups are taken from an answer: the group cut by the page
//! edge is read again by the next request. A fetch that reaches `want`
//! still finishes the group of its last record and returns the group
//! boundary (`Position::group`) as its frontier, so the next fetch starts
//! at the following timestamp without re-reading that group.
//!
//! A request asks for `want + 1` entries (10 to 100, or the page cap the
//! upstream was seen to apply): a page of 50 does
//! not read 100. A fetch that has matching records in hand after one
//! request returns them with its frontier rather than asking again, so an
//! upstream answering fewer entries than asked costs a second request
//! only when the merge needs more of this source.
//!
//! Cost per step (one step = one page of up to 100 entries):
//! - `desc`: one request, `endDate` = the bound, `offset=0`; a page
//!   re-reads the group it was cut in.
//! - `asc`: the API has no ascending order, so the oldest entries of the
//!   window `[startDate = bound, endDate = pinned end]` are its *last* page:
//!   `offset = total - 100`. `total` comes from the previous answer and
//!   travels in the position's `hint`; when it is right a step is one
//!   request, when not (first page of a window over 100 entries, or logs
//!   that arrived late inside the window) the answer's own `total` fixes
//!   the offset and a second request lands. The provider may pay for the
//!   large offset on its side; loggate reads 100 entries per request.
//! - A group of more than 100 entries sharing one timestamp cannot be
//!   paged by offset when ties reorder per request: it is read as the
//!   window `[t, t]` by the shared sweep ([`loggate_core::group`]), which
//!   counts identical entries (content-hash ids) until the counts are
//!   proved to make up `total`: two passes on a stable upstream. After
//!   `16 * pages + 16` requests it gives up with an error (never a page
//!   that silently lacks part of the group): the source fails for this
//!   page, and the cursor resumes it at the group.

use async_trait::async_trait;
use loggate_core::group::{sweep_group, GroupPage, GroupReader, Identity};
use loggate_core::lazy::sort_lazy;
use loggate_core::{FetchRequest, LazyBatch, LogRecord, Order, Position, Record, SourceError};

use crate::adapter::{LeveledAdapter, Page};
use crate::translate::{Window, PAGE_LIMIT};

/// Requests spent looking for the last page of a window whose `total`
/// keeps moving.
const LANDING_ATTEMPTS: usize = 4;

/// One fetch in the query's order; `lazy`: records may be deferred
/// ([`crate::lazy`]).
pub(crate) async fn fetch(
    adapter: &LeveledAdapter,
    request: FetchRequest<'_>,
    lazy: bool,
) -> Result<LazyBatch, SourceError> {
    let run = Run::new(request, lazy);
    match request.query.order {
        Order::Desc => fetch_desc(adapter, run).await,
        Order::Asc => fetch_asc(adapter, run).await,
    }
}

/// What one fetch has gathered so far.
struct Run<'a> {
    request: FetchRequest<'a>,
    /// Pages are read lazily ([`crate::lazy`]).
    lazy: bool,
    records: Vec<Record>,
    scanned: u64,
    skipped: u64,
}

impl<'a> Run<'a> {
    fn new(request: FetchRequest<'a>, lazy: bool) -> Self {
        Run {
            request,
            lazy,
            records: Vec::new(),
            scanned: 0,
            skipped: 0,
        }
    }

    /// Nothing to ask the upstream: the source is done or nothing can match.
    fn nothing_to_do(&self) -> bool {
        self.request.position.done || self.request.query.filters.is_unsatisfiable()
    }

    /// Offers whole timestamp groups in traversal order. Once `want`
    /// records are in hand it still finishes the group of the last one
    /// (so the position can be a group boundary, and a resumed fetch need
    /// not re-read that group) and returns that group's timestamp.
    fn offer_all(&mut self, mut complete: Vec<Record>) -> Option<i64> {
        let order = self.request.query.order;
        sort_lazy(&mut complete, order);
        let want = self.request.want.max(1);
        for mut record in complete {
            if let Some(last) = self.records.last() {
                let last = last.timestamp_ms();
                if self.records.len() >= want && last != record.timestamp_ms() {
                    return Some(last);
                }
            }
            if record.needs_id_for(self.request.position) {
                if let Err(reason) = record.force_in_place() {
                    self.skipped += 1;
                    self.request.ctx.note_skipped(&reason);
                    continue;
                }
            }
            let matches = match record.mapped() {
                Some(mapped) => self.request.query.filters.matches(mapped),
                // Deferred only where no filter looks past the timestamp.
                None => self
                    .request
                    .query
                    .filters
                    .matches_time(record.timestamp_ms()),
            };
            if !matches || record.covered_by(self.request.position, order) {
                continue;
            }
            self.records.push(record);
        }
        let last = self.records.last()?;
        (self.records.len() >= want).then_some(last.timestamp_ms())
    }

    fn over_budget(&self) -> bool {
        self.scanned >= self.request.budget as u64
    }

    fn finish(self, frontier: Position) -> LazyBatch {
        LazyBatch {
            records: self.records,
            frontier,
            scanned: self.scanned as usize,
            skipped: self.skipped as usize,
        }
    }

    fn record_page(&mut self, page: &Page) {
        self.scanned += page.returned;
        self.skipped += page.bad;
    }
}

fn none_readable(page: &Page) -> SourceError {
    SourceError::Decode(format!(
        "none of the {} logs in a page was readable",
        page.returned
    ))
}

/// A full answer of one timestamp group from a request smaller than the
/// provider's page: ask again at its full page before sweeping the group
/// (it is most likely small). Sets `size` and says so.
fn grows(adapter: &LeveledAdapter, size: &mut u64, page: &Page) -> bool {
    let full = adapter.full_page();
    let grow = *size < full && page.returned >= *size;
    if grow {
        *size = full;
    }
    grow
}

/// Newest first: windows `[start, bound]`, each request from offset 0.
async fn fetch_desc(adapter: &LeveledAdapter, mut run: Run<'_>) -> Result<LazyBatch, SourceError> {
    let request = run.request;
    if run.nothing_to_do() {
        return Ok(run.finish(Position::finished()));
    }
    let filters = &request.query.filters;
    let bound = request.position.bound_ts();
    let mut window = Window {
        start: filters.start,
        end: min_some(filters.end, bound),
    };
    let mut size = adapter.request_size_for(&request);
    loop {
        if window.is_empty() {
            return Ok(run.finish(Position::finished()));
        }
        let page = adapter.page(&request, window, 0, size, run.lazy).await?;
        run.record_page(&page);
        let (Some(newest), Some(oldest)) = (page.records.first(), page.records.last()) else {
            if page.last {
                return Ok(run.finish(Position::finished()));
            }
            return Err(none_readable(&page));
        };
        let (newest, oldest) = (newest.timestamp_ms(), oldest.timestamp_ms());
        let (complete, next_end) = if page.last {
            (page.records, None)
        } else if newest == oldest {
            if grows(adapter, &mut size, &page) {
                continue;
            }
            let group = read_group(adapter, &request, &mut run, oldest).await?;
            (group, Some(oldest.saturating_sub(1)))
        } else {
            // The oldest group may go on in the next page: leave it whole.
            let complete = page
                .records
                .into_iter()
                .filter(|r| r.timestamp_ms() > oldest)
                .collect();
            (complete, Some(oldest))
        };
        if let Some(finished) = run.offer_all(complete) {
            // Every timestamp from the finished group's on is done.
            return Ok(run.finish(Position::group(finished.saturating_sub(1), None)));
        }
        let Some(end) = next_end else {
            return Ok(run.finish(Position::finished()));
        };
        window.end = Some(end);
        // Records in hand end the fetch: the merge asks again only if it
        // needs more of this source (a short upstream page costs no
        // second sequential request of its own).
        if run.over_budget() || !run.records.is_empty() {
            return Ok(run.finish(Position::group(end, None)));
        }
    }
}

/// Oldest first: the last page of the window `[bound, end]`.
async fn fetch_asc(adapter: &LeveledAdapter, mut run: Run<'_>) -> Result<LazyBatch, SourceError> {
    let request = run.request;
    if run.nothing_to_do() {
        return Ok(run.finish(Position::finished()));
    }
    let filters = &request.query.filters;
    let mut window = Window {
        start: max_some(filters.start, request.position.bound_ts()),
        end: filters.end,
    };
    let mut expected_total = request.position.hint;
    let mut size = adapter.request_size_for(&request);
    loop {
        if window.is_empty() {
            return Ok(run.finish(Position::finished()));
        }
        let Some((page, offset)) =
            land_on_tail(adapter, &request, &mut run, window, expected_total, size).await?
        else {
            return Ok(run.finish(Position::finished()));
        };
        let total = page.total;
        let (Some(newest), Some(oldest)) = (page.records.first(), page.records.last()) else {
            if offset == 0 {
                return Ok(run.finish(Position::finished()));
            }
            return Err(none_readable(&page));
        };
        let (newest, oldest) = (newest.timestamp_ms(), oldest.timestamp_ms());
        let (complete, next_start) = if offset == 0 {
            (page.records, None)
        } else if newest == oldest {
            if grows(adapter, &mut size, &page) {
                expected_total = Some(total);
                continue;
            }
            let group = read_group(adapter, &request, &mut run, newest).await?;
            (group, Some(newest.saturating_add(1)))
        } else {
            // The newest group may go on before this page: leave it whole.
            let complete = page
                .records
                .into_iter()
                .filter(|r| r.timestamp_ms() < newest)
                .collect();
            (complete, Some(newest))
        };
        // Entries of the window older than a timestamp are all in `complete`,
        // so the next window's total can be predicted from it.
        let timestamps: Vec<i64> = complete.iter().map(Record::timestamp_ms).collect();
        let remaining_from =
            |ts: i64| total.saturating_sub(timestamps.iter().filter(|t| **t < ts).count() as u64);
        if let Some(finished) = run.offer_all(complete) {
            let next = finished.saturating_add(1);
            return Ok(run.finish(Position::group(next, Some(remaining_from(next)))));
        }
        let Some(start) = next_start else {
            return Ok(run.finish(Position::finished()));
        };
        window.start = Some(start);
        expected_total = Some(remaining_from(start));
        // As for `desc`: records in hand end the fetch.
        if run.over_budget() || !run.records.is_empty() {
            return Ok(run.finish(Position::group(start, expected_total)));
        }
    }
}

/// Requests the window's last page until an answer proves it reaches the
/// window's oldest entry (`offset + returned >= total`). `None` when the
/// window is empty; also returns the offset the page was read at.
async fn land_on_tail(
    adapter: &LeveledAdapter,
    request: &FetchRequest<'_>,
    run: &mut Run<'_>,
    window: Window,
    expected_total: Option<u64>,
    size: u64,
) -> Result<Option<(Page, u64)>, SourceError> {
    let mut guess = expected_total;
    let mut limit = size;
    for _ in 0..LANDING_ATTEMPTS {
        let offset = guess.map_or(0, |total| total.saturating_sub(limit));
        let page = adapter
            .page(request, window, offset, limit, run.lazy)
            .await?;
        run.record_page(&page);
        if page.total == 0 || (page.returned == 0 && offset == 0) {
            return Ok(None);
        }
        // A short page is not trusted here: only `total` proves the page
        // reaches the end, and a server capping `limit` silently would
        // otherwise hide the oldest entries.
        if page.returned > 0 && offset + page.returned >= page.total {
            return Ok(Some((page, offset)));
        }
        limit = limit.min(page.limit);
        if page.returned > 0 && page.returned < limit {
            limit = page.returned;
        }
        guess = Some(page.total);
    }
    Err(SourceError::Decode(
        "the window's total kept changing; could not reach its oldest logs".into(),
    ))
}

/// Every entry sharing timestamp `ts` (that the pushed filters select),
/// for groups larger than a page: the shared sweep of
/// [`loggate_core::group`], counting identical entries (their ids are
/// content hashes).
async fn read_group(
    adapter: &LeveledAdapter,
    request: &FetchRequest<'_>,
    run: &mut Run<'_>,
    ts: i64,
) -> Result<Vec<Record>, SourceError> {
    let mut reader = GroupWindow {
        adapter,
        request,
        ts,
    };
    // Live reads only: a stored page would repeat its order forever.
    let _live = request.ctx.live_reads();
    let swept = sweep_group(&mut reader, ts, Identity::Content, PAGE_LIMIT).await?;
    run.scanned += swept.scanned as u64;
    run.skipped += swept.unreadable as u64;
    Ok(swept.records.into_iter().map(Record::Mapped).collect())
}

/// The window `[ts, ts]`, read by offset.
struct GroupWindow<'a, 'r> {
    adapter: &'a LeveledAdapter,
    request: &'a FetchRequest<'r>,
    ts: i64,
}

#[async_trait]
impl GroupReader for GroupWindow<'_, '_> {
    async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError> {
        let window = Window {
            start: Some(self.ts),
            end: Some(self.ts),
        };
        let page = self
            .adapter
            .page(self.request, window, from, PAGE_LIMIT, false)
            .await?;
        // Read eagerly (`lazy` false): every record is mapped already.
        let mut unreadable = page.bad as usize;
        let mut records: Vec<LogRecord> = Vec::with_capacity(page.records.len());
        for record in page.records {
            match record.force() {
                Ok(record) if record.timestamp_ms == self.ts => records.push(record),
                Ok(_) => {}
                Err(_) => unreadable += 1,
            }
        }
        for record in &mut records {
            // The sweep counts copies itself: strip the page's `-k`.
            if let Some((hash, _)) = record.native_id.split_once('-') {
                record.native_id = hash.to_string();
            }
        }
        Ok(GroupPage {
            records,
            // Unreadable entries have nothing to tell them apart: one key.
            unreadable: vec![String::new(); unreadable],
            covered: page.returned,
            returned: page.returned,
            group_len: Some(page.total),
            end: page.last,
        })
    }
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
