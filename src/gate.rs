//! Outbound admission per source: a rate limit shared by every request to
//! the source, and a cap on concurrent upstream requests. This is
//! loggate's own queue in front of the upstream, and it never makes the
//! upstream look slow: a request is admitted only when its slot comes at
//! least [`MIN_SEND_WINDOW`] before its deadline; otherwise it is declined
//! at once with [`SourceError::Overloaded`] (the page answers `503` with
//! `Retry-After` instead of waiting its deadline out), which the circuit
//! breaker does not count (issue 18).
//!
//! The rate limit is a GCRA schedule with reservations (the algorithm of
//! `governor`, which cannot reserve): each admitted request books the next
//! free slot, so whether a slot comes before a deadline is known when the
//! request arrives, and waiters are served in arrival order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use loggate_core::http::{RequestGate, MIN_SEND_WINDOW};
use loggate_core::{CallContext, SourceError};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::RateLimit;

pub struct SourceGate {
    schedule: Mutex<Schedule>,
    concurrency: Arc<Semaphore>,
}

/// The GCRA state: `per_second` requests a second on average, up to
/// `burst` at once.
struct Schedule {
    /// Time between two requests at the sustained rate.
    interval: Duration,
    /// How far ahead of the sustained rate a burst may run.
    tolerance: Duration,
    /// The theoretical arrival time of the next request.
    tat: Option<Instant>,
}

impl Schedule {
    fn new(rate: RateLimit) -> Self {
        let per_second = rate.per_second.max(1);
        let burst = if rate.burst == 0 {
            per_second
        } else {
            rate.burst
        };
        let interval = Duration::from_secs(1) / per_second;
        Schedule {
            interval,
            tolerance: interval * (burst - 1),
            tat: None,
        }
    }

    /// Books the earliest slot at or after `now` if it comes no later than
    /// `latest`; else the time until that slot, without booking it.
    fn reserve(&mut self, now: Instant, latest: Instant) -> Result<Instant, Duration> {
        let tat = self.tat.map_or(now, |tat| tat.max(now));
        let slot = tat
            .checked_sub(self.tolerance)
            .map_or(now, |earliest| earliest.max(now));
        if slot > latest {
            return Err(slot - now);
        }
        self.tat = Some(tat + self.interval);
        Ok(slot)
    }
}

impl SourceGate {
    pub fn new(rate: RateLimit, max_concurrency: usize) -> Self {
        SourceGate {
            schedule: Mutex::new(Schedule::new(rate)),
            concurrency: Arc::new(Semaphore::new(max_concurrency.max(1))),
        }
    }
}

/// The `Retry-After` of a declined request: the wait it was refused, in
/// whole seconds, at least one.
fn overloaded(message: &str, wait: Duration) -> SourceError {
    SourceError::Overloaded {
        message: message.to_string(),
        retry_after: Duration::from_secs(wait.as_secs_f64().ceil().max(1.0) as u64),
    }
}

#[async_trait]
impl RequestGate for SourceGate {
    async fn admit(&self, ctx: &CallContext) -> Result<Box<dyn Send>, SourceError> {
        let Some(latest) = ctx.deadline.checked_sub(MIN_SEND_WINDOW) else {
            return Err(SourceError::DeadlineExceeded);
        };
        let permit = match tokio::time::timeout_at(
            latest,
            self.concurrency.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(SourceError::Internal("the source is shutting down".into())),
            Err(_) => {
                return Err(overloaded(
                    "every upstream connection of the source (max_concurrency) stayed busy until the request's deadline",
                    Duration::from_secs(1),
                ))
            }
        };
        let now = Instant::now();
        let booked = self
            .schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reserve(now, latest);
        match booked {
            Ok(slot) => {
                if slot > now {
                    ctx.gate_waits
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep_until(slot).await;
                }
                Ok(Box::new(permit))
            }
            Err(wait) => Err(overloaded(
                &format!(
                    "the source's outbound rate limit has no slot before the request's deadline (next in {}ms)",
                    wait.as_millis()
                ),
                wait,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(per_second: u32, burst: u32) -> Schedule {
        Schedule::new(RateLimit { per_second, burst })
    }

    #[test]
    fn a_burst_goes_at_once_then_the_sustained_rate() {
        let mut s = schedule(10, 3);
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(s.reserve(now, far), Ok(now));
        }
        assert_eq!(s.reserve(now, far), Ok(now + Duration::from_millis(100)));
        assert_eq!(s.reserve(now, far), Ok(now + Duration::from_millis(200)));
    }

    #[test]
    fn a_slot_past_the_latest_start_is_refused_without_booking() {
        let mut s = schedule(1, 1);
        let now = Instant::now();
        let latest = now + Duration::from_millis(1500);
        assert_eq!(s.reserve(now, latest), Ok(now));
        assert_eq!(s.reserve(now, latest), Ok(now + Duration::from_secs(1)));
        assert_eq!(s.reserve(now, latest), Err(Duration::from_secs(2)));
        // The refusal booked nothing: a later deadline gets that slot.
        let later = now + Duration::from_secs(5);
        assert_eq!(s.reserve(now, later), Ok(now + Duration::from_secs(2)));
    }

    #[test]
    fn an_idle_limiter_refills_its_burst() {
        let mut s = schedule(10, 2);
        let now = Instant::now();
        let far = now + Duration::from_secs(60);
        s.reserve(now, far).unwrap();
        s.reserve(now, far).unwrap();
        let later = now + Duration::from_secs(1);
        assert_eq!(s.reserve(later, far), Ok(later));
        assert_eq!(s.reserve(later, far), Ok(later));
    }

    #[test]
    fn declines_name_the_wait_in_whole_seconds() {
        let e = overloaded("full", Duration::from_millis(1200));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(e.code(), "overloaded");
        let e = overloaded("full", Duration::from_millis(10));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    }
}
