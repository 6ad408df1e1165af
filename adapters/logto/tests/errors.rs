//! Logto's error answers mapped to typed errors carrying its code and
//! message, decode failures, and bad rows skipped inside good pages.

mod common;

use std::time::Duration;

use common::*;
use loggate_core::query::Filters;
use loggate_core::sim::Fault;
use loggate_core::{Order, Position, SourceError};
use loggate_logto::sim::{logto_error, SimConfig};
use loggate_logto::TimeFilter;
use serde_json::json;

async fn error_for(fault: Fault) -> SourceError {
    let env = start(config(20, 10, true), Creds::Static, TimeFilter::On).await;
    env.sim.faults().fail_next(fault);
    fetch(
        env.adapter.as_ref(),
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        5,
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn logto_error_bodies_become_typed_errors() {
    let cases = [
        (
            401,
            "auth.authorization_header_missing",
            "Authorization header is missing.",
        ),
        (
            401,
            "auth.unauthorized",
            "Unauthorized. Please check credentials and its scope.",
        ),
        (
            403,
            "auth.forbidden",
            "Forbidden. Please check your user roles and permissions.",
        ),
    ];
    for (status, code, message) in cases {
        let error = error_for(Fault::status(status, &logto_error(code, message))).await;
        assert_eq!(
            error,
            SourceError::Unauthorized {
                status,
                message: format!("{code}: {message}")
            }
        );
    }
    for (code, message) in [
        ("guard.invalid_input", "The request query is invalid."),
        (
            "guard.invalid_pagination",
            "The request pagination value is invalid.",
        ),
    ] {
        let error = error_for(Fault::status(400, &logto_error(code, message))).await;
        assert_eq!(
            error,
            SourceError::Rejected {
                status: 400,
                message: format!("{code}: {message}")
            }
        );
    }
}

#[tokio::test]
async fn internal_errors_and_rate_limits_keep_their_message() {
    let error = error_for(Fault::status(
        500,
        r#"{"message":"Internal server error."}"#,
    ))
    .await;
    assert_eq!(
        error,
        SourceError::Upstream {
            status: 500,
            message: "Internal server error.".into(),
            retry_after: None
        }
    );
    let error = error_for(Fault::with_retry_after(
        429,
        r#"{"message":"Too many requests."}"#,
        "3",
    ))
    .await;
    assert_eq!(
        error,
        SourceError::RateLimited {
            message: "Too many requests.".into(),
            retry_after: Some(Duration::from_secs(3))
        }
    );
    let error = error_for(Fault::HtmlErrorPage).await;
    assert!(
        matches!(error, SourceError::Upstream { status: 502, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors() {
    assert!(matches!(
        error_for(Fault::MalformedJson).await,
        SourceError::Decode(_)
    ));
    let error = error_for(Fault::Status {
        status: 200,
        body: r#"{"data": []}"#.into(),
        content_type: "application/json",
        retry_after: None,
    })
    .await;
    assert_eq!(
        error,
        SourceError::Decode("expected a JSON array of log entries".into())
    );
    // Spec §10: the content type is packaging; what decides is whether
    // the body is JSON (`[]` under text/html is an empty page).
    let error = error_for(Fault::Status {
        status: 200,
        body: "<html><body>maintenance</body></html>".into(),
        content_type: "text/html",
        retry_after: None,
    })
    .await;
    assert_eq!(
        error,
        SourceError::Decode("expected a JSON body, got content type text/html".into())
    );
}

#[tokio::test]
async fn a_second_401_after_a_refresh_is_returned() {
    // Tokens that expire the moment they are issued: every /api/logs 401s.
    let env = start(
        SimConfig {
            token_expires_in: 0,
            ..config(20, 10, true)
        },
        Creds::Grant,
        TimeFilter::On,
    )
    .await;
    let q = query(Filters::default(), Order::Desc);
    let error = fetch(env.adapter.as_ref(), &q, &Position::start(), 5)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SourceError::Unauthorized {
            status: 401,
            message: "auth.unauthorized: Unauthorized. Please check credentials and its scope."
                .into()
        }
    );
    let paths: Vec<String> = env
        .sim
        .faults()
        .seen()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        paths,
        ["/oidc/token", "/api/logs", "/oidc/token", "/api/logs"],
        "one refresh only"
    );
}

#[tokio::test]
async fn a_bad_row_is_skipped_without_failing_the_page() {
    let env = start(config(20, 10, true), Creds::Static, TimeFilter::On).await;
    env.sim.insert(json!({"tenantId": "default", "id": "badrow000000000000000", "key": "Unknown",
                          "payload": {"key": "Unknown", "result": "Success"}, "createdAt": "yesterday"}));
    let q = query(Filters::default(), Order::Desc);
    let got = traverse(env.adapter.as_ref(), &q, 100, 10_000, |_| {}).await;
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|r| r.native_id != "badrow000000000000000"));
}

#[tokio::test]
async fn raw_is_kept_only_when_asked() {
    let env = start(config(20, 10, true), Creds::Static, TimeFilter::On).await;
    let mut q = query(Filters::default(), Order::Desc);
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 5)
        .await
        .unwrap();
    assert!(batch.records.iter().all(|r| r.raw.is_none()));
    q.include_raw = true;
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 5)
        .await
        .unwrap();
    let raws = env.sim.raw_records();
    for record in &batch.records {
        let raw = &record.raw.as_ref().unwrap().to_value();
        assert!(raws.contains(raw));
        assert_eq!(raw["id"], json!(record.native_id));
    }
}
