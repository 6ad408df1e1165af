//! Prometheus metrics on `prometheus-client`, rendered by `GET /metrics` in
//! the Prometheus text format 0.0.4.
//!
//! One [`Metrics`] per application (owned by the HTTP state and handed to
//! the [`crate::engine::Engine`]), never a global: tests that run several
//! gateways in one process stay apart. On the request path an observation
//! is an atomic add on a series found under a read lock (a new label set
//! takes the family's write lock once); nothing takes a global mutex. The
//! circuit-breaker gauge is read from the breakers at scrape time.
//!
//! Label values are bounded by construction: routes are matched route
//! templates (never raw paths), sources are configured names, outcomes are
//! error codes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::breaker::{CircuitBreaker, CircuitState};

/// Latency buckets in seconds, from a fast local answer to a page that ran
/// into the request deadline.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Circuit-breaker states as the gauge reports them.
pub const BREAKER_CLOSED: i64 = 0;
pub const BREAKER_HALF_OPEN: i64 = 1;
pub const BREAKER_OPEN: i64 = 2;

/// The Content-Type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceOutcome {
    source: Arc<str>,
    outcome: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// What one source fetch cost, as the engine saw it.
#[derive(Debug, Clone)]
pub struct FetchObservation<'a> {
    pub source: &'a Arc<str>,
    /// `ok`, or the source error's code.
    pub outcome: &'static str,
    pub latency: Duration,
    /// Upstream HTTP requests sent, retries included.
    pub requests: u32,
    /// Of those, the ones that failed (error status, network, timeout).
    pub failed_requests: u32,
    pub retries: u32,
    /// Times the outbound rate limit made a request wait.
    pub gate_waits: u32,
    pub scanned: usize,
    /// Cache lookups `(hit, miss, coalesced)` (spec §9).
    pub cache: (u32, u32, u32),
}

/// The `outcome` labels of `loggate_cache_lookups_total`.
const CACHE_OUTCOMES: [&str; 3] = ["hit", "miss", "coalesced"];

/// The registry and its families.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabel>,
    upstream_requests: Family<SourceOutcome, Counter>,
    upstream_fetches: Family<SourceOutcome, Counter>,
    upstream_duration: Histograms<SourceLabel>,
    scanned: Family<SourceLabel, Counter>,
    returned: Family<SourceLabel, Counter>,
    retries: Family<SourceLabel, Counter>,
    gate_waits: Family<SourceLabel, Counter>,
    late_shrinks: Family<SourceLabel, Counter>,
    cache_lookups: Family<SourceOutcome, Counter>,
    breakers: Arc<Breakers>,
}

