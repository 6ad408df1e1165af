//! Grafana's Loki data source, request for request: the exact requests its
//! backend (`pkg/tsdb/loki/api.go`, `healthcheck.go`) and its label browser
//! send, answered in the shape its response parser reads.

mod common;
mod loki_support;

use loki_support::*;

#[tokio::test]
async fn health_check_answers_two() {
    let s = start("").await;
    // pkg/tsdb/loki/healthcheck.go: instant `vector(1)+vector(1)`, time = 4 s in ns.
    let a = get(
        &s.gateway,
        "/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000",
        Some(&bearer(FULL)),
        &[],
    )
    .await;
    let body = a.json();
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["resultType"], "vector");
    let result = body["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0]["metric"], serde_json::json!({}));
    assert_eq!(result[0]["value"][1], "2");
    assert!(result[0]["value"][0].is_number());
    // buildinfo names Loki 3 and loggate.
    let info = get(
        &s.gateway,
        "/loki/api/v1/status/buildinfo",
        Some(&bearer(FULL)),
        &[],
    )
    .await
    .json();
    assert!(
        info["version"].as_str().unwrap().starts_with("3."),
        "{info}"
    );
    assert!(
        info["version"].as_str().unwrap().contains("loggate"),
        "{info}"
    );
}

#[tokio::test]
async fn explore_query_and_categorized_labels() {
    let s = start("").await;
    let end = i128::from(s.now_ms + 1) * MS;
    let start = end - 2 * 3_600_000 * MS;
    // pkg/tsdb/loki/api.go makeDataRequest: direction, limit, query, start, end, step=<ms>ms.
    let path = format!(
        "/loki/api/v1/query_range?direction=backward&end={end}&limit=1000&query=%7Bsource%3D%22app%22%7D&start={start}&step=14000ms"
    );
    let plain = get(
        &s.gateway,
        &path,
        Some(&bearer(FULL)),
        &[("X-Query-Tags", "Source=logsample")],
    )
    .await;
    let entries = grafana_streams(&plain.json(), false);
    assert_eq!(entries.len(), 300, "every app record in the last hour");
    assert!(entries.iter().all(|(ns, _, _)| (start..end).contains(ns)));
    let categorized = get(
        &s.gateway,
        &path,
        Some(&bearer(FULL)),
        &[("X-Loki-Response-Encoding-Flags", "categorize-labels")],
    )
    .await;
    let entries = grafana_streams(&categorized.json(), true);
    let ids: std::collections::HashSet<&str> = entries
        .iter()
        .map(|(_, _, m)| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 300);
    assert!(ids.iter().all(|id| id.starts_with("app:")));
    // The same selection through /logs.
    let (_, logs) = s
        .gateway
        .get_with("/logs?source=app&limit=1000", Some(FULL))
        .await;
    let expected: std::collections::HashSet<&str> = logs["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn log_context_with_rfc3339_nanosecond_end() {
    let s = start("").await;
    let end = i128::from(s.now_ms + 1) * MS;
    let start = end - 2 * 3_600_000 * MS;
    let path = format!(
        "/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&start={start}&end={end}&limit=5&direction=backward"
    );
    let first = grafana_streams(
        &get(&s.gateway, &path, Some(&bearer(FULL)), &[])
            .await
            .json(),
        false,
    );
    let row = first.iter().map(|(ns, _, _)| *ns).min().unwrap();
    // Grafana's log context: the rows before a row, `end` at the row's time
    // in RFC 3339 with nanoseconds (exclusive).
    let secs = (row / 1_000_000_000) as i64;
    let nanos = (row % 1_000_000_000) as u32;
    let stamp = chrono::DateTime::from_timestamp(secs, nanos)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let path = format!(
        "/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&limit=10&start={start}&end={stamp}&direction=backward"
    );
    let before = grafana_streams(
        &get(&s.gateway, &path, Some(&bearer(FULL)), &[])
            .await
            .json(),
        false,
    );
    assert!(!before.is_empty());
    assert!(
        before.iter().all(|(ns, _, _)| *ns < row),
        "end is exclusive"
    );
}

#[tokio::test]
async fn label_browser_calls() {
    let s = start("").await;
    let end = i128::from(s.now_ms + 1) * MS;
    let start = end - 2 * 3_600_000 * MS;
    let g = &s.gateway;
    let full = bearer(FULL);
    let labels = get(
        g,
        &format!("/loki/api/v1/labels?start={start}&end={end}"),
        Some(&full),
        &[],
    )
    .await
    .json();
    assert_eq!(
        labels["data"],
        serde_json::json!([
            "detected_level",
            "level",
            "provider",
            "service_name",
            "source"
        ])
    );
    let sources = get(
        g,
        &format!("/loki/api/v1/label/source/values?start={start}&end={end}"),
        Some(&full),
        &[],
    )
    .await
    .json();
    assert_eq!(sources["data"], serde_json::json!(["app", "billing"]));
    let levels = get(
        g,
        &format!("/loki/api/v1/label/level/values?start={start}&end={end}&query=%7Bsource%3D%22app%22%7D"),
        Some(&full),
        &[],
    )
    .await
    .json();
    let levels: Vec<&str> = levels["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        levels.contains(&"info") && levels.iter().all(|l| *l == l.to_lowercase()),
        "{levels:?}"
    );
    let series = get(
        g,
        &format!(
            "/loki/api/v1/series?match%5B%5D=%7Bsource%3D%22app%22%7D&start={start}&end={end}"
        ),
        Some(&full),
        &[],
    )
    .await
    .json();
    let series = series["data"].as_array().unwrap();
    assert!(!series.is_empty());
    assert!(series
        .iter()
        .all(|s| s["source"] == "app" && s["provider"] == common::stand_in_kind()));
    let stats = get(
        g,
        &format!("/loki/api/v1/index/stats?query=%7Bsource%3D%22app%22%7D&start={start}&end={end}"),
        Some(&full),
        &[],
    )
    .await
    .json();
    assert_eq!(stats["entries"], 300, "{stats}");
    assert_eq!(stats["streams"].as_u64(), Some(series.len() as u64));
}
