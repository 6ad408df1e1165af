//! What one upstream call carries besides its request: the deadline, the
//! admission gate, and the counters the engine reads back.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::error::SourceError;

/// Admission to send one upstream request (outbound rate limit and
/// concurrency cap, supplied by the gateway). Held for the attempt.
#[async_trait]
pub trait RequestGate: Send + Sync {
    /// Waits for a slot, or fails with [`SourceError::Overloaded`] as soon
    /// as it is known that the slot would not come at least
    /// [`MIN_SEND_WINDOW`] before `ctx.deadline`; counts a wait for the
    /// rate limit in `ctx.gate_waits`.
    async fn admit(&self, ctx: &CallContext) -> Result<Box<dyn Send>, SourceError>;
}

/// The least time before the deadline an upstream request is sent with:
/// with less, loggate declines to send ([`SourceError::DeadlineExceeded`],
/// or [`SourceError::Overloaded`] from the gate) instead of sending a request
/// that could only time out, so a [`SourceError::Timeout`] always means the
/// upstream had a fair chance to answer (issue 18: a request sent with 11 ms
/// left must not count against a healthy upstream).
pub const MIN_SEND_WINDOW: Duration = Duration::from_millis(100);

/// Per-fetch bookkeeping shared with the engine.
#[derive(Debug)]
pub struct CallContext {
    /// Nothing may be sent or waited for past this instant.
    pub deadline: Instant,
    /// Upstream requests sent, retries included.
    pub requests: AtomicU32,
    /// Of those, the ones that failed (error status, network, timeout).
    pub failed: AtomicU32,
    /// Requests repeated after a transient failure.
    pub retries: AtomicU32,
    /// Times the outbound rate limit made a request wait.
    pub gate_waits: AtomicU32,
    /// Nanoseconds this fetch's requests waited in loggate's own outbound
    /// queue (a concurrency permit, a rate-limit slot, the queueing of an
    /// identical request in flight they joined): see
    /// [`CallContext::note_queued`].
    queued_ns: AtomicU64,
    /// An upstream request of this fetch timed out with less than the
    /// source's `timeout`, cut short by the deadline.
    cut_short: AtomicBool,
    /// Why upstream records were skipped (distinct, at most
    /// [`MAX_SKIP_REASONS`]); the page's `warnings` name them (spec §10).
    skip_reasons: Mutex<Vec<String>>,
    /// `(window end in epoch ms, bypass)` when this fetch's requests may
    /// use the answer cache (spec §9); see [`CallContext::with_cache_window`].
    cache_window: Option<(i64, bool)>,
    /// Guards of [`CallContext::live_reads`] alive now.
    live_reads: AtomicU32,
    /// How this fetch's cache lookups were answered.
    pub cache: crate::cache::LookupCounts,
}

/// See [`CallContext::live_reads`]: stored answers serve again once dropped.
#[derive(Debug)]
#[must_use = "stored answers serve again as soon as the guard is dropped"]
pub struct LiveReads<'a>(&'a AtomicU32);

impl Drop for LiveReads<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Most distinct reasons for skipped records one fetch keeps.
pub const MAX_SKIP_REASONS: usize = 3;

impl CallContext {
    pub fn new(deadline: Instant) -> Self {
        CallContext {
            deadline,
            requests: AtomicU32::new(0),
            failed: AtomicU32::new(0),
            retries: AtomicU32::new(0),
            gate_waits: AtomicU32::new(0),
            queued_ns: AtomicU64::new(0),
            cut_short: AtomicBool::new(false),
            skip_reasons: Mutex::new(Vec::new()),
            cache_window: None,
            live_reads: AtomicU32::new(0),
            cache: crate::cache::LookupCounts::default(),
        }
    }

    /// Lets this fetch's `GET` requests use the answer cache: every record
    /// they can return is stamped at or before `window_end` (epoch ms, the
    /// traversal's pinned end); `bypass` (`Cache-Control: no-cache`) uses
    /// no stored answer but still joins an identical request in flight.
    /// Without it, requests go upstream uncached and uncoalesced.
    pub fn with_cache_window(mut self, window_end: i64, bypass: bool) -> Self {
        self.cache_window = Some((window_end, bypass));
        self
    }

    /// What [`CallContext::with_cache_window`] set; `bypass` also while a
    /// [`CallContext::live_reads`] guard lives.
    pub fn cache_window(&self) -> Option<(i64, bool)> {
        let live = self.live_reads.load(Ordering::Relaxed) > 0;
        self.cache_window
            .map(|(window_end, bypass)| (window_end, bypass || live))
    }

