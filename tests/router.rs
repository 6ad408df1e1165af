//! The router without a socket: routing, authentication and the error
//! envelope, for every case that needs no upstream, driven with
//! `tower::ServiceExt::oneshot` on `loggate::app::app` (the pattern of
//! axum's `examples/testing`). The configured source points at a port
//! nothing listens on: none of these requests may reach it.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use loggate::app::app;
use loggate::config;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const KEY: &str = "lg_router_test_key_0123456789";
const SCOPED: &str = "lg_router_scoped_key_0123456789";

fn hex_sha256(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn router() -> Router {
    let kind = common::stand_in_kind();
    let toml = format!(
        "[sources.app]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n\
         [sources.other]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\n\
         [auth.keys.all]\nsha256 = \"{}\"\nsources = [\"*\"]\n\
         [auth.keys.scoped]\nsha256 = \"{}\"\nsources = [\"app\"]\n",
        hex_sha256(KEY),
        hex_sha256(SCOPED),
    );
    let config = config::load_str(&toml, Vec::new()).expect("valid config");
    app(&config)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Asserts the error envelope with `code` (and `param`, when given).
    fn assert_error(&self, status: u16, code: &str, param: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.json());
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        match param {
            Some(param) => assert_eq!(body["error"]["param"], param, "{body}"),
            None => assert!(body["error"].get("param").is_none(), "{body}"),
        }
        assert!(self.headers.contains_key("x-request-id"));
    }
}

async fn send(method: Method, uri: &str, key: Option<&str>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    answer_of(request.body(Body::empty()).unwrap()).await
}

