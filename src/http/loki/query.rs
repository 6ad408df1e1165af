//! `GET /query_range` and `GET /query` (spec §6).

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};

use super::metric::evaluate;
use super::params::{Nanos, Params, MS};
use super::scan::{scan, Entry, ScanSpec};
use super::schema::{json_response, LokiAnswer};
use super::{now_ns, readable, LokiError};
use crate::engine::Caller;
use crate::http::AppState;
use crate::logql::metric::{metric_query, MetricQuery};
use crate::logql::plan::plan_log_query;
use crate::logql::{eval_constant, parse, Constant};

const RANGE_PARAMS: [&str; 8] = [
    "query",
    "start",
    "end",
    "since",
    "limit",
    "direction",
    "step",
    "interval",
];
const INSTANT_PARAMS: [&str; 4] = ["query", "time", "limit", "direction"];
/// Most records one `query_range` reads through the engine; beyond it the
/// answer carries a warning and stops at a whole millisecond.
pub const SCAN_RECORDS: usize = 100_000;
/// Most points of one constant series (Loki's limit).
const MAX_POINTS: Nanos = 11_000;
const HOUR: Nanos = 3_600 * 1_000_000_000;
/// The header Grafana sends to get structured metadata apart from labels.
const ENCODING_FLAGS: &str = "x-loki-response-encoding-flags";

/// `GET /loki/api/v1/query_range`: log queries → `streams`.
#[utoipa::path(
    get,
    path = "/loki/api/v1/query_range",
    tag = "loki",
    security(("bearer" = [])),
    params(("query" = String, Query, description = "LogQL log query"), ("start" = Option<String>, Query, description = "Inclusive: integer ns (at most 10 digits: seconds), float seconds or RFC 3339"), ("end" = Option<String>, Query, description = "Exclusive; default now"), ("since" = Option<String>, Query, description = "Duration back from end when start is absent"), ("limit" = Option<u32>, Query, description = "1 to 5000, default 100"), ("direction" = Option<String>, Query, description = "backward (default), forward or scan"), ("step" = Option<String>, Query, description = "Duration or float seconds (metric queries; default (end - start) / 250, at least 1s); 400 when (end - start) / step reaches 11,000 points, Loki's limit"), ("interval" = Option<String>, Query, description = "Duration or float seconds")),
    responses(
        (status = 200, description = "Loki streams (`X-Loki-Response-Encoding-Flags: categorize-labels` adds structured metadata), with `warnings` when a source failed", content_type = "application/json", body = super::schema::LokiAnswer),
        super::schema::LokiRefusals,
        super::schema::LokiSourceFailures,
    )
)]
pub async fn query_range(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let started = Instant::now();
    let params = Params::parse(raw.as_deref(), &RANGE_PARAMS)?;
    let text = params.query()?;
    let (start, end) = params.window(now_ns(), HOUR)?;
    let limit = params.limit(100)?;
    let forward = params.forward()?;
    let step = params.step("step")?;
    params.step("interval")?;
    let expr = parse(text)?;
    if let Some(constant) = eval_constant(text, &expr)? {
        return constant_matrix(constant, start, end, step);
    }
    if let Some(metric) = metric_query(text, &expr)? {
        return metric_matrix(&state, &caller, text, &metric, (start, end, step), started).await;
    }
    let plan = plan_log_query(text, &expr, &readable(&state, &caller), state.loki.line)?;
    let spec = ScanSpec {
        plan: &plan,
        start,
        end,
        forward,
        line_mode: state.loki.line,
        want: Some(limit),
        max_records: SCAN_RECORDS,
    };
    let read = scan(&state, &caller, &spec).await?;
    let mut warnings: Vec<String> = read.warnings.into_iter().collect();
    if !read.complete {
        warnings.push(format!(
            "loggate stopped after reading {} records (or 25 s) for this request; the entries returned are complete up to the oldest (newest with direction=forward) one: continue from there or narrow the query",
            read.scanned
        ));
    }
    let entries = select(read.entries, limit, forward);
    let categorize = wants_categorized(&headers);
    let mut data = json!({
        "resultType": "streams",
        "result": streams(&entries, categorize),
        "stats": stats(started, entries.len(), read.scanned),
    });
    if categorize {
        data["encodingFlags"] = json!(["categorize-labels"]);
    }
    Ok(success(data, &warnings))
}

