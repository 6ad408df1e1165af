//! A circuit breaker per source, so a source that keeps failing is left
//! alone for a while instead of being hammered by every request (and
//! costing each of them a timeout).
//!
//! `closed`: every fetch goes through; `failures` consecutive failed fetches
//! open it. `open`: fetches are skipped (`circuit_open`) until `cool_down`
//! has passed. Then exactly one fetch goes through as a probe while every
//! other concurrent fetch is still skipped (`half_open`): its success
//! closes the breaker, its failure opens it for another cool-down.
//!
//! What counts is decided by the error's [`Culprit`](loggate_core::Culprit) alone: an upstream
//! that answered coherently (success, or a `Rejected` 4xx, which says more
//! about the query than about the source) is healthy; the upstream's own
//! failures (error statuses, connection errors, a timeout of a request sent
//! with a fair deadline) are failures; whatever loggate itself declined
//! (`overloaded`: its own outbound queue; `deadline_exceeded`; a bad
//! cursor's `invalid_position`) counts neither way, so client load alone
//! never opens the circuit of a healthy upstream (issue 18). The clock is
//! injectable so the state machine is tested without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use loggate_core::SourceError;

/// The breaker's settings (`circuit_breaker = { failures, cool_down }`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed fetches that open the circuit.
    pub failures: u32,
    /// How long an open circuit skips the source before one probe.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failures: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The state `GET /sources` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    /// The cool-down is over: the next fetch (or the one under way) probes.
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half_open",
        }
    }
}

/// Where the breaker reads the time.
pub type ClockFn = Arc<dyn Fn() -> Instant + Send + Sync>;

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    Probing,
}

pub struct CircuitBreaker {
    settings: BreakerSettings,
    clock: ClockFn,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("settings", &self.settings)
            .field("state", &self.state())
            .finish()
    }
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker::new(BreakerSettings::default())
    }
}

/// Leave to fetch once; tell the breaker how it went with [`Permit::record`].
/// A probe permit dropped unrecorded (the request was cancelled) hands the
/// probe to the next fetch instead of leaving the circuit half open forever.
#[must_use]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    recorded: bool,
}

impl CircuitBreaker {
    pub fn new(settings: BreakerSettings) -> Self {
        CircuitBreaker::with_clock(settings, Arc::new(Instant::now))
    }

