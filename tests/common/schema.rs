//! The parameter schemas of `/openapi.json`, read and checked the way
//! JSON Schema does, for the tests that hold each documented schema to
//! what the gateway's parsers accept (`openapi_params`,
//! `openapi_loki_params`, `openapi_stats_params`).

use serde_json::Value;

/// The schema of parameter `name` of `GET path` as the document states
/// it; panics naming the path and the parameter when it is undocumented.
pub fn parameter_schema<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    let params = doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no parameters"));
    let param = params
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path}: {name} undocumented"));
    &param["schema"]
}

/// Whether `value` (as sent in the query) is valid per `schema`: the
/// keywords these parameters use (`type` integer or string, `minimum`,
/// `maximum`, `minLength`, `maxLength`, `pattern` searched as JSON Schema
/// does, `format: date-time`).
pub fn schema_allows(schema: &Value, value: &str) -> bool {
    match schema["type"].as_str().unwrap() {
        "integer" => value.parse::<i64>().is_ok_and(|n| {
            schema["minimum"].as_i64().is_none_or(|m| n >= m)
                && schema["maximum"].as_i64().is_none_or(|m| n <= m)
        }),
        "string" => {
            let chars = value.chars().count() as u64;
            schema["minLength"].as_u64().is_none_or(|m| chars >= m)
                && schema["maxLength"].as_u64().is_none_or(|m| chars <= m)
                && schema["pattern"].as_str().is_none_or(|p| {
                    regex::Regex::new(p)
                        .expect("the pattern compiles")
                        .is_match(value)
                })
                && (schema["format"] != "date-time"
                    || chrono::DateTime::parse_from_rfc3339(value).is_ok())
        }
        other => panic!("unexpected type {other}"),
    }
}
