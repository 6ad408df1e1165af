//! What counting costs upstream (spec §7), over the real gateway and
//! simulators, by request counts (never by time): `auto` weighs a source's
//! rate limit against the deadline; total-count requests go through the
//! circuit breaker and show in `/sources` and `/metrics`; Loki metric
//! queries are counted from totals, one request per step-aligned bucket,
//! and a dashboard refresh reuses the settled buckets' answers.

mod common;

use common::enc;
use common::fleet::{Fleet, Kind, Spec};
use loggate_core::time::{format_ms, now_ms};
use serde_json::Value;

const MINUTE: i64 = 60_000;

/// `/logs/stats` of source `s0` over the data's hour (with slack), by the
/// minute.
async fn stats_by_minute(fleet: &Fleet, rest: &str) -> (u16, Value) {
    let now = now_ms();
    let query = format!(
        "/logs/stats?source=s0&start={}&end={}&interval=1m{rest}",
        enc(&format_ms(now - 61 * MINUTE)),
        enc(&format_ms(now + 1_000)),
    );
    fleet.gateway.get(&query).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_weighs_the_rate_limit_against_the_deadline() {
    // 300 records, a counting scan budget of 100 (scan_budget 10 × 10):
    // a scan covers a third of the window in a page or two; pushdown needs
    // 1 + 62 totals.
    let specs = [Spec::new(Kind::COUNTS_TOTALS, 41, 300, 300)];
    let open = Fleet::start(&specs, "scan_budget = 10", "").await;
    let (status, body) = stats_by_minute(&open, "").await;
    assert_eq!(status, 200, "{body}");
    let report = &body["sources"]["s0"];
    assert_eq!(report["method"], "pushdown", "room for every total: {body}");
    assert_eq!(body["complete"], true, "{body}");
    assert_eq!(report["upstream_requests"], 1 + 62, "{body}");

    // At 1 request/s (burst 10) about 14 totals fit in 5 s: pushdown would
    // cover under a quarter of the window, a scan a third.
    let tight = "rate_limit = { per_second = 1, burst = 10 }";
    let server = "scan_budget = 10\nrequest_timeout = \"5s\"";
    let limited = Fleet::start(&specs, server, tight).await;
    let (status, body) = stats_by_minute(&limited, "").await;
    assert_eq!(status, 200, "{body}");
    let report = &body["sources"]["s0"];
    assert_eq!(report["method"], "scan", "{body}");
    assert!(report["upstream_requests"].as_u64().unwrap() <= 4, "{body}");
    assert_eq!(body["complete"], false, "{body}");
    assert!(
        report["reason"].as_str().unwrap().contains("scan budget"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_count_requests_go_through_the_breaker_health_and_metrics() {
    let specs = [Spec::new(Kind::COUNTS_TOTALS, 42, 50, 50)];
    let extra = "retries = 0\ncircuit_breaker = { failures = 2, cool_down = \"1h\" }";
    let fleet = Fleet::start(&specs, "", extra).await;
    let faults = fleet.sim("s0").faults();

    // Healthy totals: the source is `ok` in /sources.
    let (status, body) = stats_by_minute(&fleet, "&method=pushdown").await;
    assert_eq!(status, 200, "{body}");
    let (_, sources) = fleet.gateway.get("/sources").await;
    assert_eq!(sources["sources"][0]["health"]["status"], "ok", "{sources}");

    // Two failed totals open the circuit; /sources names the failure.
    faults.fail_always(loggate_core::sim::Fault::status(
        500,
        r#"{"status":"error","message":"down"}"#,
    ));
    faults.forget_seen();
    for _ in 0..2 {
        let (status, body) = stats_by_minute(&fleet, "&method=pushdown").await;
        assert_eq!(status, 502, "{body}");
    }
    assert_eq!(faults.seen_count(), 2, "one total each, no retries");
    let (_, sources) = fleet.gateway.get("/sources").await;
    let s0 = &sources["sources"][0];
    assert_eq!(s0["circuit"], "open", "{sources}");
    assert_eq!(s0["health"]["status"], "error", "{sources}");
    assert_eq!(
        s0["health"]["last_error"]["code"], "upstream_error",
        "{sources}"
    );

    // Open: counted without an upstream request.
    let (status, body) = stats_by_minute(&fleet, "&method=pushdown").await;
    assert_ne!(status, 200, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("circuit_open"),
        "{body}"
    );
    assert_eq!(faults.seen_count(), 2, "the open circuit sent nothing");

    // The metrics saw every total: the healthy ones and the two failures.
    let text = fleet.gateway.text("/metrics").await;
    let value = |prefix: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .map_or(0, |v| v.parse::<f64>().unwrap() as u64)
    };
    assert_eq!(
        value(r#"loggate_upstream_requests_total{source="s0",outcome="error"}"#),
        2,
        "{text}"
    );
    assert_eq!(
        value(r#"loggate_upstream_requests_total{source="s0",outcome="ok"}"#),
        1 + 62,
        "{text}"
    );
}

/// `sum(count_over_time({source="s0"}[5m]))` over `[start, end]` at a
/// 5-minute step: its samples as `(t in ms, value)`.
async fn volume(fleet: &Fleet, start: i64, end: i64) -> Vec<(i64, u64)> {
    let query = r#"sum(count_over_time({source="s0"}[5m]))"#;
    let path = format!(
        "/loki/api/v1/query_range?query={}&start={}&end={}&step=300",
        enc(query),
        enc(&format_ms(start)),
        enc(&format_ms(end)),
    );
    let (status, body) = fleet.gateway.get(&path).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("warnings").is_none(), "{body}");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1, "{body}");
    result[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = (p[0].as_f64().unwrap() * 1000.0).round() as i64;
            (t, p[1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loki_volume_queries_are_counted_from_totals_and_refreshes_reuse_settled_buckets() {
    // 3,000 records over the last hour; the panel ends 20 minutes ago, so
    // every bucket is settled (older than the cache's freshness horizon).
    let specs = [Spec::new(Kind::COUNTS_TOTALS, 43, 3_000, 3_000)];
    let fleet = Fleet::start(&specs, "[cache]\nenabled = true", "").await;
    let faults = fleet.sim("s0").faults();
    let records = fleet.sim("s0").snapshot();
    let step = 5 * MINUTE;
    let now = now_ms();
    let end = now - 20 * MINUTE;
    let start = end - 40 * MINUTE;
    let reference = |t: i64| -> u64 {
        let window = (t - step)..t;
        records
            .iter()
            .filter(|r| window.contains(&r.timestamp_ms))
            .count() as u64
    };

    faults.forget_seen();
    let first = volume(&fleet, start, end).await;
    let times = (end - end.rem_euclid(step) - (start - start.rem_euclid(step))) / step + 1;
    assert!(first.len() as i64 <= times && first.len() >= 8, "{first:?}");
    for (t, v) in &first {
        assert_eq!(*v, reference(*t), "at {t}");
    }
    // One whole-window total, then one total per 5-minute bucket.
    assert_eq!(faults.seen_count() as i64, 1 + times, "totals, not pages");

    // The refresh a step later: the overlap's totals come from the cache;
    // only the new bucket and the new window's total go upstream.
    faults.forget_seen();
    let second = volume(&fleet, start + step, end + step).await;
    for (t, v) in &second {
        assert_eq!(*v, reference(*t), "at {t}");
    }
    assert_eq!(faults.seen_count(), 2, "the settled buckets are reused");

    // `offset`: the window moves back, the sample time stays.
    let t = end - end.rem_euclid(step);
    let query = r#"sum(count_over_time({source="s0"}[5m] offset 10m))"#;
    let path = format!(
        "/loki/api/v1/query?query={}&time={}",
        enc(query),
        enc(&format_ms(t))
    );
    let (status, body) = fleet.gateway.get(&path).await;
    assert_eq!(status, 200, "{body}");
    let sample = &body["data"]["result"][0]["value"];
    assert_eq!(sample[0].as_f64().unwrap(), t as f64 / 1000.0, "{body}");
    let value: u64 = sample[1].as_str().unwrap().parse().unwrap();
    assert_eq!(value, reference(t - 10 * MINUTE), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_stream_metric_series_are_sorted_by_labels() {
    let specs = [
        Spec::new(Kind::COUNTS_TOTALS, 44, 200, 200),
        Spec::new(Kind::COUNTS_LEVELS, 45, 200, 200),
    ];
    let fleet = Fleet::start(&specs, "", "").await;
    let query = r#"count_over_time({source=~"s0|s1"}[2h])"#;
    let path = format!("/loki/api/v1/query?query={}", enc(query));
    for _ in 0..3 {
        let (status, body) = fleet.gateway.get(&path).await;
        assert_eq!(status, 200, "{body}");
        // Each series' labels sorted by name, compared as Loki compares
        // label sets.
        let labels: Vec<Vec<(String, String)>> = body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let m = s["metric"].as_object().unwrap();
                let mut pairs: Vec<(String, String)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                pairs.sort();
                pairs
            })
            .collect();
        assert!(labels.len() > 2, "{body}");
        let mut sorted = labels.clone();
        sorted.sort();
        assert_eq!(labels, sorted);
    }
}
