//! Prometheus metrics: a small hand-written registry (counters, gauges and
//! histograms keyed by label values) rendered in the text exposition
//! format by `GET /metrics`. A crate would bring a global registry; one
//! registry per [`crate::engine::Engine`] keeps tests that run several
//! gateways in one process apart.
//!
//! Label values are bounded by construction: routes are matched route
//! templates (never raw paths), sources are configured names, outcomes are
//! error codes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds, from a fast local answer to a page that ran
/// into the request deadline.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Circuit-breaker states as the gauge reports them.
pub const BREAKER_CLOSED: i64 = 0;
pub const BREAKER_HALF_OPEN: i64 = 1;
pub const BREAKER_OPEN: i64 = 2;

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

type Labels = Vec<String>;

#[derive(Default)]
struct Families {
    http_requests: BTreeMap<Labels, u64>,
    http_duration: BTreeMap<Labels, Histogram>,
    upstream_requests: BTreeMap<Labels, u64>,
    upstream_fetches: BTreeMap<Labels, u64>,
    upstream_duration: BTreeMap<Labels, Histogram>,
    scanned: BTreeMap<Labels, u64>,
    returned: BTreeMap<Labels, u64>,
    retries: BTreeMap<Labels, u64>,
    gate_waits: BTreeMap<Labels, u64>,
    breaker: BTreeMap<Labels, i64>,
}

/// What one source fetch cost, as the engine saw it.
#[derive(Debug, Clone, Default)]
pub struct FetchObservation<'a> {
    pub source: &'a str,
    /// `ok`, or the source error's code.
    pub outcome: &'a str,
    pub latency: Duration,
    /// Upstream HTTP requests sent, retries included.
    pub requests: u32,
    /// Of those, the ones that failed (error status, network, timeout).
    pub failed_requests: u32,
    pub retries: u32,
    /// Times the outbound rate limit made a request wait.
    pub gate_waits: u32,
    pub scanned: usize,
}

/// The registry.
#[derive(Default)]
pub struct Metrics {
    families: Mutex<Families>,
}

impl Metrics {
    fn with<T>(&self, f: impl FnOnce(&mut Families) -> T) -> T {
        let mut guard = self.families.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard)
    }

    /// Makes every per-source series exist from the start (at zero), so a
    /// dashboard sees a quiet source as zero rather than absent.
    pub fn register_source(&self, source: &str) {
        let key = vec![source.to_string()];
        self.with(|f| {
            for map in [
                &mut f.scanned,
                &mut f.returned,
                &mut f.retries,
                &mut f.gate_waits,
            ] {
                map.entry(key.clone()).or_default();
            }
            f.upstream_duration.entry(key.clone()).or_default();
            f.breaker.entry(key).or_insert(BREAKER_CLOSED);
        });
    }

    /// One answered HTTP request; `route` is the matched route template.
    pub fn observe_http(&self, route: &str, status: u16, latency: Duration) {
        self.with(|f| {
            *f.http_requests
                .entry(vec![route.to_string(), status.to_string()])
                .or_default() += 1;
            f.http_duration
                .entry(vec![route.to_string()])
                .or_default()
                .observe(latency.as_secs_f64());
        });
    }

    /// One source fetch of the engine.
    pub fn observe_fetch(&self, o: &FetchObservation<'_>) {
        let source = vec![o.source.to_string()];
        self.with(|f| {
            let ok = o.requests.saturating_sub(o.failed_requests);
            for (outcome, n) in [("ok", ok), ("error", o.failed_requests)] {
                if n > 0 {
                    *f.upstream_requests
                        .entry(vec![o.source.to_string(), outcome.to_string()])
                        .or_default() += u64::from(n);
                }
            }
            *f.upstream_fetches
                .entry(vec![o.source.to_string(), o.outcome.to_string()])
                .or_default() += 1;
            f.upstream_duration
                .entry(source.clone())
                .or_default()
                .observe(o.latency.as_secs_f64());
            *f.scanned.entry(source.clone()).or_default() += o.scanned as u64;
            *f.retries.entry(source.clone()).or_default() += u64::from(o.retries);
            *f.gate_waits.entry(source).or_default() += u64::from(o.gate_waits);
        });
    }

    /// Records a page's returned logs of one source.
    pub fn observe_returned(&self, source: &str, returned: usize) {
        self.with(|f| *f.returned.entry(vec![source.to_string()]).or_default() += returned as u64);
    }

    /// Sets a source's circuit-breaker gauge ([`BREAKER_CLOSED`],
    /// [`BREAKER_HALF_OPEN`] or [`BREAKER_OPEN`]).
    pub fn set_breaker_state(&self, source: &str, state: i64) {
        self.with(|f| f.breaker.insert(vec![source.to_string()], state));
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.with(|f| {
            counter(
                &mut out,
                "loggate_http_requests_total",
                "HTTP requests answered, by matched route and status.",
                &["route", "status"],
                &f.http_requests,
            );
            histogram(
                &mut out,
                "loggate_http_request_duration_seconds",
                "Time to answer an HTTP request, by matched route.",
                "route",
                &f.http_duration,
            );
            counter(
                &mut out,
                "loggate_upstream_requests_total",
                "Upstream HTTP requests sent (retries included), by source and outcome (ok or error).",
                &["source", "outcome"],
                &f.upstream_requests,
            );
            counter(
                &mut out,
                "loggate_upstream_fetches_total",
                "Source fetches of the engine, by source and outcome (ok or the error code).",
                &["source", "outcome"],
                &f.upstream_fetches,
            );
            histogram(
                &mut out,
                "loggate_upstream_fetch_duration_seconds",
                "Time one source fetch took (its upstream requests, retries and waits), by source.",
                "source",
                &f.upstream_duration,
            );
            counter(
                &mut out,
                "loggate_records_scanned_total",
                "Upstream records read, by source.",
                &["source"],
                &f.scanned,
            );
            counter(
                &mut out,
                "loggate_records_returned_total",
                "Logs returned to clients, by source.",
                &["source"],
                &f.returned,
            );
            counter(
                &mut out,
                "loggate_upstream_retries_total",
                "Upstream requests retried after a transient failure, by source.",
                &["source"],
                &f.retries,
            );
            counter(
                &mut out,
                "loggate_upstream_rate_limit_waits_total",
                "Upstream requests that waited for the source's outbound rate limit, by source.",
                &["source"],
                &f.gate_waits,
            );
            gauge(
                &mut out,
                "loggate_circuit_breaker_state",
                "Circuit-breaker state by source: 0 closed, 1 half-open, 2 open.",
                &f.breaker,
            );
        });
        out
    }
}

