//! Black-box: `/metrics` after a mixed workload (pages, errors, unknown
//! paths, a source that fails once then recovers on retry, a source that
//! hits its outbound rate limit) has every family with the right labels
//! and plausible counts.

mod common;

use std::collections::BTreeMap;

use common::fleet::{Kind, Sim};
use common::Gateway;
use loggate_core::sim::{serve_loopback, Fault};

/// `name{labels} value` lines of a family, keyed by the label text.
fn series(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (head, value) = l.rsplit_once(' ')?;
            let (metric, labels) = match head.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (head, ""),
            };
            (metric == name).then(|| (labels.to_string(), value.parse().unwrap()))
        })
        .collect()
}

fn value(text: &str, name: &str, labels: &str) -> f64 {
    *series(text, name)
        .get(labels)
        .unwrap_or_else(|| panic!("no {name}{{{labels}}} in\n{text}"))
}

#[tokio::test]
async fn a_mixed_workload_shows_in_every_family() {
    let kind = Kind::stand_in();
    let app = Sim::of(kind, 120);
    let app_server = serve_loopback(app.router()).await.unwrap();
    let flaky = Sim::of(kind, 120);
    let flaky_server = serve_loopback(flaky.router()).await.unwrap();
    let down = Sim::of(kind, 120);
    down.faults()
        .fail_always(Fault::status(503, "{\"error\":\"down\"}"));
    let down_server = serve_loopback(down.router()).await.unwrap();
    let toml = format!(
        r#"[sources.app]
kind = "{kind}"
base_url = "{}"
token = "{}"
rate_limit = {{ per_second = 100000, burst = 100000 }}
[sources.flaky]
kind = "{kind}"
base_url = "{}"
token = "{}"
retries = 2
rate_limit = {{ per_second = 1, burst = 1 }}
[sources.down]
kind = "{kind}"
base_url = "{}"
token = "{}"
retries = 0
circuit_breaker = {{ failures = 1, cool_down = "1h" }}
rate_limit = {{ per_second = 100000, burst = 100000 }}
"#,
        app_server.base_url(),
        app.token(),
        flaky_server.base_url(),
        flaky.token(),
        down_server.base_url(),
        down.token(),
        kind = kind.provider,
    );
    let gateway = Gateway::start(&toml).await;

    // Pages from both sources; the flaky one answers 503 once, then retries.
    flaky
        .faults()
        .fail_next(Fault::status(503, "{\"error\":\"busy\"}"));
    let (status, page) = gateway.get("/logs?source=app,flaky&limit=30").await;
    assert_eq!(status, 200, "{page}");
    let (status, _) = gateway.get("/logs?source=app&limit=10").await;
    assert_eq!(status, 200);
    // Errors: a bad parameter, unknown paths (two different ones).
    assert_eq!(gateway.get("/logs?limit=0").await.0, 400);
    assert_eq!(gateway.get("/nope").await.0, 404);
    assert_eq!(gateway.get("/also/not/here").await.0, 404);
    // A failing source alone: 502.
    flaky
        .faults()
        .fail_always(Fault::status(503, "{\"error\":\"down\"}"));
    assert_eq!(gateway.get("/logs?source=flaky").await.0, 502);
    flaky.faults().clear();
    assert_eq!(gateway.get("/healthz").await.0, 200);
    // One failure opens the `down` source's circuit (for an hour).
    assert_eq!(gateway.get("/logs?source=down").await.0, 502);

    let response = gateway
        .client
        .get(gateway.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();

    // HTTP requests by matched route and status; unknown paths share one label.
    let http = "loggate_http_requests_total";
    assert_eq!(value(&text, http, "route=\"/logs\",status=\"200\""), 2.0);
    assert_eq!(value(&text, http, "route=\"/logs\",status=\"400\""), 1.0);
    assert_eq!(value(&text, http, "route=\"/logs\",status=\"502\""), 2.0);
    assert_eq!(
        value(&text, http, "route=\"unmatched\",status=\"404\""),
        2.0
    );
    assert_eq!(value(&text, http, "route=\"/healthz\",status=\"200\""), 1.0);
    assert!(
        !text.contains("/nope") && !text.contains("/also"),
        "raw paths leaked into labels"
    );

    // Request latency histogram: buckets cumulative, count = requests.
    let h = "loggate_http_request_duration_seconds";
    assert_eq!(value(&text, &format!("{h}_count"), "route=\"/logs\""), 5.0);
    assert_eq!(
        value(&text, &format!("{h}_bucket"), "route=\"/logs\",le=\"+Inf\""),
        5.0
    );
    let buckets: Vec<f64> = series(&text, &format!("{h}_bucket"))
        .into_iter()
        .filter(|(labels, _)| labels.starts_with("route=\"/logs\""))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(buckets.len(), 13);
    assert!(text.contains(&format!("# TYPE {h} histogram")));

    // Upstream requests by source and outcome.
    let up = "loggate_upstream_requests_total";
    assert!(value(&text, up, "source=\"app\",outcome=\"ok\"") >= 2.0);
    assert!(value(&text, up, "source=\"flaky\",outcome=\"ok\"") >= 1.0);
    // One 503, then three more (the first try and two retries).
    assert_eq!(value(&text, up, "source=\"flaky\",outcome=\"error\""), 4.0);
    let fetches = "loggate_upstream_fetches_total";
    assert_eq!(
        value(
            &text,
            fetches,
            "source=\"flaky\",outcome=\"upstream_error\""
        ),
        1.0
    );
    assert!(value(&text, fetches, "source=\"app\",outcome=\"ok\"") >= 2.0);

    // Upstream latency histogram by source.
    let uh = "loggate_upstream_fetch_duration_seconds";
    assert!(value(&text, &format!("{uh}_count"), "source=\"app\"") >= 2.0);
    assert!(value(&text, &format!("{uh}_count"), "source=\"flaky\"") >= 2.0);

    // Records scanned and returned by source: the pages' own reports agree.
    let returned_app = value(&text, "loggate_records_returned_total", "source=\"app\"");
    let returned_flaky = value(&text, "loggate_records_returned_total", "source=\"flaky\"");
    let first_page = page["sources"]["flaky"]["returned"].as_f64().unwrap();
    assert_eq!(returned_flaky, first_page);
    assert_eq!(returned_app + returned_flaky, 40.0);
    assert!(value(&text, "loggate_records_scanned_total", "source=\"app\"") >= returned_app);

    // Retries (the first 503's, and two for the failing source) and
    // rate-limit waits (one request a second: a retry comes within the
    // backoff, well under a second, so it waits).
    assert_eq!(
        value(&text, "loggate_upstream_retries_total", "source=\"flaky\""),
        3.0
    );
    assert_eq!(
        value(&text, "loggate_upstream_retries_total", "source=\"app\""),
        0.0
    );
    assert!(
        value(
            &text,
            "loggate_upstream_rate_limit_waits_total",
            "source=\"flaky\""
        ) >= 1.0
    );
    assert_eq!(
        value(
            &text,
            "loggate_upstream_rate_limit_waits_total",
            "source=\"app\""
        ),
        0.0
    );

    // Circuit-breaker state by source.
    let breaker = series(&text, "loggate_circuit_breaker_state");
    assert_eq!(breaker.len(), 3, "{breaker:?}");
    assert_eq!(breaker["source=\"app\""], 0.0);
    assert_eq!(breaker["source=\"down\""], 2.0);
    assert!(text.contains("# TYPE loggate_circuit_breaker_state gauge"));
}
