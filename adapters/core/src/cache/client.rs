//! The cache path of [`UpstreamClient::execute`]: the key and wants of a
//! request, the lookup, and the per-fetch counts ([`LookupCounts`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::{AnswerStore, CacheKey, Fetched, Lookup, Wants};
use crate::error::SourceError;
use crate::http::{CallContext, UpstreamClient, UpstreamResponse};

/// Counts of one fetch's lookups, and the answers it was given, kept in
/// its [`CallContext`].
#[derive(Default)]
pub struct LookupCounts {
    pub hit: std::sync::atomic::AtomicU32,
    pub miss: std::sync::atomic::AtomicU32,
    pub coalesced: std::sync::atomic::AtomicU32,
    /// Successful answers this fetch used, to forget if it fails.
    used: std::sync::Mutex<Vec<(Arc<dyn AnswerStore>, CacheKey)>>,
}

impl std::fmt::Debug for LookupCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hit, miss, coalesced) = self.get();
        f.debug_struct("LookupCounts")
            .field("hit", &hit)
            .field("miss", &miss)
            .field("coalesced", &coalesced)
            .finish()
    }
}

impl LookupCounts {
    fn used(&self, store: Arc<dyn AnswerStore>, key: CacheKey) {
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((store, key));
    }

    /// Forgets every successful answer this fetch used: called when the
    /// fetch failed, since a `200` the adapter could not read (malformed,
    /// cut off, inconsistent) must not be served again (spec §10: no
    /// silent data loss).
    pub async fn forget_used(&self) {
        let used = std::mem::take(&mut *self.used.lock().unwrap_or_else(|e| e.into_inner()));
        for (store, key) in used {
            store.forget(&key).await;
        }
    }

    pub fn record(&self, lookup: Lookup) {
        let counter = match lookup {
            Lookup::Hit => &self.hit,
            Lookup::Miss => &self.miss,
            Lookup::Coalesced => &self.coalesced,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hit, miss, coalesced)`.
    pub fn get(&self) -> (u32, u32, u32) {
        (
            self.hit.load(Ordering::Relaxed),
            self.miss.load(Ordering::Relaxed),
            self.coalesced.load(Ordering::Relaxed),
        )
    }
}

/// The classifier [`UpstreamClient::execute`] takes.
type Classify<'a> =
    &'a (dyn Fn(&UpstreamResponse, crate::http::Excerpt<'_>) -> Option<SourceError> + Send + Sync);

impl UpstreamClient {
    /// The store, key and wants of `request`, when it takes the cache path.
    pub(crate) fn cache_key(
        &self,
        request: &reqwest::Request,
        ctx: &CallContext,
    ) -> Option<(Arc<dyn AnswerStore>, CacheKey, Wants)> {
        let (store, source) = self.store.as_ref()?;
        let (window_end, bypass) = ctx.cache_window()?;
        let carried = crate::http::carried_credentials(request.headers());
        let key = CacheKey::of(source, request, &self.secret_values(&carried))?;
        Some((store.clone(), key, Wants { window_end, bypass }))
    }

    /// `request` through `store`. An answer shared from a request in
    /// flight that was read before this request's window ended is not
    /// enough (it may miss logs stamped up to that end): then once more,
    /// which sends (or joins) a newer read. While the source is held by a
    /// `429`, only a stored answer serves (counted a hit), else the `429`.
    pub(crate) async fn execute_cached(
        &self,
        store: Arc<dyn AnswerStore>,
        key: CacheKey,
        wants: Wants,
        request: reqwest::Request,
        ctx: &CallContext,
        classify: Classify<'_>,
    ) -> Result<UpstreamResponse, SourceError> {
        if let Some(held) = store.held(key.source()).await {
            ctx.cache.record(Lookup::Hit);
            return match store.get(&key, &wants).await {
                Some(answer) => {
                    ctx.cache.used(store.clone(), key.clone());
                    answer.result()
                }
                None => Err(held),
            };
        }
        for _ in 0..2 {
            let Some(this_try) = request.try_clone() else {
                break;
            };
            let fetch = async {
                let read_ms = crate::time::now_ms();
                let started = Instant::now();
                let queued_before = ctx.queued();
                let outcome = self.execute_sent(this_try, ctx, classify).await;
                let queued = ctx.queued().saturating_sub(queued_before);
                Fetched {
                    outcome,
                    read_ms,
                    started,
                    queued,
                }
            };
            let joined = Instant::now();
            let (answer, lookup) = store
                .get_or_fetch(key.clone(), wants, Box::pin(fetch))
                .await;
            if lookup == Lookup::Coalesced {
                // Waiting for a request in flight is waiting in its queue
                // too, for the part of it after this request joined.
                let queue_ended = answer.started + answer.queued;
                let overlap = queue_ended.saturating_duration_since(joined);
                ctx.note_queued(overlap.min(joined.elapsed()));
            }
            if lookup == Lookup::Coalesced
                && answer.outcome.is_ok()
                && !answer.covers(wants.window_end)
            {
                continue;
            }
            ctx.cache.record(lookup);
            if answer.outcome.is_ok() {
                ctx.cache.used(store.clone(), key.clone());
            }
            return answer.result();
        }
        self.execute_sent(request, ctx, classify).await
    }

    /// `request` upstream, unless a `429` holds the source (spec §9: no
    /// request of a source is sent before its `Retry-After`); a final
    /// `429` with a `Retry-After` holds the source. Without a store, as
    /// [`UpstreamClient::execute_uncached`].
    pub(crate) async fn execute_sent(
        &self,
        request: reqwest::Request,
        ctx: &CallContext,
        classify: Classify<'_>,
    ) -> Result<UpstreamResponse, SourceError> {
        let Some((store, source)) = &self.store else {
            return self.execute_uncached(request, ctx, classify).await;
        };
        if let Some(held) = store.held(source).await {
            return Err(held);
        }
        let outcome = self.execute_uncached(request, ctx, classify).await;
        if let Err(SourceError::RateLimited {
            message,
            retry_after: Some(wait),
        }) = &outcome
        {
            store.hold(source, message, *wait).await;
        }
        outcome
    }
}
