//! Where answers are kept: the [`AnswerStore`] seam and the in-process
//! [`MemoryStore`] (moka, weighed in bytes).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::SourceError;

use super::{Answer, CacheKey, CachePolicy, CacheSettings, Fetched, Lookup, Wants};

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

    /// The stored answer for `key` [`CachePolicy::usable`] for `wants`,
    /// without fetching (a source held by a `429` still serves these).
    async fn get(&self, key: &CacheKey, wants: &Wants) -> Option<Arc<Answer>>;

    /// Drops the answer stored for `key` (an answer the adapter could not
    /// read: it must not be served again).
    async fn forget(&self, key: &CacheKey);

    /// Holds `source` for `retry_after` (a final `429` with `Retry-After`,
    /// spec §9 and §5: the quota is the source's, so every request of the
    /// source waits, not only the one refused).
    async fn hold(&self, source: &str, message: &str, retry_after: Duration);

    /// The `429` holding `source` now, with the wait left; `None` when the
    /// source is not held.
    async fn held(&self, source: &str) -> Option<SourceError>;
}

/// The in-process store: a moka cache weighed in bytes.
pub struct MemoryStore {
    cache: moka::future::Cache<CacheKey, Arc<Answer>>,
    policy: CachePolicy,
    seq: AtomicU64,
    /// Sources held by a `429`: until when, and its message. One entry per
    /// configured source at most.
    holds: Mutex<HashMap<Arc<str>, (Instant, String)>>,
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
            holds: Mutex::new(HashMap::new()),
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

    async fn get(&self, key: &CacheKey, wants: &Wants) -> Option<Arc<Answer>> {
        let answer = self.cache.get(key).await?;
        self.policy
            .usable(&answer, wants, Instant::now())
            .then_some(answer)
    }

    async fn forget(&self, key: &CacheKey) {
        self.cache.invalidate(key).await;
    }

    async fn hold(&self, source: &str, message: &str, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        let held = holds
            .entry(source.into())
            .or_insert_with(|| (until, String::new()));
        if held.0 <= until {
            *held = (until, message.to_string());
        }
    }

    async fn held(&self, source: &str) -> Option<SourceError> {
        let now = Instant::now();
        let mut holds = self.holds.lock().unwrap_or_else(|e| e.into_inner());
        let (until, message) = holds.get(source)?;
        if *until <= now {
            holds.remove(source);
            return None;
        }
        Some(SourceError::RateLimited {
            message: message.clone(),
            retry_after: Some(until.saturating_duration_since(now)),
        })
    }
}
