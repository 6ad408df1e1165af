//! Every documented error and every as-built quirk, as the adapter sees
//! them through the simulator and its fault switches.

#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_core::sim::Fault;
use loggate_core::time::parse_rfc3339_ms;
use loggate_core::{Filters, Order, Position, SourceError};
use loggate_promptcrafter::{PromptCrafterAdapter, PromptIdPushdown, Quirks};
use serde_json::json;

async fn fetch_all(setup: &Setup, filters: Filters) -> Result<loggate_core::Batch, SourceError> {
    fetch(
        &setup.adapter,
        &query(Order::Desc, filters),
        &Position::start(),
        10_000,
    )
    .await
}

fn unauthorized(error: SourceError) -> String {
    match error {
        SourceError::Unauthorized {
            status: 401,
            message,
        } => message,
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn as_built_401s_are_plain_text() {
    let setup = start_with_token(config(Quirks::AsBuilt, 5), None).await;
    assert_eq!(
        unauthorized(fetch_all(&setup, Filters::default()).await.unwrap_err()),
        "No token"
    );
    let setup = start_with_token(config(Quirks::AsBuilt, 5), Some("stale-jwt")).await;
    assert_eq!(
        unauthorized(fetch_all(&setup, Filters::default()).await.unwrap_err()),
        "Invalid token"
    );
}

#[tokio::test]
async fn documented_401s_carry_their_json_message() {
    let setup = start_with_token(config(Quirks::Documented, 5), Some("stale-jwt")).await;
    let message = unauthorized(fetch_all(&setup, Filters::default()).await.unwrap_err());
    assert_eq!(message, "Authentication token is expired or invalid");
    let setup = start_with_token(config(Quirks::Documented, 5), None).await;
    let message = unauthorized(fetch_all(&setup, Filters::default()).await.unwrap_err());
    assert_eq!(message, "Authentication token is missing");
}

#[tokio::test]
async fn a_prompt_without_logs_is_empty_in_both_behaviours() {
    let unknown = "0123456789abcdef01234567";
    for quirks in [Quirks::Documented, Quirks::AsBuilt] {
        let setup = start(config(quirks, 40)).await;
        let batch = fetch_all(&setup, prompt_filter(unknown)).await.unwrap();
        assert!(
            batch.records.is_empty() && batch.frontier.done,
            "{quirks:?}"
        );
        assert_eq!(batch.scanned, 0);
    }
}

#[tokio::test]
async fn a_malformed_prompt_id_drops_the_as_built_connection() {
    let setup = start(config(Quirks::AsBuilt, 10)).await;
    let send_all = |setup: &Setup| {
        PromptCrafterAdapter::new(settings(&setup.served.base_url(), Some(TOKEN)))
            .with_prompt_id_pushdown(PromptIdPushdown::Any)
    };
    let q = query(Order::Desc, prompt_filter("prompt101"));
    let error = fetch(&send_all(&setup), &q, &Position::start(), 10)
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Network(_)), "{error:?}");
    // By default such a value is not sent, so the query just matches nothing.
    let batch = fetch_all(&setup, prompt_filter("prompt101")).await.unwrap();
    assert!(batch.records.is_empty() && batch.frontier.done && batch.scanned == 10);
    assert_eq!(setup.sim.faults().seen()[1].query, "");
    // As documented it is a 400: no record can carry such an id.
    let setup = start(config(Quirks::Documented, 10)).await;
    let q = query(Order::Desc, prompt_filter("prompt 101"));
    let batch = fetch(&send_all(&setup), &q, &Position::start(), 10)
        .await
        .unwrap();
    assert!(batch.records.is_empty() && batch.frontier.done && batch.scanned == 0);
}

#[tokio::test]
async fn json_error_bodies_map_to_typed_errors() {
    let setup = start(config(Quirks::Documented, 10)).await;
    let faults = setup.sim.faults();
    let body = |m: &str| json!({ "error": m }).to_string();

    faults.fail_next(Fault::status(
        500,
        &body("An unexpected server error occurred"),
    ));
    let error = fetch_all(&setup, Filters::default()).await.unwrap_err();
    assert_eq!(
        error,
        SourceError::Upstream {
            status: 500,
            message: "An unexpected server error occurred".into(),
            retry_after: None
        }
    );

    faults.fail_next(Fault::status(400, &body("`promptId` missing or malformed")));
    let error = fetch_all(&setup, Filters::default()).await.unwrap_err();
    assert_eq!(
        error,
        SourceError::Rejected {
            status: 400,
            message: "`promptId` missing or malformed".into()
        }
    );

    faults.fail_next(Fault::status(404, &body("Not found")));
    let error = fetch_all(&setup, Filters::default()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::Rejected { status: 404, .. }),
        "{error:?}"
    );

    faults.fail_next(Fault::status(
        403,
        &body("User is not authorized to view logs for this prompt."),
    ));
    let error = fetch_all(&setup, Filters::default()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::Unauthorized { status: 403, .. }),
        "{error:?}"
    );

    faults.fail_next(Fault::with_retry_after(429, &body("slow down"), "3"));
    let error = fetch_all(&setup, Filters::default()).await.unwrap_err();
    assert!(
        matches!(error, SourceError::RateLimited { .. }),
        "{error:?}"
    );
    assert_eq!(error.retry_after(), Some(std::time::Duration::from_secs(3)));

    // Filtered, 400 and 404 mean "nothing matches"; 500 stays an error.
    let filtered = prompt_filter(&setup.sim.prompt_ids()[0]);
    faults.fail_next(Fault::status(
        404,
        &body("No logs found for the specified prompt ID."),
    ));
    assert!(
        fetch_all(&setup, filtered.clone())
            .await
            .unwrap()
            .frontier
            .done
    );
    faults.fail_next(Fault::status(
        500,
        &body("An unexpected server error occurred"),
    ));
    assert!(matches!(
        fetch_all(&setup, filtered).await,
        Err(SourceError::Upstream { status: 500, .. })
    ));
}

