//! The cache benchmark of the README ("Cache benchmark"): measured, not
//! asserted, so every test here is `#[ignore]`d. Run with
//! `cargo test --release --test cache_bench -- --ignored --nocapture --test-threads 1`.
//!
//! Four simulators (leveled, promptcrafter, alloy, logto) with 50 ms of
//! upstream latency behind one in-process gateway; upstream requests are
//! counted by the simulators themselves.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::fleet::{start_sims, Kind, Sim, Spec};
use common::Gateway;
use futures::future::join_all;
use loggate_core::sim::Served;
use loggate_core::time::{format_ms, now_ms};

const LATENCY: Duration = Duration::from_millis(50);

struct Bench {
    gateway: Gateway,
    sims: Vec<(String, Kind, Sim)>,
    _served: Vec<Served>,
}

async fn bench(cache: &str, latency: Duration) -> Bench {
    let kinds = [
        Kind::COUNTS_TOTALS,
        Kind::SCAN_ONLY,
        Kind::COUNTS_LEVELS,
        Kind::INCLUSIVE_BOUNDS,
    ];
    let specs: Vec<Spec> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(*kind, 11 + i as u64, 500, 400))
        .collect();
    let names: Vec<String> = kinds.iter().map(|k| k.provider.to_string()).collect();
    let (sims, served, toml) = start_sims(&specs, &names, now_ms(), "", "").await;
    for (_, _, sim) in &sims {
        sim.faults().set_latency(latency);
    }
    Bench {
        gateway: Gateway::start(&format!("{toml}\n{cache}\n")).await,
        sims,
        _served: served,
    }
}

impl Bench {
    /// Upstream requests per source since the last call.
    fn upstream(&self) -> Vec<(String, usize)> {
        self.sims
            .iter()
            .map(|(name, _, sim)| {
                let n = sim.faults().seen_count();
                sim.faults().forget_seen();
                (name.clone(), n)
            })
            .collect()
    }

    /// One GET of `/logs?{query}`; its latency.
    async fn get(&self, query: &str) -> Duration {
        self.get_path(&format!("/logs?{query}")).await
    }

    /// One GET of `path`; its latency.
    async fn get_path(&self, path: &str) -> Duration {
        self.get_counted(path).await.0
    }

    /// One GET of `path`: its latency and the upstream requests its
    /// answer reports, by kind.
    async fn get_counted(&self, path: &str) -> (Duration, Breakdown) {
        let started = Instant::now();
        let (status, body) = self.gateway.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        (started.elapsed(), Breakdown::of(path, &body))
    }

    /// `loggate_cache_bytes` now (0 with the cache off).
    async fn cache_bytes(&self) -> u64 {
        let text = self.gateway.text("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix("loggate_cache_bytes "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Samples the cache's bytes and this process's RSS every 200 ms
    /// until `done`: their peaks.
    async fn peaks(&self, done: &AtomicBool) -> Peaks {
        let mut peaks = Peaks::default();
        while !done.load(Ordering::SeqCst) {
            peaks.cache_bytes = peaks.cache_bytes.max(self.cache_bytes().await);
            peaks.rss_kib = peaks.rss_kib.max(rss_kib());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peaks
    }
}

/// Peaks sampled during a run.
#[derive(Debug, Default, Clone, Copy)]
struct Peaks {
    /// `loggate_cache_bytes`, as moka last accounted it.
    cache_bytes: u64,
    /// `VmRSS` of the whole test process (gateway, simulators, client).
    rss_kib: u64,
}

/// This process's resident set (`VmRSS`, KiB); 0 where `/proc` is absent.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Upstream requests by what asked for them, as the gateway's answers
/// report them (`sources.*.upstream_requests`; `/logs` also reports its
/// cache lookups, `/logs/stats` its counting method).
#[derive(Debug, Default, Clone, Copy)]
struct Breakdown {
    /// `/logs` pages: upstream requests (settled and fresh parts).
    log_pages: u64,
    /// `/logs` cache lookups answered from the store.
    log_hits: u64,
    /// `/logs/stats` sources counted by totals: upstream requests (the
    /// whole-window probe and one total per bucket).
    stats_pushdown: u64,
    /// `/logs/stats` sources counted by a scan: upstream requests (the
    /// probe, when the source counts these filters, and the scan's pages).
    stats_scan: u64,
    /// `/logs/stats` sources counted by totals / by a scan.
    pushdown_sources: u64,
    scan_sources: u64,
}

impl Breakdown {
    fn of(path: &str, body: &serde_json::Value) -> Self {
        let mut out = Breakdown::default();
        let sources = body["sources"].as_object().into_iter().flatten();
        for (_, source) in sources {
            let requests = source["upstream_requests"].as_u64().unwrap_or(0);
            if path.starts_with("/logs/stats") {
                if source["method"] == "pushdown" {
                    out.stats_pushdown += requests;
                    out.pushdown_sources += 1;
                } else {
                    out.stats_scan += requests;
                    out.scan_sources += 1;
                }
            } else {
                out.log_pages += requests;
                out.log_hits += source["cache"]["hit"].as_u64().unwrap_or(0);
            }
        }
        out
    }

    fn add(mut self, other: Breakdown) -> Self {
        self.log_pages += other.log_pages;
        self.log_hits += other.log_hits;
        self.stats_pushdown += other.stats_pushdown;
        self.stats_scan += other.stats_scan;
        self.pushdown_sources += other.pushdown_sources;
        self.scan_sources += other.scan_sources;
        self
    }
}

impl std::fmt::Display for Breakdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "/logs pages {} upstream ({} cache hits); /logs/stats by totals {} upstream over {} source counts, by scan {} upstream over {} source counts",
            self.log_pages,
            self.log_hits,
            self.stats_pushdown,
            self.pushdown_sources,
            self.stats_scan,
            self.scan_sources
        )
    }
}

