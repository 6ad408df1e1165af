//! Spec §10 at the PromptCrafter adapter: `createdAt` in any spelling,
//! a `null` body as no logs (issue 11).
#![cfg(feature = "sim")]

mod common;

use loggate_core::sim::Fault;
use loggate_core::time::format_ms;
use loggate_core::{Filters, LogRecord, Order, Position};
use loggate_promptcrafter::{ListMode, Quirks};
use serde_json::json;

/// One fetch of everything (the whole array is one page): the records and
/// the count of skipped ones.
async fn fetch_all(setup: &common::Setup) -> (Vec<LogRecord>, usize) {
    let query = common::query(Order::Desc, Filters::default());
    let batch = common::fetch(&setup.adapter, &query, &Position::start(), 10_000)
        .await
        .unwrap();
    assert!(batch.frontier.done);
    (batch.records, batch.skipped)
}

#[tokio::test]
async fn created_at_in_every_spelling_is_read() {
    let setup = common::start(common::config(Quirks::Documented, 5)).await;
    let template = setup.sim.raw_records()[0].clone();
    let stamps = [
        ("2024-06-03T10:00:01+0000", "2024-06-03T10:00:01.000Z"),
        ("2024-06-03T12:00:02+02", "2024-06-03T10:00:02.000Z"),
        ("2024-06-03t10:00:03.123456z", "2024-06-03T10:00:03.123Z"),
        ("2024-06-03T05:30:04.5-04:30", "2024-06-03T10:00:04.500Z"),
        ("2016-12-31T23:59:60.750Z", "2016-12-31T23:59:59.999Z"),
    ];
    for (i, (stamp, _)) in stamps.iter().enumerate() {
        let mut log = template.clone();
        log["_id"] = json!(format!("{:024x}", 0xcd_0000 + i));
        log["createdAt"] = json!(stamp);
        setup.sim.insert(log);
    }
    let (records, skipped) = fetch_all(&setup).await;
    assert_eq!(skipped, 0);
    for (i, (_, want)) in stamps.iter().enumerate() {
        let id = format!("{:024x}", 0xcd_0000 + i);
        let record = records
            .iter()
            .find(|r| r.native_id == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(format_ms(record.timestamp_ms), *want);
    }
}

#[tokio::test]
async fn a_null_body_is_no_logs() {
    let mut setup = common::start(common::config(Quirks::Documented, 5)).await;
    setup.adapter = setup.adapter.with_list_mode(ListMode::All);
    setup.sim.faults().fail_next(Fault::status(200, "null"));
    let (records, skipped) = fetch_all(&setup).await;
    assert!(records.is_empty());
    assert_eq!(skipped, 0);
}

/// With `list_mode = "auto"` a `null` list is as ambiguous as `[]`: the
/// logs are read per prompt, and a `null` list of prompts is no prompts.
#[tokio::test]
async fn a_null_body_in_auto_mode_reads_per_prompt() {
    let setup = common::start(common::config(Quirks::Documented, 5)).await;
    setup.sim.faults().fail_next(Fault::status(200, "null"));
    let (records, skipped) = fetch_all(&setup).await;
    assert_eq!(records.len(), 5);
    assert_eq!(skipped, 0);
    for _ in 0..2 {
        setup.sim.faults().fail_next(Fault::status(200, "null"));
    }
    let (records, _) = fetch_all(&setup).await;
    assert!(records.is_empty());
}
