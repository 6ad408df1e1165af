//! Counters of the tails, for `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// Lock-free counters shared by every tail task.
#[derive(Debug, Default)]
pub struct TailStats {
    /// Engine pages a subscriber asked for on its own.
    pub private_polls: AtomicU64,
    /// Engine pages the shared pollers asked for.
    pub group_polls: AtomicU64,
    /// Subscribers forwarding a shared poller's pages now.
    pub shared_subscribers: AtomicU64,
    /// Shared pollers running now.
    pub groups: AtomicU64,
    /// Streams ended because their client did not keep up (SSE).
    pub slow_closes: AtomicU64,
    /// Streams ended because they delivered no logs for
    /// `follow.idle_timeout`.
    pub idle_closes: AtomicU64,
    /// Logs dropped for WebSocket clients that did not keep up.
    pub dropped_entries: AtomicU64,
    /// Events queued for connections now (at most `EVENT_BUFFER` each).
    pub buffered_events: AtomicU64,
}

impl TailStats {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sub(counter: &AtomicU64) {
        counter.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Collector for TailStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in [
            (
                "loggate_tail_private_polls",
                "Engine pages tail subscribers read on their own (catching up, or unable to join a shared poller)",
                &self.private_polls,
            ),
            (
                "loggate_tail_group_polls",
                "Engine pages the shared tail pollers read",
                &self.group_polls,
            ),
            (
                "loggate_tail_slow_closes",
                "Tail streams ended with a resumable close because the client did not keep up",
                &self.slow_closes,
            ),
            (
                "loggate_tail_idle_closes",
                "Tail streams ended with a resumable close because they delivered no logs for follow.idle_timeout",
                &self.idle_closes,
            ),
            (
                "loggate_tail_dropped_entries",
                "Entries dropped for WebSocket tail clients that did not keep up",
                &self.dropped_entries,
            ),
        ] {
            ConstCounter::new(value.load(Ordering::Relaxed)).encode(
                encoder.encode_descriptor(name, help, None, MetricType::Counter)?,
            )?;
        }
        for (name, help, value) in [
            (
                "loggate_tail_shared_subscribers",
                "Tail subscribers forwarding a shared poller's pages now",
                &self.shared_subscribers,
            ),
            (
                "loggate_tail_groups",
                "Shared tail pollers running now",
                &self.groups,
            ),
            (
                "loggate_tail_buffered_events",
                "Tail events queued for their connections now",
                &self.buffered_events,
            ),
        ] {
            let value = i64::try_from(value.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        Ok(())
    }
}

/// Counts a subscriber as forwarding a group's pages while it lives.
pub(super) struct SharedGuard(Arc<TailStats>);

impl SharedGuard {
    pub(super) fn new(stats: Arc<TailStats>) -> Self {
        TailStats::add(&stats.shared_subscribers);
        SharedGuard(stats)
    }
}

impl Drop for SharedGuard {
    fn drop(&mut self) {
        TailStats::sub(&self.0.shared_subscribers);
    }
}
