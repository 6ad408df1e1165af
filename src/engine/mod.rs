//! The query engine: no HTTP in it.
//!
//! [`Engine::page`] resolves a request (fresh or from a cursor) into a
//! traversal, fans out to the sources concurrently under one deadline,
//! merges their batches by frontier ([`merge`]), and returns the page with
//! the next signed cursor ([`cursor`]). [`query`] parses the parameters.

pub mod cursor;
mod error;
pub mod merge;
pub mod query;
mod source;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use loggate_core::{CallContext, FetchRequest, Filters, LogRecord, Position, SourceQuery};
use tokio::time::Instant;
use tracing::Instrument;

pub use cursor::{CursorSigner, CursorState};
pub use error::EngineError;
use merge::{merge_step, SourceState, Stop};
use query::LogsRequest;
pub use source::{Health, HealthSnapshot, Source};

use crate::metrics::{FetchObservation, Metrics};

/// Who is asking: the API key's name and the sources it may read.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// `None` with open access.
    pub key: Option<String>,
    /// `None` = every source.
    pub allowed: Option<Vec<String>>,
}

impl Caller {
    pub fn may_read(&self, source: &str) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|a| a == "*" || a == source))
    }
}

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    pub request_timeout: Duration,
    pub scan_budget: usize,
}

/// One served page.
#[derive(Debug)]
pub struct Page {
    /// `(source name, provider kind, record)` in traversal order.
    pub logs: Vec<(Arc<str>, &'static str, LogRecord)>,
    pub next_cursor: Option<String>,
    pub partial: bool,
    pub sources: BTreeMap<String, SourceReport>,
}

/// The `sources.NAME` block of a response.
#[derive(Debug, Clone, Default)]
pub struct SourceReport {
    pub error: Option<(String, String)>,
    /// The wait the failure named (an upstream `Retry-After`), if any.
    pub retry_after: Option<std::time::Duration>,
    pub returned: usize,
    pub scanned: usize,
    /// Upstream records that could not be read and were skipped.
    pub skipped: usize,
    pub upstream_requests: u32,
    /// Upstream requests repeated after a transient failure.
    pub retries: u32,
    /// Upstream requests that waited for the outbound rate limit.
    pub gate_waits: u32,
    pub latency_ms: u64,
    pub pushed: Vec<String>,
    pub residual: Vec<String>,
}

pub struct Engine {
    sources: BTreeMap<String, Source>,
    signer: CursorSigner,
    settings: EngineSettings,
    metrics: Arc<Metrics>,
    /// One permit per record the pages in flight may hold (see [`IN_FLIGHT_RECORDS`]).
    in_flight: tokio::sync::Semaphore,
}

/// How many records all pages being served at once may hold before they
/// are merged: a page weighs `limit` × its sources and waits (under its
/// deadline) for that much room. This bounds the gateway's memory under
/// many concurrent large pages (200 pages of `limit=1000` over four sources
/// held 540 MB at once without it); dashboards asking 64 pages of
/// `limit=50` over four sources at once never wait.
pub const IN_FLIGHT_RECORDS: usize = 16_384;

/// The traversal a page continues.
struct Traversal {
    state: CursorState,
}

impl Engine {
    pub fn new(sources: Vec<Source>, signer: CursorSigner, settings: EngineSettings) -> Self {
        let metrics = Arc::new(Metrics::default());
        for source in &sources {
            metrics.register_source(&source.name);
        }
        Engine {
            metrics,
            sources: sources
                .into_iter()
                .map(|s| (s.name.to_string(), s))
                .collect(),
            signer,
            settings,
            in_flight: tokio::sync::Semaphore::new(IN_FLIGHT_RECORDS),
        }
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }

