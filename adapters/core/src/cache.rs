//! The upstream answer cache and request coalescing (spec §9), behind
//! the shared [`crate::UpstreamClient`], so every adapter gets them
//! without knowing.
//!
//! - **Key**: the source's name and a SHA-256 digest of the native request
//!   (method, URL, headers, body) with every secret value cut out and the
//!   credential headers left out ([`CacheKey`]): a key never holds a
//!   secret, and a refreshed token does not empty the cache. Only `GET`
//!   requests made for a time window ([`CallContext::cache_window`]) take
//!   part; a token request never does.
//! - **Coalescing**: identical requests in flight at once are sent once and
//!   the answer shared (moka's entry API: one `init` future per key, the
//!   others wait for it), errors included.
//! - **Lifetime** ([`CachePolicy::usable`]): an answer serves a request
//!   whose window ends at `E` (epoch ms) only when it was read at or after
//!   `E` (so it holds every log stamped up to `E` that had reached the
//!   upstream by then), for `fresh_ttl`; and for `settled_ttl` when `E`
//!   lay at least `freshness_horizon` before the read (the window was
//!   settled: no more logs are expected in it).
//! - **Negative entries**: a final `429` is kept until its `Retry-After`;
//!   no request with that key is sent before then, `no-cache` or not.
//! - **Bounded** in bytes ([`CacheSettings::max_bytes`], each entry weighed
//!   by its body, headers and key); moka evicts by TinyLFU.
//!
//! [`AnswerStore`] is the seam for a shared backend (Redis/Valkey) serving
//! several replicas: [`MemoryStore`] is the in-process one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::error::SourceError;
use crate::http::{CallContext, UpstreamClient, UpstreamResponse};

/// `[cache]`: the answer cache's settings (spec §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// `false`: every request goes upstream, nothing is coalesced.
    pub enabled: bool,
    /// Bound of the cache in bytes (bodies, headers, keys).
    pub max_bytes: u64,
    /// Lifetime of an answer for a window that was not settled when read.
    pub fresh_ttl: Duration,
    /// Lifetime of an answer for a window that was settled when read.
    pub settled_ttl: Duration,
    /// A window ending this long before an answer was read is settled.
    pub freshness_horizon: Duration,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            enabled: true,
            max_bytes: 32 * 1024 * 1024,
            fresh_ttl: Duration::from_secs(5),
            settled_ttl: Duration::from_secs(3600),
            freshness_horizon: Duration::from_secs(600),
        }
    }
}

/// One cached request: the source's name and a digest of the native
/// request with its secrets cut out (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    source: Arc<str>,
    digest: [u8; 32],
}

/// Headers that carry credentials: left out of a key.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

impl CacheKey {
    /// The key of `request` for `source`, every value of `secrets` cut out
    /// of its URL, headers and body; `None` for a request that is not a
    /// `GET` or whose body is a stream.
    pub fn of(source: &str, request: &reqwest::Request, secrets: &[&str]) -> Option<CacheKey> {
        if request.method() != reqwest::Method::GET {
            return None;
        }
        let body: &[u8] = match request.body() {
            None => &[],
            Some(body) => body.as_bytes()?,
        };
        let redact = |text: &str| {
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .fold(text.to_string(), |t, s| t.replace(s, "\u{0}"))
        };
        let mut headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes());
                (name.as_str().to_string(), redact(&value))
            })
            .collect();
        headers.sort();
        let mut hash = Sha256::new();
        hash.update(request.method().as_str());
        hash.update([0]);
        hash.update(redact(request.url().as_str()));
        for (name, value) in headers {
            hash.update([0]);
            hash.update(name);
            hash.update(":");
            hash.update(value);
        }
        hash.update([0]);
        hash.update(redact(&String::from_utf8_lossy(body)));
        Some(CacheKey {
            source: source.into(),
            digest: hash.finalize().into(),
        })
    }

    /// The source this key belongs to.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What one lookup needs besides its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wants {
    /// Upper bound (epoch ms, inclusive) of the records the request can
    /// return: the traversal's pinned end or the client's `end`.
    pub window_end: i64,
    /// `Cache-Control: no-cache`: no stored answer is used (an identical
    /// request in flight is still joined; a `429` still holds).
    pub bypass: bool,
}

