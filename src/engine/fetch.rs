//! One source fetch as an owned job ([`FetchJob`]), so that each source's
//! fetch and decode can run on a task of its own ([`Spawned`]) while the
//! page merges (issue 13: the fan-out uses every core).

use std::sync::Arc;
use std::time::Duration;

use loggate_core::{
    Adapter, CallContext, FetchRequest, LazyBatch, Position, SourceError, SourceQuery,
};
use tokio::time::Instant;
use tracing::Instrument;

use super::fresh::{self, FreshRead, FreshSharing, SHARED_FRESH_WANT};
use super::split::{self, Segment, SplitGrid};
use super::Source;
use crate::breaker::CircuitBreaker;

/// What one fetch of one source brought back.
pub(super) struct Fetched {
    /// The position the fetch continued from.
    pub from: Position,
    /// Records may be deferred ([`loggate_core::lazy`]): mapped when emitted.
    pub result: Result<LazyBatch, SourceError>,
    pub ctx: CallContext,
    pub elapsed: Duration,
}

/// `ok` or the failure's code.
pub(super) fn outcome_of<T>(result: &Result<T, SourceError>) -> &'static str {
    result.as_ref().map_or_else(|e| e.code(), |_| "ok")
}

/// The `fetch` span of one source fetch (debug: per-source detail is not
/// for production logs, issue 13).
pub(super) fn fetch_span(source: &Source) -> tracing::Span {
    tracing::debug_span!(
        "fetch",
        source = %source.name,
        kind = source.kind,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

/// Everything one source fetch needs, owned, so that it can run on a task
/// of its own.
pub(super) struct FetchJob {
    pub adapter: Arc<dyn Adapter>,
    pub breaker: Arc<CircuitBreaker>,
    /// The source's memory of whether shared fresh reads serve.
    pub sharing: Arc<FreshSharing>,
    pub span: tracing::Span,
    pub from: Position,
    pub query: Arc<SourceQuery>,
    pub want: usize,
    pub budget: usize,
    pub deadline: Instant,
    /// `Cache-Control: no-cache`: no stored upstream answer is used.
    pub no_cache: bool,
    /// Caps the cache window's end (epoch ms; see
    /// [`super::page::FetchLimits::window_cap`]).
    pub window_cap: Option<i64>,
    /// The settled/fresh split of the window (unused with `no_cache`).
    pub split: Option<SplitGrid>,
    /// Fetched through [`Adapter::fetch_lazy`] (records may be deferred
    /// until emitted) rather than [`Adapter::fetch`].
    pub lazy: bool,
}

impl FetchJob {
    /// The part of a split window this fetch reads ([`split`]), if the
    /// window is split: not for `no-cache` requests nor sources that do
    /// not send the end upstream.
    fn segment(&self) -> Option<Segment> {
        match self.split {
            Some(grid) if !self.no_cache && split::bounds_upstream(&*self.adapter, &self.query) => {
                let now = loggate_core::time::now_ms();
                grid.segment(&self.query, &self.from, self.want, now)
            }
            _ => None,
        }
    }

    /// `request` answered from the shared read of its fresh part
    /// ([`fresh`]), or `None` when the plan is not [`FreshRead::Shared`]
    /// or that read cannot answer it (the caller reads with the filters).
    /// A failed shared read is the fetch's failure.
    async fn shared_fresh(
        &self,
        plan: &FreshRead,
        request: &FetchRequest<'_>,
    ) -> Option<Result<LazyBatch, SourceError>> {
        let FreshRead::Shared(shared_query) = plan else {
            return None;
        };
        let shared = FetchRequest {
            query: shared_query,
            position: &Position::start(),
            want: SHARED_FRESH_WANT,
            budget: SHARED_FRESH_WANT,
            ctx: request.ctx,
        };
        let batch = match self.adapter.fetch_lazy(shared).await {
            Ok(batch) => batch,
            Err(error) => return Some(Err(error)),
        };
        // A record the shared read cannot map may or may not match: the
        // filtered read decides (and reports it if it does).
        let batch = batch.force(|_| {});
        let now = loggate_core::time::now_ms();
        match fresh::serve(request.query, request.position, batch) {
            Some(served) => {
                if !fresh::finished(&served, request.want) {
                    self.sharing.pause(now);
                }
                Some(Ok(LazyBatch::from(served)))
            }
            None => {
                self.sharing.pause(now);
                None
            }
        }
    }

    /// The fetch through the source's circuit breaker, under the page's
    /// deadline, noted in its `fetch` span.
    pub(super) async fn run(self) -> Fetched {
        let span = self.span.clone();
        async move {
            let segment = self.segment();
            let (query, position, want, window_end) = match &segment {
                Some(s) => (&s.query, &s.position, s.want, Some(s.window_end)),
                None => (&*self.query, &self.from, self.want, self.query.filters.end),
            };
            // A fresh part's read shared across filters ([`fresh`]).
            let plan = match &segment {
                Some(s) if s.fresh => {
                    let now = loggate_core::time::now_ms();
                    fresh::plan(query, position, want, self.budget, &self.sharing, now)
                }
                _ => FreshRead::Own,
            };
            let (position, want) = match &plan {
                FreshRead::Widened { position, want } => (position, *want),
                _ => (position, want),
            };
            // Every record a fetch returns is stamped at or before the
            // query's end (the pinned end folded in; a segment's end): the
            // cache's window.
            let window_end = window_end.map(|end| self.window_cap.map_or(end, |cap| end.min(cap)));
            let ctx = match window_end {
                Some(end) => CallContext::new(self.deadline).with_cache_window(end, self.no_cache),
                None => CallContext::new(self.deadline),
            };
            let started = Instant::now();
            let request = FetchRequest {
                query,
                position,
                want,
                budget: self.budget,
                ctx: &ctx,
            };
            let result = match self.breaker.admit() {
                // An open circuit skips the source without a request.
                Err(skipped) => Err(skipped),
                Ok(permit) => {
                    let fetch = async {
                        if let Some(served) = self.shared_fresh(&plan, &request).await {
                            return served;
                        }
                        if self.lazy {
                            self.adapter.fetch_lazy(request).await
                        } else {
                            self.adapter.fetch(request).await.map(LazyBatch::from)
                        }
                    };
                    // The page's deadline passing mid-fetch is not the
                    // upstream's timeout (its requests are bounded by it
                    // themselves): the page judges where that time went.
                    // A timeout cut short by the deadline after mostly
                    // queueing in loggate is overload; neither is counted
                    // by the breaker.
                    let fetched = tokio::time::timeout_at(self.deadline, fetch)
                        .await
                        .unwrap_or(Err(SourceError::DeadlineExceeded))
                        .map_err(|e| ctx.attribute_timeout(e, started.elapsed()));
                    permit.record(&fetched);
                    // A split segment's records stay as the adapter gave
                    // them (deferred ones are mapped when emitted).
                    let fetched = match &segment {
                        Some(s) => fetched.map(|batch| s.finish(batch)),
                        None => fetched,
                    };
                    if fetched.is_err() {
                        // An answer the adapter could not use is not kept.
                        ctx.cache.forget_used().await;
                    }
                    fetched
                }
            };
            let elapsed = started.elapsed();
            // The span is disabled below `debug`: nothing to record then.
            if !self.span.is_disabled() {
                self.span.record("status", outcome_of(&result));
                self.span.record("latency_ms", elapsed.as_millis() as u64);
            }
            tracing::debug!(
                upstream_requests = ctx.requests(),
                retries = ctx.retries(),
                "source fetched"
            );
            Fetched {
                from: self.from,
                result,
                ctx,
                elapsed,
            }
        }
        .instrument(span)
        .await
    }
}

/// A fetch on its own task, aborted when the page is dropped (a client
/// that went away) so that it does not run on to its deadline.
pub(super) struct Spawned(tokio::task::JoinHandle<Fetched>);

impl Spawned {
    pub(super) fn new(fetch: impl std::future::Future<Output = Fetched> + Send + 'static) -> Self {
        Spawned(tokio::spawn(fetch))
    }
}

impl std::future::Future for Spawned {
    type Output = Fetched;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Fetched> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| {
            // A fetch task only ends early by panicking: that source fails.
            joined.unwrap_or_else(|e| Fetched {
                from: Position::default(),
                result: Err(SourceError::Internal(format!("the fetch task failed: {e}"))),
                ctx: CallContext::new(Instant::now()),
                elapsed: Duration::ZERO,
            })
        })
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.0.abort();
    }
}