    pub fn with_clock(settings: BreakerSettings, clock: ClockFn) -> Self {
        CircuitBreaker {
            settings,
            clock,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> CircuitState {
        match *self.lock() {
            Inner::Closed { .. } => CircuitState::Closed,
            Inner::Open { until } if (self.clock)() < until => CircuitState::Open,
            Inner::Open { .. } | Inner::Probing => CircuitState::HalfOpen,
        }
    }

    /// A permit to fetch, or the error to report for a skipped source.
    pub fn admit(&self) -> Result<Permit<'_>, SourceError> {
        let mut inner = self.lock();
        let probe = match *inner {
            Inner::Closed { .. } => false,
            Inner::Open { until } => {
                let now = (self.clock)();
                if now < until {
                    return Err(SourceError::CircuitOpen(until - now));
                }
                *inner = Inner::Probing;
                true
            }
            // Someone else is probing; its answer decides.
            Inner::Probing => return Err(SourceError::CircuitOpen(self.settings.cool_down)),
        };
        Ok(Permit {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    fn settle(&self, probe: bool, outcome: Outcome) {
        let mut inner = self.lock();
        let open = Inner::Open {
            until: (self.clock)() + self.settings.cool_down,
        };
        *inner = match (*inner, outcome) {
            (_, Outcome::Healthy) => Inner::Closed { failures: 0 },
            (Inner::Probing, Outcome::Failed) if probe => open,
            (Inner::Closed { failures }, Outcome::Failed) => {
                let failures = failures.saturating_add(1);
                if failures >= self.settings.failures.max(1) {
                    tracing::warn!(
                        failures,
                        cool_down_ms = self.settings.cool_down.as_millis() as u64,
                        "circuit opened"
                    );
                    open
                } else {
                    Inner::Closed { failures }
                }
            }
            // The probe told nothing: the next fetch probes.
            (Inner::Probing, Outcome::Neutral) if probe => Inner::Open {
                until: (self.clock)(),
            },
            // A fetch admitted before the circuit opened finishing late
            // does not change an open or probing circuit.
            (state, _) => state,
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Healthy,
    Failed,
    Neutral,
}

fn outcome<T>(result: &Result<T, SourceError>) -> Outcome {
    match result {
        Ok(_) | Err(SourceError::Rejected { .. }) => Outcome::Healthy,
        Err(e) if e.culprit().blames_upstream() => Outcome::Failed,
        Err(_) => Outcome::Neutral,
    }
}

impl Permit<'_> {
    /// Settles the fetch with its result.
    pub fn record<T>(mut self, result: &Result<T, SourceError>) {
        self.recorded = true;
        self.breaker.settle(self.probe, outcome(result));
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.recorded && self.probe {
            self.breaker.settle(true, Outcome::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A clock the test moves by hand.
    fn manual_clock() -> (ClockFn, Arc<AtomicU64>) {
        let base = Instant::now();
        let offset = Arc::new(AtomicU64::new(0));
        let read = offset.clone();
        let clock: ClockFn =
            Arc::new(move || base + Duration::from_millis(read.load(Ordering::SeqCst)));
        (clock, offset)
    }

    fn breaker() -> (CircuitBreaker, Arc<AtomicU64>) {
        let (clock, offset) = manual_clock();
        let settings = BreakerSettings {
            failures: 3,
            cool_down: Duration::from_secs(30),
        };
        (CircuitBreaker::with_clock(settings, clock), offset)
    }

    fn fail() -> Result<(), SourceError> {
        Err(SourceError::Upstream {
            status: 500,
            message: "boom".into(),
            retry_after: None,
        })
    }

    fn fail_times(b: &CircuitBreaker, n: usize) {
        for _ in 0..n {
            b.admit().expect("admitted").record(&fail());
        }
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let (b, _) = breaker();
        fail_times(&b, 2);
        b.admit().unwrap().record(&Ok(()));
        fail_times(&b, 2);
        assert_eq!(
            b.state(),
            CircuitState::Closed,
            "a success resets the count"
        );
        fail_times(&b, 1);
        assert_eq!(b.state(), CircuitState::Open);
        assert_eq!(
            b.admit().err(),
            Some(SourceError::CircuitOpen(Duration::from_secs(30)))
        );
        assert_eq!(b.admit().unwrap_err().code(), "circuit_open");
    }

    #[test]
    fn one_probe_after_the_cool_down_and_success_closes() {
        let (b, clock) = breaker();
        fail_times(&b, 3);
        clock.store(29_000, Ordering::SeqCst);
        assert_eq!(
            b.admit().err(),
            Some(SourceError::CircuitOpen(Duration::from_secs(1)))
        );
        clock.store(30_000, Ordering::SeqCst);
        assert_eq!(b.state(), CircuitState::HalfOpen);
        let probe = b.admit().expect("the probe");
        // Concurrent fetches during the probe are still skipped.
        assert!(b.admit().is_err());
        assert!(b.admit().is_err());
        assert_eq!(b.state(), CircuitState::HalfOpen);
        probe.record(&Ok(()));
        assert_eq!(b.state(), CircuitState::Closed);
        assert!(b.admit().is_ok());
    }

    #[test]
    fn a_failed_probe_reopens_for_another_cool_down() {
        let (b, clock) = breaker();
        fail_times(&b, 3);
        clock.store(30_000, Ordering::SeqCst);
        b.admit().expect("the probe").record(&fail());
        assert_eq!(b.state(), CircuitState::Open);
        clock.store(59_999, Ordering::SeqCst);
        assert!(b.admit().is_err());
        clock.store(60_000, Ordering::SeqCst);
        b.admit().expect("the next probe").record(&Ok(()));
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[test]
    fn an_abandoned_or_neutral_probe_hands_over_to_the_next_fetch() {
        let (b, clock) = breaker();
        fail_times(&b, 3);
        clock.store(30_000, Ordering::SeqCst);
        drop(b.admit().expect("the probe"));
        let probe = b.admit().expect("a new probe after the cancelled one");
        probe.record(&Err::<(), _>(SourceError::InvalidPosition("bad".into())));
        let probe = b.admit().expect("a new probe after the neutral one");
        assert!(b.admit().is_err());
        probe.record(&Err::<(), _>(SourceError::Timeout(Duration::from_secs(1))));
        assert_eq!(b.state(), CircuitState::Open);
    }

    #[test]
    fn rejected_queries_bad_positions_and_our_own_declines_do_not_open_it() {
        let (b, _) = breaker();
        for _ in 0..10 {
            let rejected = SourceError::Rejected {
                status: 400,
                message: "bad".into(),
            };
            b.admit().unwrap().record(&Err::<(), _>(rejected));
            let invalid = SourceError::InvalidPosition("x".into());
            b.admit().unwrap().record(&Err::<(), _>(invalid));
            // Loggate's own queue or deadline declined to send.
            let overloaded = SourceError::Overloaded {
                message: "full".into(),
                retry_after: Duration::from_secs(1),
            };
            b.admit().unwrap().record(&Err::<(), _>(overloaded));
            b.admit()
                .unwrap()
                .record(&Err::<(), _>(SourceError::DeadlineExceeded));
        }
        assert_eq!(b.state(), CircuitState::Closed);
    }

    #[test]
    fn late_answers_do_not_change_an_open_circuit() {
        let (b, _) = breaker();
        let late = b.admit().unwrap();
        fail_times(&b, 3);
        late.record(&Ok(()));
        // A success admitted before the circuit opened closes it: the
        // upstream did answer. A late failure leaves it open.
        assert_eq!(b.state(), CircuitState::Closed);
        let late = b.admit().unwrap();
        fail_times(&b, 3);
        late.record(&fail());
        assert_eq!(b.state(), CircuitState::Open);
    }
}
