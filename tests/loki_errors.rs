//! The bad input of issue 14 (text errors naming a position or
//! parameter), source scopes, Basic auth, per-key rate limits, `warnings`
//! for a failed source, and the `[loki]` switches.

mod common;
mod loki_support;

use loggate_core::sim::Fault;
use loki_support::*;
use serde_json::Value;

#[tokio::test]
async fn scopes_basic_auth_and_rate_limits() {
    let s = start("").await;
    let g = &s.gateway;
    // Basic with the key as password, any user name.
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("grafana:{APP_ONLY}"))
    );
    let values = get(g, "/loki/api/v1/label/source/values", Some(&basic), &[])
        .await
        .json();
    assert_eq!(
        values["data"],
        serde_json::json!(["app"]),
        "never names billing"
    );
    let providers = get(g, "/loki/api/v1/label/provider/values", Some(&basic), &[])
        .await
        .json();
    assert_eq!(
        providers["data"],
        serde_json::json!([common::stand_in_kind()])
    );
    // A selector naming a source outside the scope selects nothing.
    let q = "/loki/api/v1/query_range?query=%7Bsource%3D%22billing%22%7D&since=2h";
    let body = get(g, q, Some(&basic), &[]).await.json();
    assert_eq!(body["data"]["result"], serde_json::json!([]));
    let q = "/loki/api/v1/query_range?query=%7Bsource%3D~%22.%2B%22%7D&since=2h&limit=5000";
    let entries = grafana_streams(&get(g, q, Some(&basic), &[]).await.json(), false);
    assert_eq!(entries.len(), 300, "app only");
    get(g, "/loki/api/v1/labels", None, &[])
        .await
        .error(401, "Authorization");
    get(
        g,
        "/loki/api/v1/labels",
        Some("Basic Z3JhZmFuYTpub3BlCg=="),
        &[],
    )
    .await
    .error(401, "unknown API key");
    // The per-key rate limit applies (burst 2).
    let slow = bearer(SLOW);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            get(g, "/loki/api/v1/status/buildinfo", Some(&slow), &[])
                .await
                .status,
        );
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn bad_input_is_400_naming_position_or_parameter() {
    let s = start("").await;
    let g = &s.gateway;
    let full = bearer(FULL);
    for (path, contains) in [
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22", "parse error at line 1, col 14"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D%20%7C%20line_format%20%22x%22", "unsupported: the line_format stage"),
        ("/loki/api/v1/query_range?query=nosuchfn(%7Bsource%3D%22app%22%7D)", "parse error at line 1, col 1"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D~%22(%22%7D", "error parsing regexp"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D~%22(((a%7B100%7D)%7B100%7D)%7B100%7D)%22%7D", "regex too large"),
        ("/loki/api/v1/query_range?query=avg_over_time(%7Bsource%3D%22app%22%7D%5B5m%5D)", "unsupported: avg_over_time()"),
        ("/loki/api/v1/query_range?query=max%20by%20(level)%20(count_over_time(%7Bsource%3D%22app%22%7D%5B5m%5D))", "unsupported: max()"),
        ("/loki/api/v1/query?query=sum(count_over_time(%7Bsource%3D%22app%22%7D%5B5m%5D))%20%2F%202", "unsupported: binary operations on metric queries"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&limit=5001", "5001 > 5000"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&limit=0", "limit"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&start=20&end=10", "end timestamp must not be before or equal to start time"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&start=yesterday", "start: cannot parse"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&end=99999999999999999999999", "end: cannot parse"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&end=300000000000.5", "end:"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&direction=sideways", "direction"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&step=-1", "step"),
        ("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&levle=x", "unknown parameter \"levle\""),
        ("/loki/api/v1/query_range", "query: parameter is required"),
        ("/loki/api/v1/query?query=%7Bsource%3D%22app%22%7D", "instant query type"),
        ("/loki/api/v1/series", "match[]"),
        ("/loki/api/v1/labels?query=vector(1)", "stream selector"),
    ] {
        get(g, path, Some(&full), &[]).await.error(400, contains);
    }
}

#[tokio::test]
async fn a_failed_source_is_a_warning_and_all_failed_is_502() {
    let s = start("").await;
    let g = &s.gateway;
    s.billing
        .faults()
        .fail_always(Fault::status(500, "{\"error\":\"boom\"}"));
    let q = format!(
        "/loki/api/v1/query_range?query=%7Bprovider%3D%22{}%22%7D&since=2h&limit=50",
        common::stand_in_kind()
    );
    let body = get(g, &q, Some(&bearer(FULL)), &[]).await.json();
    let warnings = body["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("billing")),
        "{warnings:?}"
    );
    assert_eq!(grafana_streams(&body, false).len(), 50);
    let q = "/loki/api/v1/query_range?query=%7Bsource%3D%22billing%22%7D&since=2h";
    let a = get(g, q, Some(&bearer(FULL)), &[]).await;
    a.error(502, "billing");
}

#[tokio::test]
async fn disabled_or_json_lines_by_configuration() {
    let s = start("[loki]\nenabled = false\n").await;
    let a = get(&s.gateway, "/loki/api/v1/labels", Some(&bearer(FULL)), &[]).await;
    assert_eq!(a.status, 404);
    let s = start("[loki]\nline = \"json\"\n").await;
    let q = "/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D%20%7C%3D%20%22%5C%22source%5C%22%3A%5C%22app%5C%22%22&since=2h&limit=3";
    let entries = grafana_streams(
        &get(&s.gateway, q, Some(&bearer(FULL)), &[]).await.json(),
        false,
    );
    assert_eq!(entries.len(), 3, "line filters see the JSON line");
    for (_, line, _) in entries {
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["source"], "app");
        assert!(record["id"].as_str().unwrap().starts_with("app:"));
    }
}
