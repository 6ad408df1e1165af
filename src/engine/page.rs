//! One page of `GET /logs` as named steps: [`Engine::admit`] (room among
//! the pages in flight), [`Engine::open_sources`] (one [`PageSource`] per
//! requested source), [`Engine::fetch_and_merge`] (rounds of fanning out to
//! the sources that hold the page back and merging by frontier),
//! [`settle_failures`] (the partial-failure policy) and [`Engine::finish`]
//! (reports, warnings and the next cursor).

use std::borrow::{Borrow, BorrowMut};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use loggate_core::http::MIN_SEND_WINDOW;
use loggate_core::{LogRecord, Position, Record, SourceError, SourceQuery};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::fetch::{fetch_span, outcome_of, FetchJob, Fetched, Spawned};
use super::merge::{merge_step, SourceState, Stop};
use super::query::LogsRequest;
use super::IN_FLIGHT_RECORDS;
use super::{CursorState, Engine, EngineError, Page, ReportStatus, Source, SourceReport};
use crate::metrics::FetchObservation;

mod checked;
mod failures;
mod sizing;

pub(super) use failures::{page_error, settle_failures};
use sizing::first_want;

/// One requested source within one page: its merge state, its report, and
/// how its fetches went.
pub(super) struct PageSource<'e> {
    source: &'e Source,
    merge: SourceState,
    report: SourceReport,
    /// At least one fetch was attempted this page.
    attempted: bool,
    /// The failure that ended this source's part of the page.
    failure: Option<SourceError>,
    /// Why its skipped records could not be read (distinct).
    skip_reasons: Vec<String>,
    /// At most this many records are asked for in its first fetch of the
    /// page: its share of the previous page ([`sizing`]).
    first_want: usize,
    /// Digests of records a follow cursor delivered already (late_window
    /// re-reads): dropped when read again ([`super::late`]).
    delivered: std::collections::HashSet<u64>,
}

impl Borrow<SourceState> for PageSource<'_> {
    fn borrow(&self) -> &SourceState {
        &self.merge
    }
}

impl BorrowMut<SourceState> for PageSource<'_> {
    fn borrow_mut(&mut self) -> &mut SourceState {
        &mut self.merge
    }
}

