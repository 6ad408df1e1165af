//! Black-box: each `/loki/api/v1` parameter schema of `/openapi.json` says
//! what the Loki-compatible parser accepts (issue 18 item 3, the Loki
//! half of `tests/openapi_params.rs`). For every tightened parameter, a
//! value the schema rejects is answered 400 naming the parameter, and a
//! value the schema allows is answered 200. The LogQL text is only said to
//! be non-blank (a grammar is beyond a pattern). Labels, label values and
//! series answer `data` as the list their own schemas declare.

mod common;

use common::schema::{parameter_schema, schema_allows};
use common::{enc, one_open_source, Gateway};
use serde_json::Value;

/// The schema of parameter `name` of `GET path` (`/label/<name>/values`
/// as the document's template).
fn schema_of<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    let path = match path.strip_prefix("/loki/api/v1/label/") {
        Some(_) => "/loki/api/v1/label/{name}/values",
        None => path,
    };
    parameter_schema(doc, path, name)
}

/// Sends `path?<base>&<name>=<value>` and checks that the schema and the
/// gateway agree on `value`: 200, or 400 whose text names `name`.
async fn agree(gateway: &Gateway, doc: &Value, path: &str, base: &str, case: (&str, &str, bool)) {
    let (name, value, allowed) = case;
    let documented = schema_of(doc, path, name);
    assert_eq!(
        schema_allows(documented, value),
        allowed,
        "{path} {name}={value:?} against {documented}"
    );
    let sep = if base.is_empty() { "" } else { "&" };
    let query = format!("{path}?{base}{sep}{name}={}", enc(value));
    let response = reqwest::get(gateway.url(&query)).await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    if allowed {
        assert_eq!(status, 200, "{query}: {body}");
    } else {
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.starts_with(&format!("{name}: ")), "{query}: {body}");
    }
}

