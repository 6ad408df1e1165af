//! Spec §10 at the adapter: what real leveled services send is read
//! without loss (issue 11: sub-millisecond stamps, every ISO 8601
//! spelling, a leap second, `null` lists, Unicode `q` and its pushdown,
//! number text in `raw`, RFC 3986 query values).
#![cfg(feature = "sim")]

mod common;

use common::{config, fetch_once, seen_queries};
use loggate_core::sim::Fault;
use loggate_core::testkit::{pinned_query, traverse, LARGE_BUDGET};
use loggate_core::time::{format_ms, parse_rfc3339_ms};
use loggate_core::{Filters, LogRecord, Order, Position, SourceQuery};
use serde_json::{json, Value};

/// A simulator holding `entries` and one generated entry from 2000.
async fn with_entries(entries: &[Value]) -> common::Setup {
    let mut cfg = config(91, 1, 1);
    cfg.spec.now_ms = parse_rfc3339_ms("2001-01-01T00:00:00Z").unwrap();
    let setup = common::start(cfg).await;
    for entry in entries {
        setup.sim.insert(entry.clone());
    }
    setup
}

fn entry(timestamp: &str, message: &str) -> Value {
    json!({"timestamp": timestamp, "level": "INFO", "service": "lb", "message": message})
}

fn messages(records: &[LogRecord]) -> Vec<&str> {
    records.iter().map(|r| r.message.as_str()).collect()
}

async fn all(setup: &common::Setup, filters: Filters, order: Order, want: usize) -> Vec<LogRecord> {
    let query = pinned_query(filters, order);
    traverse(&*setup.adapter, &query, want, LARGE_BUDGET).await
}

/// Issue 11, item 1: following the cursor after B lost A.
#[tokio::test]
async fn sub_millisecond_stamps_are_all_read_in_both_orders() {
    let stamps = [
        ("2024-06-03T10:00:00.123250Z", "A"),
        ("2024-06-03T10:00:00.123750Z", "B"),
        ("2024-06-03T10:00:00.123999999Z", "C"),
        ("2024-06-03T10:00:00.124000100Z", "D"),
        ("2024-06-03T10:00:00.122999+00:00", "E"),
        ("2024-06-03T12:00:00.123500+0200", "F"),
    ];
    let entries: Vec<Value> = stamps.iter().map(|(t, m)| entry(t, m)).collect();
    let setup = with_entries(&entries).await;
    for order in [Order::Desc, Order::Asc] {
        for want in [1, 2, 50] {
            let got = all(&setup, Filters::default(), order, want).await;
            let mut names: Vec<&str> = messages(&got)
                .into_iter()
                .filter(|m| m.len() == 1)
                .collect();
            names.sort();
            assert_eq!(
                names,
                ["A", "B", "C", "D", "E", "F"],
                "{order:?} want {want}"
            );
        }
    }
    // The user's own bounds at the millisecond take the whole of it.
    let ms = parse_rfc3339_ms("2024-06-03T10:00:00.123Z").unwrap();
    let filters = Filters {
        start: Some(ms),
        end: Some(ms),
        ..Filters::default()
    };
    setup.sim.faults().forget_seen();
    let mut got = messages(&all(&setup, filters, Order::Desc, 1).await).join("");
    got = {
        let mut chars: Vec<char> = got.chars().collect();
        chars.sort();
        chars.into_iter().collect()
    };
    assert_eq!(got, "ABCF");
    let sent = &seen_queries(setup.sim.faults())[0];
    let get = |name: &str| {
        sent.iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("startDate"), Some("2024-06-03T10:00:00.123Z"));
    assert_eq!(get("endDate"), Some("2024-06-03T10:00:00.123999999Z"));
}

/// Issue 11, items 2 and 3: `+0000` was skipped, a leap second failed
/// the source as "not ordered newest first".
#[tokio::test]
async fn every_spelling_and_a_leap_second_are_read_in_order() {
    let entries = [
        entry("2024-06-03T10:00:01+0000", "plus0000"),
        entry("2024-06-03T12:00:02+02", "plus02"),
        entry("2024-06-03t10:00:03.5z", "lower"),
        entry("2024-06-03T05:30:04-04:30", "minus0430"),
        entry("2024-06-03 10:00:05", "no offset"),
        entry("2017-01-01T00:00:00.500Z", "new year"),
        entry("2016-12-31T23:59:60.750Z", "leap"),
        entry("2016-12-31T23:59:59.250Z", "before leap"),
    ];
    let setup = with_entries(&entries).await;
    let want = [
        ("2024-06-03T10:00:05.000Z", "no offset"),
        ("2024-06-03T10:00:04.000Z", "minus0430"),
        ("2024-06-03T10:00:03.500Z", "lower"),
        ("2024-06-03T10:00:02.000Z", "plus02"),
        ("2024-06-03T10:00:01.000Z", "plus0000"),
        ("2017-01-01T00:00:00.500Z", "new year"),
        ("2016-12-31T23:59:59.999Z", "leap"),
        ("2016-12-31T23:59:59.250Z", "before leap"),
    ];
    for want_per_fetch in [1, 3, 50] {
        let got = all(&setup, Filters::default(), Order::Desc, want_per_fetch).await;
        let got: Vec<(String, &str)> = got
            .iter()
            .filter(|r| want.iter().any(|(_, m)| *m == r.message))
            .map(|r| (format_ms(r.timestamp_ms), r.message.as_str()))
            .collect();
        let expected: Vec<(String, &str)> = want.iter().map(|(t, m)| (t.to_string(), *m)).collect();
        assert_eq!(got, expected, "want {want_per_fetch}");
        let asc = all(&setup, Filters::default(), Order::Asc, want_per_fetch).await;
        let asc: Vec<&str> = asc
            .iter()
            .map(|r| r.message.as_str())
            .filter(|m| want.iter().any(|(_, w)| w == m))
            .collect();
        let mut reversed: Vec<&str> = want.iter().map(|(_, m)| *m).collect();
        reversed.reverse();
        assert_eq!(asc, reversed);
    }
}

