//! Loki metric queries (spec §7) over the real gateway and simulators:
//! `count_over_time`, `rate`, `bytes_over_time` with `sum`/`count`
//! `by`/`without`, as `matrix` and `vector`, windows `(t - range, t]` at
//! step-aligned times; Grafana's logs-volume queries and an alert rule's
//! instant query; and the matrices agree with `/logs/stats`.

mod common;

use std::collections::BTreeMap;

use common::enc;
use common::fleet::{Fleet, Kind, Spec};
use loggate::logql::labels::entry_ns;
use loggate_core::LogRecord;
use serde_json::Value;

const MINUTE_NS: i128 = 60_000_000_000;

/// `s0`: the stand-in provider; `s1`, `s2`: the next two providers whose
/// upstream pages ([`Kind::paged`]).
async fn fleet() -> Fleet {
    let kinds = Kind::paged();
    let specs = [
        Spec::new(kinds[0], 21, 200, 120),
        Spec::new(kinds[1], 22, 200, 120),
        Spec::new(kinds[2], 23, 200, 120),
    ];
    Fleet::start(&specs, "", "").await
}

/// `(source, ns, record)` of every record.
fn entries(fleet: &Fleet) -> Vec<(String, i128, LogRecord)> {
    fleet
        .sims
        .iter()
        .flat_map(|(name, _, sim)| {
            sim.snapshot()
                .into_iter()
                .map(move |r| (name.clone(), entry_ns(name, &r), r))
        })
        .collect()
}

/// A matrix as `labels (k=v,...) → [(t seconds as ns, value)]`.
fn matrix(body: &Value) -> BTreeMap<String, Vec<(i128, String)>> {
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "matrix", "{body}");
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels = labels_of(&s["metric"]);
            let values = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let t = (v[0].as_f64().unwrap() * 1000.0).round() as i128 * 1_000_000;
                    (t, v[1].as_str().unwrap().to_string())
                })
                .collect();
            (labels, values)
        })
        .collect()
}

