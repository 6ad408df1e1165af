//! A configured source as the engine holds it, with its health record and
//! its circuit breaker.

use std::sync::{Arc, Mutex};

use loggate_core::{Adapter, SourceError};

use crate::breaker::{BreakerSettings, CircuitBreaker};
use crate::gate::SourceGate;

/// One enabled source.
pub struct Source {
    pub name: Arc<str>,
    pub kind: &'static str,
    pub adapter: Arc<dyn Adapter>,
    pub health: Health,
    /// Shared with the metrics, which read its state at scrape time.
    pub breaker: Arc<CircuitBreaker>,
    /// Its outbound rate limit and concurrency cap (shared with its
    /// client), which counting weighs against the deadline; `None`:
    /// unbounded (tests).
    pub gate: Option<Arc<SourceGate>>,
}

impl Source {
    pub fn new(name: &str, adapter: Arc<dyn Adapter>) -> Self {
        Source {
            name: Arc::from(name),
            kind: adapter.kind(),
            adapter,
            health: Health::default(),
            breaker: Arc::new(CircuitBreaker::default()),
            gate: None,
        }
    }

    /// The outbound queue its client goes through.
    pub fn with_gate(mut self, gate: Arc<SourceGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn with_breaker(mut self, settings: BreakerSettings) -> Self {
        self.breaker = Arc::new(CircuitBreaker::new(settings));
        self
    }
}

/// The last success and the last failure of a source's fetches.
#[derive(Debug, Default)]
pub struct Health {
    inner: Mutex<HealthSnapshot>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSnapshot {
    /// Epoch ms of the last successful fetch.
    pub last_success: Option<i64>,
    /// Epoch ms, code and message of the last failed fetch.
    pub last_error: Option<(i64, String, String)>,
}

impl HealthSnapshot {
    /// `ok` when the latest fetch succeeded, `error` when it failed,
    /// `unknown` before any.
    pub fn status(&self) -> &'static str {
        match (&self.last_success, &self.last_error) {
            (None, None) => "unknown",
            (Some(_), None) => "ok",
            (None, Some(_)) => "error",
            (Some(ok), Some((failed, _, _))) => {
                if ok >= failed {
                    "ok"
                } else {
                    "error"
                }
            }
        }
    }
}

impl Health {
    /// Notes the outcome of a fetch or a total-count request.
    pub fn record<T>(&self, result: &Result<T, SourceError>) {
        let now = loggate_core::time::now_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => inner.last_success = Some(now),
            Err(e) => inner.last_error = Some((now, e.code().to_string(), e.to_string())),
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_latest_outcome() {
        let mut h = HealthSnapshot::default();
        assert_eq!(h.status(), "unknown");
        h.last_success = Some(5);
        assert_eq!(h.status(), "ok");
        h.last_error = Some((6, "upstream_error".into(), "boom".into()));
        assert_eq!(h.status(), "error");
        h.last_success = Some(7);
        assert_eq!(h.status(), "ok");
    }
}
