//! `list_mode` (issue 11 item 14): the service as built answers an
//! unfiltered `GET /logs` with `[]`; the logs are then read per prompt
//! (`GET /prompts`, `GET /logs?promptId=ID`), and only 24-hex ids are
//! ever sent.
#![cfg(feature = "sim")]

mod common;

use axum::routing::get;
use axum::Json;
use common::*;
use loggate_core::sim::serve_loopback;
use loggate_core::testkit::reference;
use loggate_core::{Filters, Order, Position};
use loggate_promptcrafter::{ListMode, PromptCrafterAdapter, Quirks};
use serde_json::json;

/// Every request the simulator saw, as `path?query`.
fn seen(setup: &Setup) -> Vec<String> {
    setup
        .sim
        .faults()
        .seen()
        .iter()
        .map(|r| match r.query.as_str() {
            "" => r.path.clone(),
            query => format!("{}?{query}", r.path),
        })
        .collect()
}

async fn null_prompt_setup(mode: ListMode, quirks: Quirks) -> Setup {
    let setup = start(loggate_promptcrafter::SimConfig {
        unfiltered_null_prompt: true,
        ..config(quirks, 120)
    })
    .await;
    let adapter = PromptCrafterAdapter::new(settings(&setup.served.base_url(), Some(TOKEN)))
        .with_list_mode(mode);
    Setup { adapter, ..setup }
}

#[tokio::test]
async fn auto_reads_per_prompt_when_the_unfiltered_list_is_empty() {
    for quirks in [Quirks::AsBuilt, Quirks::Documented] {
        let setup = null_prompt_setup(ListMode::Auto, quirks).await;
        for order in [Order::Desc, Order::Asc] {
            setup.sim.faults().forget_seen();
            let q = query(order, Filters::default());
            let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
                .await
                .unwrap();
            assert_eq!(batch.records, reference(&setup.sim.snapshot(), &q));
            assert_eq!(batch.records.len(), 120);
            let mut ids = setup.sim.prompt_ids();
            ids.sort();
            let mut expected = vec!["/logs".to_string(), "/prompts".to_string()];
            expected.extend(ids.iter().map(|id| format!("/logs?promptId={id}")));
            assert_eq!(seen(&setup), expected, "{quirks:?}");
        }
    }
}

#[tokio::test]
async fn auto_on_a_service_that_lists_everything_asks_once() {
    let setup = start(config(Quirks::AsBuilt, 60)).await;
    let q = query(Order::Desc, Filters::default());
    let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
        .await
        .unwrap();
    assert_eq!(batch.records.len(), 60);
    assert_eq!(seen(&setup), vec!["/logs"]);
}

#[tokio::test]
async fn all_and_per_prompt_ask_only_what_they_name() {
    let setup = null_prompt_setup(ListMode::All, Quirks::AsBuilt).await;
    let q = query(Order::Desc, Filters::default());
    let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
        .await
        .unwrap();
    assert!(batch.records.is_empty() && batch.frontier.done);
    assert_eq!(seen(&setup), vec!["/logs"]);

    let setup = null_prompt_setup(ListMode::PerPrompt, Quirks::AsBuilt).await;
    let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
        .await
        .unwrap();
    assert_eq!(batch.records.len(), 120);
    let requests = seen(&setup);
    assert_eq!(requests[0], "/prompts");
    assert_eq!(requests.len(), 1 + setup.sim.prompt_ids().len());
    assert!(requests[1..]
        .iter()
        .all(|r| r.starts_with("/logs?promptId=")));
}

#[tokio::test]
async fn a_pushed_prompt_id_is_one_request_in_every_mode() {
    for mode in [ListMode::Auto, ListMode::PerPrompt] {
        let setup = null_prompt_setup(mode, Quirks::AsBuilt).await;
        let prompt = setup.sim.prompt_ids()[0].clone();
        let q = query(Order::Desc, prompt_filter(&prompt));
        let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
            .await
            .unwrap();
        assert_eq!(batch.records, reference(&setup.sim.snapshot(), &q));
        assert_eq!(seen(&setup), vec![format!("/logs?promptId={prompt}")]);
    }
}

#[tokio::test]
async fn only_object_id_prompts_are_ever_asked_for() {
    let good = "65f1c0ffee0000000000000a";
    let log = json!({"_id": "65f1c0ffee00000000000001", "promptId": good, "modelUsed": "m",
                     "output": "hi", "createdAt": "2025-06-01T00:00:00.000Z"});
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = asked.clone();
    let router = axum::Router::new()
        .route(
            "/prompts",
            get(|| async {
                Json(json!([{"_id": ""}, {"_id": "prompt101"}, {"title": "none"},
                            {"_id": "65f1c0ffee0000000000000a"}]))
            }),
        )
        .route(
            "/logs",
            get(move |uri: axum::http::Uri| {
                let log = log.clone();
                let record = record.clone();
                async move {
                    let query = uri.query().unwrap_or("").to_string();
                    record.lock().unwrap().push(query.clone());
                    if query.is_empty() {
                        Json(json!([]))
                    } else {
                        Json(json!([log]))
                    }
                }
            }),
        );
    let served = serve_loopback(router).await.unwrap();
    let adapter = PromptCrafterAdapter::new(settings(&served.base_url(), Some(TOKEN)));
    let q = query(Order::Desc, Filters::default());
    let batch = fetch(&adapter, &q, &Position::start(), 10).await.unwrap();
    assert_eq!(batch.records.len(), 1);
    assert_eq!(
        *asked.lock().unwrap(),
        vec![String::new(), format!("promptId={good}")]
    );
}
