//! Typed errors of one source, saying who failed.

use std::time::Duration;

use thiserror::Error;

/// Why a source could not serve a fetch. Messages never carry credentials:
/// upstream bodies arrive here already excerpted and scrubbed.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum SourceError {
    /// The upstream refused our request as malformed (4xx other than auth
    /// and rate limits): a translation bug or a value it cannot take.
    #[error("upstream rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The upstream refused our credentials (401/403).
    #[error("upstream refused the credentials ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The upstream is rate limiting us (429).
    #[error("upstream rate limit reached: {message}")]
    RateLimited {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The upstream failed (5xx or an unexpected status).
    #[error("upstream answered {status}: {message}")]
    Upstream {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The upstream did not answer a request that was sent to it within the
    /// source's timeout or the request deadline (a request is only sent
    /// with at least [`crate::http::MIN_SEND_WINDOW`] left).
    #[error("upstream did not answer within {}", humanize(.0))]
    Timeout(Duration),
    /// Loggate itself declined to send: the source's outbound rate limit
    /// or concurrency cap (loggate's own queue) could not serve the request
    /// before its deadline. Decided up front, without waiting the deadline
    /// out; nothing was sent, so it says nothing about the upstream.
    #[error("loggate is overloaded: {message}")]
    Overloaded {
        message: String,
        /// When the queue is expected to have room again.
        retry_after: Duration,
    },
    /// Loggate itself declined to send: the request's deadline left too
    /// little time ([`crate::http::MIN_SEND_WINDOW`]) for another upstream
    /// request (earlier requests of the page used it up). Nothing was sent.
    #[error("the request deadline passed before another upstream request could be sent")]
    DeadlineExceeded,
    /// The connection could not be made.
    #[error("could not connect to upstream: {0}")]
    Connect(String),
    /// The connection broke before a whole response arrived.
    #[error("connection to upstream failed: {0}")]
    Network(String),
    /// The response could not be understood.
    #[error("could not decode upstream response: {0}")]
    Decode(String),
    /// The response body exceeded the configured cap.
    #[error("upstream response exceeded {limit} bytes and was cut off")]
    TooLarge { limit: usize },
    /// A position that does not belong to this adapter (a corrupted or
    /// foreign cursor).
    #[error("invalid position: {0}")]
    InvalidPosition(String),
    /// Loggate itself could not make the request (it could not be built
    /// or repeated): a defect or a configured value the HTTP client cannot
    /// send, never the upstream's doing.
    #[error("loggate could not make the request: {0}")]
    Internal(String),
    /// The source is skipped while its circuit breaker is open.
    #[error("source skipped after repeated failures; next probe in {}", humanize(.0))]
    CircuitOpen(Duration),
}

/// The longest `Retry-After` of a lateness attributed to loggate's queues
/// ([`SourceError::attribute_lateness`]): the time queued can be as long
/// as a configured `request_timeout`, a wait no client should be told.
pub const MAX_LATENESS_RETRY_AFTER: Duration = Duration::from_secs(30);

impl SourceError {
    /// The `code` reported in the source's `error` object.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Rejected { .. } => "upstream_rejected",
            SourceError::Unauthorized { .. } => "upstream_unauthorized",
            SourceError::RateLimited { .. } => "upstream_rate_limited",
            SourceError::Upstream { .. } => "upstream_error",
            SourceError::Timeout(_) => "upstream_timeout",
            SourceError::Overloaded { .. } => "overloaded",
            SourceError::DeadlineExceeded => "deadline_exceeded",
            SourceError::Internal(_) => "internal_error",
            SourceError::Connect(_) => "upstream_unavailable",
            SourceError::Network(_) => "upstream_unavailable",
            SourceError::Decode(_) => "upstream_invalid_response",
            SourceError::TooLarge { .. } => "upstream_invalid_response",
            SourceError::InvalidPosition(_) => "invalid_position",
            SourceError::CircuitOpen(_) => "circuit_open",
        }
    }

    /// Worth another try: connect errors, 429, 502, 503, 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            SourceError::Connect(_) | SourceError::RateLimited { .. } => true,
            SourceError::Upstream { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// How long the upstream (or, for [`SourceError::Overloaded`], loggate's
    /// own queue) asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SourceError::RateLimited { retry_after, .. }
            | SourceError::Upstream { retry_after, .. } => *retry_after,
            SourceError::Overloaded { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Who a request that ran out of time after `elapsed` owes it to. A
    /// [`SourceError::Timeout`] or [`SourceError::DeadlineExceeded`] after
    /// at least half of `elapsed` went waiting in loggate's own `queues`
    /// (named in the message) is loggate's overload, not the upstream's
    /// slowness: it becomes [`SourceError::Overloaded`] with `Retry-After`
    /// = the time queued (the backlog met; whole seconds, at least one, at
    /// most [`MAX_LATENESS_RETRY_AFTER`]), so a page answers `503
    /// overloaded` (spec §5) and the circuit breaker does not count it.
    /// Every other error is returned as it is. Which lateness is eligible
    /// is the caller's: [`crate::CallContext::attribute_timeout`].
    pub fn attribute_lateness(self, queued: Duration, elapsed: Duration, queues: &str) -> Self {
        let late = matches!(
            self,
            SourceError::Timeout(_) | SourceError::DeadlineExceeded
        );
        if !late || queued.is_zero() || queued * 2 < elapsed {
            return self;
        }
        SourceError::Overloaded {
            message: format!(
                "the request ran out of time after waiting {} ms of its {} ms in {queues}: {self}",
                queued.as_millis(),
                elapsed.as_millis()
            ),
            retry_after: Duration::from_secs(queued.as_secs_f64().ceil().max(1.0) as u64)
                .min(MAX_LATENESS_RETRY_AFTER),
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, SourceError::Timeout(_))
    }

    /// Who failed: the upstream, the upstream by not answering in time, or
    /// loggate itself (it declined, or the failure says nothing about the
    /// upstream's health).
    pub fn culprit(&self) -> Culprit {
        match self {
            SourceError::Timeout(_) => Culprit::UpstreamTimeout,
            SourceError::Overloaded { .. } => Culprit::Overloaded,
            SourceError::DeadlineExceeded
            | SourceError::Internal(_)
            | SourceError::InvalidPosition(_)
            | SourceError::CircuitOpen(_) => Culprit::Gateway,
            SourceError::Rejected { .. }
            | SourceError::Unauthorized { .. }
            | SourceError::RateLimited { .. }
            | SourceError::Upstream { .. }
            | SourceError::Connect(_)
            | SourceError::Network(_)
            | SourceError::Decode(_)
            | SourceError::TooLarge { .. } => Culprit::Upstream,
        }
    }
}

/// Who a [`SourceError`] says failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    /// The upstream answered with an error, or the connection to it failed.
    Upstream,
    /// The upstream did not answer a request sent to it in time.
    UpstreamTimeout,
    /// Loggate's own queue (outbound rate limit, concurrency cap) could not
    /// serve the request before its deadline.
    Overloaded,
    /// Loggate itself stopped (the deadline ran out before sending, an open
    /// circuit, a position from a bad cursor): not the upstream's doing.
    Gateway,
}