/// `GET /loki/api/v1/query`: constant expressions (Grafana's health check
/// `vector(1)+vector(1)`) and metric queries evaluated at `time` (an alert
/// rule's `sum(count_over_time({...}[5m]))`) as a vector.
#[utoipa::path(
    get,
    path = "/loki/api/v1/query",
    tag = "loki",
    security(("bearer" = [])),
    params(("query" = String, Query, description = "A constant expression such as vector(1)+vector(1), or a metric query such as sum(count_over_time({source=\"app\"}[5m]))"), ("time" = Option<String>, Query, description = "Evaluation time"), ("limit" = Option<u32>, Query), ("direction" = Option<String>, Query)),
    responses(
        (status = 200, description = "A Loki vector or scalar", content_type = "application/json", body = super::schema::LokiAnswer),
        super::schema::LokiRefusals,
    )
)]
pub async fn query(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, LokiError> {
    let started = Instant::now();
    let params = Params::parse(raw.as_deref(), &INSTANT_PARAMS)?;
    let text = params.query()?;
    let time = params.time("time")?.unwrap_or_else(now_ns);
    params.limit(100)?;
    params.forward()?;
    let expr = parse(text)?;
    let seconds = seconds(time);
    let (result_type, result) = match eval_constant(text, &expr)? {
        Some(Constant::Scalar(v)) => ("scalar", json!([seconds, sample(v)])),
        Some(Constant::Vector(v)) => (
            "vector",
            Value::Array(
                v.map(|v| json!({"metric": {}, "value": [seconds, sample(v)]}))
                    .into_iter()
                    .collect(),
            ),
        ),
        None => {
            if let Some(metric) = metric_query(text, &expr)? {
                return metric_vector(&state, &caller, text, &metric, time, started).await;
            }
            if matches!(expr, crate::logql::ast::Expr::Log(_)) {
                return Err(LokiError::bad_request(
                    "log queries are not supported as an instant query type, please change your query to a range query type",
                ));
            }
            // The planner names what is not served yet.
            plan_log_query(text, &expr, &readable(&state, &caller), state.loki.line)?;
            return Err(LokiError::bad_request("unsupported query"));
        }
    };
    let data = json!({
        "resultType": result_type,
        "result": result,
        "stats": stats(started, 0, 0),
    });
    Ok(success(data, &[]))
}

/// A metric query's instant answer: each series' value at `time` (ns).
async fn metric_vector(
    state: &AppState,
    caller: &Caller,
    text: &str,
    metric: &MetricQuery<'_>,
    time: Nanos,
    started: Instant,
) -> Result<Response, LokiError> {
    let seconds = seconds(time);
    let evaluated = evaluate(state, caller, text, metric, (time, 0, 1)).await?;
    let result = evaluated
        .series
        .iter()
        .map(|s| {
            let value = s.samples.first().map_or(0.0, |(_, v)| *v);
            json!({"metric": s.labels, "value": [seconds, sample(value)]})
        })
        .collect();
    let data = json!({
        "resultType": "vector",
        "result": Value::Array(result),
        "stats": stats(started, 0, evaluated.scanned),
    });
    Ok(success(data, &evaluated.warnings))
}

/// `{"status":"success","data":...}` plus `warnings` when there are any.
pub fn success(data: Value, warnings: &[String]) -> Response {
    json_response(&LokiAnswer::new(data, warnings))
}

fn wants_categorized(headers: &HeaderMap) -> bool {
    headers
        .get_all(ENCODING_FLAGS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|flag| flag.trim().eq_ignore_ascii_case("categorize-labels"))
}

/// The `limit` newest (oldest when `forward`) entries by nanosecond. Entries
/// sharing the last one's nanosecond all go out, so that paging with
/// `end` (or `start`) at that nanosecond skips none of them.
pub(super) fn select(mut entries: Vec<Entry>, limit: usize, forward: bool) -> Vec<Entry> {
    if forward {
        entries.sort_by_key(|e| e.ns);
    } else {
        entries.sort_by_key(|e| std::cmp::Reverse(e.ns));
    }
    if entries.len() > limit {
        let last = entries[limit - 1].ns;
        let keep = limit + entries[limit..].iter().take_while(|e| e.ns == last).count();
        entries.truncate(keep);
    }
    entries
}

/// Entries grouped into streams by label set, each stream in entry order.
pub(super) fn streams(entries: &[Entry], categorize: bool) -> Value {
    let mut index: HashMap<Vec<(&'static str, String)>, usize> = HashMap::new();
    let mut out: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    for entry in entries {
        let view = entry.view();
        let labels: Vec<(&'static str, String)> = view.stream().into_iter().collect();
        let i = *index.entry(labels.clone()).or_insert_with(|| {
            let stream = labels
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(v.as_str())))
                .collect();
            out.push((stream, Vec::new()));
            out.len() - 1
        });
        let mut value = vec![json!(entry.ns.to_string()), json!(entry.line)];
        if categorize {
            value.push(json!({ "structuredMetadata": view.metadata() }));
        }
        out[i].1.push(Value::Array(value));
    }
    Value::Array(
        out.into_iter()
            .map(|(stream, values)| json!({ "stream": stream, "values": values }))
            .collect(),
    )
}

/// Loki's `stats` block, with what loggate knows.
pub fn stats(started: Instant, returned: usize, scanned: usize) -> Value {
    json!({
        "summary": {
            "execTime": started.elapsed().as_secs_f64(),
            "totalEntriesReturned": returned,
            "totalLinesProcessed": scanned,
        }
    })
}

/// A constant over `[start, end]` at `step` (default: Loki's, range/250,
/// at least 1 s) as a `matrix`.
fn constant_matrix(
    constant: Constant,
    start: Nanos,
    end: Nanos,
    step: Option<Nanos>,
) -> Result<Response, LokiError> {
    let step = step.unwrap_or_else(|| ((end - start) / 250).max(1_000 * MS));
    if (end - start) / step >= MAX_POINTS {
        return Err(LokiError::bad_request(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let value = match constant {
        Constant::Scalar(v) => Some(v),
        Constant::Vector(v) => v,
    };
    let result = match value {
        Some(v) => {
            let mut points = Vec::new();
            let mut t = start;
            while t <= end {
                points.push(json!([seconds(t), sample(v)]));
                t += step;
            }
            json!([{ "metric": {}, "values": points }])
        }
        None => json!([]),
    };
    let data =
        json!({ "resultType": "matrix", "result": result, "stats": stats(Instant::now(), 0, 0) });
    Ok(success(data, &[]))
}

/// A metric query over `[start, end]` as a `matrix`: evaluation times at
/// multiples of `step` (default: Loki's, range/250, at least 1 s), `start`
/// and `end` aligned down to it as Loki's query frontend does.
async fn metric_matrix(
    state: &AppState,
    caller: &Caller,
    text: &str,
    metric: &MetricQuery<'_>,
    (start, end, step): (Nanos, Nanos, Option<Nanos>),
    started: Instant,
) -> Result<Response, LokiError> {
    let step = step.unwrap_or_else(|| ((end - start) / 250).max(1_000 * MS));
    let first = start - start.rem_euclid(step);
    let last = end - end.rem_euclid(step);
    if (last - first) / step >= MAX_POINTS {
        return Err(LokiError::bad_request(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let n = ((last - first) / step) as usize + 1;
    let evaluated = evaluate(state, caller, text, metric, (first, step, n)).await?;
    let result: Vec<Value> = evaluated
        .series
        .iter()
        .map(|s| {
            let values: Vec<Value> = s
                .samples
                .iter()
                .map(|(k, v)| json!([seconds(first + step * *k as Nanos), sample(*v)]))
                .collect();
            json!({"metric": s.labels, "values": values})
        })
        .collect();
    let data = json!({
        "resultType": "matrix",
        "result": result,
        "stats": stats(started, 0, evaluated.scanned),
    });
    Ok(success(data, &evaluated.warnings))
}

/// Seconds as Loki writes sample times: a number with millisecond precision.
fn seconds(ns: Nanos) -> Value {
    let ms = ns.div_euclid(MS) as f64;
    json!(ms / 1000.0)
}

/// A sample value as Prometheus formats it.
fn sample(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use loggate_core::{Level, LogRecord};

    use super::*;

    fn entry(ns: Nanos, id: &str) -> Entry {
        Entry {
            ns,
            source: Arc::from("app"),
            provider: "kind_a",
            record: LogRecord {
                native_id: id.into(),
                timestamp_ms: (ns / MS) as i64,
                level: Level::Info,
                message: id.into(),
                service: None,
                user_id: None,
                attributes: Default::default(),
                raw: None,
            },
            line: id.into(),
        }
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.line.as_str()).collect()
    }

    #[test]
    fn select_takes_the_newest_or_oldest_and_keeps_nanosecond_ties() {
        let all = || {
            vec![
                entry(5, "a"),
                entry(9, "b"),
                entry(7, "c"),
                entry(7, "d"),
                entry(1, "e"),
            ]
        };
        assert_eq!(
            ids(&select(all(), 2, false)),
            ["b", "c", "d"],
            "c and d share 7 ns"
        );
        assert_eq!(ids(&select(all(), 1, false)), ["b"]);
        assert_eq!(ids(&select(all(), 2, true)), ["e", "a"]);
        assert_eq!(ids(&select(all(), 10, true)), ["e", "a", "c", "d", "b"]);
    }

    #[test]
    fn samples_format_like_prometheus() {
        assert_eq!(sample(2.0), "2");
        assert_eq!(sample(0.25), "0.25");
        assert_eq!(sample(f64::INFINITY), "+Inf");
        assert_eq!(sample(f64::NAN), "NaN");
        assert_eq!(seconds(4_000_000_123 * MS + 999), json!(4_000_000.123));
    }
}
