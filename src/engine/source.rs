//! A configured source as the engine holds it, with its health record and
//! its circuit breaker.

use std::sync::{Arc, Mutex};

use loggate_core::{Adapter, SourceError, UpstreamPaging};

use super::fresh::FreshSharing;
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
    /// How its upstream pages its log (the provider's declaration): a tail
    /// polls a whole-log upstream less often ([`crate::tail::Pace`]).
    pub paging: UpstreamPaging,
    /// Whether its fresh parts are read once for every filter
    /// ([`super::fresh`]).
    pub fresh_sharing: Arc<FreshSharing>,
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
            paging: UpstreamPaging::Paged,
            fresh_sharing: Arc::default(),
        }
    }

    /// How its upstream pages ([`ProviderConfig::upstream_paging`](loggate_core::ProviderConfig)).
    pub fn with_paging(mut self, paging: UpstreamPaging) -> Self {
        self.paging = paging;
        self
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
    /// Whether the latest outcome recorded was a failure: the order of
    /// outcomes, which their millisecond stamps cannot tell when a success
    /// and a failure share one.
    pub latest_failed: bool,
}

impl HealthSnapshot {
    /// `ok` when the latest fetch succeeded, `error` when it failed,
    /// `unknown` before any.
    pub fn status(&self) -> &'static str {
        match (&self.last_success, &self.last_error, self.latest_failed) {
            (None, None, _) => "unknown",
            (_, _, true) => "error",
            _ => "ok",
        }
    }
}

impl Health {
    /// Notes the outcome of a fetch or a total-count request. A failure
    /// that says nothing about the upstream (loggate declined or ran out
    /// of time itself: `overloaded`, `deadline_exceeded`, `circuit_open`,
    /// ...; not [`loggate_core::Culprit::blames_upstream`], as the circuit
    /// breaker judges it) leaves the health as it was: a healthy upstream
    /// behind a full queue is not shown failing.
    pub fn record<T>(&self, result: &Result<T, SourceError>) {
        if result
            .as_ref()
            .is_err_and(|e| !e.culprit().blames_upstream())
        {
            return;
        }
        let now = loggate_core::time::now_ms();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => inner.last_success = Some(now),
            Err(e) => inner.last_error = Some((now, e.code().to_string(), e.to_string())),
        }
        inner.latest_failed = result.is_err();
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// loggate's own refusals say nothing about the upstream.
    #[test]
    fn loggates_own_refusals_leave_the_health_as_it_was() {
        let health = Health::default();
        health.record(&Ok::<(), SourceError>(()));
        for own in [
            SourceError::Overloaded {
                message: "full".into(),
                retry_after: std::time::Duration::from_secs(1),
            },
            SourceError::DeadlineExceeded,
            SourceError::CircuitOpen(std::time::Duration::from_secs(5)),
        ] {
            health.record(&Err::<(), _>(own));
            let snapshot = health.snapshot();
            assert_eq!(snapshot.status(), "ok");
            assert!(snapshot.last_error.is_none());
        }
    }

    #[test]
    fn status_follows_the_latest_outcome() {
        let health = Health::default();
        assert_eq!(health.snapshot().status(), "unknown");
        health.record(&Ok::<(), SourceError>(()));
        assert_eq!(health.snapshot().status(), "ok");
        // Within one millisecond: the order decides, not the stamps.
        health.record(&Err::<(), _>(SourceError::Timeout(
            std::time::Duration::ZERO,
        )));
        assert_eq!(health.snapshot().status(), "error");
        health.record(&Ok::<(), SourceError>(()));
        assert_eq!(health.snapshot().status(), "ok");
        health.record(&Err::<(), _>(SourceError::Timeout(
            std::time::Duration::ZERO,
        )));
        let snapshot = health.snapshot();
        assert_eq!(snapshot.status(), "error");
        assert!(snapshot.last_success.is_some() && snapshot.last_error.is_some());
    }
}