impl Culprit {
    /// Whether the failure says something about the upstream's health
    /// (its errors and timeouts), not about loggate declining or stopping
    /// itself: what the circuit breaker counts and a source's health shows.
    pub fn blames_upstream(self) -> bool {
        matches!(self, Culprit::Upstream | Culprit::UpstreamTimeout)
    }
}

fn humanize(d: &Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retryable() {
        let upstream = |status| SourceError::Upstream {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(upstream(503).is_retryable());
        assert!(!upstream(500).is_retryable());
        assert!(SourceError::Connect("refused".into()).is_retryable());
        assert!(!SourceError::Rejected {
            status: 400,
            message: String::new()
        }
        .is_retryable());
        assert!(!SourceError::Timeout(Duration::from_secs(1)).is_retryable());
    }

    #[test]
    fn messages_are_lowercase_and_specific() {
        let e = SourceError::Timeout(Duration::from_millis(1500));
        assert_eq!(e.to_string(), "upstream did not answer within 1500ms");
        assert_eq!(e.code(), "upstream_timeout");
    }

    #[test]
    fn each_error_says_who_failed() {
        let overloaded = SourceError::Overloaded {
            message: "the outbound rate limit is full".into(),
            retry_after: Duration::from_secs(3),
        };
        assert_eq!(overloaded.code(), "overloaded");
        assert_eq!(overloaded.culprit(), Culprit::Overloaded);
        assert_eq!(overloaded.retry_after(), Some(Duration::from_secs(3)));
        assert!(!overloaded.is_retryable());
        assert_eq!(SourceError::DeadlineExceeded.culprit(), Culprit::Gateway);
        assert_eq!(SourceError::DeadlineExceeded.code(), "deadline_exceeded");
        assert_eq!(
            SourceError::Timeout(Duration::from_secs(1)).culprit(),
            Culprit::UpstreamTimeout
        );
        assert_eq!(
            SourceError::Connect("refused".into()).culprit(),
            Culprit::Upstream
        );
    }
}