async fn answer_of(request: Request<Body>) -> Answer {
    let response = router()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(uri: &str, key: Option<&str>) -> Answer {
    send(Method::GET, uri, key).await
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_the_envelope() {
    get("/nope", None)
        .await
        .assert_error(404, "not_found", None);
    get("/logs/extra", Some(KEY))
        .await
        .assert_error(404, "not_found", None);
    send(Method::POST, "/logs", Some(KEY))
        .await
        .assert_error(405, "method_not_allowed", None);
    send(Method::DELETE, "/healthz", None)
        .await
        .assert_error(405, "method_not_allowed", None);
}

/// `HEAD` on a route behind a key would run the whole `GET` (axum's
/// default): it is `405` with `Allow: GET`, with or without a key, before
/// any upstream (the configured sources point at a closed port: reaching
/// one would be a `502`). The open routes still answer it.
#[tokio::test]
async fn head_is_refused_where_it_would_read_the_sources() {
    for uri in [
        "/logs",
        "/logs?limit=5",
        "/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=1h",
        "/logs/tail",
        "/sources",
        "/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D",
        "/loki/api/v1/labels",
        "/loki/api/v1/index/stats?query=%7Bsource%3D%22app%22%7D",
    ] {
        for key in [Some(KEY), None] {
            // axum leaves out the body of an answer to HEAD.
            let answer = send(Method::HEAD, uri, key).await;
            assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{uri}");
            assert_eq!(answer.headers[header::ALLOW], "GET", "{uri}");
            assert!(answer.body.is_empty(), "{uri}");
        }
    }
    for uri in ["/logs", "/loki/api/v1/labels"] {
        let answer = send(Method::POST, uri, Some(KEY)).await;
        answer.assert_error(405, "method_not_allowed", None);
        assert_eq!(answer.headers[header::ALLOW], "GET", "{uri}");
    }
    for uri in ["/healthz", "/metrics", "/openapi.json"] {
        assert_eq!(
            send(Method::HEAD, uri, None).await.status,
            StatusCode::OK,
            "{uri}"
        );
        let answer = send(Method::DELETE, uri, None).await;
        assert_eq!(answer.headers[header::ALLOW], "GET,HEAD", "{uri}");
    }
}

#[tokio::test]
async fn a_missing_or_unknown_key_is_401_with_the_scheme() {
    for key in [None, Some("lg_not_a_configured_key_000000")] {
        for path in ["/logs", "/sources"] {
            let answer = get(path, key).await;
            answer.assert_error(401, "unauthorized", None);
            let scheme = answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
            assert!(scheme.starts_with("Bearer"), "{scheme}");
        }
    }
}

#[tokio::test]
async fn bad_parameters_are_named_before_any_upstream_call() {
    let answer = get("/logs?levle=ERROR", Some(KEY)).await;
    answer.assert_error(400, "unknown_parameter", Some("levle"));
    get("/logs?limit=0", Some(KEY))
        .await
        .assert_error(400, "invalid_parameter", Some("limit"));
    get("/logs?source=nope", Some(KEY))
        .await
        .assert_error(400, "unknown_source", Some("source"));
    get("/logs?cursor=garbage", Some(KEY)).await.assert_error(
        400,
        "invalid_cursor",
        Some("cursor"),
    );
}

/// An empty window is answered at once, asking no source: each source's
/// report shows no upstream request (and the configured sources sit on a
/// closed port, so one would fail the page with a 502).
#[tokio::test]
async fn an_empty_window_asks_no_source() {
    for uri in [
        "/logs?end=0001-01-01T00:00:00Z",
        "/logs?end=1969-12-31T23:59:59.999Z&order=asc",
        "/logs?start=0001-01-01T00:00:00Z&end=1969-12-31T23:59:59Z&q=x",
        "/logs?start=2999-01-01T00:00:00Z",
    ] {
        let answer = get(uri, Some(KEY)).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.text());
        let page = answer.json();
        assert_eq!(page["logs"], serde_json::json!([]), "{uri}");
        assert_eq!(page["next_cursor"], Value::Null, "{uri}");
        for name in ["app", "other"] {
            assert_eq!(
                page["sources"][name]["upstream_requests"], 0,
                "{uri}: {page}"
            );
        }
    }
    let stats = "/logs/stats?start=1960-01-01T00:00:00Z&end=1965-01-01T00:00:00Z&interval=1y";
    for method in ["auto", "scan"] {
        let answer = get(&format!("{stats}&method={method}"), Some(KEY)).await;
        assert_eq!(answer.status, StatusCode::OK, "{method}: {}", answer.text());
        let body = answer.json();
        assert_eq!(body["complete"], true, "{body}");
        for name in ["app", "other"] {
            assert_eq!(body["sources"][name]["upstream_requests"], 0, "{body}");
        }
    }
}

/// An integer parameter is digits only, as the document's `type: integer`
/// spells one: `str::parse` would take a sign (`limit=+5`) and loggate
/// did; every integer parameter reads through one function.
#[tokio::test]
async fn an_integer_parameter_is_digits_only() {
    for limit in ["%2B5", "%205", "5%20", "-5", "5e0", "0x5", ""] {
        get(&format!("/logs?limit={limit}"), Some(KEY))
            .await
            .assert_error(400, "invalid_parameter", Some("limit"));
        get(&format!("/logs/tail?limit={limit}"), Some(KEY))
            .await
            .assert_error(400, "invalid_parameter", Some("limit"));
        let loki = format!("/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&limit={limit}");
        let answer = get(&loki, Some(KEY)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{limit}");
        assert!(
            answer.text().starts_with("limit: expected an integer"),
            "{}",
            answer.text()
        );
    }
}

/// A duration over its bound is refused naming the bound, not its form.
#[tokio::test]
async fn an_interval_over_its_bound_names_the_bound() {
    let answer = get(
        "/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=99999999999999999999h",
        Some(KEY),
    )
    .await;
    answer.assert_error(400, "invalid_parameter", Some("interval"));
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("is too large") && message.contains("10^15 ms"),
        "{message}"
    );
    let loki = "/loki/api/v1/query_range?query=%7Bsource%3D%22app%22%7D&step=99999999999999999999h";
    let answer = get(loki, Some(KEY)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .starts_with("step: \"99999999999999999999h\" is too large"),
        "{}",
        answer.text()
    );
}

/// The Loki routes' path segment and handshake refusals are Loki's plain
/// text in the gateway's words, never axum's own text: an empty or odd
/// label name, one that is not UTF-8 once decoded, a tail that is not a
/// WebSocket handshake.
#[tokio::test]
async fn loki_path_and_handshake_refusals_are_named() {
    for (name, says) in [
        ("", "name: expected a label name"),
        ("%20", "name: expected a label name"),
        ("a%2Fb", "name: expected a label name"),
        ("9lives", "name: expected a label name"),
        ("%FF", "name: not valid UTF-8 once percent-decoded"),
    ] {
        let answer = get(&format!("/loki/api/v1/label/{name}/values"), Some(KEY)).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            answer.text()
        );
        assert_eq!(
            answer.headers[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert!(answer.text().starts_with(says), "{name}: {}", answer.text());
    }
    let answer = get(
        "/loki/api/v1/tail?query=%7Bsource%3D%22app%22%7D",
        Some(KEY),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert!(
        answer.text().starts_with(
            "not a WebSocket handshake (RFC 6455), which this route requires: connection header"
        ),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn a_key_may_not_read_a_source_outside_its_scope() {
    get("/logs?source=other", Some(SCOPED))
        .await
        .assert_error(403, "forbidden", Some("source"));
    let answer = get("/sources", Some(SCOPED)).await;
    assert_eq!(answer.status, StatusCode::OK);
    let names: Vec<Value> = answer.json()["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, vec![Value::from("app")]);
}

#[tokio::test]
async fn open_endpoints_answer_without_a_key() {
    let health = get("/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json(), serde_json::json!({ "status": "ok" }));
    let ready = get("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");
    let doc = get("/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json()["paths"]["/logs"].is_object());
    let metrics = get("/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains("loggate_circuit_breaker_state{source=\"app\"} 0"),
        "{text}"
    );
}

#[tokio::test]
async fn a_client_request_id_is_echoed_and_a_bad_one_replaced() {
    let request = |id: &str| {
        Request::get("/healthz")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let response = router().oneshot(request("abc-123")).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = router().oneshot(request("a b\tc")).await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.is_empty() && id != "a b\tc");
}

/// An empty or hostile parameter name is named readably: `(empty name)`,
/// or its first 64 characters, not the whole text back (`param` keeps it).
#[tokio::test]
async fn an_odd_parameter_name_is_shown_readably() {
    let empty = get("/logs?=x", Some(KEY)).await;
    empty.assert_error(400, "unknown_parameter", Some(""));
    let message = empty.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("(empty name): unknown parameter"),
        "{message}"
    );
    let long = "z".repeat(3000);
    for path in ["/logs", "/logs/stats"] {
        let answer = get(&format!("{path}?{long}=1"), Some(KEY)).await;
        answer.assert_error(400, "unknown_parameter", Some(&long));
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        let shown = format!(
            "{}...: unknown parameter; expected source, ",
            "z".repeat(64)
        );
        assert!(message.starts_with(&shown), "{path}: {message}");
    }
}

/// A tail resumed with a `Last-Event-ID` this gateway did not sign is
/// refused naming the header the client sent, not `cursor`.
#[tokio::test]
async fn a_bad_last_event_id_is_named_as_sent() {
    let request = |id: &str, query: &str| {
        Request::get(format!("/logs/tail{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
            .header("last-event-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let answer = answer_of(request("garbage", "")).await;
    answer.assert_error(400, "invalid_cursor", Some("Last-Event-ID"));
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.starts_with("Last-Event-ID: "), "{message}");
    // An empty header is no resumption: the query's cursor is the one named.
    answer_of(request(" ", "?cursor=garbage"))
        .await
        .assert_error(400, "invalid_cursor", Some("cursor"));
}
