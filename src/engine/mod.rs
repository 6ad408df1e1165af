//! The query engine: no HTTP in it.
//!
//! [`Engine::page`] resolves a request (fresh or from a cursor) into a
//! traversal, then runs the steps of `page.rs`: admission among the pages
//! in flight, one state per requested source, rounds of concurrent fetches
//! under one deadline merged by frontier ([`merge`]), the failure policy,
//! and the page with its warnings and next signed cursor ([`cursor`]).
//! [`query`] parses the parameters declared in `params.rs`.

pub mod count;
pub mod cursor;
mod error;
mod fetch;
mod follow;
pub mod form;
mod fresh;
pub mod late;
pub mod merge;
mod page;
mod params;
pub mod query;
mod source;
mod split;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use loggate_core::{Filters, LogRecord, Position, SourceQuery};
use serde::Serialize;
use tokio::time::Instant;
use utoipa::ToSchema;

pub use cursor::{CursorSigner, CursorState};
pub use error::EngineError;
pub use follow::TailStart;
use page::settle_failures;
use query::LogsRequest;
pub use source::{Health, HealthSnapshot, Source};
pub use split::SplitGrid;

use crate::metrics::Metrics;

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
    /// Longest a page waits for room among the pages in flight
    /// (`server.max_queue_wait`) before `503 overloaded`.
    pub max_queue_wait: Duration,
    /// A follow traversal reads nothing newer than now − `settle` (spec §8).
    pub settle: Duration,
    /// A traversal's pinned end is the first page's time rounded down to a
    /// multiple of this (`[cache] pin_rounding`): first pages served within
    /// one step send identical upstream requests (spec §9, README "Cache").
    pub pin_rounding: Duration,
    /// How far back a follow call re-reads for records that reached their
    /// upstream late (`follow.late_window`; zero: off) ([`late`]).
    pub late_window: Duration,
    /// Most delivered ids a follow cursor carries for that, in all its
    /// sources (`follow.late_ids`, at most [`late::MAX_LATE_IDS`]).
    pub late_ids: usize,
    /// Partial-range reuse (`[cache] settled_grid`, README "Cache"): each
    /// source's window split at a settled boundary; `None` without the
    /// cache or with `settled_grid = "0s"`.
    pub split: Option<SplitGrid>,
    /// `[cache] freshness_horizon`; `None` without the cache. Counting
    /// splits a window ending after `now − horizon` at a settled boundary
    /// ([`count`]).
    pub freshness_horizon: Option<Duration>,
}

/// One served page.
#[derive(Debug)]
pub struct Page {
    /// `(source name, provider kind, record)` in traversal order.
    pub logs: Vec<(Arc<str>, &'static str, LogRecord)>,
    pub next_cursor: Option<String>,
    pub partial: bool,
    /// With `follow=true` (spec §8): whether every source has caught up
    /// with now − settle; `None` for an ordinary traversal.
    pub caught_up: Option<bool>,
    pub sources: BTreeMap<String, SourceReport>,
    /// Human-readable notes on what the page may lack (spec §5): each
    /// source that skipped unreadable records or failed, with the reason.
    pub warnings: Vec<String>,
    /// The page's room among the pages in flight, held until the page is
    /// dropped (after its response is serialised), so that the bound
    /// covers the records of pages being answered too.
    pub room: Option<tokio::sync::OwnedSemaphorePermit>,
    /// A follow that ended (its window passed the client's `end`;
    /// `next_cursor` is then `None`): the signed *terminal* cursor of its
    /// last position ([`CursorState::terminal`]), which a tail sends as
    /// its last `id:`. Not in the `/logs` body, where the follow ends with
    /// `next_cursor: null`.
    pub terminal_cursor: Option<String>,
}

impl Page {
    /// The cursor a tail's client resumes from after this page: its
    /// `next_cursor`, or when the follow ended its terminal cursor.
    pub fn resume_cursor(&self) -> Option<&str> {
        self.next_cursor
            .as_deref()
            .or(self.terminal_cursor.as_deref())
    }
}

/// The `sources.NAME` block of a `GET /logs` response: what one source did
/// for the page. Serialised as is.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceReport {
    /// `ok`, or `error` when the source failed (then `error` says why).
    pub status: ReportStatus,
    /// Logs of this source in the page.
    pub returned: usize,
    /// Upstream records read for this page.
    pub scanned: usize,
    /// Upstream records that could not be read and were skipped (spec §10);
    /// `warnings` names the reason.
    pub skipped: usize,
    /// Upstream HTTP requests sent for this page, retries included.
    pub upstream_requests: u32,
    /// How this page's upstream lookups were answered (spec §9).
    pub cache: CacheReport,
    /// Upstream requests repeated after a transient failure.
    #[serde(skip)]
    pub retries: u32,
    /// Upstream requests that waited for the outbound rate limit.
    #[serde(skip)]
    pub gate_waits: u32,
    /// Time spent fetching from this source, summed over its fetches.
    pub latency_ms: u64,
    /// Filters the provider applied natively.
    pub pushed: Vec<String>,
    /// Filters the gateway applied alone.
    pub residual: Vec<String>,
    /// `(code, message)` of the failure.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_failure"
    )]
    #[schema(value_type = Option<SourceFailure>)]
    pub error: Option<(String, String)>,
}

