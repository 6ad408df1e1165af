//! Grafana's Loki data source, request for request: the exact requests its
//! backend (`pkg/tsdb/loki/api.go`, `healthcheck.go`) and its label browser
//! send, answered in the shape its response parser reads. Also the bad
//! input of issue 14 (text errors naming a position or parameter), scopes,
//! Basic auth, per-key rate limits, and `warnings` for a failed source.

mod common;

use common::Gateway;
use loggate_core::sim::{serve_loopback, Fault, Served};
use loggate_core::time::now_ms;
use loggate_leveled::sim::{LeveledSim, SimConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};

const FULL: &str = "lg_loki-full-key-0123456789";
const APP_ONLY: &str = "lg_loki-app-key-0123456789";
const SLOW: &str = "lg_loki-slow-key-0123456789";
const MS: i128 = 1_000_000;

struct Setup {
    gateway: Gateway,
    billing: LeveledSim,
    now_ms: i64,
    _served: Vec<Served>,
}

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn start(extra: &str) -> Setup {
    let now = now_ms();
    let mut toml = String::new();
    let mut served = Vec::new();
    let mut sims = Vec::new();
    for (i, name) in ["app", "billing"].iter().enumerate() {
        let mut config = SimConfig::demo(now);
        (config.records, config.seed, config.span_ms) = (300, i as u64 + 7, 3_600_000);
        config.distinct_timestamps = Some(60);
        let sim = LeveledSim::new(config);
        let server = serve_loopback(sim.router()).await.unwrap();
        toml += &format!(
            "[sources.{name}]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"{}\"\nretries = 0\n\
             rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
            server.base_url(),
            sim.token()
        );
        served.push(server);
        sims.push(sim);
    }
    let unlimited = "rate_limit = { per_second = 100000, burst = 100000 }";
    for (name, key, scope, rate) in [
        ("full", FULL, r#"["*"]"#, unlimited),
        ("apponly", APP_ONLY, r#"["app"]"#, unlimited),
        (
            "slow",
            SLOW,
            r#"["*"]"#,
            "rate_limit = { per_second = 1, burst = 2 }",
        ),
    ] {
        toml += &format!(
            "[auth.keys.{name}]\nsha256 = \"{}\"\nsources = {scope}\n{rate}\n",
            sha256_hex(key)
        );
    }
    toml += extra;
    Setup {
        gateway: Gateway::start(&toml).await,
        billing: sims.pop().unwrap(),
        now_ms: now,
        _served: served,
    }
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.text);
        assert!(
            self.content_type.starts_with("application/json"),
            "{}",
            self.content_type
        );
        serde_json::from_str(&self.text).unwrap()
    }

    fn error(&self, status: u16, contains: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(
            self.content_type.starts_with("text/plain"),
            "{}",
            self.content_type
        );
        assert!(
            self.text.contains(contains),
            "{:?} lacks {contains:?}",
            self.text
        );
    }
}

async fn get(g: &Gateway, path: &str, auth: Option<&str>, headers: &[(&str, &str)]) -> Answer {
    let mut request = g.client.get(g.url(path));
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status().as_u16(),
        content_type: response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        text: response.text().await.unwrap(),
    }
}

fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// What Grafana's parser (`converter.ReadPrometheusStyleResult`) reads from
/// a streams answer; returns every entry's `(ns, line, metadata)`.
fn grafana_streams(body: &Value, categorized: bool) -> Vec<(i128, String, Value)> {
    assert_eq!(body["status"], "success");
    let data = &body["data"];
    assert_eq!(data["resultType"], "streams");
    assert!(data["stats"].is_object());
    assert_eq!(
        data.get("encodingFlags").is_some(),
        categorized,
        "encodingFlags: {data}"
    );
    let mut out = Vec::new();
    for stream in data["result"].as_array().unwrap() {
        let labels = stream["stream"].as_object().unwrap();
        for key in [
            "source",
            "provider",
            "level",
            "detected_level",
            "service_name",
        ] {
            assert!(labels[key].is_string(), "label {key} in {stream}");
        }
        assert!(labels.get("id").is_none() && labels.get("user_id").is_none());
        for value in stream["values"].as_array().unwrap() {
            let value = value.as_array().unwrap();
            assert_eq!(value.len(), if categorized { 3 } else { 2 }, "{value:?}");
            let ns = value[0].as_str().unwrap();
            assert!(ns.bytes().all(|b| b.is_ascii_digit()), "{ns}");
            let meta = if categorized {
                let meta = value[2]["structuredMetadata"].clone();
                assert!(meta["id"].is_string() && meta["severity_number"].is_string());
                meta
            } else {
                Value::Null
            };
            out.push((
                ns.parse().unwrap(),
                value[1].as_str().unwrap().to_string(),
                meta,
            ));
        }
    }
    out
}

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
        .all(|s| s["source"] == "app" && s["provider"] == "leveled"));
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
    assert_eq!(providers["data"], serde_json::json!(["leveled"]));
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
        ("/loki/api/v1/query_range?query=count_over_time(%7Bsource%3D%22app%22%7D%5B5m%5D)", "unsupported: metric queries"),
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
    let q = "/loki/api/v1/query_range?query=%7Bprovider%3D%22leveled%22%7D&since=2h&limit=50";
    let body = get(g, q, Some(&bearer(FULL)), &[]).await.json();
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
