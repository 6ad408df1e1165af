//! Black-box, spec §10 / issue 11: the gateway in front of a tiny leveled
//! upstream that behaves like a real service rather than like our
//! simulator — it stores timestamps as sent and compares `startDate` /
//! `endDate` at full precision, searches folding ASCII only, decodes
//! query values strictly (`+` is a plus sign), answers `"logs": null` for
//! an empty window, and may wrap its bodies (gzip unasked, a byte-order
//! mark, `text/plain`).

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::Gateway;
use loggate_core::sim::{serve_loopback, Encoding, Served};
use loggate_core::time::parse_timestamp_ns;
use serde_json::Value;

/// How the upstream wraps its answers.
#[derive(Clone, Default)]
struct Wrap {
    encoding: Option<Encoding>,
    bom: bool,
    content_type: Option<&'static str>,
    /// Answer every request with this redirect instead.
    redirect: Option<(u16, String)>,
    /// Answer every request with this error status and `Retry-After`.
    failure: Option<(u16, String)>,
}

#[derive(Clone)]
struct Upstream {
    /// Each record's JSON text, verbatim, with its full-precision stamp.
    records: Arc<Vec<(i128, String, Value)>>,
    wrap: Wrap,
    seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
}

/// Strict percent-decoding: `%XX` only, `+` stays a plus sign.
fn strict_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ascii_contains(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len().max(1))
        .any(|w| w.eq_ignore_ascii_case(needle))
}

async fn logs(
    State(up): State<Upstream>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    up.seen.lock().unwrap().push((query.clone(), headers));
    if let Some((status, location)) = &up.wrap.redirect {
        let status = StatusCode::from_u16(*status).unwrap();
        return (status, [(header::LOCATION, location.clone())]).into_response();
    }
    if let Some((status, retry_after)) = &up.wrap.failure {
        let status = StatusCode::from_u16(*status).unwrap();
        let body = r#"{"status":"error","message":"busy"}"#;
        let headers = [
            (header::RETRY_AFTER, retry_after.clone()),
            (header::CONTENT_TYPE, "application/json".to_string()),
        ];
        return (status, headers, body).into_response();
    }
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (strict_decode(n), strict_decode(v)))
        .collect();
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let limit: usize = get("limit").map_or(50, |l| l.parse().unwrap()).min(100);
    let offset: usize = get("offset").map_or(0, |o| o.parse().unwrap());
    let start = get("startDate").map(|d| parse_timestamp_ns(&d).expect("startDate"));
    let end = get("endDate").map(|d| parse_timestamp_ns(&d).expect("endDate"));
    let search = get("search");
    let mut matching: Vec<&(i128, String, Value)> = up
        .records
        .iter()
        .filter(|(ns, _, _)| start.is_none_or(|s| *ns >= s) && end.is_none_or(|e| *ns <= e))
        .filter(|(_, _, v)| {
            search
                .as_deref()
                .is_none_or(|s| ascii_contains(v["message"].as_str().unwrap(), s))
        })
        .collect();
    matching.sort_by_key(|(ns, _, _)| std::cmp::Reverse(*ns));
    let page: Vec<&str> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(_, t, _)| t.as_str())
        .collect();
    let logs = if page.is_empty() {
        "null".to_string()
    } else {
        format!("[{}]", page.join(","))
    };
    let body = format!(
        r#"{{"status":"success","data":{{"logs":{logs},"pagination":{{"total":{},"limit":{limit},"offset":{offset},"nextOffset":null}}}}}}"#,
        matching.len()
    );
    let mut bytes = Vec::new();
    if up.wrap.bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(body.as_bytes());
    let mut response = Response::new(axum::body::Body::empty());
    if let Some(encoding) = up.wrap.encoding {
        bytes = encoding.encode(&bytes);
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, encoding.as_str().parse().unwrap());
    }
    let content_type = up.wrap.content_type.unwrap_or("application/json");
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    *response.body_mut() = axum::body::Body::from(bytes);
    response
}

struct Setup {
    gateway: Gateway,
    /// The requests the first upstream saw: raw query and headers.
    seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    _served: Vec<Served>,
}

impl Setup {
    /// The upstream serving `records` (JSON texts) wrapped as `wrap`, and a
    /// gateway with one source `app` in front of it.
    async fn start(records: &[String], wrap: Wrap, extra: &str) -> Setup {
        Setup::start_many(records, vec![wrap], extra).await
    }

    /// One upstream per `wraps` entry (sources `app`, `app1`, `app2`, ...),
    /// all serving `records`.
    async fn start_many(records: &[String], wraps: Vec<Wrap>, extra: &str) -> Setup {
        let records: Arc<Vec<(i128, String, Value)>> = Arc::new(
            records
                .iter()
                .map(|text| {
                    let value: Value = serde_json::from_str(text).unwrap();
                    let ns = parse_timestamp_ns(value["timestamp"].as_str().unwrap()).unwrap();
                    (ns, text.clone(), value)
                })
                .collect(),
        );
        let mut all_seen = Vec::new();
        let mut served = Vec::new();
        let mut toml = String::new();
        for (i, wrap) in wraps.into_iter().enumerate() {
            let seen: Arc<Mutex<Vec<(String, HeaderMap)>>> = Arc::default();
            all_seen.push(Arc::clone(&seen));
            let up = Upstream {
                records: Arc::clone(&records),
                wrap,
                seen,
            };
            let server = serve_loopback(Router::new().route("/logs", get(logs)).with_state(up))
                .await
                .unwrap();
            let name = if i == 0 {
                "app".to_string()
            } else {
                format!("app{i}")
            };
            toml.push_str(&format!(
                "[sources.{name}]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"t0k3n-up\"\n\
                 rate_limit = {{ per_second = 100000, burst = 100000 }}\n{extra}\n",
                server.base_url()
            ));
            served.push(server);
        }
        Setup {
            gateway: Gateway::start(&toml).await,
            seen: all_seen.swap_remove(0),
            _served: served,
        }
    }

    /// Follows the cursor from `query` at `limit`; every page is 200 and
    /// the source ok with nothing skipped. Returns the logs in order.
    async fn all(&self, query: &str, limit: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let mut path = format!("/logs?{query}&limit={limit}");
        for _ in 0..1000 {
            let (status, body) = self.gateway.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert_eq!(body["sources"]["app"]["status"], "ok", "{path}: {body}");
            assert_eq!(body["sources"]["app"]["skipped"], 0, "{path}: {body}");
            out.extend(body["logs"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/logs?cursor={cursor}&limit={limit}"),
                None => return out,
            }
        }
        panic!("{query} did not end");
    }

    fn seen_queries(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(q, _)| q.clone())
            .collect()
    }
}

fn record(timestamp: &str, message: &str) -> String {
    format!(r#"{{"timestamp":"{timestamp}","level":"INFO","service":"lb","message":"{message}"}}"#)
}

fn pairs(logs: &[Value]) -> Vec<(String, String)> {
    logs.iter()
        .map(|l| {
            (
                l["timestamp"].as_str().unwrap().to_string(),
                l["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sorted_messages(logs: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[path = "provider_leveled_upstream_reading/cases.rs"]
mod cases;
