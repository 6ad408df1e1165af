//! The cache benchmark of the README ("Cache benchmark"): measured, not
//! asserted, so every test here is `#[ignore]`d. Run with
//! `cargo test --release --test cache_bench -- --ignored --nocapture --test-threads 1`.
//!
//! Four simulators (leveled, promptcrafter, alloy, logto) with 50 ms of
//! upstream latency behind one in-process gateway; upstream requests are
//! counted by the simulators themselves.

mod common;

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
        let started = Instant::now();
        let (status, body) = self.gateway.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        started.elapsed()
    }

    async fn cache_bytes(&self) -> String {
        let text = self.gateway.text("/metrics").await;
        text.lines()
            .find(|l| l.starts_with("loggate_cache_bytes "))
            .map_or("-".into(), |l| {
                l.trim_start_matches("loggate_cache_bytes ").into()
            })
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

/// 3 viewers each refreshing the 10 panels every `period` for `rounds`,
/// the viewers a third of a period apart: (upstream total, requests, p50,
/// p90).
async fn dashboard(
    b: &Bench,
    panels: Panels,
    period: Duration,
    rounds: u32,
) -> (usize, usize, f64, f64) {
    b.upstream();
    let start = tokio::time::Instant::now();
    let viewers = (0..3u32).map(|v| async move {
        let mut latencies = Vec::new();
        for round in 0..rounds {
            let at = start + period * round + period * v / 3;
            tokio::time::sleep_until(at).await;
            let paths: Vec<String> = PANELS.iter().flat_map(|p| refresh_of(p, panels)).collect();
            latencies.extend(join_all(paths.iter().map(|p| b.get_path(p))).await);
        }
        latencies
    });
    let mut latencies: Vec<Duration> = join_all(viewers).await.concat();
    let upstream = b.upstream().iter().map(|(_, n)| n).sum();
    let p50 = percentile(&mut latencies, 0.5);
    let p90 = percentile(&mut latencies, 0.9);
    (upstream, latencies.len(), p50, p90)
}

/// 5 minutes of 30 s refreshes, compressed 10×: 10 rounds 3 s apart, with
/// every duration of the cache configuration divided by 10 too (the data
/// still spans the hour before the start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn simulated_dashboard() {
    let configs = [
        ("cache off", OFF.to_string()),
        (
            "defaults (pin_rounding 1s, fresh_ttl 5s, freshness_horizon 10m, settled_grid 1m)",
            "[cache]\npin_rounding = \"100ms\"\nfresh_ttl = \"500ms\"\nsettled_ttl = \"6m\"\n\
             freshness_horizon = \"1m\"\nsettled_grid = \"6s\""
                .to_string(),
        ),
        (
            "dashboard-tuned (pin_rounding 30s, fresh_ttl 30s, the rest default)",
            "[cache]\npin_rounding = \"3s\"\nfresh_ttl = \"3s\"\nsettled_ttl = \"6m\"\n\
             freshness_horizon = \"1m\"\nsettled_grid = \"6s\""
                .to_string(),
        ),
        (
            "dashboard-tuned and settled_grid 5m",
            "[cache]\npin_rounding = \"3s\"\nfresh_ttl = \"3s\"\nsettled_ttl = \"6m\"\n\
             freshness_horizon = \"1m\"\nsettled_grid = \"30s\""
                .to_string(),
        ),
    ];
    for panels in [Panels::Newest, Panels::LastHourWithVolume] {
        for (label, cache) in &configs {
            let b = bench(cache, LATENCY).await;
            let (upstream, requests, p50, p90) =
                dashboard(&b, panels, Duration::from_secs(3), 10).await;
            println!(
                "dashboard {panels:?}, {label}: {requests} gateway requests, {upstream} upstream requests, p50 {p50:.1} ms, p90 {p90:.1} ms, cache bytes {}, load {}",
                b.cache_bytes().await,
                std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
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