fn labels_of(metric: &Value) -> String {
    metric
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Step-aligned evaluation times covering the data's hour.
fn times(step: i128) -> (i128, i128) {
    let now = i128::from(loggate_core::time::now_ms()) * 1_000_000;
    let start = now - 70 * MINUTE_NS;
    (
        start - start.rem_euclid(step),
        now - now.rem_euclid(step) + step,
    )
}

/// The reference: per group key of `key`, per evaluation time, the values
/// of the entries in `(t - range, t]` (only times with an entry).
fn reference(
    entries: &[(String, i128, LogRecord)],
    keep: impl Fn(&(String, i128, LogRecord)) -> bool,
    key: impl Fn(&(String, i128, LogRecord)) -> String,
    value: impl Fn(&LogRecord) -> f64,
    (first, last, step, range): (i128, i128, i128, i128),
) -> BTreeMap<String, Vec<(i128, f64)>> {
    let mut out: BTreeMap<String, BTreeMap<i128, f64>> = BTreeMap::new();
    for e in entries.iter().filter(|e| keep(e)) {
        let mut t = first;
        while t <= last {
            if e.1 > t - range && e.1 <= t {
                *out.entry(key(e)).or_default().entry(t).or_default() += value(&e.2);
            }
            t += step;
        }
    }
    out.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

fn as_text(reference: BTreeMap<String, Vec<(i128, f64)>>) -> BTreeMap<String, Vec<(i128, String)>> {
    reference
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(t, x)| (t, format!("{x}"))).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_volume_queries_count_each_level_per_step() {
    let fleet = fleet().await;
    let all = entries(&fleet);
    let step = 5 * MINUTE_NS;
    let (start, end) = times(step);
    for query in [
        "sum by (level, detected_level) (count_over_time({source=~\"s.*\"} | drop __error__ [5m]))",
        "sum by (level) (count_over_time({source=~\"s.*\"}[5m]))",
    ] {
        let path = format!(
            "/loki/api/v1/query_range?query={}&start={start}&end={end}&step=300",
            enc(query)
        );
        let response = fleet
            .gateway
            .client
            .get(fleet.gateway.url(&path))
            .header("X-Query-Tags", "Source=logvolhist,Feature=LogsVolume")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let both = query.contains("detected_level");
        let expected = reference(
            &all,
            |_| true,
            |e| {
                let level = e.2.level.as_str().to_lowercase();
                if both {
                    format!("detected_level={level},level={level}")
                } else {
                    format!("level={level}")
                }
            },
            |_| 1.0,
            (start, end, step, step),
        );
        assert_eq!(matrix(&body), as_text(expected), "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_bytes_and_count_without_follow_loki() {
    let fleet = fleet().await;
    let all = entries(&fleet);
    let step = 7 * MINUTE_NS;
    let range = 10 * MINUTE_NS;
    let (start, end) = times(step);
    let get = |query: &str| {
        format!(
            "/loki/api/v1/query_range?query={}&start={start}&end={end}&step=7m",
            enc(query)
        )
    };
    let w = (start, end - end.rem_euclid(step), step, range);
    // Per stream, no aggregation: labels are the stream's.
    let (_, body) = fleet.gateway.get(&get("rate({source=\"s0\"}[10m])")).await;
    let got = matrix(&body);
    let per_stream = reference(
        &all,
        |e| e.0 == "s0",
        |e| {
            let level = e.2.level.as_str().to_lowercase();
            let service = e.2.service.clone().unwrap_or("s0".into());
            let provider = Kind::stand_in().provider();
            format!("detected_level={level},level={level},provider={provider},service_name={service},source=s0")
        },
        |_| 1.0,
        w,
    );
    // A rate is the window's count over its seconds.
    let per_stream = per_stream
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(t, n)| (t, n / 600.0)).collect()))
        .collect();
    assert_eq!(got, as_text(per_stream));
    let (_, body) = fleet
        .gateway
        .get(&get(
            "sum by (source) (bytes_over_time({source=~\"s0|s1\"}[10m]))",
        ))
        .await;
    let bytes = reference(
        &all,
        |e| e.0 != "s2",
        |e| format!("source={}", e.0),
        |r| r.message.len() as f64,
        w,
    );
    assert_eq!(matrix(&body), as_text(bytes));
    // count without (level, detected_level): streams per remaining labels.
    let (_, body) = fleet
        .gateway
        .get(&get("count without (level, detected_level, service_name) (count_over_time({source=\"s1\"}[10m]))"))
        .await;
    let got = matrix(&body);
    assert_eq!(got.len(), 1, "{got:?}");
    let (labels, values) = got.into_iter().next().unwrap();
    assert_eq!(
        labels,
        format!("provider={},source=s1", fleet.sims[1].1.provider())
    );
    for (t, v) in values {
        let streams: std::collections::BTreeSet<(String, Option<String>)> = all
            .iter()
            .filter(|e| e.0 == "s1" && e.1 > t - range && e.1 <= t)
            .map(|e| (e.2.level.as_str().to_string(), e.2.service.clone()))
            .collect();
        assert_eq!(v, streams.len().to_string(), "at {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_rules_instant_query_answers_a_vector() {
    let fleet = fleet().await;
    let all = entries(&fleet);
    let t = i128::from(loggate_core::time::now_ms()) * 1_000_000 - 20 * MINUTE_NS;
    for (query, level) in [
        (
            "sum(count_over_time({source=\"s0\", level=\"error\"}[30m]))",
            Some("ERROR"),
        ),
        ("sum(count_over_time({source=\"s0\"}[30m]))", None),
    ] {
        let path = format!("/loki/api/v1/query?query={}&time={t}", enc(query));
        let (status, body) = fleet.gateway.get(&path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["resultType"], "vector", "{body}");
        let expected = all
            .iter()
            .filter(|e| e.0 == "s0" && e.1 > t - 30 * MINUTE_NS && e.1 <= t)
            .filter(|e| level.is_none_or(|l| e.2.level.as_str() == l))
            .count();
        assert!(expected > 0, "the data should hold some");
        let result = body["data"]["result"].as_array().unwrap();
        assert_eq!(result.len(), 1, "{body}");
        assert_eq!(result[0]["metric"], serde_json::json!({}));
        assert_eq!(result[0]["value"][1], expected.to_string(), "{query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_over_time_matrices_equal_logs_stats() {
    let fleet = fleet().await;
    let step = 5 * MINUTE_NS;
    let (start, end) = times(step);
    let path = format!(
        "/loki/api/v1/query_range?query={}&start={start}&end={end}&step=5m",
        enc("sum by (source) (count_over_time({source=~\"s.*\"}[5m]))")
    );
    let (_, body) = fleet.gateway.get(&path).await;
    let loki = matrix(&body);
    // The point at t counts (t - 5m, t]; the /logs/stats bucket starting
    // at t - 5m counts [t - 5m, t) in milliseconds: the same entries unless
    // one sits exactly on a whole millisecond at a boundary.
    let first = start - start.rem_euclid(step);
    let ms = |ns: i128| loggate_core::time::format_ms((ns / 1_000_000) as i64);
    let stats_path = format!(
        "/logs/stats?start={}&end={}&interval=5m&by=source",
        enc(&ms(first - step)),
        enc(&ms(end - end.rem_euclid(step))),
    );
    let (status, stats) = fleet.gateway.get(&stats_path).await;
    assert_eq!(status, 200, "{stats}");
    let mut from_stats: BTreeMap<String, Vec<(i128, String)>> = BTreeMap::new();
    for series in stats["series"].as_array().unwrap() {
        let source = series["group"]["source"].as_str().unwrap();
        for p in series["points"].as_array().unwrap() {
            let count = p[1].as_u64().unwrap();
            if count == 0 {
                continue;
            }
            let bucket = loggate_core::time::parse_rfc3339_ms(p[0].as_str().unwrap()).unwrap();
            let t = i128::from(bucket) * 1_000_000 + step;
            from_stats
                .entry(format!("source={source}"))
                .or_default()
                .push((t, count.to_string()));
        }
    }
    assert!(!loki.is_empty());
    assert_eq!(loki, from_stats);
}
