//! What a lookup wants, what the store keeps, and the lifetime rules of
//! spec §9 ([`CachePolicy`]) shared by every [`super::AnswerStore`].

use std::time::Duration;

use tokio::time::Instant;

use super::CacheSettings;
use crate::error::SourceError;
use crate::http::UpstreamResponse;

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
    /// When the request began, and how long it waited in loggate's
    /// outbound queue ([`crate::CallContext::queued`], retries' waits
    /// included): a request that joins it in flight waited through the
    /// part of that queueing after it joined (taken to come first).
    pub started: Instant,
    pub queued: Duration,
}

/// One stored answer.
#[derive(Debug)]
pub struct Answer {
    pub outcome: Result<UpstreamResponse, SourceError>,
    /// See [`Fetched::read_ms`].
    pub read_ms: i64,
    /// See [`Fetched::queued`].
    pub started: Instant,
    pub queued: Duration,
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

    /// The result a request gets from it.
    pub fn result(&self) -> Result<UpstreamResponse, SourceError> {
        self.outcome.clone()
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
    /// else `fresh_ttl`; a failure not at all (a `429` holds its whole
    /// source instead: [`super::AnswerStore::hold`]).
    pub fn answer(&self, fetched: Fetched, wants: &Wants, seq: u64) -> Answer {
        let keep = match &fetched.outcome {
            Ok(_) if self.settled(fetched.read_ms, wants.window_end) => self.settings.settled_ttl,
            Ok(_) => self.settings.fresh_ttl,
            Err(_) => Duration::ZERO,
        };
        Answer {
            outcome: fetched.outcome,
            read_ms: fetched.read_ms,
            started: fetched.started,
            queued: fetched.queued,
            stored: Instant::now(),
            seq,
            keep,
        }
    }
}
