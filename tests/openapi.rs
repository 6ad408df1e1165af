//! Black-box: `/openapi.json` is an OpenAPI 3 document that matches
//! reality. Every documented `/logs` parameter is accepted and an
//! undocumented one rejected; real responses of `/logs`, `/sources` and
//! every documented error status validate against the documented schemas
//! (with a small validator for the subset of JSON Schema utoipa emits).

mod common;

use common::fleet::{Kind, Sim};
use common::Gateway;
use loggate_core::sim::{serve_loopback, Fault, Served};
use serde_json::Value;
use sha2::{Digest, Sha256};

const ALL_KEY: &str = "lg_test_all_sources";
const APP_KEY: &str = "lg_test_app_only";

fn sha(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `app` answers, `dead` refuses connections, `slow` hangs; the `app`
/// key may read `app` only and has a tiny rate limit.
async fn start() -> (Gateway, Vec<Served>) {
    let kind = Kind::stand_in();
    let app = Sim::of(kind, 80);
    let app_server = serve_loopback(app.router()).await.unwrap();
    let slow = Sim::of(kind, 80);
    slow.faults().fail_always(Fault::Hang);
    let slow_server = serve_loopback(slow.router()).await.unwrap();
    // A port that was just free: connections are refused.
    let dead_addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let fast = "rate_limit = { per_second = 100000, burst = 100000 }\nretries = 0";
    let toml = format!(
        r#"[server]
request_timeout = "5s"
[sources.app]
kind = "{kind}"
base_url = "{app}"
token = "{token}"
{fast}
[sources.dead]
kind = "{kind}"
base_url = "http://{dead_addr}"
token = "{token}"
{fast}
[sources.slow]
kind = "{kind}"
base_url = "{slow}"
token = "{token}"
timeout = "300ms"
{fast}
[auth.keys.all]
sha256 = "{all}"
sources = ["*"]
[auth.keys.app]
sha256 = "{app_sha}"
sources = ["app"]
rate_limit = {{ per_second = 1, burst = 3 }}
"#,
        app = app_server.base_url(),
        slow = slow_server.base_url(),
        token = app.token(),
        kind = kind.provider,
        all = sha(ALL_KEY),
        app_sha = sha(APP_KEY),
    );
    (Gateway::start(&toml).await, vec![app_server, slow_server])
}

async fn document(gateway: &Gateway) -> Value {
    let (status, doc) = gateway.get("/openapi.json").await;
    assert_eq!(status, 200);
    doc
}

#[tokio::test]
async fn the_document_is_openapi_3_and_covers_every_endpoint() {
    let (gateway, _sims) = start().await;
    let doc = document(&gateway).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    // utoipa's own types read it back.
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("deserialises as OpenAPI");
    assert_eq!(parsed.info.title, "loggate");
    for path in [
        "/logs",
        "/sources",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/logs/tail",
        "/loki/api/v1/tail",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} undocumented");
    }
    let logs = &doc["paths"]["/logs"]["get"];
    for status in ["200", "400", "401", "403", "429", "502", "504"] {
        assert!(logs["responses"][status].is_object(), "/logs {status}");
    }
    assert!(logs["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert!(logs["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
    assert_eq!(logs["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let entry = &doc["components"]["schemas"]["LogEntry"];
    assert_eq!(entry["additionalProperties"], false, "{entry}");
    for field in [
        "id",
        "timestamp",
        "level",
        "service",
        "user_id",
        "attributes",
    ] {
        assert!(
            entry["required"]
                .as_array()
                .unwrap()
                .contains(&field.into()),
            "{field}: {entry}"
        );
    }
    let documented = params(&doc);
    let names: Vec<&str> = documented.iter().map(|p| p.0.as_str()).collect();
    for name in [
        "source",
        "start",
        "end",
        "level",
        "min_level",
        "q",
        "service",
        "user_id",
        "attr.NAME",
        "order",
        "limit",
        "cursor",
        "include",
        "partial",
    ] {
        assert!(names.contains(&name), "{name} undocumented in {names:?}");
    }
}

/// `(name, example value)` of each documented /logs parameter.
fn params(doc: &Value) -> Vec<(String, Option<String>)> {
    doc["paths"]["/logs"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| {
            assert_eq!(p["in"], "query");
            let example = match &p["example"] {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            };
            (p["name"].as_str().unwrap().to_string(), example)
        })
        .collect()
}

/// A value for a documented parameter: its example, else the first value
/// of its enum.
fn value_for(doc: &Value, name: &str, example: Option<String>) -> Option<String> {
    if let Some(example) = example {
        return Some(example);
    }
    let param = doc["paths"]["/logs"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap();
    let schema = resolve(doc, &param["schema"]);
    let schema = schema
        .get("oneOf")
        .and_then(|o| o.as_array())
        .and_then(|alts| alts.iter().find(|a| a["type"] != "null"))
        .map(|a| resolve(doc, a))
        .unwrap_or(schema);
    schema["enum"][0].as_str().map(str::to_string)
}

#[tokio::test]
async fn every_documented_parameter_is_accepted_and_others_rejected() {
    let (gateway, _sims) = start().await;
    let doc = document(&gateway).await;
    let key = Some(ALL_KEY);
    let (status, first) = gateway.get_with("/logs?source=app&limit=2", key).await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    for (name, example) in params(&doc) {
        // The examples name sources of a typical deployment; this one has `app`.
        let query = if name == "cursor" {
            format!("cursor={cursor}")
        } else if name == "source" {
            "source=app".to_string()
        } else {
            let value = value_for(&doc, &name, example)
                .unwrap_or_else(|| panic!("{name}: no example or enum to send"));
            format!("source=app&{name}={}", common::enc(&value))
        };
        let (status, body) = gateway.get_with(&format!("/logs?{query}"), key).await;
        assert_eq!(status, 200, "documented {query} refused: {body}");
        validate(&doc, &response_schema(&doc, "/logs", "200"), &body, "$")
            .unwrap_or_else(|e| panic!("{query}: {e}\n{body}"));
    }
    let (status, body) = gateway.get_with("/logs?source=app&colour=blue", key).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &"unknown_parameter".into())
    );
}

#[tokio::test]
async fn real_responses_validate_against_the_documented_schemas() {
    let (gateway, _sims) = start().await;
    let doc = document(&gateway).await;
    let all = Some(ALL_KEY);
    let cases: Vec<(&str, &str, Option<&str>, u16)> = vec![
        ("/logs", "/logs?source=app&limit=5&include=raw", all, 200),
        ("/logs", "/logs?limit=5", all, 200), // partial: dead and slow fail
        ("/sources", "/sources", all, 200),
        ("/logs", "/logs?limit=abc", all, 400),
        ("/logs", "/logs?colour=blue", all, 400),
        ("/logs", "/logs", None, 401),
        ("/sources", "/sources", Some("lg_wrong"), 401),
        ("/logs", "/logs?source=dead", Some(APP_KEY), 403),
        ("/logs", "/logs?source=dead", all, 502),
        ("/logs", "/logs?source=app,dead&partial=false", all, 502),
        ("/logs", "/logs?source=slow", all, 504),
        ("/healthz", "/healthz", None, 200),
        ("/readyz", "/readyz", None, 200),
    ];
    for (path, query, key, want) in cases {
        let (status, body) = gateway.get_with(query, key).await;
        assert_eq!(status, want, "{query}: {body}");
        let schema = response_schema(&doc, path, &status.to_string());
        validate(&doc, &schema, &body, "$").unwrap_or_else(|e| panic!("{query}: {e}\n{body}"));
    }
    let long = format!("/logs?q={}", "a".repeat(9000));
    let (status, body) = gateway.get_with(&long, all).await;
    assert_eq!(status, 414, "{body}");
    validate(&doc, &response_schema(&doc, "/logs", "414"), &body, "$").unwrap();
    // 404 is answered for any path; its envelope is the documented one.
    let (status, body) = gateway.get("/nope").await;
    assert_eq!(status, 404);
    validate(
        &doc,
        &serde_json::json!({"$ref": "#/components/schemas/ErrorEnvelope"}),
        &body,
        "$",
    )
    .unwrap();
    // 429: the app key allows a burst of 3, then waits a second.
    let mut limited = None;
    for _ in 0..10 {
        let response = gateway
            .client
            .get(gateway.url("/logs?limit=1"))
            .bearer_auth(APP_KEY)
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert!(response.headers().get("retry-after").is_some());
            limited =
                Some(serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap());
            break;
        }
    }
    let body = limited.expect("the app key is rate limited within 10 requests");
    validate(&doc, &response_schema(&doc, "/logs", "429"), &body, "$").unwrap();
}

#[tokio::test]
async fn docs_page_is_served_by_the_gateway() {
    let (gateway, _sims) = start().await;
    let response = gateway
        .client
        .get(gateway.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("://cdn") && !html.contains("unpkg.com"),
        "{html}"
    );
    let initializer = gateway.text("/docs/swagger-initializer.js").await;
    assert!(initializer.contains("/openapi.json"), "{initializer}");
}

// ---- a validator for the subset of JSON Schema the document uses ----

fn response_schema(doc: &Value, path: &str, status: &str) -> Value {
    let response = &doc["paths"][path]["get"]["responses"][status];
    assert!(response.is_object(), "{path} {status} undocumented");
    response["content"]["application/json"]["schema"].clone()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unsupported $ref {r}"));
            let target = &doc["components"]["schemas"][name];
            assert!(target.is_object(), "dangling $ref {r}");
            resolve(doc, target)
        }
        None => schema,
    }
}

