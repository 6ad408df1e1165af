//! Black-box input limits: an over-long query string, oversized headers, a
//! body on `GET`, too many sources or `attr.*` filters — each refused with
//! the error envelope (also beyond hyper's own limits: the connection
//! guard answers those first, see tests/connections.rs), and the gateway
//! keeps serving afterwards.

mod common;

use common::Gateway;
use loggate::engine::query::{MAX_ATTR_FILTERS, MAX_SOURCES};
use loggate::http::limits::{MAX_HEADER_BYTES, MAX_QUERY_BYTES};
use loggate_core::sim::Served;
use serde_json::Value;

async fn start() -> (Gateway, Served) {
    common::stand_in_source(30, "").await
}

async fn envelope(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap();
    let value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "status {status} without the envelope: {}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, value)
}

/// Sends raw bytes, returns everything the gateway answers.
async fn raw_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    );
    let _ = read.await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn assert_code(status: u16, body: &Value, want: u16, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn an_over_long_query_string_is_414() {
    let (g, _sim) = start().await;
    // Just within: an ordinary validation error, not a length error.
    let within = format!("/logs?q={}", "a".repeat(MAX_QUERY_BYTES - 2));
    let (status, body) = g.get(&within).await;
    assert_code(status, &body, 400, "invalid_parameter");
    assert_eq!(body["error"]["param"], "q");
    let over = format!("/logs?q={}", "a".repeat(MAX_QUERY_BYTES));
    let (status, body) = g.get(&over).await;
    assert_code(status, &body, 414, "uri_too_long");
    // Also before authentication and on unknown paths.
    let (status, body) = g.get(&format!("/nope?x={}", "%41".repeat(4000))).await;
    assert_code(status, &body, 414, "uri_too_long");
    // Far beyond hyper's URI limit: still the envelope.
    let huge = format!(
        "GET /logs?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = raw_exchange(g.addr, &huge).await;
    let status_line = answer.lines().next().unwrap_or("");
    assert!(status_line.starts_with("HTTP/1.1 414"), "{status_line}");
    assert!(answer.contains("\"uri_too_long\""), "{answer}");
    let (status, _) = g.get("/logs?limit=1").await;
    assert_eq!(status, 200, "still serving");
}

#[tokio::test]
async fn oversized_headers_are_431() {
    let (g, _sim) = start().await;
    let response = g
        .client
        .get(g.url("/logs"))
        .header("x-padding", "p".repeat(MAX_HEADER_BYTES + 1))
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(response).await;
    assert_code(status, &body, 431, "headers_too_large");
    // Many small headers add up the same way.
    let mut request = g.client.get(g.url("/sources"));
    for i in 0..60 {
        request = request.header(format!("x-h{i}"), "v".repeat(400));
    }
    let (status, body) = envelope(request.send().await.unwrap()).await;
    assert_code(status, &body, 431, "headers_too_large");
    // Beyond hyper's own buffer (about 400 KiB): the envelope too.
    let response = g
        .client
        .get(g.url("/logs"))
        .header("x-padding", "p".repeat(600 * 1024))
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(response).await;
    assert_code(status, &body, 431, "headers_too_large");
    let (status, _) = g.get("/logs?limit=1").await;
    assert_eq!(status, 200, "still serving");
}

#[tokio::test]
async fn a_get_with_a_body_is_400() {
    let (g, _sim) = start().await;
    for path in ["/logs", "/sources", "/healthz"] {
        let response = g
            .client
            .get(g.url(path))
            .body("{\"source\":\"app\"}")
            .send()
            .await
            .unwrap();
        let (status, body) = envelope(response).await;
        assert_code(status, &body, 400, "body_not_allowed");
    }
    // A chunked body, sent by hand (no Content-Length).
    let head = raw_exchange(
        g.addr,
        "GET /logs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nchunk\r\n0\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(head.contains("body_not_allowed"), "{head}");
    // An explicit empty body is fine.
    let response = g
        .client
        .get(g.url("/logs?limit=1"))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn too_many_sources_or_attribute_filters_are_400() {
    let (g, _sim) = start().await;
    let names: Vec<String> = (0..=MAX_SOURCES).map(|i| format!("s{i}")).collect();
    let (status, body) = g.get(&format!("/logs?source={}", names.join(","))).await;
    assert_code(status, &body, 400, "invalid_parameter");
    assert_eq!(body["error"]["param"], "source");
    // At the cap the names are checked one by one instead.
    let (status, body) = g
        .get(&format!("/logs?source={}", names[..MAX_SOURCES].join(",")))
        .await;
    assert_code(status, &body, 400, "unknown_source");

    let attrs = |n: usize| {
        (0..n)
            .map(|i| format!("attr.a{i}=v"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let (status, body) = g
        .get(&format!("/logs?{}", attrs(MAX_ATTR_FILTERS + 1)))
        .await;
    assert_code(status, &body, 400, "invalid_parameter");
    assert_eq!(body["error"]["param"], "attr");
    let (status, body) = g.get(&format!("/logs?{}", attrs(MAX_ATTR_FILTERS))).await;
    assert_eq!(status, 200, "{body}");
}