    /// The gateway's metrics registry (the engine records every fetch).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves one page of `GET /logs`.
    pub async fn page(&self, request: LogsRequest, caller: &Caller) -> Result<Page, EngineError> {
        let deadline = Instant::now() + self.settings.request_timeout;
        let Traversal { mut state } = self.resolve(&request, caller)?;
        let weight = request
            .limit
            .saturating_mul(state.sources.len())
            .clamp(1, IN_FLIGHT_RECORDS) as u32;
        let _room = match tokio::time::timeout_at(deadline, self.in_flight.acquire_many(weight))
            .await
        {
            Ok(Ok(permit)) => permit,
            _ => {
                return Err(EngineError::UpstreamTimeout(
                    "the page waited for room among the pages in flight until its deadline".into(),
                ))
            }
        };
        let order = state.order;
        let effective = effective_filters(&state.filters, state.pinned_end);
        let query = SourceQuery {
            filters: effective,
            order,
            include_raw: request.include_raw,
        };

        let mut streams: Vec<SourceState> = Vec::with_capacity(state.sources.len());
        let mut reports: Vec<SourceReport> = Vec::with_capacity(state.sources.len());
        for name in &state.sources {
            let source = &self.sources[name];
            let mut position = state.positions.get(name).cloned().unwrap_or_default();
            if query.filters.is_unsatisfiable() {
                position = Position::finished();
            }
            streams.push(SourceState::new(name.clone(), position));
            let pushed = source.adapter.pushed(&state.filters);
            let residual = state
                .filters
                .names()
                .into_iter()
                .filter(|n| !pushed.contains(n))
                .collect();
            reports.push(SourceReport {
                pushed,
                residual,
                ..SourceReport::default()
            });
        }

        let limit = request.limit;
        let budget = self.settings.scan_budget;
        let mut out: Vec<(usize, LogRecord)> = Vec::with_capacity(limit);
        // Round one asks every open source at once; later rounds ask only
        // the source whose frontier holds the page back.
        let mut to_fetch: Vec<usize> = (0..streams.len())
            .filter(|&i| streams[i].is_open())
            .collect();
        let mut fetched = vec![false; streams.len()];
        loop {
            let want = limit - out.len();
            let fetches = to_fetch.iter().map(|&i| {
                let source = &self.sources[&streams[i].name];
                let position = streams[i].frontier.clone();
                let budget_left = budget.saturating_sub(reports[i].scanned).max(1);
                let query = &query;
                let span = tracing::info_span!(
                    "fetch",
                    source = %streams[i].name,
                    kind = source.kind,
                    status = tracing::field::Empty,
                    latency_ms = tracing::field::Empty,
                );
                async move {
                    let ctx = CallContext::new(deadline);
                    let started = Instant::now();
                    let request = FetchRequest {
                        query,
                        position: &position,
                        want,
                        budget: budget_left,
                        ctx: &ctx,
                    };
                    let result = match source.breaker.admit() {
                        // An open circuit skips the source without a request.
                        Err(skipped) => Err(skipped),
                        Ok(permit) => {
                            let fetched =
                                tokio::time::timeout_at(deadline, source.adapter.fetch(request))
                                    .await;
                            let result = fetched.unwrap_or(Err(
                                loggate_core::SourceError::Timeout(self.settings.request_timeout),
                            ));
                            permit.record(&result, ctx.requests());
                            result
                        }
                    };
                    source.health.record(&result);
                    let elapsed = started.elapsed();
                    let outcome = match &result {
                        Ok(_) => "ok",
                        Err(e) => e.code(),
                    };
                    let span = tracing::Span::current();
                    span.record("status", outcome);
                    span.record("latency_ms", elapsed.as_millis() as u64);
                    tracing::info!(
                        upstream_requests = ctx.requests(),
                        retries = ctx.retries(),
                        "source fetched"
                    );
                    self.metrics.observe_fetch(&FetchObservation {
                        source: &source.name,
                        outcome,
                        latency: elapsed,
                        requests: ctx.requests(),
                        failed_requests: ctx.failed(),
                        retries: ctx.retries(),
                        gate_waits: ctx.gate_waits(),
                        scanned: result.as_ref().map_or(0, |b| b.scanned),
                    });
                    (i, position, result, ctx, elapsed)
                }
                .instrument(span)
            });
            for (i, position, result, ctx, elapsed) in join_all(fetches).await {
                fetched[i] = true;
                let report = &mut reports[i];
                report.upstream_requests += ctx.requests();
                report.retries += ctx.retries();
                report.gate_waits += ctx.gate_waits();
                report.latency_ms += elapsed.as_millis() as u64;
                match result {
                    Ok(batch) => {
                        report.scanned += batch.scanned;
                        report.skipped += batch.skipped;
                        let records =
                            checked_records(batch.records, &position, &query, &streams[i].name);
                        streams[i].accept(records, batch.next);
                    }
                    Err(error) => {
                        tracing::warn!(source = %streams[i].name, code = error.code(), error = %error, "source failed");
                        streams[i].failed = true;
                        report.error = Some((error.code().to_string(), error.to_string()));
                        report.retry_after = error.retry_after();
                    }
                }
            }
            match merge_step(&mut streams, order, limit, &mut out) {
                Stop::Limit | Stop::Exhausted => break,
                Stop::Blocked(i) => {
                    let exhausted_budget = reports[i].scanned >= budget;
                    if exhausted_budget || Instant::now() >= deadline {
                        break;
                    }
                    to_fetch = vec![i];
                }
            }
        }

        for (i, _) in &out {
            reports[*i].returned += 1;
        }
        for (stream, report) in streams.iter().zip(&reports) {
            self.metrics.observe_returned(&stream.name, report.returned);
        }
        let failed: Vec<usize> = (0..streams.len()).filter(|&i| streams[i].failed).collect();
        let attempted = fetched.iter().filter(|f| **f).count();
        if !failed.is_empty() && (!request.partial || failed.len() == attempted) {
            return Err(self.all_failed(&failed, &streams, &reports));
        }

        for stream in &streams {
            state
                .positions
                .insert(stream.name.clone(), stream.resume_position());
        }
        let finished = state.positions.values().all(|p| p.done);
        let next_cursor = (!finished).then(|| self.signer.encode(&state));
        let names: Vec<Arc<str>> = streams.iter().map(|s| Arc::from(s.name.as_str())).collect();
        let logs = out
            .into_iter()
            .map(|(i, record)| {
                (
                    names[i].clone(),
                    self.sources[&streams[i].name].kind,
                    record,
                )
            })
            .collect();
        Ok(Page {
            logs,
            next_cursor,
            partial: !failed.is_empty(),
            sources: streams.into_iter().map(|s| s.name).zip(reports).collect(),
        })
    }