/// Registers the per-source counters: records scanned, records returned,
/// retries, rate-limit waits, late-window shrinks (in that order in
/// `families`).
fn register_per_source(registry: &mut Registry, families: [&Family<SourceLabel, Counter>; 5]) {
    let per_source: [(&str, &str, &Family<SourceLabel, Counter>); 5] = [
        (
            "loggate_records_scanned",
            "Upstream records read, by source",
            families[0],
        ),
        (
            "loggate_records_returned",
            "Logs returned to clients, by source",
            families[1],
        ),
        (
            "loggate_upstream_retries",
            "Upstream requests retried after a transient failure, by source",
            families[2],
        ),
        (
            "loggate_upstream_rate_limit_waits",
            "Upstream requests that waited for the source's outbound rate limit, by source",
            families[3],
        ),
        (
            "loggate_follow_late_window_shrinks",
            "Follow pages whose source delivered more records within follow.late_window than its share of follow.late_ids, so that its window shrank (README \"Late arrivals\"), by source",
            families[4],
        ),
    ];
    for (name, help, family) in per_source {
        registry.register(name, help, family.clone());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::default();
        let http_duration = Histograms::new_with_constructor(latency_histogram as fn() -> _);
        let upstream_requests = Family::default();
        let upstream_fetches = Family::default();
        let cache_lookups = Family::default();
        let upstream_duration = Histograms::new_with_constructor(latency_histogram as fn() -> _);
        let (scanned, returned, retries, gate_waits, late_shrinks) = Default::default();
        let breakers = Arc::new(Breakers::default());
        // `register` appends `_total` to counters.
        registry.register(
            "loggate_http_requests",
            "HTTP requests answered, by matched route and status",
            Family::<HttpLabels, Counter>::clone(&http_requests),
        );
        registry.register(
            "loggate_http_request_duration_seconds",
            "Time to answer an HTTP request, by matched route",
            http_duration.clone(),
        );
        registry.register(
            "loggate_upstream_requests",
            "Upstream HTTP requests sent (retries included), by source and outcome (ok or error)",
            Family::<SourceOutcome, Counter>::clone(&upstream_requests),
        );
        registry.register(
            "loggate_upstream_fetches",
            "Source fetches of the engine, by source and outcome (ok or the error code)",
            Family::<SourceOutcome, Counter>::clone(&upstream_fetches),
        );
        registry.register(
            "loggate_cache_lookups",
            "Upstream requests of the engine by how the answer cache answered them (hit, miss: sent, coalesced: joined an identical one in flight), by source",
            Family::<SourceOutcome, Counter>::clone(&cache_lookups),
        );
        registry.register(
            "loggate_upstream_fetch_duration_seconds",
            "Time one source fetch took (its upstream requests, retries and waits), by source",
            upstream_duration.clone(),
        );
        let families = [&scanned, &returned, &retries, &gate_waits, &late_shrinks];
        register_per_source(&mut registry, families);
        registry.register_collector(Box::new(breakers.clone()));
        registry.register_collector(Box::new(crate::logging::DroppedLines::installed()));
        Metrics {
            registry,
            http_requests,
            http_duration,
            upstream_requests,
            upstream_fetches,
            upstream_duration,
            scanned,
            returned,
            retries,
            gate_waits,
            late_shrinks,
            cache_lookups,
            breakers,
        }
    }

    /// Adds families read at scrape time from elsewhere (the listener's
    /// connection counters, [`crate::server::ConnectionStats`]).
    pub fn register_collector(&mut self, collector: Box<dyn Collector>) {
        self.registry.register_collector(collector);
    }

    /// Makes every per-source series exist from the start (at zero), so a
    /// dashboard sees a quiet source as zero rather than absent, and
    /// reports its circuit breaker's state on every scrape.
    pub fn register_source(&self, source: &Arc<str>, breaker: &Arc<CircuitBreaker>) {
        let label = SourceLabel {
            source: source.clone(),
        };
        for family in [
            &self.scanned,
            &self.returned,
            &self.retries,
            &self.gate_waits,
            &self.late_shrinks,
        ] {
            drop(family.get_or_create(&label));
        }
        drop(self.upstream_duration.get_or_create(&label));
        for outcome in CACHE_OUTCOMES {
            drop(self.cache_lookups.get_or_create(&SourceOutcome {
                source: source.clone(),
                outcome,
            }));
        }
        self.breakers.add(source.clone(), breaker.clone());
    }

    /// One answered HTTP request; `route` is the matched route template.
    pub fn observe_http(&self, route: &str, status: u16, latency: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabel {
                route: route.to_string(),
            })
            .observe(latency.as_secs_f64());
    }

    /// One source fetch of the engine.
    pub fn observe_fetch(&self, o: &FetchObservation<'_>) {
        let ok = o.requests.saturating_sub(o.failed_requests);
        for (outcome, n) in [("ok", ok), ("error", o.failed_requests)] {
            if n > 0 {
                self.upstream_requests
                    .get_or_create(&SourceOutcome {
                        source: o.source.clone(),
                        outcome,
                    })
                    .inc_by(u64::from(n));
            }
        }
        self.upstream_fetches
            .get_or_create(&SourceOutcome {
                source: o.source.clone(),
                outcome: o.outcome,
            })
            .inc();
        let label = SourceLabel {
            source: o.source.clone(),
        };
        self.upstream_duration
            .get_or_create(&label)
            .observe(o.latency.as_secs_f64());
        self.scanned.get_or_create(&label).inc_by(o.scanned as u64);
        self.retries
            .get_or_create(&label)
            .inc_by(u64::from(o.retries));
        self.gate_waits
            .get_or_create(&label)
            .inc_by(u64::from(o.gate_waits));
        let (hit, miss, coalesced) = o.cache;
        for (outcome, n) in CACHE_OUTCOMES.into_iter().zip([hit, miss, coalesced]) {
            if n > 0 {
                self.cache_lookups
                    .get_or_create(&SourceOutcome {
                        source: o.source.clone(),
                        outcome,
                    })
                    .inc_by(u64::from(n));
            }
        }
    }

    /// Records a page's returned logs of one source.
    pub fn observe_returned(&self, source: &Arc<str>, returned: usize) {
        self.returned
            .get_or_create(&SourceLabel {
                source: source.clone(),
            })
            .inc_by(returned as u64);
    }

    /// A follow page shrank `source`'s late window (its delivered ids
    /// exceeded its share of `follow.late_ids`: [`crate::engine::late`]).
    pub fn observe_late_shrink(&self, source: &str) {
        let source = Arc::from(source);
        self.late_shrinks
            .get_or_create(&SourceLabel { source })
            .inc();
    }

    /// The Prometheus text exposition (version 0.0.4, [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The circuit breakers, read when `/metrics` is scraped.
