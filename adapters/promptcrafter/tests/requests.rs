//! The exact outgoing request for every pushed filter: path, query string
//! (percent-encoding included) and headers, as the simulator saw them.

#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_core::record::sort_records;
use loggate_core::{Adapter, Filters, Level, Order, Position};
use loggate_promptcrafter::{PromptCrafterAdapter, PromptIdPushdown, Quirks};

#[tokio::test]
async fn unfiltered_requests_carry_only_the_bearer_token() {
    let setup = start(config(Quirks::AsBuilt, 60)).await;
    let filters = Filters {
        start: Some(1_700_000_000_000),
        end: Some(1_800_000_000_000),
        level: Some([Level::Info].into_iter().collect()),
        q: Some("revenue".into()),
        attrs: [("modelUsed".to_string(), "GPT-4o".to_string())].into(),
        ..Filters::default()
    };
    assert!(setup.adapter.pushed(&filters).is_empty());
    let q = query(Order::Desc, filters);
    let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
        .await
        .unwrap();

    let seen = setup.sim.faults().seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/logs")
    );
    assert_eq!(request.query, "");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("accept"), Some("application/json"));

    // Everything not pushed was applied locally, exactly.
    let mut expected: Vec<_> = setup
        .sim
        .snapshot()
        .into_iter()
        .filter(|r| q.filters.matches(r))
        .collect();
    sort_records(&mut expected, Order::Desc);
    assert!(!expected.is_empty());
    assert_eq!(batch.records, expected);
    assert_eq!(batch.scanned, 60);
}

#[tokio::test]
async fn prompt_id_is_pushed_as_its_query_parameter() {
    let setup = start(config(Quirks::AsBuilt, 120)).await;
    let prompt = setup.sim.prompt_ids().remove(1);
    let filters = prompt_filter(&prompt);
    assert_eq!(setup.adapter.pushed(&filters), vec!["attr.promptId"]);
    let q = query(Order::Asc, filters);
    let batch = fetch(&setup.adapter, &q, &Position::start(), 1000)
        .await
        .unwrap();

    let seen = setup.sim.faults().seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/logs");
    assert_eq!(seen[0].query, format!("promptId={prompt}"));
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    let mut expected: Vec<_> = setup
        .sim
        .snapshot()
        .into_iter()
        .filter(|r| q.filters.matches(r))
        .collect();
    sort_records(&mut expected, Order::Asc);
    assert!(!expected.is_empty());
    assert_eq!(batch.records, expected);
    // Only the prompt's logs were downloaded.
    assert_eq!(batch.scanned, expected.len());
    assert!(batch.frontier.done);
}

#[tokio::test]
async fn odd_prompt_ids_are_percent_encoded() {
    let setup = start(config(Quirks::Documented, 20)).await;
    let adapter = PromptCrafterAdapter::new(settings(&setup.served.base_url(), Some(TOKEN)))
        .with_prompt_id_pushdown(PromptIdPushdown::Any);
    let odd = "a b&c=d/é+%#?";
    let q = query(Order::Desc, prompt_filter(odd));
    assert_eq!(adapter.pushed(&q.filters), vec!["attr.promptId"]);
    // The documented service answers 400 for an invalid id: no record can match.
    let batch = fetch(&adapter, &q, &Position::start(), 10).await.unwrap();
    assert!(batch.records.is_empty() && batch.frontier.done);

    let seen = setup.sim.faults().seen();
    // RFC 3986 (spec §10): the space is `%20`, never `+`.
    assert_eq!(seen[0].query, "promptId=a%20b%26c%3Dd%2F%C3%A9%2B%25%23%3F");
    assert_eq!(
        seen[0].query_pairs(),
        vec![("promptId".to_string(), odd.to_string())]
    );
}