/// Values the schema allows (and the code accepts), values it rejects
/// (and the code rejects).
type Values<'a> = (&'a [&'a str], &'a [&'a str]);

const SELECTOR: &str = "query=%7Bsource%3D%22app%22%7D";
const SELECTOR_FROM_1: &str = "query=%7Bsource%3D%22app%22%7D&start=1";

#[tokio::test]
async fn each_loki_parameter_schema_rejects_what_the_parser_rejects() {
    let (gateway, _sim) = one_open_source().await;
    let (status, doc) = gateway.get("/openapi.json").await;
    assert_eq!(status, 200);
    let times: Values = (
        &[
            "1700000000",
            "1700000000000000001",
            "1700000000.25",
            "1700000000.",
            "2023-11-14T22:13:20.000000007Z",
            "2024-02-29T00:00:00+02:00",
        ],
        &[
            "",
            "yesterday",
            "-5",
            "+5",
            "1.7e9",
            "99999999999999999999",
            "9999999999999999999",
            "2023-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2023-11-14t22:13:20z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:60Z",
        ],
    );
    let durations: Values = (
        &[
            "30",
            "0.5",
            "1.",
            ".25",
            "5m",
            "1h30m",
            "1d2h3m4s",
            "250ms",
            "1m0s",
            "1.5s",
            "0.5s",
            "0.001s",
            "14000ms",
            "3600000ms",
        ],
        &[
            "",
            "0",
            "0.0",
            "0s",
            "-1",
            "1e3",
            "5 m",
            "1ns",
            "1h2m3s4ms5ms",
            "m",
            "0.5ms",
            "1.5us",
            "0.0001s",
            "1000000000000000ms",
            "99999y",
        ],
    );
    let cases: &[(&str, &str, &[&str], Values)] = &[
        // (path, fixed parameters, names, (schema allows and code accepts, schema rejects and code rejects))
        ("/loki/api/v1/query_range", SELECTOR, &["start"], times),
        ("/loki/api/v1/query_range", SELECTOR_FROM_1, &["end"], times),
        // Edges: the latest integer, and an offset stepping before 1970
        // (read as the epoch).
        (
            "/loki/api/v1/query_range",
            SELECTOR_FROM_1,
            &["end"],
            (&["8999999999999999999"], &[]),
        ),
        (
            "/loki/api/v1/query_range",
            SELECTOR,
            &["start"],
            (&["1970-01-01T00:00:00+01:00"], &[]),
        ),
        ("/loki/api/v1/labels", "start=1", &["end"], times),
        ("/loki/api/v1/query", "query=vector(1)", &["time"], times),
        (
            "/loki/api/v1/query_range",
            SELECTOR,
            &["since", "step", "interval"],
            durations,
        ),
        (
            "/loki/api/v1/label/source/values",
            "",
            &["since"],
            durations,
        ),
        (
            "/loki/api/v1/query_range",
            SELECTOR,
            &["direction"],
            (
                &["backward", "FORWARD", "Scan"],
                &["", "up", "forwards", " forward"],
            ),
        ),
        (
            "/loki/api/v1/query_range",
            SELECTOR,
            &["limit"],
            (&["1", "5000"], &["0", "5001", "-1", "ten"]),
        ),
        (
            "/loki/api/v1/query",
            "",
            &["query"],
            (&["vector(1)"], &["", " ", "\t"]),
        ),
    ];
    for (path, base, names, (allowed, rejected)) in cases {
        for name in *names {
            for value in *allowed {
                agree(&gateway, &doc, path, base, (name, value, true)).await;
            }
            for value in *rejected {
                agree(&gateway, &doc, path, base, (name, value, false)).await;
            }
        }
    }
}

#[tokio::test]
async fn labels_values_and_series_answer_the_lists_their_schemas_declare() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    let data_of = |path: &str| {
        let schema = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"]["$ref"];
        let name = schema.as_str().unwrap().rsplit('/').next().unwrap();
        doc["components"]["schemas"][name]["properties"]["data"].clone()
    };
    for path in ["/loki/api/v1/labels", "/loki/api/v1/label/{name}/values"] {
        let data = data_of(path);
        assert_eq!(data["type"], "array", "{path}: {data}");
        assert_eq!(data["items"]["type"], "string", "{path}: {data}");
    }
    let series = data_of("/loki/api/v1/series");
    assert_eq!(series["type"], "array", "{series}");
    assert_eq!(series["items"]["type"], "object", "{series}");
    assert_eq!(
        series["items"]["additionalProperties"]["type"], "string",
        "{series}"
    );
    let (status, labels) = gateway.get("/loki/api/v1/labels?since=1d").await;
    assert_eq!(status, 200, "{labels}");
    let names = labels["data"].as_array().expect("a list");
    assert!(names.contains(&"source".into()), "{labels}");
    let (_, values) = gateway.get("/loki/api/v1/label/source/values").await;
    assert_eq!(values["data"], serde_json::json!(["app"]));
    let (status, series) = gateway
        .get("/loki/api/v1/series?match[]=%7Bsource%3D%22app%22%7D&since=1d")
        .await;
    assert_eq!(status, 200, "{series}");
    let sets = series["data"].as_array().expect("a list");
    assert!(
        !sets.is_empty() && sets.iter().all(Value::is_object),
        "{series}"
    );
}

/// `/logs` and `/logs/stats` both refuse a source that is not configured
/// (schemathesis found `/logs/stats` "mostly rejected" with the generic
/// name pattern).
#[tokio::test]
async fn the_source_pattern_names_the_configured_sources() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    for path in [
        "/logs?limit=1",
        "/logs/stats?start=2025-04-29T00:00:00Z&end=2025-04-30T00:00:00Z&interval=1d",
    ] {
        source_pattern_agrees(&gateway, &doc, path).await;
    }
}

async fn source_pattern_agrees(gateway: &Gateway, doc: &Value, path: &str) {
    let schema = schema_of(doc, path.split('?').next().unwrap(), "source");
    for (value, allowed) in [
        ("app", true),
        (" app , app", true),
        ("zz", false),
        ("app,zz", false),
    ] {
        assert_eq!(schema_allows(schema, value), allowed, "{value}: {schema}");
        let (status, body) = gateway.get(&format!("{path}&source={}", enc(value))).await;
        if allowed {
            assert_eq!(status, 200, "{path} {value}: {body}");
        } else {
            assert_eq!(
                (status, &body["error"]["code"]),
                (400, &"unknown_source".into()),
                "{path} {value}"
            );
        }
    }
}
