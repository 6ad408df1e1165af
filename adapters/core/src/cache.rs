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

use std::time::Duration;

mod answer;
mod client;
mod key;
mod store;

pub use answer::{Answer, CachePolicy, Fetched, Lookup, Wants};
pub use client::LookupCounts;
pub use key::CacheKey;
pub use store::{AnswerStore, FetchFuture, MemoryStore};

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

#[cfg(test)]
#[path = "cache/tests.rs"]
mod tests;