fn type_matches(ty: &str, value: &Value) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => panic!("unsupported type {other}"),
    }
}

const KNOWN: [&str; 19] = [
    "$ref",
    "propertyNames",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "oneOf",
    "allOf",
    "minimum",
    "maximum",
    "pattern",
    "format",
    "description",
    "example",
    "examples",
    "title",
    "default",
];

fn validate(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    let Some(keywords) = schema.as_object() else {
        return Err(format!("{at}: schema is not an object: {schema}"));
    };
    for keyword in keywords.keys() {
        assert!(
            KNOWN.contains(&keyword.as_str()),
            "{at}: unsupported keyword {keyword}"
        );
    }
    if let Some(ty) = schema.get("type") {
        let ok = match ty {
            Value::String(t) => type_matches(t, value),
            Value::Array(ts) => ts.iter().any(|t| type_matches(t.as_str().unwrap(), value)),
            _ => panic!("bad type {ty}"),
        };
        if !ok {
            return Err(format!("{at}: expected type {ty}, got {value}"));
        }
    }
    if let Some(alternatives) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = alternatives
            .iter()
            .filter(|a| validate(doc, a, value, at).is_ok())
            .count();
        if matching != 1 {
            return Err(format!("{at}: {matching} oneOf alternatives match {value}"));
        }
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for a in all {
            validate(doc, a, value, at)?;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{at}: {value} not in {options:?}"));
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return Err(format!("{at}: {n} < minimum {min}"));
        }
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n > max {
            return Err(format!("{at}: {n} > maximum {max}"));
        }
    }
    if let (Some(pattern), Some(s)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) {
        // The document's patterns are all of the form ^(a|b|c)$.
        let options = pattern
            .strip_prefix("^(")
            .and_then(|p| p.strip_suffix(")$"))
            .unwrap_or_else(|| panic!("unsupported pattern {pattern}"));
        if !options.split('|').any(|o| o == s) {
            return Err(format!("{at}: {s:?} does not match {pattern}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: required {name} missing"));
            }
        }
        for (name, field) in object {
            let here = format!("{at}.{name}");
            if let Some(names) = schema.get("propertyNames") {
                validate(doc, names, &Value::String(name.clone()), &here)?;
            }
            match properties.and_then(|p| p.get(name)) {
                Some(property) => validate(doc, property, field, &here)?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{here}: undocumented property"))
                    }
                    Some(extra @ Value::Object(_)) => validate(doc, extra, field, &here)?,
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn the_validator_rejects_what_it_should() {
    let doc = serde_json::json!({"components": {"schemas": {
        "E": {"type": "object", "required": ["a"], "additionalProperties": false,
              "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "integer", "minimum": 1}}}
    }}});
    let schema = serde_json::json!({"$ref": "#/components/schemas/E"});
    let check = |v: Value| validate(&doc, &schema, &v, "$");
    assert!(check(serde_json::json!({"a": null})).is_ok());
    assert!(check(serde_json::json!({"a": "x", "b": 2})).is_ok());
    assert!(check(serde_json::json!({"b": 2})).is_err());
    assert!(check(serde_json::json!({"a": 1})).is_err());
    assert!(check(serde_json::json!({"a": "x", "c": 1})).is_err());
    assert!(check(serde_json::json!({"a": "x", "b": 0})).is_err());
}