#[tokio::test]
async fn forbidden_prompts_are_unauthorized() {
    let setup = start(config(Quirks::Documented, 10)).await;
    let foreign = "aaaaaaaaaaaaaaaaaaaaaaaa";
    setup.sim.add_foreign_prompt(foreign);
    let error = fetch_all(&setup, prompt_filter(foreign)).await.unwrap_err();
    assert_eq!(
        error,
        SourceError::Unauthorized {
            status: 403,
            message: "User is not authorized to view logs for this prompt.".into()
        }
    );
}

#[tokio::test]
async fn broken_answers_are_decode_or_network_errors() {
    let setup = start(config(Quirks::AsBuilt, 10)).await;
    let faults = setup.sim.faults();
    faults.fail_next(Fault::MalformedJson);
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Decode(_))
    ));
    faults.fail_next(Fault::status(200, r#"{"logs": []}"#));
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Decode(_))
    ));
    faults.fail_next(Fault::Status {
        status: 200,
        body: "<html></html>".into(),
        content_type: "text/html",
        retry_after: None,
    });
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Decode(_))
    ));
    faults.fail_next(Fault::HtmlErrorPage);
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Upstream { status: 502, .. })
    ));
    faults.fail_next(Fault::Drop);
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Network(_))
    ));
    faults.fail_next(Fault::TruncatedBody);
    assert!(matches!(
        fetch_all(&setup, Filters::default()).await,
        Err(SourceError::Network(_))
    ));
    // The switches are spent: the next fetch works.
    assert_eq!(
        fetch_all(&setup, Filters::default())
            .await
            .unwrap()
            .records
            .len(),
        10
    );
}

#[tokio::test]
async fn as_built_items_are_mapped_whatever_their_shape() {
    let setup = start(config(Quirks::AsBuilt, 400)).await;
    let raws = setup.sim.raw_records();
    // The quirks are present in the data...
    assert!(raws
        .iter()
        .all(|r| r.get("__v").is_some() && r.get("updatedAt").is_some()));
    assert!(raws.iter().any(|r| r.get("notes").is_none()));
    assert!(raws.iter().any(|r| r.get("score").is_none()));
    assert!(raws
        .iter()
        .any(|r| r["score"].as_f64().is_some_and(|s| s.fract() != 0.0)));
    let seconds_only = raws
        .iter()
        .find(|r| !r["createdAt"].as_str().unwrap().contains('.'))
        .unwrap();
    // ...and none of them costs a record.
    let batch = fetch_all(&setup, Filters::default()).await.unwrap();
    assert_eq!(batch.records.len(), 400);
    let record = batch
        .records
        .iter()
        .find(|r| r.native_id == seconds_only["_id"])
        .unwrap();
    assert_eq!(
        Some(record.timestamp_ms),
        parse_rfc3339_ms(seconds_only["createdAt"].as_str().unwrap())
    );
    assert!(batch
        .records
        .iter()
        .all(|r| !r.attributes.contains_key("updatedAt")));
    assert!(batch
        .records
        .iter()
        .any(|r| !r.attributes.contains_key("notes")));
    assert!(batch
        .records
        .iter()
        .any(|r| r.attributes["promptId"].is_string() && !r.attributes.contains_key("score")));
}

#[tokio::test]
async fn answers_come_in_insertion_order_and_are_sorted_here() {
    let setup = start(config(Quirks::AsBuilt, 100)).await;
    let stamps: Vec<i64> = setup
        .sim
        .raw_records()
        .iter()
        .map(|r| parse_rfc3339_ms(r["createdAt"].as_str().unwrap()).unwrap())
        .collect();
    assert!(stamps.windows(2).any(|w| w[0] > w[1]) && stamps.windows(2).any(|w| w[0] < w[1]));
    let batch = fetch_all(&setup, Filters::default()).await.unwrap();
    assert!(batch.records.windows(2).all(|w| w[0].key() > w[1].key()));
}

#[tokio::test]
async fn integer_scores_match_their_text_and_fractions_theirs() {
    let setup = start(config(Quirks::AsBuilt, 300)).await;
    for score in ["9", "7.5"] {
        let filters = Filters {
            attrs: [("score".to_string(), score.to_string())].into(),
            ..Filters::default()
        };
        let batch = fetch_all(&setup, filters).await.unwrap();
        assert!(!batch.records.is_empty(), "no record with score {score}");
        assert!(batch
            .records
            .iter()
            .all(|r| r.attributes["score"].to_string().as_str() == score));
    }
}

#[tokio::test]
async fn a_bad_item_is_skipped_not_fatal() {
    let setup = start(config(Quirks::AsBuilt, 10)).await;
    setup
        .sim
        .insert(json!({"_id": "665f00000000000000000002", "createdAt": "not a date"}));
    setup.sim.insert(json!(["not", "an", "object"]));
    let batch = fetch_all(&setup, Filters::default()).await.unwrap();
    assert_eq!((batch.records.len(), batch.scanned), (10, 12));
}

#[tokio::test]
async fn the_as_built_prompt_filter_is_rechecked_exactly() {
    // The real service matches ObjectIds in any hex case; attr.promptId is exact.
    let setup = start(config(Quirks::AsBuilt, 60)).await;
    let upper = setup.sim.prompt_ids()[0].to_uppercase();
    let batch = fetch_all(&setup, prompt_filter(&upper)).await.unwrap();
    assert!(batch.scanned > 0);
    assert!(batch.records.is_empty() && batch.frontier.done);
}
