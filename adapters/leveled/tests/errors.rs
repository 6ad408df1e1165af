//! Error bodies and statuses mapped to typed errors; the simulator's own
//! validation answers as documented; unreadable entries are skipped.
#![cfg(feature = "sim")]

mod common;

use std::time::Duration;

use common::{config, fetch_once, Setup, TOKEN};
use loggate_core::sim::Fault;
use loggate_core::testkit::{pinned_query, reference, traverse, LARGE_BUDGET};
use loggate_core::time::{format_ms, now_ms};
use loggate_core::{Filters, Order, Position, SourceError};
use loggate_leveled::sim::UNAUTHORIZED_MESSAGE;
use serde_json::{json, Value};

fn body(message: &str) -> String {
    json!({"status": "error", "message": message}).to_string()
}

async fn first_fetch(setup: &Setup) -> Result<loggate_core::Batch, SourceError> {
    let query = pinned_query(Filters::default(), Order::Desc);
    fetch_once(&*setup.adapter, &query, &Position::start(), 10).await
}

#[tokio::test]
async fn error_statuses_become_typed_errors_with_the_message() {
    let setup = common::start(config(31, 50, 10)).await;
    let faults = setup.sim.faults();
    let bad_date =
        "Invalid date format for 'startDate'. Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ).";
    faults.fail_next(Fault::status(400, &body(bad_date)));
    assert_eq!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Rejected {
            status: 400,
            message: bad_date.into()
        }
    );
    faults.fail_next(Fault::status(401, &body(UNAUTHORIZED_MESSAGE)));
    assert_eq!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Unauthorized {
            status: 401,
            message: UNAUTHORIZED_MESSAGE.into()
        }
    );
    let forbidden = "You do not have permission to access API logs.";
    faults.fail_next(Fault::status(403, &body(forbidden)));
    assert_eq!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Unauthorized {
            status: 403,
            message: forbidden.into()
        }
    );
    faults.fail_next(Fault::with_retry_after(
        429,
        &body("Too many requests."),
        "7",
    ));
    assert_eq!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::RateLimited {
            message: "Too many requests.".into(),
            retry_after: Some(Duration::from_secs(7))
        }
    );
    faults.fail_next(Fault::status(500, &body("Internal server error.")));
    assert_eq!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Upstream {
            status: 500,
            message: "Internal server error.".into(),
            retry_after: None
        }
    );
    // A body that is not the documented shape still gives its excerpt.
    faults.fail_next(Fault::status(500, "upstream exploded"));
    assert!(matches!(first_fetch(&setup).await.unwrap_err(),
        SourceError::Upstream { status: 500, message, .. } if message == "upstream exploded"));
    // An error status inside a 200 answer.
    faults.fail_next(Fault::status(200, &body("Service degraded.")));
    assert!(matches!(first_fetch(&setup).await.unwrap_err(),
        SourceError::Upstream { status: 200, message, .. } if message == "Service degraded."));
    assert!(first_fetch(&setup).await.is_ok());
}

#[tokio::test]
async fn the_token_never_reaches_an_error_message() {
    let setup = common::start(config(32, 20, 5)).await;
    setup
        .sim
        .faults()
        .fail_next(Fault::status(401, &body(&format!("Invalid token {TOKEN}"))));
    let error = first_fetch(&setup).await.unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(error.to_string().contains("[redacted]"), "{error}");
}

#[tokio::test]
async fn a_wrong_token_gets_the_documented_401() {
    let setup = common::start(config(33, 20, 5)).await;
    let wrong = common::adapter(&setup.served.base_url(), "not-the-token", true);
    let query = pinned_query(Filters::default(), Order::Desc);
    let error = fetch_once(&wrong, &query, &Position::start(), 10)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SourceError::Unauthorized {
            status: 401,
            message: UNAUTHORIZED_MESSAGE.into()
        }
    );
    // Missing and malformed headers get the same body, verbatim.
    for header in [None, Some("Basic dGVzdA=="), Some(TOKEN)] {
        let (status, body) = raw_get(&setup, "limit=10", header).await;
        assert_eq!(status, 401);
        assert_eq!(
            body,
            json!({"status": "error", "message": UNAUTHORIZED_MESSAGE})
        );
    }
}