    /// While the returned guard lives, this fetch's requests use no stored
    /// answer (as `Cache-Control: no-cache`: they still join an identical
    /// request in flight, and their answers are stored). A tie-group sweep
    /// ([`crate::group::sweep_group`]) takes it: it pages over a group
    /// whose order the upstream may reshuffle on every request (Logto,
    /// Loki) and proves the group whole from several reads; a stored page
    /// is an older read that repeats forever, so beside live pages it
    /// hides some rows for good (README "Cache and request coalescing":
    /// partial-range reuse made such stored pages common).
    pub fn live_reads(&self) -> LiveReads<'_> {
        self.live_reads.fetch_add(1, Ordering::Relaxed);
        LiveReads(&self.live_reads)
    }

    /// Notes why an upstream record was skipped (the adapter still counts
    /// it in [`crate::Batch::skipped`]); cut to 160 characters.
    pub fn note_skipped(&self, reason: &dyn std::fmt::Display) {
        let reason: String = reason.to_string().chars().take(160).collect();
        let mut reasons = self.skip_reasons.lock().unwrap_or_else(|e| e.into_inner());
        if reasons.len() < MAX_SKIP_REASONS && !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }

    /// The reasons noted by [`CallContext::note_skipped`], in order.
    pub fn skip_reasons(&self) -> Vec<String> {
        self.skip_reasons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u32 {
        self.failed.load(Ordering::Relaxed)
    }

    pub fn retries(&self) -> u32 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn gate_waits(&self) -> u32 {
        self.gate_waits.load(Ordering::Relaxed)
    }

    /// Adds `waited` to the time this fetch's requests spent in loggate's
    /// own outbound queue: [`RequestGate::admit`] for its permit and slot,
    /// the answer cache for the part of a joined request's queueing this
    /// request waited through.
    pub fn note_queued(&self, waited: Duration) {
        let ns = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.queued_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The time this fetch's requests spent in loggate's own outbound
    /// queue so far.
    pub fn queued(&self) -> Duration {
        Duration::from_nanos(self.queued_ns.load(Ordering::Relaxed))
    }

    /// Notes that an upstream request timed out with less than the
    /// source's `timeout`: the deadline cut it short.
    pub fn note_cut_short(&self) {
        self.cut_short.store(true, Ordering::Relaxed);
    }

    /// [`SourceError::attribute_lateness`] of this fetch's
    /// [`SourceError::Timeout`]: only one the deadline cut short (an
    /// upstream that had its whole `timeout` failed on its own, however
    /// long the fetch queued before), after [`CallContext::queued`] of
    /// `elapsed`. Other errors are returned as they are (a passed
    /// deadline is judged for the whole page, where the time may have gone
    /// by in other sources' queues). The circuit breaker does not count
    /// what this makes overload.
    pub fn attribute_timeout(&self, error: SourceError, elapsed: Duration) -> SourceError {
        if !error.is_timeout() || !self.cut_short.load(Ordering::Relaxed) {
            return error;
        }
        error.attribute_lateness(
            self.queued(),
            elapsed,
            "loggate's outbound queue for the source (rate_limit, max_concurrency)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUES: &str = "the queues";

    #[test]
    fn running_out_of_time_mostly_in_loggates_queue_is_overload() {
        let (s, ms) = (Duration::from_secs, Duration::from_millis);
        let timeout = || SourceError::Timeout(s(15));
        let cases: [(Duration, SourceError, Duration, &str); 7] = [
            // (queued, error, elapsed, code after)
            (s(14), timeout(), s(15), "overloaded"),
            (ms(7500), SourceError::DeadlineExceeded, s(15), "overloaded"),
            // Less than half the time in the queue: the upstream's.
            (ms(7499), timeout(), s(15), "upstream_timeout"),
            (
                Duration::ZERO,
                SourceError::DeadlineExceeded,
                s(1),
                "deadline_exceeded",
            ),
            (
                Duration::ZERO,
                timeout(),
                Duration::ZERO,
                "upstream_timeout",
            ),
            // Only lateness is attributed.
            (
                s(14),
                SourceError::Network("reset".into()),
                s(15),
                "upstream_unavailable",
            ),
            (s(14), SourceError::CircuitOpen(s(5)), s(15), "circuit_open"),
        ];
        for (queued, error, elapsed, code) in cases {
            let shown = format!("{error:?} after {elapsed:?}, {queued:?} queued");
            let after = error.attribute_lateness(queued, elapsed, QUEUES);
            assert_eq!(after.code(), code, "{shown}");
        }
    }

    #[test]
    fn lateness_as_overload_names_the_wait_and_a_bounded_retry_after() {
        let e = SourceError::DeadlineExceeded.attribute_lateness(
            Duration::from_millis(12_500),
            Duration::from_secs(15),
            QUEUES,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(13)), "12.5 s up");
        let message = e.to_string();
        assert!(
            message.contains("12500 ms of its 15000 ms in the queues"),
            "{message}"
        );
        assert_eq!(e.culprit(), crate::Culprit::Overloaded);
        // A long request_timeout queued through: told a bounded wait.
        let e = SourceError::DeadlineExceeded.attribute_lateness(
            Duration::from_secs(3000),
            Duration::from_secs(3600),
            QUEUES,
        );
        assert_eq!(
            e.retry_after(),
            Some(crate::error::MAX_LATENESS_RETRY_AFTER)
        );
    }

    /// A fetch judges only its own timeouts, and only one the deadline cut
    /// short: an upstream that had its whole `timeout` is slow itself.
    #[test]
    fn a_fetch_attributes_only_a_timeout_the_deadline_cut_short() {
        let ctx = CallContext::new(Instant::now());
        ctx.note_queued(Duration::from_secs(9));
        let (timeout, elapsed) = (
            SourceError::Timeout(Duration::from_secs(1)),
            Duration::from_secs(10),
        );
        let code = |e: SourceError| e.code();
        assert_eq!(
            code(ctx.attribute_timeout(timeout.clone(), elapsed)),
            "upstream_timeout"
        );
        assert_eq!(
            code(ctx.attribute_timeout(SourceError::DeadlineExceeded, elapsed)),
            "deadline_exceeded",
            "a passed deadline is the page's to judge"
        );
        ctx.note_cut_short();
        let e = ctx.attribute_timeout(timeout, elapsed);
        assert_eq!(code(e.clone()), "overloaded");
        assert!(e.to_string().contains("rate_limit, max_concurrency"), "{e}");
    }
}
