//! Outbound admission per source: a rate limit shared by every request to
//! the source, and a cap on concurrent upstream requests. This is
//! loggate's own queue in front of the upstream, and it answers fast: a
//! request waits in it at most the source's `max_queue_wait` (and never
//! past [`MIN_SEND_WINDOW`] before its deadline). When its rate-limit slot
//! comes later it is declined at once, without booking the slot, with
//! [`SourceError::Overloaded`] and `Retry-After` = the wait rounded up to
//! whole seconds (the page answers `503`); when no concurrency permit
//! frees up in time, it is declined when the bound runs out. The circuit
//! breaker never counts these (issue 18, items 2 and 7). The time a
//! request spent here is added to its fetch's [`CallContext::queued`]: a
//! fetch that ran out of time mostly in this queue is loggate's overload,
//! not an upstream timeout ([`CallContext::attribute_lateness`]).
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

/// One source's outbound queue: see the module documentation.
pub struct SourceGate {
    schedule: Mutex<Schedule>,
    concurrency: Arc<Semaphore>,
    max_concurrency: usize,
    /// The longest a request may wait in this queue (permit and slot).
    max_queue_wait: Duration,
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

    /// How many slots a run of requests could book from `now` up to
    /// `latest` (books none): slot `k` is `max(now, tat + k × interval −
    /// tolerance)`.
    fn slots_until(&self, now: Instant, latest: Instant) -> u64 {
        let tat = self.tat.map_or(now, |tat| tat.max(now));
        let horizon = latest.max(now) + self.tolerance;
        match horizon.checked_duration_since(tat) {
            Some(room) => (room.as_nanos() / self.interval.as_nanos().max(1)) as u64 + 1,
            None => 0,
        }
    }
}

impl SourceGate {
    /// A queue for `rate` (`sources.NAME.rate_limit`), `max_concurrency`
    /// upstream requests at once, in which a request waits at most
    /// `max_queue_wait` (`sources.NAME.max_queue_wait`).
    pub fn new(rate: RateLimit, max_concurrency: usize, max_queue_wait: Duration) -> Self {
        SourceGate {
            schedule: Mutex::new(Schedule::new(rate)),
            concurrency: Arc::new(Semaphore::new(max_concurrency.max(1))),
            max_concurrency: max_concurrency.max(1),
            max_queue_wait,
        }
    }

    /// Requests the rate limit still lets start before `deadline` (less
    /// [`MIN_SEND_WINDOW`]), given the slots already booked: what a plan of
    /// many requests (counting, spec §7) can expect to send.
    pub fn slots_before(&self, deadline: Instant) -> u64 {
        let Some(latest) = deadline.checked_sub(MIN_SEND_WINDOW) else {
            return 0;
        };
        let now = Instant::now();
        if latest < now {
            return 0;
        }
        self.schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .slots_until(now, latest)
    }

    /// The time between two requests at the sustained rate
    /// (`rate_limit.per_second`): a tail of the source polls no faster
    /// than a few of these ([`crate::tail::Pace`]).
    pub fn interval(&self) -> Duration {
        self.schedule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .interval
    }

