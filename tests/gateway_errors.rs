//! Black-box: every parameter given a bad value gets `400` with the right
//! `code` and `param`; cursors that are altered or reused with different
//! filters are refused; every error path answers with the envelope.

mod common;

use common::Gateway;
use loggate_core::sim::Served;
use serde_json::Value;

async fn start() -> (Gateway, Served) {
    common::stand_in_source(60, "").await
}

fn assert_envelope(
    status: u16,
    body: &Value,
    want_status: u16,
    code: &str,
    param: Option<&str>,
    what: &str,
) {
    assert_eq!(status, want_status, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    match param {
        Some(p) => assert_eq!(body["error"]["param"], p, "{what}: {body}"),
        None => assert!(body["error"].get("param").is_none(), "{what}: {body}"),
    }
}

#[tokio::test]
async fn bad_values_get_400_naming_the_parameter() {
    let (gateway, _sim) = start().await;
    let cases = [
        ("source=", "invalid_parameter", "source"),
        ("source=nope", "unknown_source", "source"),
        ("start=yesterday", "invalid_parameter", "start"),
        ("end=2025-13-01T00:00:00Z", "invalid_parameter", "end"),
        (
            "start=2025-02-01T00:00:00Z&end=2025-01-01T00:00:00Z",
            "invalid_parameter",
            "end",
        ),
        ("level=LOUD", "invalid_parameter", "level"),
        ("min_level=ALL", "invalid_parameter", "min_level"),
        ("q=", "invalid_parameter", "q"),
        ("service=", "invalid_parameter", "service"),
        ("user_id=", "invalid_parameter", "user_id"),
        ("attr.=x", "invalid_parameter", "attr."),
        ("attr.name=", "invalid_parameter", "attr.name"),
        ("order=sideways", "invalid_parameter", "order"),
        ("limit=0", "invalid_parameter", "limit"),
        ("limit=1001", "invalid_parameter", "limit"),
        ("limit=-1", "invalid_parameter", "limit"),
        ("include=everything", "invalid_parameter", "include"),
        ("partial=maybe", "invalid_parameter", "partial"),
        ("cursor=", "invalid_cursor", "cursor"),
        ("cursor=not-a-cursor", "invalid_cursor", "cursor"),
        ("limit=5&limit=6", "invalid_parameter", "limit"),
        ("colour=blue", "unknown_parameter", "colour"),
    ];
    for (query, code, param) in cases {
        let (status, body) = gateway.get(&format!("/logs?{query}")).await;
        assert_envelope(status, &body, 400, code, Some(param), query);
    }
    let long_q = "x".repeat(257);
    let (status, body) = gateway.get(&format!("/logs?q={long_q}")).await;
    assert_envelope(
        status,
        &body,
        400,
        "invalid_parameter",
        Some("q"),
        "q of 257 characters",
    );
}

#[tokio::test]
async fn altered_and_mismatched_cursors_are_refused() {
    let (gateway, _sim) = start().await;
    let (status, body) = gateway.get("/logs?level=ERROR,WARN,INFO&limit=2").await;
    assert_eq!(status, 200, "{body}");
    let cursor = body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();

    // Flip one character in the middle.
    let mut altered: Vec<char> = cursor.chars().collect();
    let mid = altered.len() / 2;
    altered[mid] = if altered[mid] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    let (status, body) = gateway.get(&format!("/logs?cursor={altered}")).await;
    assert_envelope(
        status,
        &body,
        400,
        "invalid_cursor",
        Some("cursor"),
        "altered cursor",
    );

    let (status, body) = gateway
        .get(&format!("/logs?cursor={cursor}&level=ERROR"))
        .await;
    assert_envelope(
        status,
        &body,
        400,
        "cursor_mismatch",
        Some("level"),
        "changed level",
    );
    let (status, body) = gateway
        .get(&format!("/logs?cursor={cursor}&order=asc"))
        .await;
    assert_envelope(
        status,
        &body,
        400,
        "cursor_mismatch",
        Some("order"),
        "changed order",
    );

    // The same filters, another limit: fine.
    let (status, body) = gateway
        .get(&format!(
            "/logs?cursor={cursor}&level=info,warn,error&limit=7"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn every_error_path_uses_the_envelope() {
    let (gateway, _sim) = start().await;
    let (status, body) = gateway.get("/no/such/path").await;
    assert_envelope(status, &body, 404, "not_found", None, "unknown path");
    let response = gateway
        .client
        .post(gateway.url("/logs"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let (status, body) = gateway.get("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = gateway.get("/readyz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
}

#[tokio::test]
async fn a_failing_source_alone_is_502_and_with_partial_false_too() {
    let (gateway, sim) = start().await;
    drop(sim); // connection refused from now on
    let (status, body) = gateway.get("/logs").await;
    assert_envelope(
        status,
        &body,
        502,
        "upstream_error",
        None,
        "only source down",
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("app"),
        "{body}"
    );
}