/// `sources.NAME.cache`: this page's upstream lookups by how they were
/// answered (spec §9); `miss` ones were sent (see `upstream_requests` for
/// retries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheReport {
    /// Answered from the cache (a stored answer or a stored `429`).
    pub hit: u32,
    /// Sent upstream by this page (with `[cache] enabled = false`
    /// nothing is counted).
    pub miss: u32,
    /// Answered by an identical request already in flight.
    pub coalesced: u32,
}

/// `sources.NAME.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    #[default]
    Ok,
    Error,
}

/// Why a source failed: `code` is one of the per-source codes of the
/// README's error table (`upstream_error`, `upstream_timeout`,
/// `overloaded`, ...).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceFailure {
    #[schema(example = "upstream_timeout")]
    pub code: String,
    pub message: String,
}

fn serialize_failure<S: serde::Serializer>(
    error: &Option<(String, String)>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let failure = error.as_ref().map(|(code, message)| SourceFailure {
        code: code.clone(),
        message: message.clone(),
    });
    failure.serialize(serializer)
}

pub struct Engine {
    sources: BTreeMap<String, Source>,
    signer: CursorSigner,
    settings: EngineSettings,
    metrics: Arc<Metrics>,
    /// One permit per record the pages in flight may hold (see [`IN_FLIGHT_RECORDS`]).
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// How many records all pages being served at once may hold before they
/// are merged: a page weighs `limit` × its sources and waits for that much
/// room at most half its deadline, else it is declined with `503
/// overloaded` (loggate's own queue, issue 18). This bounds the gateway's memory under
/// many concurrent large pages (200 pages of `limit=1000` over four sources
/// held 540 MB at once without it); dashboards asking 64 pages of
/// `limit=50` over four sources at once never wait.
pub const IN_FLIGHT_RECORDS: usize = 16_384;

/// The traversal a page continues.
struct Traversal {
    state: CursorState,
}

impl Engine {
    /// An engine recording into a registry of its own; see
    /// [`Engine::with_metrics`] for the application's.
    pub fn new(sources: Vec<Source>, signer: CursorSigner, settings: EngineSettings) -> Self {
        let metrics = Arc::new(Metrics::default());
        Engine {
            metrics: metrics.clone(),
            sources: sources
                .into_iter()
                .map(|s| (s.name.to_string(), s))
                .collect(),
            signer,
            settings,
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_RECORDS)),
        }
        .with_metrics(metrics)
    }

    /// Records into `metrics` (the application's registry), with every
    /// source's series and circuit breaker registered in it.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        for source in self.sources.values() {
            metrics.register_source(&source.name, &source.breaker);
        }
        self.metrics = metrics;
        self
    }

    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.values()
    }

    /// The metrics registry the engine records every fetch in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves one page of `GET /logs`: [`page`] has the steps.
    pub async fn page(&self, request: LogsRequest, caller: &Caller) -> Result<Page, EngineError> {
        let started = Instant::now();
        let deadline = started + self.settings.request_timeout;
        let Traversal { mut state } = self.resolve(&request, caller)?;
        if state.terminal {
            return Ok(self.ended_page(&state));
        }
        let queue_from = Instant::now();
        let room = self.admit(&request, state.sources.len(), deadline).await?;
        let room_wait = queue_from.elapsed();
        let query = Arc::new(SourceQuery {
            filters: effective_filters(&state.filters, state.pinned_end),
            order: state.order,
            include_raw: request.include_raw,
        });
        let mut sources = self.open_sources(&state, &query, request.limit);
        if let (true, Some(only)) = (state.follow, &request.poll_sources) {
            sources.retain(|s| only.iter().any(|name| name == s.name()));
        }
        if !state.late.is_empty() && !request.shared_poll {
            for source in &mut sources {
                source.skip_delivered(late::delivered_set(&state, source.name()));
            }
        }
        let (logs, queued) = self
            .fetch_and_merge(
                &mut sources,
                &query,
                request.limit,
                page::FetchLimits {
                    deadline,
                    no_cache: request.no_cache,
                    window_cap: None,
                },
            )
            .await;
        // Time spent mostly in loggate's own queues is overload, not an
        // upstream timeout.
        let elapsed = started.elapsed();
        for source in &mut sources {
            source.attribute_lateness(room_wait + queued, elapsed);
        }
        settle_failures(&sources, request.partial)?;
        let mut page = self.finish(&mut state, sources, logs);
        page.room = Some(room);
        if state.follow {
            if !request.shared_poll {
                let delivered = page.logs.iter().map(|(s, _, r)| (&**s, r));
                page.warnings
                    .extend(self.record_late(&mut state, delivered));
            }
            self.follow_page(&state, &mut page);
        }
        Ok(page)
    }

    /// A fresh traversal from the parameters, or the cursor's, checked
    /// against what the client sent.
    fn resolve(&self, request: &LogsRequest, caller: &Caller) -> Result<Traversal, EngineError> {
        let mut state = match &request.cursor {
            Some(text) => {
                let mut state = self.signer.decode(text)?;
                if state.key != caller.key {
                    return Err(EngineError::InvalidCursor(
                        "the cursor was issued to another API key".into(),
                    ));
                }
                check_matches_cursor(request, &state)?;
                if state.follow && !state.terminal {
                    self.advance_follow(&mut state, request.follow_to);
                }
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
                    pinned_end: pinned_now(self.settings.pin_rounding),
                    key: caller.key.clone(),
                    follow: false,
                    served: BTreeMap::new(),
                    late: BTreeMap::new(),
                    terminal: false,
                }
            }
        };
        if request.cursor.is_none() && request.follow == Some(true) {
            self.start_follow(&mut state)?;
        }
        if state.follow {
            late::prepare(&mut state, self.late_ms());
        }
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
}

/// Now (epoch ms) rounded down to a multiple of `rounding`: the pinned end
/// of a new traversal. Rounding down keeps the pin in the past, so a log
/// written after the first page is never inside the traversal.
fn pinned_now(rounding: Duration) -> i64 {
    let now = loggate_core::time::now_ms();
    let step = (rounding.as_millis() as i64).max(1);
    now - now.rem_euclid(step)
}

/// The client's filters with the traversal's pinned upper bound folded in.
fn effective_filters(filters: &Filters, pinned_end: i64) -> Filters {
    let mut effective = filters.clone();
    effective.end = Some(effective.end.map_or(pinned_end, |end| end.min(pinned_end)));
    effective
}

/// With a cursor, every parameter the cursor carries must equal the
/// cursor's when sent ([`query::PARAMS`] says which).
fn check_matches_cursor(request: &LogsRequest, state: &CursorState) -> Result<(), EngineError> {
    match query::cursor_mismatch(request, state) {
        Some(param) => Err(EngineError::CursorMismatch(param)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
