//! Black-box: each `/logs` parameter schema of `/openapi.json` says what
//! the parser accepts (issue 18 item 3). For every tightened parameter, a
//! value the schema rejects is answered 400 naming the parameter, and a
//! value the schema allows is answered 200. The schema is checked with a
//! small validator of the keywords these parameters use (`type`,
//! `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`, `format:
//! date-time`).

mod common;

use common::schema::{parameter_schema, schema_allows};
use common::{enc, one_open_source, Gateway};
use serde_json::Value;

/// Sends `/logs?<name>=<value>` and checks that
/// the schema and the gateway agree on `value`.
async fn agree(gateway: &Gateway, doc: &Value, name: &str, value: &str, allowed: bool) {
    let documented = if name.starts_with("attr.") {
        parameter_schema(doc, "/logs", "attr.NAME")
    } else {
        parameter_schema(doc, "/logs", name)
    };
    assert_eq!(
        schema_allows(documented, value),
        allowed,
        "{name}={value:?} against {documented}"
    );
    let query = format!("/logs?{name}={}", enc(value));
    let (status, body) = gateway.get(&query).await;
    if allowed {
        assert_eq!(status, 200, "{query}: {body}");
    } else {
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["param"], name, "{query}: {body}");
    }
}

#[tokio::test]
async fn each_tightened_parameter_schema_rejects_what_the_parser_rejects() {
    let (gateway, _sim) = one_open_source().await;
    let (status, doc) = gateway.get("/openapi.json").await;
    assert_eq!(status, 200);
    let long = |n: usize| "é".repeat(n);
    let cases: &[(&str, &[&str], &[&str])] = &[
        // (parameter, schema allows and code accepts, schema rejects and code rejects)
        (
            "level",
            &[
                "ERROR,warn",
                "Warning, critical",
                " info ",
                "TRACE,Debug,FATAL",
            ],
            &["foo", "", "WARNINGS", "INFO,", ",INFO", "ERROR;WARN"],
        ),
        (
            "min_level",
            &["INFO", "critical", "Warning", " error "],
            &["foo", "", "INFO,ERROR", "WARNINGS"],
        ),
        (
            "source",
            &["app", " app ,app"],
            &["", "J\u{94}", "app,", "APP", "a-b"],
        ),
        ("q", &["a", &long(256)], &["", &long(257)]),
        ("service", &["x", &long(1024)], &["", &long(1025)]),
        ("user_id", &["u_42", &long(1024)], &["", &long(1025)]),
        ("attr.workflowId", &["x", &long(1024)], &["", &long(1025)]),
        ("limit", &["1", "1000"], &["0", "1001", "-1", "ten"]),
        (
            "start",
            &["2025-04-29T00:00:00Z", "2025-04-29T00:00:00.5+02:00"],
            &["2025-04-29", "yesterday", ""],
        ),
        (
            "end",
            &["2030-01-01T00:00:00.000Z"],
            &["2030-01-01T00:00:00", "2030-01-01 00:00"],
        ),
    ];
    for (name, allowed, rejected) in cases {
        for value in *allowed {
            agree(&gateway, &doc, name, value, true).await;
        }
        for value in *rejected {
            agree(&gateway, &doc, name, value, false).await;
        }
    }
}

#[tokio::test]
async fn cursor_is_non_empty_and_a_real_one_is_accepted() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    agree(&gateway, &doc, "cursor", "", false).await;
    let (status, page) = gateway.get("/logs?limit=1").await;
    assert_eq!(status, 200, "{page}");
    let cursor = page["next_cursor"].as_str().expect("a next page");
    agree(&gateway, &doc, "cursor", cursor, true).await;
}

#[tokio::test]
async fn end_before_start_is_400_as_the_description_says() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    let params = doc["paths"]["/logs"]["get"]["parameters"]
        .as_array()
        .unwrap();
    for name in ["start", "end"] {
        let param = params.iter().find(|p| p["name"] == name).unwrap();
        let description = param["description"].as_str().unwrap();
        assert!(
            description.contains("`end` earlier than `start`") && description.contains("400"),
            "{name}: {description}"
        );
    }
    let (status, body) = gateway
        .get("/logs?start=2025-04-29T00:00:00Z&end=2025-04-28T23:59:59Z")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "end");
}
