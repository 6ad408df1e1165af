//! Spec §10 at the Alloy adapter: sub-millisecond and differently spelled
//! `createdAt`s, a leap second, and `"notifications": null` (issue 11).

mod common;

use common::*;
use loggate_core::sim::Fault;
use loggate_core::time::{format_ms, parse_rfc3339_ms};
use loggate_core::{Filters, Order, Position};
use serde_json::{json, Value};

/// Logs cloned from a generated one, each with its own id and `createdAt`.
fn logs_at(template: &Value, stamps: &[&str]) -> Vec<Value> {
    stamps
        .iter()
        .enumerate()
        .map(|(i, stamp)| {
            let mut log = template.clone();
            log["_id"] = json!(format!("{:024x}", 0xab_0000 + i));
            log["createdAt"] = json!(stamp);
            log
        })
        .collect()
}

#[tokio::test]
async fn sub_millisecond_and_respelled_stamps_are_all_read_in_both_orders() {
    let setup = setup(config(41, 5, None)).await;
    let template = setup.sim.raw_records()[0].clone();
    let stamps = [
        "2024-06-03T10:00:00.123250Z",
        "2024-06-03T10:00:00.123750Z",
        "2024-06-03T10:00:00.123999999Z",
        "2024-06-03T10:00:00.124000100Z",
        "2024-06-03T10:00:00.122999+00:00",
        "2024-06-03T12:00:00.123500+0200",
        "2024-06-03t10:00:01z",
        "2024-06-03T10:00:02+0000",
        "2024-06-03T12:00:03+02",
        "2017-01-01T00:00:00.500Z",
        "2016-12-31T23:59:60.750Z",
    ];
    for log in logs_at(&template, &stamps) {
        setup.sim.insert(log);
    }
    let ids = |records: &[loggate_core::LogRecord]| -> Vec<String> {
        let mut ids: Vec<String> = records
            .iter()
            .filter(|r| r.native_id.starts_with("000000000000000000ab"))
            .map(|r| r.native_id.clone())
            .collect();
        ids.sort();
        ids
    };
    let all_ids: Vec<String> = (0..stamps.len())
        .map(|i| format!("{:024x}", 0xab_0000 + i))
        .collect();
    for order in [Order::Desc, Order::Asc] {
        for want in [1, 2, 50] {
            let got = traverse(
                &setup.adapter,
                &pinned(Filters::default(), order),
                want,
                10_000,
                || {},
            )
            .await;
            assert_eq!(ids(&got), all_ids, "{order:?} want {want}");
            let leap = got.iter().find(|r| r.native_id == all_ids[10]).unwrap();
            assert_eq!(format_ms(leap.timestamp_ms), "2016-12-31T23:59:59.999Z");
        }
    }
    // The user's bounds at one millisecond take all of it.
    let ms = parse_rfc3339_ms("2024-06-03T10:00:00.123Z").unwrap();
    let filters = Filters {
        start: Some(ms),
        end: Some(ms),
        ..Filters::default()
    };
    let got = traverse(
        &setup.adapter,
        &pinned(filters, Order::Desc),
        1,
        10_000,
        || {},
    )
    .await;
    let want: Vec<String> = [0, 1, 2, 5].iter().map(|i| all_ids[*i].clone()).collect();
    assert_eq!(ids(&got), want);
}

#[tokio::test]
async fn null_notifications_are_an_empty_page() {
    let setup = setup(config(42, 20, None)).await;
    let body = r#"{"notifications":null,"lastFetched":null,"pagination":{"totalItems":0,"totalPages":0,"currentPage":1,"pageSize":100}}"#;
    for order in [Order::Desc, Order::Asc] {
        setup.sim.faults().fail_next(Fault::status(200, body));
        let batch = fetch(
            &setup.adapter,
            &pinned(Filters::default(), order),
            &Position::start(),
            10,
            10_000,
        )
        .await
        .unwrap();
        assert!(batch.records.is_empty() && batch.frontier.done, "{order:?}");
    }
}
