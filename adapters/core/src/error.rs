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
    /// No answer within the source's timeout or the request deadline.
    #[error("upstream did not answer within {}", humanize(.0))]
    Timeout(Duration),
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
    /// The source is skipped while its circuit breaker is open.
    #[error("source skipped after repeated failures; next probe in {}", humanize(.0))]
    CircuitOpen(Duration),
}

impl SourceError {
    /// The `code` reported in the source's `error` object.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Rejected { .. } => "upstream_rejected",
            SourceError::Unauthorized { .. } => "upstream_unauthorized",
            SourceError::RateLimited { .. } => "upstream_rate_limited",
            SourceError::Upstream { .. } => "upstream_error",
            SourceError::Timeout(_) => "upstream_timeout",
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

    /// How long the upstream asked us to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SourceError::RateLimited { retry_after, .. }
            | SourceError::Upstream { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, SourceError::Timeout(_))
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
}