/// How a lookup was answered; counted per source (spec §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A stored answer.
    Hit,
    /// Sent upstream by this request.
    Miss,
    /// The answer of an identical request in flight.
    Coalesced,
}

/// A fetch's outcome before it is stored.
pub struct Fetched {
    pub outcome: Result<UpstreamResponse, SourceError>,
    /// Wall clock (epoch ms) when the request was first sent: the upstream
    /// read its data at or after this instant.
    pub read_ms: i64,
}

/// One stored answer (or negative entry).
#[derive(Debug)]
pub struct Answer {
    pub outcome: Result<UpstreamResponse, SourceError>,
    /// See [`Fetched::read_ms`].
    pub read_ms: i64,
    /// When the answer came back.
    pub stored: Instant,
    /// Store-wide sequence number, increasing with `stored`.
    pub seq: u64,
    /// How long the store keeps it (memory only; [`CachePolicy::usable`]
    /// decides whether it may be used).
    pub keep: Duration,
}

impl Answer {
    /// Bytes it weighs in the store, key included.
    pub fn weight(&self) -> u32 {
        let size = match &self.outcome {
            Ok(response) => {
                response.body.len()
                    + response
                        .headers
                        .iter()
                        .map(|(n, v)| n.as_str().len() + v.len() + 16)
                        .sum::<usize>()
            }
            Err(error) => error.to_string().len(),
        };
        (size + 160).min(u32::MAX as usize) as u32
    }

    /// Whether it holds everything a request for a window ending at
    /// `window_end` may return (read at or after that instant).
    pub fn covers(&self, window_end: i64) -> bool {
        self.read_ms >= window_end
    }

    /// The result a request gets from it: a negative entry's `429` says
    /// how much of its `Retry-After` is left.
    pub fn result(&self, now: Instant) -> Result<UpstreamResponse, SourceError> {
        match &self.outcome {
            Ok(response) => Ok(response.clone()),
            Err(SourceError::RateLimited { message, .. }) => Err(SourceError::RateLimited {
                message: message.clone(),
                retry_after: Some((self.stored + self.keep).saturating_duration_since(now)),
            }),
            Err(error) => Err(error.clone()),
        }
    }
}

/// The lifetime rules of spec §9, shared by every [`AnswerStore`].
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    pub settings: CacheSettings,
}

impl CachePolicy {
    /// Whether `answer` may serve a request that wants `wants` at `now`.
    pub fn usable(&self, answer: &Answer, wants: &Wants, now: Instant) -> bool {
        let age = now.saturating_duration_since(answer.stored);
        match &answer.outcome {
            Err(SourceError::RateLimited { .. }) => age < answer.keep,
            Err(_) => false,
            Ok(_) if wants.bypass || !answer.covers(wants.window_end) => false,
            Ok(_) => {
                age < self.settings.fresh_ttl
                    || (self.settled(answer.read_ms, wants.window_end)
                        && age < self.settings.settled_ttl)
            }
        }
    }

    /// A window ending at `window_end` was settled when read at `read_ms`.
    fn settled(&self, read_ms: i64, window_end: i64) -> bool {
        let horizon = self.settings.freshness_horizon.as_millis() as i64;
        window_end <= read_ms.saturating_sub(horizon)
    }

    /// `fetched` as stored: kept `settled_ttl` when the window was settled,
    /// else `fresh_ttl`; a `429` until its `Retry-After` (not at all
    /// without one); any other failure not at all.
    pub fn answer(&self, fetched: Fetched, wants: &Wants, seq: u64) -> Answer {
        let keep = match &fetched.outcome {
            Ok(_) if self.settled(fetched.read_ms, wants.window_end) => self.settings.settled_ttl,
            Ok(_) => self.settings.fresh_ttl,
            Err(SourceError::RateLimited { retry_after, .. }) => retry_after.unwrap_or_default(),
            Err(_) => Duration::ZERO,
        };
        Answer {
            outcome: fetched.outcome,
            read_ms: fetched.read_ms,
            stored: Instant::now(),
            seq,
            keep,
        }
    }
}