fn label_text(names: &[&str], values: &[String]) -> String {
    let pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    pairs.join(",")
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn counter(out: &mut String, name: &str, help: &str, labels: &[&str], m: &BTreeMap<Labels, u64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (values, n) in m {
        let _ = writeln!(out, "{name}{{{}}} {n}", label_text(labels, values));
    }
}

fn gauge(out: &mut String, name: &str, help: &str, m: &BTreeMap<Labels, i64>) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (values, n) in m {
        let _ = writeln!(out, "{name}{{{}}} {n}", label_text(&["source"], values));
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    m: &BTreeMap<Labels, Histogram>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (values, h) in m {
        let base = label_text(&[label], values);
        for (bound, n) in BUCKETS.iter().zip(h.counts) {
            let _ = writeln!(out, "{name}_bucket{{{base},le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{base},le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(out, "{name}_sum{{{base}}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{{base}}} {}", h.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_and_escapes_labels() {
        let m = Metrics::default();
        m.observe_http("/logs", 200, Duration::from_millis(7));
        m.observe_http("/logs", 200, Duration::from_millis(700));
        m.set_breaker_state("a\"b", BREAKER_OPEN);
        let text = m.render();
        assert!(text.contains("loggate_http_requests_total{route=\"/logs\",status=\"200\"} 2"));
        assert!(text.contains(
            "loggate_http_request_duration_seconds_bucket{route=\"/logs\",le=\"0.01\"} 1"
        ));
        assert!(text
            .contains("loggate_http_request_duration_seconds_bucket{route=\"/logs\",le=\"1\"} 2"));
        assert!(text.contains("loggate_http_request_duration_seconds_count{route=\"/logs\"} 2"));
        assert!(text.contains("loggate_circuit_breaker_state{source=\"a\\\"b\"} 2"));
    }

    #[test]
    fn fetches_split_requests_by_outcome() {
        let m = Metrics::default();
        m.register_source("app");
        m.observe_fetch(&FetchObservation {
            source: "app",
            outcome: "ok",
            latency: Duration::from_millis(3),
            requests: 3,
            failed_requests: 2,
            retries: 2,
            gate_waits: 1,
            scanned: 40,
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
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