#[tokio::test]
async fn the_simulator_validates_parameters_as_documented() {
    let setup = common::start(config(34, 20, 5)).await;
    let bearer = format!("Bearer {TOKEN}");
    let cases = [
        ("startDate=yesterday", "Invalid date format for 'startDate'. Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ)."),
        ("endDate=2023-13-45", "Invalid date format for 'endDate'. Please use ISO 8601 format (YYYY-MM-DDTHH:MM:SSZ)."),
        ("limit=101", "Invalid 'limit' parameter. Must be an integer between 1 and 100."),
        ("limit=0", "Invalid 'limit' parameter. Must be an integer between 1 and 100."),
        ("offset=-1", "Invalid 'offset' parameter. Must be a non-negative integer."),
        ("level=TRACE", "Invalid 'level' parameter. Possible values: DEBUG, INFO, WARN, ERROR, FATAL."),
    ];
    for (query, message) in cases {
        let (status, body) = raw_get(&setup, query, Some(&bearer)).await;
        assert_eq!(
            (status, body),
            (400, json!({"status": "error", "message": message})),
            "{query}"
        );
    }
    let (status, body) = raw_get(&setup, "", Some(&bearer)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["data"]["pagination"],
        json!({"total": 20, "limit": 50, "offset": 0, "nextOffset": null})
    );
    let (_, body) = raw_get(
        &setup,
        "startDate=2023-10-27T09:00:00Z&limit=100",
        Some(&bearer),
    )
    .await;
    assert_eq!(body["data"]["logs"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn unreadable_entries_are_skipped_not_fatal() {
    let setup = common::start(config(35, 60, 20)).await;
    let at = format_ms(now_ms() - 10_000);
    setup.sim.insert(json!({"timestamp": at, "level": "INFO"}));
    setup
        .sim
        .insert(json!({"timestamp": "garbage", "level": "INFO", "service": "x", "message": "m"}));
    setup.sim.insert(json!("not an object"));
    for order in [Order::Desc, Order::Asc] {
        // No time bound at all, so the unreadable entries come back too.
        let query = loggate_core::SourceQuery {
            filters: Filters::default(),
            order,
            include_raw: false,
        };
        let got = traverse(&*setup.adapter, &query, 25, LARGE_BUDGET).await;
        assert_eq!(got, reference(&setup.sim.snapshot(), &query));
        assert_eq!(got.len(), 61);
    }
    // The one fetch that reads them counts the two it could not read.
    let query = loggate_core::SourceQuery {
        filters: Filters::default(),
        order: Order::Desc,
        include_raw: false,
    };
    let batch = fetch_once(&*setup.adapter, &query, &Position::start(), 100)
        .await
        .unwrap();
    assert_eq!((batch.records.len(), batch.skipped), (61, 2));
}

#[tokio::test]
async fn answers_out_of_time_order_are_refused() {
    let setup = common::start(config(36, 10, 5)).await;
    let entry =
        |ts: &str| json!({"timestamp": ts, "level": "INFO", "service": "s", "message": "m"});
    let page = json!({"status": "success", "data": {
        "logs": [entry("2023-10-27T10:00:00Z"), entry("2023-10-27T11:00:00Z")],
        "pagination": {"total": 2, "limit": 100, "offset": 0}}});
    setup
        .sim
        .faults()
        .fail_next(Fault::status(200, &page.to_string()));
    assert!(matches!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Decode(_)
    ));
    let missing = json!({"status": "success", "data": {"logs": []}});
    setup
        .sim
        .faults()
        .fail_next(Fault::status(200, &missing.to_string()));
    assert!(matches!(
        first_fetch(&setup).await.unwrap_err(),
        SourceError::Decode(_)
    ));
}

/// A `GET /logs?{query}` with the given `Authorization`, as status and JSON.
async fn raw_get(setup: &Setup, query: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut request =
        reqwest::Client::new().get(format!("{}/logs?{query}", setup.served.base_url()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}