fn percentile(latencies: &mut [Duration], p: f64) -> f64 {
    latencies.sort();
    let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
    latencies[i].as_secs_f64() * 1000.0
}

const OFF: &str = "[cache]\nenabled = false";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn burst_of_100_identical_requests() {
    for (label, cache) in [("cache on", "[cache]"), ("cache off", OFF)] {
        let b = bench(cache, LATENCY).await;
        let answers = join_all((0..100).map(|_| async {
            let started = Instant::now();
            let (status, _) = b.gateway.get("/logs?limit=50").await;
            (status, started.elapsed())
        }))
        .await;
        let shed = answers.iter().filter(|(status, _)| *status != 200).count();
        let mut latencies: Vec<Duration> = answers.iter().map(|(_, l)| *l).collect();
        println!(
            "burst, {label}: upstream requests {:?}, p50 {:.1} ms, not 200 (shed): {shed}",
            b.upstream(),
            percentile(&mut latencies, 0.5)
        );
    }
}

/// Ten panels: the filters of each and its page size.
const PANELS: [&str; 10] = [
    "limit=100",
    "limit=50&level=error",
    "limit=50&min_level=warn",
    "limit=50&level=info",
    "limit=50&level=debug",
    "limit=20&min_level=error",
    "limit=100&order=desc&level=warn",
    "limit=30&q=error",
    "limit=30&q=timeout",
    "limit=10",
];

/// How a panel asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panels {
    /// "The newest N logs matching" (no `start`).
    Newest,
    /// Grafana's logs panel over "the last 1 h" (a `start` moving with
    /// now) and, beside it, its logs-volume query: counts of the same
    /// filters per 1 min bucket over the hour, aligned to the minute as
    /// Grafana aligns a range query to its step.
    LastHourWithVolume,
}

/// The requests of one refresh of `panel`.
fn refresh_of(panel: &str, panels: Panels) -> Vec<String> {
    match panels {
        Panels::Newest => vec![format!("/logs?{panel}")],
        Panels::LastHourWithVolume => {
            let now = now_ms();
            let filters: String = panel
                .split('&')
                .filter(|p| !p.starts_with("limit=") && !p.starts_with("order="))
                .map(|p| format!("&{p}"))
                .collect();
            let step = 60_000;
            vec![
                format!("/logs?{panel}&start={}", format_ms(now - 3_600_000)),
                format!(
                    "/logs/stats?start={}&end={}&interval=1m{filters}",
                    format_ms((now - 3_600_000).div_euclid(step) * step),
                    format_ms((now.div_euclid(step) + 1) * step),
                ),
            ]
        }
    }
}

/// What one simulated dashboard cost.
struct Run {
    /// Upstream requests, as the simulators counted them, per source.
    upstream: Vec<(String, usize)>,
    /// Gateway requests.
    requests: usize,
    p50: f64,
    p90: f64,
    /// Upstream requests as the gateway's answers report them, by kind.
    breakdown: Breakdown,
    peaks: Peaks,
}

/// 3 viewers each refreshing the 10 panels every `period` for `rounds`,
/// the viewers a third of a period apart.
async fn dashboard(b: &Bench, panels: Panels, period: Duration, rounds: u32) -> Run {
    b.upstream();
    let start = tokio::time::Instant::now();
    let viewers = (0..3u32).map(|v| async move {
        let mut answers = Vec::new();
        for round in 0..rounds {
            let at = start + period * round + period * v / 3;
            tokio::time::sleep_until(at).await;
            let paths: Vec<String> = PANELS.iter().flat_map(|p| refresh_of(p, panels)).collect();
            answers.extend(join_all(paths.iter().map(|p| b.get_counted(p))).await);
        }
        answers
    });
    let done = AtomicBool::new(false);
    let (answers, peaks) = tokio::join!(
        async {
            let answers = join_all(viewers).await.concat();
            done.store(true, Ordering::SeqCst);
            answers
        },
        b.peaks(&done)
    );
    let breakdown = answers
        .iter()
        .fold(Breakdown::default(), |sum, (_, b)| sum.add(*b));
    let mut latencies: Vec<Duration> = answers.iter().map(|(l, _)| *l).collect();
    Run {
        upstream: b.upstream(),
        requests: latencies.len(),
        p50: percentile(&mut latencies, 0.5),
        p90: percentile(&mut latencies, 0.9),
        breakdown,
        peaks,
    }
}

