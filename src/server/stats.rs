//! Connection counters of the listener, a collector of the application's
//! metrics registry (`GET /metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

/// What the accept loop and the connections count. Shared (`Arc`) by the
/// listener, every connection and the `/metrics` handler; lock-free.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: AtomicU64,
    accepted: AtomicU64,
    refused: AtomicU64,
    header_timeouts: AtomicU64,
}

impl ConnectionStats {
    /// Client connections open now.
    pub fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections served since start (refused ones not included).
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections closed at once because `server.max_connections` were open.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Request heads not complete within `server.header_read_timeout`.
    pub fn header_timeouts(&self) -> u64 {
        self.header_timeouts.load(Ordering::Relaxed)
    }

    /// Counts an accepted connection as open until the returned guard drops.
    pub(crate) fn opened(self: &std::sync::Arc<Self>) -> OpenConnection {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    pub(crate) fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_header_timeout(&self) {
        self.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// The families, read at scrape time (registered in [`crate::metrics::Metrics`]).
impl Collector for ConnectionStats {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let open = i64::try_from(self.open()).unwrap_or(i64::MAX);
        ConstGauge::new(open).encode(encoder.encode_descriptor(
            "loggate_connections_open",
            "Client connections open now",
            None,
            MetricType::Gauge,
        )?)?;
        for (name, help, value) in [
            (
                "loggate_connections_accepted",
                "Client connections accepted and served",
                self.accepted(),
            ),
            (
                "loggate_connections_refused",
                "Client connections closed at once because server.max_connections were open",
                self.refused(),
            ),
            (
                "loggate_connection_header_timeouts",
                "Request heads not complete within server.header_read_timeout (answered 408 or closed)",
                self.header_timeouts(),
            ),
        ] {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}

/// Decrements the open-connection gauge when dropped (also on a panic).
pub(crate) struct OpenConnection(std::sync::Arc<ConnectionStats>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_gauge_follows_open_guards() {
        let stats = Arc::new(ConnectionStats::default());
        let a = stats.opened();
        let b = stats.opened();
        stats.count_refused();
        drop(a);
        assert_eq!((stats.open(), stats.accepted(), stats.refused()), (1, 2, 1));
        drop(b);
        let mut metrics = crate::metrics::Metrics::default();
        metrics.register_collector(Box::new(stats.clone()));
        let text = metrics.render();
        assert!(text.contains("\nloggate_connections_open 0\n"), "{text}");
        assert!(
            text.contains(
                "# TYPE loggate_connections_refused_total counter\nloggate_connections_refused_total 1\n"
            ),
            "{text}"
        );
    }
}
