//! Black-box: the two live tails in `/openapi.json` (spec §8, issue 17):
//! `/logs/tail` documents the `/logs` parameters (with `order` only `asc`),
//! `since` and `Last-Event-ID`, its event stream and its refusals before
//! the stream; `/loki/api/v1/tail` its parameters (`delay_for` 0 to 5),
//! the handshake, the frames and the close codes. Where a schema narrows
//! a value, the gateway agrees: what the schema rejects is refused before
//! the stream starts, and a value it allows opens the stream.

mod common;

use common::{one_open_source, Gateway};
use serde_json::Value;

fn parameter<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has parameters"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path} documents {name}"))
}

async fn document(gateway: &Gateway) -> Value {
    let (status, doc) = gateway.get("/openapi.json").await;
    assert_eq!(status, 200);
    doc
}

#[tokio::test]
async fn the_sse_tail_is_documented_with_the_logs_parameters_and_its_events() {
    let (gateway, _sim) = one_open_source().await;
    let doc = document(&gateway).await;
    let logs: Vec<&Value> = doc["paths"]["/logs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    for name in &logs {
        let name = name.as_str().unwrap();
        let tail = parameter(&doc, "/logs/tail", name);
        if !["order", "follow", "partial"].contains(&name) {
            assert_eq!(tail, parameter(&doc, "/logs", name), "{name}");
        }
    }
    // A tail always follows and always goes on with the other sources:
    // `follow` and `partial` take only `true`, and their example is valid.
    for name in ["follow", "partial"] {
        let p = parameter(&doc, "/logs/tail", name);
        assert_eq!(p["schema"]["type"], "boolean", "{p}");
        assert_eq!(p["schema"]["enum"], serde_json::json!([true]), "{p}");
        assert_eq!(p["example"], true, "{p}");
    }
    let order = parameter(&doc, "/logs/tail", "order");
    assert_eq!(
        order["schema"]["enum"],
        serde_json::json!(["asc"]),
        "{order}"
    );
    let since = parameter(&doc, "/logs/tail", "since");
    assert_eq!(since["schema"]["format"], "date-time", "{since}");
    assert_eq!(
        parameter(&doc, "/logs/tail", "Last-Event-ID")["in"],
        "header"
    );
    let source = parameter(&doc, "/logs/tail", "source");
    assert!(
        source["schema"]["pattern"]
            .as_str()
            .unwrap()
            .contains("app"),
        "{source}"
    );

    let responses = &doc["paths"]["/logs/tail"]["get"]["responses"];
    let ok = &responses["200"];
    assert!(ok["content"]["text/event-stream"].is_object(), "{ok}");
    let said = ok["description"].as_str().unwrap();
    for event in [
        "retry:",
        "event: open",
        "event: logs",
        "event: status",
        "event: end",
        "shutdown",
        "heartbeat",
        "Last-Event-ID",
    ] {
        assert!(said.contains(event), "the 200 describes {event}: {said}");
    }
    assert_eq!(
        responses["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorEnvelope"
    );
    for status in ["403", "414", "429", "431"] {
        assert!(responses[status].is_object(), "/logs/tail {status}");
    }

    // The narrowed `order`: `desc` (outside the enum) is refused before
    // the stream; `asc` opens it.
    let (status, body) = gateway.get("/logs/tail?order=desc").await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("order")),
        "{body}"
    );
    let response = gateway
        .client
        .get(gateway.url("/logs/tail?order=asc"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");

    // The narrowed `follow` and `partial`: `false` is refused before the
    // stream, naming the parameter and why; `true` opens it.
    for (name, why) in [
        ("follow", "a tail always follows"),
        ("partial", "a tail always goes on with the other sources"),
    ] {
        let (status, body) = gateway.get(&format!("/logs/tail?{name}=false")).await;
        let error = &body["error"];
        assert_eq!(
            (status, error["code"].as_str(), error["param"].as_str()),
            (400, Some("invalid_parameter"), Some(name)),
            "{body}"
        );
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{name}: {why}")), "{body}");
        let response = gateway
            .client
            .get(gateway.url(&format!("/logs/tail?{name}=true")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}=true");
    }
    // The 204 of a terminal cursor (a tail whose `end` was reached).
    assert!(responses["204"].is_object(), "{responses}");
}

#[tokio::test]
async fn the_websocket_tail_is_documented_with_its_frames_and_delay_for() {
    let (gateway, _sim) = one_open_source().await;
    let doc = document(&gateway).await;
    let path = "/loki/api/v1/tail";
    assert_eq!(parameter(&doc, path, "query")["required"], true);
    let delay = &parameter(&doc, path, "delay_for")["schema"];
    assert_eq!(
        (delay["minimum"].as_u64(), delay["maximum"].as_u64()),
        (Some(0), Some(5)),
        "{delay}"
    );
    assert_eq!(parameter(&doc, path, "cursor")["schema"]["minLength"], 1);
    assert_eq!(parameter(&doc, path, "limit")["schema"]["maximum"], 5000);
    for header in [
        "Connection",
        "Upgrade",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Key",
    ] {
        assert_eq!(parameter(&doc, path, header)["in"], "header", "{header}");
    }
    let responses = &doc["paths"][path]["get"]["responses"];
    let said = responses["101"]["description"].as_str().expect("a 101");
    for part in [
        "streams",
        "dropped_entries",
        "cursor",
        "1001",
        "shutdown",
        "backfill",
        "idle",
    ] {
        assert!(said.contains(part), "the 101 describes {part}: {said}");
    }
    assert!(responses["400"]["content"]["text/plain"].is_object());
    // A backfill no source could serve is refused before the upgrade, as
    // a `query_range` would be: documented, in plain text.
    for status in ["502", "504"] {
        let said = responses[status]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(said.contains("backfill"), "{status}: {responses}");
        assert!(
            responses[status]["content"]["text/plain"].is_object(),
            "{status}"
        );
    }

    // `delay_for` as documented: 5 upgrades, 6 is refused before it.
    let query = "query=%7Bsource%3D%22app%22%7D";
    let url = |delay: u8| format!("ws://{}{path}?{query}&delay_for={delay}", gateway.addr);
    tokio_tungstenite::connect_async(url(5))
        .await
        .expect("delay_for=5 upgrades");
    match tokio_tungstenite::connect_async(url(6)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 400)
        }
        other => panic!("delay_for=6: expected 400 before the upgrade, got {other:?}"),
    }
    // Not a handshake: 400, as the document says.
    let plain = gateway.client.get(gateway.url(&format!("{path}?{query}")));
    assert_eq!(plain.send().await.unwrap().status(), 400);
}