/// 5 minutes of 30 s refreshes, compressed 10×: 10 rounds 3 s apart, with
/// every duration of the cache configuration divided by 10 too (the data
/// still spans the hour before the start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn simulated_dashboard() {
    // The shipped defaults are pin_rounding 1s, fresh_ttl 5s, settled_ttl
    // 1h, freshness_horizon 10m, settled_grid 5m, max_bytes 32 MiB.
    let shipped = "settled_ttl = \"6m\"\nfreshness_horizon = \"1m\"";
    let tuned = "pin_rounding = \"3s\"\nfresh_ttl = \"3s\"";
    let configs = [
        ("cache off", OFF.to_string()),
        (
            "shipped defaults (pin_rounding 1s, fresh_ttl 5s, settled_ttl 1h, freshness_horizon 10m, settled_grid 5m)",
            format!("[cache]\npin_rounding = \"100ms\"\nfresh_ttl = \"500ms\"\n{shipped}\nsettled_grid = \"30s\""),
        ),
        (
            "shipped defaults but settled_grid 1m",
            format!("[cache]\npin_rounding = \"100ms\"\nfresh_ttl = \"500ms\"\n{shipped}\nsettled_grid = \"6s\""),
        ),
        (
            "shipped defaults, max_bytes 1 MiB",
            format!("[cache]\npin_rounding = \"100ms\"\nfresh_ttl = \"500ms\"\n{shipped}\nsettled_grid = \"30s\"\nmax_bytes = 1048576"),
        ),
        (
            "dashboard-tuned (pin_rounding 30s, fresh_ttl 30s, the rest default)",
            format!("[cache]\n{tuned}\n{shipped}\nsettled_grid = \"30s\""),
        ),
        (
            "dashboard-tuned but settled_grid 1m",
            format!("[cache]\n{tuned}\n{shipped}\nsettled_grid = \"6s\""),
        ),
    ];
    // `CACHE_BENCH_ONLY`: run only the configurations whose label contains
    // it, and only dashboard B with `B` in it (e.g. `B:settled_grid 5m`).
    let only = std::env::var("CACHE_BENCH_ONLY").unwrap_or_default();
    let (dashboards, only) = match only.split_once(':') {
        Some(("B", rest)) => (vec![Panels::LastHourWithVolume], rest.to_string()),
        _ => (vec![Panels::Newest, Panels::LastHourWithVolume], only),
    };
    for panels in dashboards {
        for (label, cache) in configs.iter().filter(|(l, _)| l.contains(&only)) {
            let b = bench(cache, LATENCY).await;
            let run = dashboard(&b, panels, Duration::from_secs(3), 10).await;
            println!(
                "dashboard {panels:?}, {label}: {} gateway requests, {} upstream requests {:?}, p50 {:.1} ms, p90 {:.1} ms, cache bytes at the end {} (peak {}), peak RSS of the test process {:.1} MiB, load {}\n  by kind: {}",
                run.requests,
                run.upstream.iter().map(|(_, n)| n).sum::<usize>(),
                run.upstream,
                run.p50,
                run.p90,
                b.cache_bytes().await,
                run.peaks.cache_bytes,
                run.peaks.rss_kib as f64 / 1024.0,
                std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
                run.breakdown,
            );
        }
    }
}

/// A refresh served wholly from the cache (a settled window, 50 ms
/// upstreams) against the gateway without cache in front of upstreams
/// that answer at once (its CPU-only latency).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn cached_refresh_against_cpu_only() {
    let now = now_ms();
    let query = format!(
        "start={}&end={}&limit=100",
        format_ms(now - 7_200_000),
        format_ms(now - 1_500_000)
    );
    for (label, cache, latency) in [
        ("no cache, 0 ms upstreams", OFF, Duration::ZERO),
        ("cache, 50 ms upstreams, all hits", "[cache]", LATENCY),
    ] {
        let b = bench(cache, latency).await;
        b.get(&query).await;
        b.upstream();
        let mut latencies = Vec::new();
        for _ in 0..200 {
            latencies.push(b.get(&query).await);
        }
        let upstream: usize = b.upstream().iter().map(|(_, n)| n).sum();
        println!(
            "settled refresh, {label}: p50 {:.2} ms, upstream requests for 200 refreshes {upstream}",
            percentile(&mut latencies, 0.5)
        );
    }
}