    /// The cap on concurrent upstream requests (`max_concurrency`).
    pub fn max_concurrency(&self) -> usize {
        self.max_concurrency
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
        // The queue's own bound: the permit and the slot both by then.
        let arrived = Instant::now();
        let latest = latest.min(arrived + self.max_queue_wait);
        let permit = match tokio::time::timeout_at(latest, self.concurrency.clone().acquire_owned())
            .await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(SourceError::Internal("the source is shutting down".into())),
            Err(_) => {
                ctx.note_queued(arrived.elapsed());
                return Err(overloaded(
                    "every upstream connection of the source (max_concurrency) stayed busy for as long as the request may queue (max_queue_wait or its deadline)",
                    Duration::from_secs(1),
                ));
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
                ctx.note_queued(arrived.elapsed());
                Ok(Box::new(permit))
            }
            Err(wait) => {
                ctx.note_queued(arrived.elapsed());
                Err(overloaded(
                &format!(
                    "the source's outbound rate limit has no slot within the time the request may queue (max_queue_wait or its deadline); next in {}ms",
                    wait.as_millis()
                ),
                wait,
            ))
            }
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
    fn slots_until_counts_the_burst_then_the_rate_and_what_is_booked() {
        let mut s = schedule(10, 3);
        let now = Instant::now();
        assert_eq!(s.slots_until(now, now), 3, "the burst at once");
        assert_eq!(s.slots_until(now, now + Duration::from_secs(1)), 13);
        let far = now + Duration::from_secs(60);
        for _ in 0..5 {
            s.reserve(now, far).unwrap();
        }
        // Booked: 3 at once, then 100 and 200 ms; next free at 300 ms.
        assert_eq!(s.slots_until(now, now + Duration::from_millis(250)), 0);
        assert_eq!(s.slots_until(now, now + Duration::from_secs(1)), 8);
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

    /// A gate of one request a second (burst one) that queues at most
    /// `max_wait`, and a context whose deadline is a minute away.
    fn gate(max_concurrency: usize, max_wait: Duration) -> (SourceGate, CallContext) {
        let gate = SourceGate::new(schedule_rate(1, 1), max_concurrency, max_wait);
        (
            gate,
            CallContext::new(Instant::now() + Duration::from_secs(60)),
        )
    }

    fn schedule_rate(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second, burst }
    }

    /// Paused time: a refusal that waited would show as time passing.
    #[tokio::test(start_paused = true)]
    async fn a_slot_beyond_max_queue_wait_is_refused_at_once_without_booking() {
        let (gate, ctx) = gate(8, Duration::from_millis(1500));
        let start = Instant::now();
        // Three at once: slots now, in 1 s and in 2 s; the third is within
        // the deadline but past the queue's bound.
        let (one, two, three) = tokio::join!(gate.admit(&ctx), gate.admit(&ctx), async {
            let e = gate.admit(&ctx).await.map(|_| ()).unwrap_err();
            (Instant::now(), e)
        });
        assert!(one.is_ok() && two.is_ok());
        let (refused_at, e) = three;
        assert_eq!(refused_at, start, "declined without waiting");
        assert_eq!(e.code(), "overloaded");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(e.to_string().contains("max_queue_wait"), "{e}");
        // The refusal booked nothing: the next request gets the slot it
        // was refused (2 s after the start), one second from now.
        assert_eq!(Instant::now(), start + Duration::from_secs(1));
        gate.admit(&ctx).await.unwrap();
        assert_eq!(Instant::now(), start + Duration::from_secs(2));
    }

    /// What a request spent in the queue is its fetch's: the slot's wait
    /// and the permit's, not a refusal's (declined at once).
    #[tokio::test(start_paused = true)]
    async fn the_time_queued_is_added_to_the_fetch() {
        let (gate, ctx) = gate(1, Duration::from_secs(5));
        let held = gate.admit(&ctx).await.unwrap();
        assert_eq!(ctx.queued(), Duration::ZERO, "a free slot is not a wait");
        drop(held);
        gate.admit(&ctx).await.unwrap();
        assert_eq!(ctx.queued(), Duration::from_secs(1), "the next slot");
        let held = gate.admit(&ctx).await.unwrap();
        assert_eq!(ctx.queued(), Duration::from_secs(2));
        // The one permit is held: waited for until the bound, declined.
        let e = gate.admit(&ctx).await.map(|_| ()).unwrap_err();
        assert_eq!(e.code(), "overloaded");
        assert_eq!(ctx.queued(), Duration::from_secs(7));
        drop(held);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_slot_names_its_wait_rounded_up() {
        let (gate, ctx) = gate(8, Duration::from_millis(500));
        gate.admit(&ctx).await.unwrap();
        let start = Instant::now();
        let e = gate.admit(&ctx).await.map(|_| ()).unwrap_err();
        assert_eq!(Instant::now(), start, "declined without waiting");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_concurrency_cap_is_waited_for_max_queue_wait_not_the_deadline() {
        let (gate, ctx) = gate(1, Duration::from_millis(700));
        let _held = gate.admit(&ctx).await.unwrap();
        let start = Instant::now();
        let e = gate.admit(&ctx).await.map(|_| ()).unwrap_err();
        assert_eq!(Instant::now(), start + Duration::from_millis(700));
        assert_eq!(e.code(), "overloaded");
        assert!(e.to_string().contains("max_concurrency"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_still_bounds_a_longer_max_queue_wait() {
        let gate = SourceGate::new(schedule_rate(1, 1), 8, Duration::from_secs(3600));
        let ctx = CallContext::new(Instant::now() + Duration::from_millis(900));
        gate.admit(&ctx).await.unwrap();
        let e = gate.admit(&ctx).await.map(|_| ()).unwrap_err();
        assert_eq!(e.code(), "overloaded");
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
