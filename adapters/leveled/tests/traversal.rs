//! Exactly-once traversals against the simulator: ties shuffled per
//! request, inserts between fetches, groups larger than a page, identical
//! entries, every `nextOffset` form, both timestamp forms.
#![cfg(feature = "sim")]

mod common;

use common::{config, Setup, TOKEN};
use loggate_core::testkit::{assert_traversal, pinned_query, Traversal, LARGE_BUDGET};
use loggate_core::time::format_ms;
use loggate_core::{Filters, Level, Order};
use loggate_leveled::NextOffsetForm;
use serde_json::{json, Value};

const ORDERS: [Order; 2] = [Order::Desc, Order::Asc];

/// Every order and `want` in {1, 7, 50}, inserting `inserts` entries after
/// each fetch; the reference is the snapshot taken before each traversal.
async fn traverse_all(setup: &Setup, filters: Filters, inserts: usize) {
    for order in ORDERS {
        for want in [1, 7, 50] {
            let query = pinned_query(filters.clone(), order);
            let mut traversal = Traversal::new(&query, want, LARGE_BUDGET);
            traversal.insert_per_fetch = inserts;
            assert_traversal(setup, &traversal).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ties_and_inserts_between_fetches() {
    let setup = common::start(config(21, 400, 30)).await;
    traverse_all(&setup, Filters::default(), 3).await;
    let filtered = Filters {
        service: Some("payment-gateway".into()),
        min_level: Some(Level::Warn),
        ..Filters::default()
    };
    traverse_all(&setup, filtered, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tie_groups_larger_than_a_page() {
    // About 150 entries per timestamp: no page can hold a group whole.
    let setup = common::start(config(22, 450, 3)).await;
    traverse_all(&setup, Filters::default(), 2).await;
    let errors = Filters {
        level: Some([Level::Error].into_iter().collect()),
        ..Filters::default()
    };
    traverse_all(&setup, errors, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_entries_are_each_returned_once() {
    let setup = common::start(config(23, 120, 10)).await;
    let ts = loggate_core::time::now_ms() / 1000 * 1000 - 30_000;
    let twin = json!({"timestamp": format_ms(ts).replace(".000", ""), "level": "WARN",
        "service": "order-service", "message": "Duplicate delivery", "details": {"order_id": "ord_1"}});
    for _ in 0..3 {
        setup.sim.insert(twin.clone());
    }
    // The same content in another key order and timestamp spelling.
    setup.sim.insert(
        json!({"details": {"order_id": "ord_1"}, "message": "Duplicate delivery",
        "service": "order-service", "level": "WARN", "timestamp": format_ms(ts)}),
    );
    let ids: Vec<String> = setup
        .sim
        .snapshot()
        .into_iter()
        .filter(|r| r.message == "Duplicate delivery")
        .map(|r| r.native_id)
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids[1..].iter().all(|id| id.starts_with(&ids[0])), "{ids:?}");
    traverse_all(&setup, Filters::default(), 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn millisecond_timestamps() {
    let mut millis = config(24, 300, 60);
    millis.millis = true;
    let setup = common::start(millis).await;
    let stamp = setup.sim.raw_records()[0]["timestamp"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stamp.len(), "2023-10-27T10:35:15.123Z".len(), "{stamp}");
    traverse_all(&setup, Filters::default(), 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_next_offset_form_ends_the_traversal() {
    for form in [
        NextOffsetForm::Null,
        NextOffsetForm::Absent,
        NextOffsetForm::OffsetPlusLimit,
    ] {
        let mut with_form = config(25, 230, 70);
        with_form.next_offset = form;
        let setup = common::start(with_form).await;
        let last = last_page_pagination(&setup).await;
        match form {
            NextOffsetForm::Null => assert_eq!(last.get("nextOffset"), Some(&Value::Null)),
            NextOffsetForm::Absent => assert_eq!(last.get("nextOffset"), None),
            NextOffsetForm::OffsetPlusLimit => assert_eq!(last["nextOffset"], json!(300)),
        }
        traverse_all(&setup, Filters::default(), 0).await;
        traverse_all(
            &setup,
            Filters {
                service: Some("user-service".into()),
                ..Filters::default()
            },
            0,
        )
        .await;
    }
}

/// The simulator's own `pagination` on the last page of all 230 entries.
async fn last_page_pagination(setup: &Setup) -> Value {
    let url = format!("{}/logs?limit=100&offset=200", setup.served.base_url());
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["data"]["logs"].as_array().unwrap().len(), 30);
    assert_eq!(body["data"]["pagination"]["total"], json!(230));
    body["data"]["pagination"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_budgets_still_make_progress() {
    let setup = common::start(config(26, 350, 20)).await;
    for order in ORDERS {
        for budget in [1, 5, 120] {
            let query = pinned_query(Filters::default(), order);
            assert_traversal(&setup, &Traversal::new(&query, 3, budget)).await;
        }
    }
}