/// Issue 11, item 4: `"logs": null` failed the source.
#[tokio::test]
async fn a_null_list_of_logs_is_an_empty_page() {
    let setup = common::start(config(92, 20, 10)).await;
    let body = r#"{"status":"success","data":{"logs":null,"pagination":{"total":0,"limit":100,"offset":0,"nextOffset":null}}}"#;
    let query = pinned_query(Filters::default(), Order::Desc);
    for order in [Order::Desc, Order::Asc] {
        setup.sim.faults().fail_next(Fault::status(200, body));
        let query = SourceQuery {
            order,
            ..query.clone()
        };
        let batch = fetch_once(&*setup.adapter, &query, &Position::start(), 10)
            .await
            .unwrap();
        assert!(batch.records.is_empty());
        assert!(batch.frontier.done, "{order:?}");
    }
}

/// Issue 11, items 6, 7 and 11.
#[tokio::test]
async fn unicode_q_is_found_and_only_a_safe_q_is_pushed() {
    let entries = [
        entry("2024-06-03T10:00:01Z", "Über-Dienst gestartet"),
        entry("2024-06-03T10:00:02Z", "ΟΔΟΣΤΡΩΜΑ repaired"),
        entry("2024-06-03T10:00:03Z", "\u{212a}B quota reached"),
        entry("2024-06-03T10:00:04Z", "paid 5 EUR"),
        entry("2024-06-03T10:00:05Z", "Die Straße ist gesperrt"),
    ];
    let setup = with_entries(&entries).await;
    let cases = [
        ("über", "Über-Dienst gestartet", false),
        ("ΟΔΟΣ", "ΟΔΟΣΤΡΩΜΑ repaired", false),
        ("οδοσ", "ΟΔΟΣΤΡΩΜΑ repaired", false),
        ("kb", "\u{212a}B quota reached", false),
        ("STRASSE", "Die Straße ist gesperrt", false),
        ("5 EUR", "paid 5 EUR", true),
    ];
    for (q, message, pushed) in cases {
        setup.sim.faults().forget_seen();
        let filters = Filters {
            q: Some(q.into()),
            ..Filters::default()
        };
        let got = all(&setup, filters.clone(), Order::Desc, 10).await;
        assert_eq!(messages(&got), [message], "{q}");
        assert_eq!(
            setup.adapter.pushed(&filters).contains(&"q".to_string()),
            pushed,
            "{q}"
        );
        let raw_queries: Vec<String> = setup
            .sim
            .faults()
            .seen()
            .into_iter()
            .map(|r| r.query)
            .collect();
        for raw in &raw_queries {
            assert_eq!(raw.contains("search="), pushed, "{q}: {raw}");
            assert!(!raw.contains('+'), "{q}: {raw}");
        }
        if pushed {
            assert!(
                raw_queries[0].contains("search=5%20EUR"),
                "{}",
                raw_queries[0]
            );
        }
    }
}

/// Issue 11, item 9: a 30-digit id came back as `1.2345678901234568e+29`.
#[tokio::test]
async fn raw_and_attributes_keep_the_upstream_number_text() {
    let big = "123456789012345678901234567890";
    let text = format!(
        r#"{{"timestamp":"2024-06-03T10:00:01Z","level":"INFO","service":"lb","message":"big",
            "details":{{"user_id":{big},"ratio":1.50,"tiny":1e-7}}}}"#
    );
    let raw: Value = serde_json::from_str(&text).unwrap();
    let setup = with_entries(&[raw]).await;
    for (filters, expect_found) in [
        (
            Filters {
                user_id: Some(big.into()),
                ..Filters::default()
            },
            true,
        ),
        (
            Filters {
                user_id: Some("1.2345678901234568e29".into()),
                ..Filters::default()
            },
            false,
        ),
        (
            Filters {
                attrs: [("ratio".to_string(), "1.50".to_string())].into(),
                ..Filters::default()
            },
            true,
        ),
        (
            Filters {
                attrs: [("tiny".to_string(), "1e-7".to_string())].into(),
                ..Filters::default()
            },
            true,
        ),
    ] {
        let mut query = pinned_query(filters.clone(), Order::Desc);
        query.include_raw = true;
        // One fetch, not `traverse`: that takes `raw` off to check it.
        let batch = fetch_once(&*setup.adapter, &query, &Position::start(), 10)
            .await
            .unwrap();
        let got: Vec<&LogRecord> = batch
            .records
            .iter()
            .filter(|r| r.message == "big")
            .collect();
        assert_eq!(got.len(), usize::from(expect_found), "{filters:?}");
        if let Some(record) = got.first() {
            assert_eq!(record.user_id.as_deref(), Some(big));
            let out = serde_json::to_string(&record.attributes).unwrap();
            assert!(out.contains(&format!("\"user_id\":{big}")), "{out}");
            assert!(
                out.contains("\"ratio\":1.50") && out.contains("\"tiny\":1e-7"),
                "{out}"
            );
            let raw = serde_json::to_string(record.raw.as_ref().unwrap()).unwrap();
            assert!(raw.contains(&format!("\"user_id\":{big}")), "{raw}");
        }
    }
}