#[tokio::test]
async fn an_empty_prompt_id_is_filtered_locally() {
    let setup = start(config(Quirks::Documented, 20)).await;
    setup.sim.insert(serde_json::json!({
        "_id": "665f00000000000000000001", "promptId": "", "output": "blank prompt",
        "modelUsed": "GPT-4o", "createdAt": "2025-05-30T10:00:00.000Z"
    }));
    let filters = prompt_filter("");
    assert!(setup.adapter.pushed(&filters).is_empty());
    let batch = fetch(
        &setup.adapter,
        &query(Order::Desc, filters),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    assert_eq!(setup.sim.faults().seen()[0].query, "");
    assert_eq!(batch.records.len(), 1);
    assert_eq!(batch.records[0].message, "blank prompt");
}

#[tokio::test]
async fn nothing_is_sent_when_nothing_can_remain() {
    let setup = start(config(Quirks::Documented, 20)).await;
    let done = fetch(
        &setup.adapter,
        &query(Order::Desc, Filters::default()),
        &Position::finished(),
        10,
    )
    .await
    .unwrap();
    assert!(done.records.is_empty() && done.frontier.done && done.scanned == 0);
    let empty_window = Filters {
        start: Some(10),
        end: Some(5),
        ..Filters::default()
    };
    let none = fetch(
        &setup.adapter,
        &query(Order::Asc, empty_window),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    assert!(none.records.is_empty() && none.frontier.done);
    assert_eq!(setup.sim.faults().seen_count(), 0);
}

#[tokio::test]
async fn a_base_url_path_prefix_is_kept() {
    let setup = start(config(Quirks::AsBuilt, 5)).await;
    let adapter = PromptCrafterAdapter::new(settings(
        &format!("{}/api/", setup.served.base_url()),
        Some(TOKEN),
    ));
    // The simulator serves /logs only: the prefixed path is a 404.
    let error = fetch(
        &adapter,
        &query(Order::Desc, Filters::default()),
        &Position::start(),
        10,
    )
    .await
    .unwrap_err();
    assert_eq!(setup.sim.faults().seen()[0].path, "/api/logs");
    assert!(
        matches!(
            error,
            loggate_core::SourceError::Rejected { status: 404, .. }
        ),
        "{error:?}"
    );
    // Also when filtered: an HTML 404 is a wrong path, not "no logs".
    let q = query(Order::Desc, prompt_filter(&setup.sim.prompt_ids()[0]));
    let error = fetch(&adapter, &q, &Position::start(), 10)
        .await
        .unwrap_err();
    let expected = loggate_core::SourceError::Rejected {
        status: 404,
        message: "Cannot GET /api/logs".into(),
    };
    assert_eq!(error, expected);
}

#[tokio::test]
async fn raw_objects_are_kept_only_when_asked() {
    let setup = start(config(Quirks::AsBuilt, 30)).await;
    let mut q = query(Order::Desc, Filters::default());
    let plain = fetch(&setup.adapter, &q, &Position::start(), 100)
        .await
        .unwrap();
    assert!(plain.records.iter().all(|r| r.raw.is_none()));
    q.include_raw = true;
    let with_raw = fetch(&setup.adapter, &q, &Position::start(), 100)
        .await
        .unwrap();
    let raws = setup.sim.raw_records();
    for record in &with_raw.records {
        let raw = &record.raw.as_ref().unwrap().to_value();
        assert_eq!(raw["_id"].as_str(), Some(record.native_id.as_str()));
        assert!(raws.contains(raw));
    }
}

#[tokio::test]
async fn docs_style_prompt_ids_are_sent_only_when_asked() {
    let setup = start(config(Quirks::Documented, 30)).await;
    setup.sim.insert(serde_json::json!({
        "_id": "log106", "promptId": "prompt101", "output": "The business report finds...",
        "notes": "Clear.", "modelUsed": "GPT-4o", "score": 9, "createdAt": "2025-05-30T13:10:00Z"
    }));
    let q = query(Order::Desc, prompt_filter("prompt101"));
    // By default only ObjectIds go upstream: a full download, filtered here.
    assert!(setup.adapter.pushed(&q.filters).is_empty());
    let batch = fetch(&setup.adapter, &q, &Position::start(), 10)
        .await
        .unwrap();
    assert_eq!(setup.sim.faults().seen()[0].query, "");
    assert_eq!((batch.records.len(), batch.scanned), (1, 31));
    // Pushed when asked, the documented service filters it.
    let adapter = PromptCrafterAdapter::new(settings(&setup.served.base_url(), Some(TOKEN)))
        .with_prompt_id_pushdown(PromptIdPushdown::Any);
    let pushed = fetch(&adapter, &q, &Position::start(), 10).await.unwrap();
    assert_eq!(setup.sim.faults().seen()[1].query, "promptId=prompt101");
    assert_eq!((pushed.records, pushed.scanned), (batch.records, 1));
}
