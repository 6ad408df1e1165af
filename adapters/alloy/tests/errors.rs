//! Alloy's `{"message": ...}` error bodies and transport failures become
//! typed errors carrying the provider's message, never the API key.
#![cfg(feature = "sim")]

mod common;

use std::time::Duration;

use common::*;
use loggate_core::sim::Fault;
use loggate_core::{Filters, Order, Position, SourceError};

async fn first_page_error(setup: &Setup) -> SourceError {
    let query = query(Filters::default(), Order::Desc);
    fetch(&setup.adapter, &query, &Position::start(), 10, 10_000)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_with_alloys_message() {
    let setup = setup(config(1, 5, None)).await;
    let adapter =
        loggate_alloy::AlloyAdapter::new(settings(&setup.served.base_url(), "wrong-key-123"));
    let query = query(Filters::default(), Order::Desc);
    let error = fetch(&adapter, &query, &Position::start(), 10, 10_000)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SourceError::Unauthorized {
            status: 401,
            message: "Unauthorized: invalid API key".into()
        }
    );
}

#[tokio::test]
async fn statuses_map_to_typed_errors_with_the_body_message() {
    let setup = setup(config(1, 5, None)).await;
    let faults = setup.sim.faults();
    let body = |m: &str| format!(r#"{{"message": "{m}"}}"#);

    faults.fail_next(Fault::status(400, &body("Invalid filters")));
    assert_eq!(
        first_page_error(&setup).await,
        SourceError::Rejected {
            status: 400,
            message: "Invalid filters".into()
        }
    );
    faults.fail_next(Fault::status(403, &body("Forbidden")));
    assert!(matches!(
        first_page_error(&setup).await,
        SourceError::Unauthorized { status: 403, .. }
    ));
    faults.fail_next(Fault::with_retry_after(
        429,
        &body("Too many requests"),
        "7",
    ));
    assert_eq!(
        first_page_error(&setup).await,
        SourceError::RateLimited {
            message: "Too many requests".into(),
            retry_after: Some(Duration::from_secs(7))
        }
    );
    faults.fail_next(Fault::status(500, &body("Internal server error")));
    assert!(matches!(
        first_page_error(&setup).await,
        SourceError::Upstream { status: 500, ref message, .. } if message == "Internal server error"
    ));
    faults.fail_next(Fault::HtmlErrorPage);
    assert!(matches!(
        first_page_error(&setup).await,
        SourceError::Upstream { status: 502, .. }
    ));
}

#[tokio::test]
async fn undecodable_bodies_are_decode_errors() {
    let setup = setup(config(1, 5, None)).await;
    let faults = setup.sim.faults();
    faults.fail_next(Fault::MalformedJson);
    assert!(matches!(
        first_page_error(&setup).await,
        SourceError::Decode(_)
    ));
    faults.fail_next(Fault::Status {
        status: 200,
        body: "<html>ok</html>".into(),
        content_type: "text/html",
        retry_after: None,
    });
    assert!(
        matches!(first_page_error(&setup).await, SourceError::Decode(ref m) if m.contains("content type"))
    );
    faults.fail_next(Fault::status(200, r#"{"message": "ok"}"#));
    assert!(
        matches!(first_page_error(&setup).await, SourceError::Decode(ref m) if m.contains("notifications"))
    );
    faults.fail_next(Fault::Drop);
    assert!(matches!(
        first_page_error(&setup).await,
        SourceError::Network(_) | SourceError::Connect(_)
    ));
}

#[tokio::test]
async fn the_key_never_appears_in_an_error() {
    let setup = setup(config(1, 5, None)).await;
    let echo = format!(r#"{{"message": "bad key bearer {TOKEN}"}}"#);
    setup.sim.faults().fail_next(Fault::status(401, &echo));
    let error = first_page_error(&setup).await;
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(error.to_string().contains("[redacted]"));
}

#[tokio::test]
async fn a_limit_above_the_maximum_is_rejected() {
    let setup = setup(loggate_alloy::SimConfig {
        max_limit: 50,
        ..config(1, 5, None)
    })
    .await;
    // A fetch of 1000 asks for the adapter's page limit, 100 (a fetch of
    // 10 asks `limit=11`, which this upstream accepts).
    let query = query(Filters::default(), Order::Desc);
    let error = fetch(&setup.adapter, &query, &Position::start(), 1000, 10_000)
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::Rejected { status: 400, ref message } if message.contains("limit"))
    );
}
