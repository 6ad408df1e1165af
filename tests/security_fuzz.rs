//! Fuzz test: proptest over raw query strings (known and random names,
//! random bytes percent-encoded, raw punctuation, huge values, repeated
//! parameters, valid, mutated and random cursors) sent to a real gateway in
//! front of one healthy simulator of the stand-in provider. Never a 5xx, never a dropped
//! connection (a panic), every 4xx in the error envelope with code and
//! message, every 200 a page. `LOGGATE_FUZZ_CASES` sets the case count
//! (default 300).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::Gateway;
use loggate_core::sim::Served;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

const KNOWN: &[&str] = &[
    "source",
    "start",
    "end",
    "level",
    "min_level",
    "q",
    "service",
    "user_id",
    "attr.key",
    "attr.level",
    "attr.",
    "order",
    "limit",
    "cursor",
    "include",
    "partial",
];

fn percent_encoded_bytes(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..max)
        .prop_map(|bytes| bytes.iter().map(|b| format!("%{b:02X}")).collect())
}

/// Characters sent as they are (the URL parser encodes what it must).
fn raw_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('a', 'z'),
            proptest::char::range('0', '9'),
            Just('%'),
            Just('='),
            Just('&'),
            Just('+'),
            Just(','),
            Just('.'),
            Just(':'),
            Just('-'),
            Just('/'),
            Just('?'),
            Just('"'),
            Just('\''),
            Just('\\'),
            Just('{'),
            Just('é'),
            Just('🚀'),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn plausible_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ERROR".to_string()),
        Just("error,warn,INFO".to_string()),
        Just("fatal".to_string()),
        Just("asc".to_string()),
        Just("desc".to_string()),
        Just("raw".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("app".to_string()),
        Just("app,app".to_string()),
        Just("2025-01-01T00:00:00Z".to_string()),
        Just("2025-01-01T00:00:00.123%2B02:00".to_string()),
        Just("9999-12-31T23:59:59Z".to_string()),
        Just("0000-01-01T00:00:00Z".to_string()),
        (0u64..=2000).prop_map(|n| n.to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
    ]
}

fn value(cursor: String) -> impl Strategy<Value = String> {
    let mutated = {
        let cursor = cursor.clone();
        (0..cursor.len(), any::<u8>()).prop_map(move |(i, b)| {
            let mut bytes = cursor.clone().into_bytes();
            bytes[i] = b"ABCxyz019-_"[usize::from(b) % 11];
            String::from_utf8(bytes).unwrap_or_default()
        })
    };
    prop_oneof![
        4 => plausible_value(),
        3 => raw_text(40),
        3 => percent_encoded_bytes(40),
        1 => (1usize..12_000).prop_map(|n| "x".repeat(n)),
        1 => Just(cursor),
        1 => mutated,
        1 => Just(String::new()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(KNOWN).prop_map(str::to_string),
        1 => "attr\\.[a-zA-Z0-9_.-]{1,10}",
        1 => raw_text(12),
        1 => percent_encoded_bytes(8),
    ]
}

fn query(cursor: String) -> impl Strategy<Value = String> {
    proptest::collection::vec((name(), value(cursor), any::<bool>()), 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v, bare)| {
                if bare && v.is_empty() {
                    n
                } else {
                    format!("{n}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

async fn start() -> (Gateway, Served) {
    common::stand_in_source(60, "").await
}

/// One request; the failure says what was sent and what came back.
async fn check(gateway: &Gateway, raw: &str, pages: &AtomicUsize) -> Result<(), TestCaseError> {
    let shown: String = raw.chars().take(300).collect();
    let url = gateway.url(&format!("/logs?{raw}"));
    let response = gateway
        .client
        .get(&url)
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer to {shown:?} (a panic?): {e}")))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| TestCaseError::fail(format!("body of {shown:?} cut off: {e}")))?;
    let text: String = String::from_utf8_lossy(&body).chars().take(400).collect();
    prop_assert!(status < 500, "{status} for {shown:?}: {text}");
    let json: Value = serde_json::from_slice(&body)
        .map_err(|_| TestCaseError::fail(format!("{status} not JSON for {shown:?}: {text}")))?;
    if status == 200 {
        prop_assert!(
            json["logs"].is_array(),
            "200 without logs for {shown:?}: {text}"
        );
        pages.fetch_add(1, Ordering::Relaxed);
    } else {
        prop_assert!((400..500).contains(&status), "{status} for {shown:?}");
        let code = json["error"]["code"].as_str().unwrap_or("");
        let message = json["error"]["message"].as_str().unwrap_or("");
        prop_assert!(
            !code.is_empty() && !message.is_empty(),
            "{status} without the envelope for {shown:?}: {text}"
        );
    }
    Ok(())
}

#[test]
fn hostile_query_strings_never_get_a_5xx_or_a_bare_error() {
    let cases = std::env::var("LOGGATE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (gateway, _served) = runtime.block_on(start());
    let (status, first) = runtime.block_on(gateway.get("/logs?limit=2"));
    assert_eq!(status, 200, "{first}");
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_string();

    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let pages = AtomicUsize::new(0);
    let result = runner.run(&query(cursor), |raw| {
        runtime.block_on(check(&gateway, &raw, &pages))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Some cases must get past validation, or the engine went untested.
    let pages = pages.load(Ordering::Relaxed);
    eprintln!("{pages} of {cases} cases answered 200");
    assert!(pages * 20 >= cases as usize, "only {pages} pages served");
    let (status, _) = runtime.block_on(gateway.get("/healthz"));
    assert_eq!(status, 200, "still alive");
}