impl PageSource<'_> {
    /// Records skipped because they could not be mapped after all
    /// ([`loggate_core::lazy`]), into the report like any skipped record.
    fn note_unmappable(&mut self, reasons: Vec<String>) {
        self.report.skipped += reasons.len();
        for reason in reasons {
            if !self.skip_reasons.contains(&reason) {
                self.skip_reasons.push(reason);
            }
        }
    }

    /// `records` without those a follow cursor delivered already (mapped:
    /// the digest is of the id).
    fn drop_delivered(&mut self, records: Vec<Record>) -> Vec<Record> {
        let mut kept = Vec::with_capacity(records.len());
        let mut unmappable = Vec::new();
        for record in records {
            match record.force() {
                Ok(r) if self.delivered.contains(&super::late::digest(&r.native_id)) => {}
                Ok(r) => kept.push(Record::Mapped(r)),
                Err(reason) => unmappable.push(reason),
            }
        }
        self.note_unmappable(unmappable);
        kept
    }

    /// The source's name.
    pub(super) fn name(&self) -> &str {
        &self.merge.name
    }

    /// Drops records whose digest is in `delivered` from every fetch
    /// (a follow cursor's re-read of its late window).
    pub(super) fn skip_delivered(&mut self, delivered: std::collections::HashSet<u64>) {
        self.delivered = delivered;
    }

    /// A passed deadline of a page that waited `queued` of its `elapsed`
    /// in loggate's own queues becomes overload
    /// ([`SourceError::attribute_lateness`]): the deadline a source ran out
    /// of may have gone by in another source's queue, or in the pages in
    /// flight, before this source's fetch began. A timeout is judged by
    /// its own fetch ([`loggate_core::CallContext::attribute_timeout`]),
    /// already counted or not by the breaker.
    pub(super) fn attribute_lateness(&mut self, queued: Duration, elapsed: Duration) {
        let Some(error) = self
            .failure
            .take_if(|e| matches!(e, SourceError::DeadlineExceeded))
        else {
            return;
        };
        let error = error.attribute_lateness(
            queued,
            elapsed,
            "loggate's own queues (pages in flight, the sources' rate_limit and max_concurrency)",
        );
        self.report.error = Some((error.code().to_string(), error.to_string()));
        self.failure = Some(error);
    }

    /// Takes one fetch's outcome into the report and the merge state.
    fn absorb(&mut self, fetch: Fetched, query: &SourceQuery) {
        self.attempted = true;
        let report = &mut self.report;
        report.upstream_requests += fetch.ctx.requests();
        report.retries += fetch.ctx.retries();
        report.gate_waits += fetch.ctx.gate_waits();
        let (hit, miss, coalesced) = fetch.ctx.cache.get();
        report.cache.hit += hit;
        report.cache.miss += miss;
        report.cache.coalesced += coalesced;
        report.latency_ms += fetch.elapsed.as_millis() as u64;
        for reason in fetch.ctx.skip_reasons() {
            if !self.skip_reasons.contains(&reason) {
                self.skip_reasons.push(reason);
            }
        }
        match fetch.result {
            Ok(batch) => {
                report.scanned += batch.scanned;
                report.skipped += batch.skipped;
                let checked =
                    checked::checked_records(batch.records, &fetch.from, query, &self.merge.name);
                let mut records = checked.records;
                self.note_unmappable(checked.unmappable);
                if !self.delivered.is_empty() {
                    records = self.drop_delivered(records);
                }
                self.merge.accept(records, batch.frontier);
            }
            Err(error) => {
                // Handled (partial page, warnings): not a warning per request.
                tracing::debug!(source = %self.merge.name, code = error.code(), error = %error, "source failed");
                report.status = ReportStatus::Error;
                report.error = Some((error.code().to_string(), error.to_string()));
                self.merge.failed = true;
                self.failure = Some(error);
            }
        }
    }
}

/// What bounds every fetch of one page.
#[derive(Debug, Clone, Copy)]
pub(super) struct FetchLimits {
    /// Nothing is sent or waited for past it.
    pub deadline: Instant,
    /// `Cache-Control: no-cache`: no stored upstream answer is used.
    pub no_cache: bool,
    /// Caps the cache window's end (epoch ms): a count whose window ends
    /// after now is judged as of its pin, as a page is ([`super::count`]).
    pub window_cap: Option<i64>,
}

/// When a page stops waiting for room among the pages in flight: after
/// `max_queue_wait`, and no later than half the request's time before its
/// deadline.
fn room_wait_until(
    now: Instant,
    deadline: Instant,
    request_timeout: Duration,
    max_queue_wait: Duration,
) -> Instant {
    (now + max_queue_wait).min(deadline - request_timeout / 2)
}

impl Engine {
    /// Room among the pages in flight: a page weighs `limit` × its sources
    /// records. Waiting for it is loggate's own queue: after
    /// `server.max_queue_wait` (and never more than half the request's
    /// time, so an admitted page keeps at least half for the upstreams)
    /// the page is declined with `503 overloaded` and `Retry-After: 1`.
    pub(super) async fn admit(
        &self,
        request: &LogsRequest,
        sources: usize,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, EngineError> {
        let weight = request
            .limit
            .saturating_mul(sources)
            .clamp(1, IN_FLIGHT_RECORDS) as u32;
        let give_up = room_wait_until(
            Instant::now(),
            deadline,
            self.settings.request_timeout,
            self.settings.max_queue_wait,
        );
        let room = self.in_flight.clone().acquire_many_owned(weight);
        match tokio::time::timeout_at(give_up, room).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(EngineError::Overloaded {
                message: "too many large pages are being served at once; no room for this one"
                    .into(),
                retry_after_secs: 1,
            }),
        }
    }