#[derive(Default)]
struct Breakers {
    sources: Mutex<Vec<(Arc<str>, Arc<CircuitBreaker>)>>,
}

impl std::fmt::Debug for Breakers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Breakers")
    }
}

impl Breakers {
    fn add(&self, source: Arc<str>, breaker: Arc<CircuitBreaker>) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.retain(|(name, _)| *name != source);
        sources.push((source, breaker));
        sources.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// The gauge value of a breaker state.
pub fn breaker_gauge(state: CircuitState) -> i64 {
    match state {
        CircuitState::Closed => BREAKER_CLOSED,
        CircuitState::HalfOpen => BREAKER_HALF_OPEN,
        CircuitState::Open => BREAKER_OPEN,
    }
}

impl Collector for Breakers {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "loggate_circuit_breaker_state",
            "Circuit-breaker state by source: 0 closed, 1 half-open, 2 open",
            None,
            MetricType::Gauge,
        )?;
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        for (source, breaker) in sources.iter() {
            let label = SourceLabel {
                source: source.clone(),
            };
            let gauge = ConstGauge::new(breaker_gauge(breaker.state()));
            let metric: MetricEncoder<'_> = family.encode_family(&label)?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::BreakerSettings;

    #[test]
    fn renders_cumulative_buckets_and_escapes_labels() {
        let m = Metrics::default();
        m.observe_http("/logs", 200, Duration::from_millis(7));
        m.observe_http("/logs", 200, Duration::from_millis(700));
        let breaker = Arc::new(CircuitBreaker::new(BreakerSettings {
            failures: 1,
            cool_down: Duration::from_secs(60),
        }));
        breaker
            .admit()
            .unwrap()
            .record(&Err::<(), _>(loggate_core::SourceError::Connect(
                "refused".into(),
            )));
        m.register_source(&Arc::from("a\"b"), &breaker);
        let text = m.render();
        assert!(
            text.contains("loggate_http_requests_total{route=\"/logs\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "loggate_http_request_duration_seconds_bucket{route=\"/logs\",le=\"0.01\"} 1"
            ),
            "{text}"
        );
        assert!(text
            .contains("loggate_http_request_duration_seconds_bucket{route=\"/logs\",le=\"1\"} 2"));
        assert!(text.contains("loggate_http_request_duration_seconds_count{route=\"/logs\"} 2"));
        assert!(
            text.contains("loggate_circuit_breaker_state{source=\"a\\\"b\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE loggate_http_requests_total counter"),
            "{text}"
        );
    }

    #[test]
    fn fetches_split_requests_by_outcome() {
        let m = Metrics::default();
        let app: Arc<str> = Arc::from("app");
        m.register_source(&app, &Arc::new(CircuitBreaker::default()));
        m.observe_fetch(&FetchObservation {
            source: &app,
            outcome: "ok",
            latency: Duration::from_millis(3),
            requests: 3,
            failed_requests: 2,
            retries: 2,
            gate_waits: 1,
            scanned: 40,
            cache: (4, 1, 2),
        });
        let text = m.render();
        for line in [
            "loggate_upstream_requests_total{source=\"app\",outcome=\"ok\"} 1",
            "loggate_upstream_requests_total{source=\"app\",outcome=\"error\"} 2",
            "loggate_upstream_fetches_total{source=\"app\",outcome=\"ok\"} 1",
            "loggate_records_scanned_total{source=\"app\"} 40",
            "loggate_records_returned_total{source=\"app\"} 0",
            "loggate_upstream_retries_total{source=\"app\"} 2",
            "loggate_upstream_rate_limit_waits_total{source=\"app\"} 1",
            "loggate_circuit_breaker_state{source=\"app\"} 0",
            "loggate_cache_lookups_total{source=\"app\",outcome=\"hit\"} 4",
            "loggate_cache_lookups_total{source=\"app\",outcome=\"miss\"} 1",
            "loggate_cache_lookups_total{source=\"app\",outcome=\"coalesced\"} 2",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