/// A fetch the store runs when it has no usable answer.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Fetched> + Send + 'a>>;

/// Where answers are kept: in process ([`MemoryStore`]) or, later, shared
/// by replicas (Redis/Valkey; README "Cache").
#[async_trait]
pub trait AnswerStore: Send + Sync {
    /// The answer for `key`: a stored one [`CachePolicy::usable`] for
    /// `wants`, else that of an identical request in flight, else
    /// `fetch`'s (then stored).
    async fn get_or_fetch(
        &self,
        key: CacheKey,
        wants: Wants,
        fetch: FetchFuture<'_>,
    ) -> (Arc<Answer>, Lookup);

    /// Drops the answer stored for `key` (an answer the adapter could not
    /// read: it must not be served again).
    async fn forget(&self, key: &CacheKey);
}

/// The in-process store: a moka cache weighed in bytes.
pub struct MemoryStore {
    cache: moka::future::Cache<CacheKey, Arc<Answer>>,
    policy: CachePolicy,
    seq: AtomicU64,
}

struct KeepFor;

impl moka::Expiry<CacheKey, Arc<Answer>> for KeepFor {
    fn expire_after_create(
        &self,
        _key: &CacheKey,
        answer: &Arc<Answer>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(answer.keep)
    }
}

impl MemoryStore {
    pub fn new(settings: CacheSettings) -> Self {
        let cache = moka::future::Cache::builder()
            .max_capacity(settings.max_bytes)
            .weigher(|_key: &CacheKey, answer: &Arc<Answer>| answer.weight())
            .expire_after(KeepFor)
            .build();
        MemoryStore {
            cache,
            policy: CachePolicy { settings },
            seq: AtomicU64::new(0),
        }
    }

    /// Bytes held now, as last accounted (moka settles its books in the
    /// background; [`MemoryStore::weighted_size`] settles them first).
    pub fn bytes(&self) -> u64 {
        self.cache.weighted_size()
    }

    /// Answers held now, as last accounted.
    pub fn entries(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Bytes held now (after moka's pending evictions ran).
    pub async fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.weighted_size()
    }
}

#[async_trait]
impl AnswerStore for MemoryStore {
    async fn get_or_fetch(
        &self,
        key: CacheKey,
        wants: Wants,
        fetch: FetchFuture<'_>,
    ) -> (Arc<Answer>, Lookup) {
        let started = self.seq.load(Ordering::SeqCst);
        let policy = self.policy;
        let init = async {
            let fetched = fetch.await;
            let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
            Arc::new(policy.answer(fetched, &wants, seq))
        };
        let entry = self
            .cache
            .entry(key)
            .or_insert_with_if(init, |answer| {
                !policy.usable(answer, &wants, Instant::now())
            })
            .await;
        let lookup = if entry.is_fresh() {
            Lookup::Miss
        } else if entry.value().seq > started {
            Lookup::Coalesced
        } else {
            Lookup::Hit
        };
        (entry.into_value(), lookup)
    }

    async fn forget(&self, key: &CacheKey) {
        self.cache.invalidate(key).await;
    }
}

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
type Classify<'a> = &'a (dyn Fn(&UpstreamResponse, String) -> Option<SourceError> + Send + Sync);

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
    /// which sends (or joins) a newer read.
    pub(crate) async fn execute_cached(
        &self,
        store: Arc<dyn AnswerStore>,
        key: CacheKey,
        wants: Wants,
        request: reqwest::Request,
        ctx: &CallContext,
        classify: Classify<'_>,
    ) -> Result<UpstreamResponse, SourceError> {
        for _ in 0..2 {
            let Some(this_try) = request.try_clone() else {
                break;
            };
            let fetch = async {
                let read_ms = crate::time::now_ms();
                let outcome = self.execute_uncached(this_try, ctx, classify).await;
                Fetched { outcome, read_ms }
            };
            let (answer, lookup) = store
                .get_or_fetch(key.clone(), wants, Box::pin(fetch))
                .await;
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
            return answer.result(Instant::now());
        }
        self.execute_uncached(request, ctx, classify).await
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