    /// A fresh traversal from the parameters, or the cursor's, checked
    /// against what the client sent.
    fn resolve(&self, request: &LogsRequest, caller: &Caller) -> Result<Traversal, EngineError> {
        let state = match &request.cursor {
            Some(text) => {
                let state = self.signer.decode(text)?;
                if state.key != caller.key {
                    return Err(EngineError::InvalidCursor(
                        "the cursor was issued to another API key".into(),
                    ));
                }
                check_matches_cursor(request, &state)?;
                state
            }
            None => {
                let sources = match &request.sources {
                    Some(names) => names.clone(),
                    None => self
                        .sources
                        .keys()
                        .filter(|name| caller.may_read(name))
                        .cloned()
                        .collect(),
                };
                CursorState {
                    positions: sources
                        .iter()
                        .map(|s| (s.clone(), Position::start()))
                        .collect(),
                    sources,
                    filters: request.filters.clone(),
                    order: request.order.unwrap_or_default(),
                    pinned_end: loggate_core::time::now_ms(),
                    key: caller.key.clone(),
                }
            }
        };
        for name in &state.sources {
            if !self.sources.contains_key(name) {
                return Err(EngineError::UnknownSource(name.clone()));
            }
            if !caller.may_read(name) {
                return Err(EngineError::Forbidden(name.clone()));
            }
        }
        Ok(Traversal { state })
    }