    /// One [`PageSource`] per requested source, positioned where the
    /// traversal left it, with its pushed and residual filters.
    pub(super) fn open_sources(
        &self,
        state: &CursorState,
        query: &SourceQuery,
        limit: usize,
    ) -> Vec<PageSource<'_>> {
        let unsatisfiable = query.filters.is_unsatisfiable();
        state
            .sources
            .iter()
            .map(|name| {
                let source = &self.sources[name];
                let position = match state.positions.get(name) {
                    _ if unsatisfiable => Position::finished(),
                    Some(position) => position.clone(),
                    None => Position::default(),
                };
                let pushed = source.adapter.pushed(&state.filters);
                let residual = state
                    .filters
                    .names()
                    .into_iter()
                    .filter(|n| !pushed.contains(n))
                    .collect();
                PageSource {
                    source,
                    merge: SourceState::new(name.clone(), position),
                    report: SourceReport {
                        pushed,
                        residual,
                        ..SourceReport::default()
                    },
                    attempted: false,
                    failure: None,
                    skip_reasons: Vec::new(),
                    first_want: first_want(limit, &state.served, name),
                    delivered: Default::default(),
                }
            })
            .collect()
    }

    /// Rounds of fetching and merging until the page is full, every source
    /// is exhausted or failed, or the source holding the page back is out
    /// of scan budget or time. Round one asks every open source at once,
    /// each for its share of the page ([`sizing`]); later rounds ask only
    /// the source whose frontier holds the page back, for the rest.
    /// Returns the merged records and how long the page waited, one round
    /// after another, in the sources' outbound queues (a round's wait is
    /// its longest fetch's: its fetches run at once).
    pub(super) async fn fetch_and_merge(
        &self,
        sources: &mut [PageSource<'_>],
        query: &Arc<SourceQuery>,
        limit: usize,
        limits: FetchLimits,
    ) -> (Vec<(usize, LogRecord)>, Duration) {
        let deadline = limits.deadline;
        let budget = self.settings.scan_budget;
        let mut out: Vec<(usize, LogRecord)> = Vec::with_capacity(limit);
        let mut to_fetch: Vec<usize> = (0..sources.len())
            .filter(|&i| sources[i].merge.is_open())
            .collect();
        let lazy = sources.len() > 1;
        let mut queued = Duration::ZERO;
        loop {
            let want = limit - out.len();
            let many = to_fetch.len() > 1;
            let fetches = to_fetch.iter().map(|&i| {
                let s = &sources[i];
                let want = if s.attempted {
                    want
                } else {
                    want.min(s.first_want)
                };
                let mut job = self.fetch_job(
                    s.source,
                    s.merge.frontier.clone(),
                    query.clone(),
                    want,
                    budget.saturating_sub(s.report.scanned).max(1),
                    limits,
                );
                // Records read lazily, mapped once emitted, where the merge
                // may leave most of a source's fetch unserved: pages over
                // several sources (one source's page emits all but the one
                // record read past it, and a deferred mapping costs more
                // than an eager one).
                job.lazy = lazy;
                // Several sources: each fetch and decode on its own task,
                // so they use every core; one source stays on this task.
                if many {
                    futures::future::Either::Left(Spawned::new(job.run()))
                } else {
                    futures::future::Either::Right(job.run())
                }
            });
            let mut round_queued = Duration::ZERO;
            for (&i, fetched) in to_fetch.iter().zip(join_all(fetches).await) {
                round_queued = round_queued.max(fetched.ctx.queued());
                self.record_fetch(sources[i].source, &fetched);
                sources[i].absorb(fetched, query);
            }
            queued += round_queued;
            match merge_step(sources, query.order, limit, &mut out) {
                Stop::Limit | Stop::Exhausted => return (out, queued),
                Stop::Blocked(i) => {
                    // Too little time left to send another request: end
                    // the page here; the cursor resumes the source.
                    let no_time = Instant::now() + MIN_SEND_WINDOW >= deadline;
                    if sources[i].report.scanned >= budget || no_time {
                        return (out, queued);
                    }
                    to_fetch = vec![i];
                }
            }
        }
    }

    /// One fetch of `source` from `from`, owned so that it can run on a
    /// task of its own.
    fn fetch_job(
        &self,
        source: &Source,
        from: Position,
        query: Arc<SourceQuery>,
        want: usize,
        budget: usize,
        limits: FetchLimits,
    ) -> FetchJob {
        FetchJob {
            adapter: source.adapter.clone(),
            breaker: source.breaker.clone(),
            sharing: source.fresh_sharing.clone(),
            span: fetch_span(source),
            from,
            query,
            want,
            budget,
            deadline: limits.deadline,
            no_cache: limits.no_cache,
            window_cap: limits.window_cap,
            split: self.settings.split,
            lazy: false,
        }
    }

    /// One fetch of one source on the caller's task, through its circuit
    /// breaker, recorded in its health, its tracing span and the metrics
    /// (the counting engine's scan, [`super::count`]).
    pub(super) async fn fetch_one(
        &self,
        source: &Source,
        from: Position,
        query: &Arc<SourceQuery>,
        want: usize,
        budget: usize,
        limits: FetchLimits,
    ) -> Fetched {
        let job = self.fetch_job(source, from, query.clone(), want, budget, limits);
        let fetched = job.run().await;
        self.record_fetch(source, &fetched);
        fetched
    }

    /// A fetch into the source's health and the metrics.
    fn record_fetch(&self, source: &Source, fetched: &Fetched) {
        let Fetched {
            result,
            ctx,
            elapsed,
            ..
        } = fetched;
        source.health.record(result);
        self.metrics.observe_fetch(&FetchObservation {
            source: &source.name,
            outcome: outcome_of(result),
            latency: *elapsed,
            requests: ctx.requests(),
            failed_requests: ctx.failed(),
            retries: ctx.retries(),
            gate_waits: ctx.gate_waits(),
            cache: ctx.cache.get(),
            scanned: result.as_ref().map_or(0, |b| b.scanned),
        });
    }

    /// The page: each source's resume position into the cursor (encoded
    /// unless every source is done), the reports with `returned` counted,
    /// and the warnings.
    pub(super) fn finish(
        &self,
        state: &mut CursorState,
        sources: Vec<PageSource<'_>>,
        out: Vec<(usize, LogRecord)>,
    ) -> Page {
        let mut sources = sources;
        for (i, _) in &out {
            sources[*i].report.returned += 1;
        }
        for s in &mut sources {
            let unmappable = std::mem::take(&mut s.merge.unmappable);
            s.note_unmappable(unmappable);
        }
        for s in &sources {
            self.metrics
                .observe_returned(&s.source.name, s.report.returned);
            state
                .positions
                .insert(s.merge.name.clone(), s.merge.resume_position());
        }
        state.served = sizing::served_split(
            sources
                .iter()
                .map(|s| (s.merge.name.as_str(), s.report.returned)),
        );
        let finished = state.positions.values().all(|p| p.done);
        let next_cursor = (!finished).then(|| self.signer.encode(state));
        let names: Vec<Arc<str>> = sources.iter().map(|s| s.source.name.clone()).collect();
        let logs = out
            .into_iter()
            .map(|(i, record)| (names[i].clone(), sources[i].source.kind, record))
            .collect();
        let warnings = sources.iter().flat_map(failures::warnings_of).collect();
        Page {
            logs,
            next_cursor,
            partial: sources.iter().any(|s| s.failure.is_some()),
            caught_up: None,
            sources: sources
                .into_iter()
                .map(|s| (s.merge.name, s.report))
                .collect(),
            warnings,
            room: None,
            terminal_cursor: None,
        }
    }
}

#[cfg(test)]
mod room_tests;
