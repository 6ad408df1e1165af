//! Black-box: the `/logs/stats` parameter schemas of `/openapi.json` say
//! what the parser accepts, so that schemathesis' generated data is mostly
//! valid and its `positive_data_acceptance` check can run on the operation
//! (the refusals a schema cannot express, parameters against each other,
//! are recognised by `.ci/schemathesis_hooks.py`). For `interval` and `by`,
//! a value the schema rejects is answered 400 naming the parameter, and a
//! value it allows is answered 200.

mod common;

use common::schema::{parameter_schema, schema_allows};
use common::{enc, one_open_source, Gateway};
use serde_json::Value;

/// A window of one day: any interval of at least 87 s fits in 1000 buckets.
const BASE: &str = "/logs/stats?start=2025-04-29T00:00:00Z&end=2025-04-30T00:00:00Z";

async fn agree(
    gateway: &Gateway,
    doc: &Value,
    rest: &str,
    (name, value, allowed): (&str, &str, bool),
) {
    let documented = parameter_schema(doc, "/logs/stats", name);
    assert_eq!(
        schema_allows(documented, value),
        allowed,
        "{name}={value:?} against {documented}"
    );
    let query = format!("{BASE}{rest}&{name}={}", enc(value));
    let (status, body) = gateway.get(&query).await;
    if allowed {
        assert_eq!(status, 200, "{query}: {body}");
    } else {
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["param"], name, "{query}: {body}");
    }
}

#[tokio::test]
async fn interval_schema_says_what_the_parser_reads() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    for (value, allowed) in [
        ("1h", true),
        ("1h30m", true),
        ("1.5h", true),
        ("90000ms", true),
        ("1d", true),
        ("5m0s", true),
        ("0s", false),
        ("0.5ms", false),
        ("100000000us", false),
        ("1", false),
        (" 1h", false),
        ("1h ", false),
        ("1H", false),
        // Matched the old `^([0-9]+(ms|...))+$` but overflows the parser.
        ("99999999999999999999y", false),
        ("1h1m1s1ms1h", false),
    ] {
        agree(&gateway, &doc, "", ("interval", value, allowed)).await;
    }
}

#[tokio::test]
async fn by_schema_says_what_the_parser_reads() {
    let (gateway, _sim) = one_open_source().await;
    let (_, doc) = gateway.get("/openapi.json").await;
    for (value, allowed) in [
        ("level", true),
        ("source,level", true),
        (" service , provider ", true),
        ("provider,service", true),
        // Matched the old pattern, refused as "level given twice".
        ("level,level", false),
        ("service, service", false),
        ("level,source,service", false),
        ("level,", false),
        ("host", false),
        ("\tlevel", false),
    ] {
        agree(&gateway, &doc, "&interval=1d", ("by", value, allowed)).await;
    }
}