    fn all_failed(
        &self,
        failed: &[usize],
        streams: &[SourceState],
        reports: &[SourceReport],
    ) -> EngineError {
        let all_timeouts = failed.iter().all(|&i| {
            reports[i]
                .error
                .as_ref()
                .is_some_and(|(code, _)| code == "upstream_timeout")
        });
        let detail = failed
            .iter()
            .map(|&i| {
                let (code, message) = reports[i].error.clone().unwrap_or_default();
                format!("{}: {} ({})", streams[i].name, message, code)
            })
            .collect::<Vec<_>>()
            .join("; ");
        // Spec §10: when every failure named a wait, the client gets the
        // soonest (rounded up to whole seconds, at least one).
        let soonest = failed
            .iter()
            .map(|&i| reports[i].retry_after)
            .collect::<Option<Vec<_>>>()
            .and_then(|waits| waits.into_iter().min());
        match (all_timeouts, soonest) {
            (true, _) => EngineError::UpstreamTimeout(detail),
            (false, Some(wait)) => EngineError::UpstreamRetryAfter {
                detail,
                retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
            },
            (false, None) => EngineError::Upstream(detail),
        }
    }
}

/// The client's filters with the traversal's pinned upper bound folded in.
fn effective_filters(filters: &Filters, pinned_end: i64) -> Filters {
    let mut effective = filters.clone();
    effective.end = Some(effective.end.map_or(pinned_end, |end| end.min(pinned_end)));
    effective
}

/// Defence in depth: whatever an adapter returns, only records strictly
/// after its position that match every filter, in traversal order, go on.
fn checked_records(
    mut records: Vec<LogRecord>,
    from: &Position,
    query: &SourceQuery,
    source: &str,
) -> Vec<LogRecord> {
    let before = records.len();
    records.retain(|r| query.filters.matches(r) && !from.covers(&r.key(), query.order));
    if records.len() != before {
        tracing::warn!(
            source,
            dropped = before - records.len(),
            "adapter returned records outside its position or filters"
        );
    }
    let sorted = records.windows(2).all(|w| {
        loggate_core::record::cmp_in_order(&w[0].key(), &w[1].key(), query.order)
            == std::cmp::Ordering::Less
    });
    if !sorted {
        tracing::warn!(source, "adapter returned records out of order; sorting");
        loggate_core::record::sort_records(&mut records, query.order);
        records.dedup_by(|a, b| a.native_id == b.native_id && a.timestamp_ms == b.timestamp_ms);
    }
    if !query.include_raw {
        for record in &mut records {
            record.raw = None;
        }
    }
    records
}

/// With a cursor, every parameter the client sends must equal the cursor's.
fn check_matches_cursor(request: &LogsRequest, state: &CursorState) -> Result<(), EngineError> {
    let mismatch = |param: &str| Err(EngineError::CursorMismatch(param.to_string()));
    if request
        .sources
        .as_ref()
        .is_some_and(|s| *s != state.sources)
    {
        return mismatch("source");
    }
    if request.order.is_some_and(|o| o != state.order) {
        return mismatch("order");
    }
    let (sent, kept) = (&request.filters, &state.filters);
    let pairs = [
        ("start", sent.start.is_some() && sent.start != kept.start),
        ("end", sent.end.is_some() && sent.end != kept.end),
        ("level", sent.level.is_some() && sent.level != kept.level),
        (
            "min_level",
            sent.min_level.is_some() && sent.min_level != kept.min_level,
        ),
        ("q", sent.q.is_some() && sent.q != kept.q),
        (
            "service",
            sent.service.is_some() && sent.service != kept.service,
        ),
        (
            "user_id",
            sent.user_id.is_some() && sent.user_id != kept.user_id,
        ),
    ];
    if let Some((param, _)) = pairs.iter().find(|(_, differs)| *differs) {
        return mismatch(param);
    }
    for (name, value) in &sent.attrs {
        if kept.attrs.get(name) != Some(value) {
            return mismatch(&format!("attr.{name}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
