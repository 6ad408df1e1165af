//! The simulator against Alloy's documentation, over HTTP: auth, the
//! `filters` grammar and its errors, parameters, sorting without a
//! tie-breaker, and page-style pagination numbers.
#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_alloy::SimConfig;
use serde_json::{json, Value};

async fn get(base: &str, query: &[(&str, String)], token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .get(format!("{base}/logs"))
        .query(query);
    if let Some(token) = token {
        request = request.header("Authorization", format!("bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

fn filters(clauses: Vec<Value>) -> (&'static str, String) {
    ("filters", Value::Array(clauses).to_string())
}

#[tokio::test]
async fn auth_is_a_bearer_key_with_message_bodies() {
    let setup = setup(config(1, 5, None)).await;
    let base = setup.served.base_url();
    let (status, body) = get(&base, &[], None).await;
    assert_eq!((status, body["message"].is_string()), (401, true));
    assert_eq!(get(&base, &[], Some("nope")).await.0, 401);
    let response = reqwest::Client::new()
        .get(format!("{base}/logs"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn pagination_numbers_come_from_skip_and_limit() {
    let setup = setup(config(1, 25, None)).await;
    let base = setup.served.base_url();
    let (status, body) = get(
        &base,
        &[("skip", "20".into()), ("limit", "10".into())],
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["notifications"].as_array().unwrap().len(), 5);
    assert_eq!(
        body["pagination"],
        json!({"totalItems": 25, "totalPages": 3, "currentPage": 3, "pageSize": 10})
    );
    assert!(body["lastFetched"].is_string());
    let (_, body) = get(&base, &[], Some(TOKEN)).await;
    assert_eq!(
        body["pagination"]["pageSize"], 10,
        "undocumented default limit"
    );
    for bad in [
        ("limit", "101"),
        ("limit", "0"),
        ("skip", "-1"),
        ("sortBy", "teamId"),
        ("sortOrder", "up"),
    ] {
        let (status, body) = get(&base, &[(bad.0, bad.1.to_string())], Some(TOKEN)).await;
        assert_eq!(status, 400, "{bad:?}");
        assert!(body["message"].as_str().unwrap().contains(bad.0), "{body}");
    }
}

#[tokio::test]
async fn bad_filters_are_400_with_a_message() {
    let setup = setup(config(1, 5, None)).await;
    let base = setup.served.base_url();
    let cases = [
        ("[{\"columns\":".to_string(), "not valid JSON"),
        (json!([clause("teamId", "equals", "x")]).to_string(), "unknown filter column"),
        (json!([clause("message", "startswith", "x")]).to_string(), "unknown filter operator"),
        (json!([clause("createdAt", "lessthan", "tomorrow")]).to_string(), "invalid date"),
        (
            json!([{"columns": {"value": "workflowVersion"}, "operators": {"value": "equals"}, "userinput": {"value": 2}}]).to_string(),
            "must be a string",
        ),
    ];
    for (text, expected) in cases {
        let (status, body) = get(&base, &[("filters", text)], Some(TOKEN)).await;
        assert_eq!(status, 400);
        assert!(
            body["message"].as_str().unwrap().contains(expected),
            "{body}"
        );
    }
}

#[tokio::test]
async fn every_column_filters_and_parameters_select_by_parent_workflow_and_user() {
    let setup = setup(config(2, 120, None)).await;
    let base = setup.served.base_url();
    let logs = setup.sim.raw_records();
    let sample = &logs[0];
    let count = |pred: &dyn Fn(&Value) -> bool| logs.iter().filter(|l| pred(l)).count() as u64;
    let total = |body: &Value| body["pagination"]["totalItems"].as_u64().unwrap();
    let string_cases = [
        ("data.executionId", "/data/executionId"),
        ("forgeWorkflowId", "/forgeWorkflowId"),
        ("userId", "/userId"),
        (
            "forgeWorkflow.integrationId._id",
            "/forgeWorkflow/integrationId/_id",
        ),
        ("message", "/message"),
    ];
    for (column, pointer) in string_cases {
        let value = sample.pointer(pointer).unwrap().as_str().unwrap();
        let (_, body) = get(
            &base,
            &[filters(vec![clause(column, "equals", value)])],
            Some(TOKEN),
        )
        .await;
        assert_eq!(
            total(&body),
            count(&|l| l.pointer(pointer).and_then(Value::as_str) == Some(value)),
            "{column}"
        );
        let (_, body) = get(
            &base,
            &[filters(vec![clause(column, "notequals", value)])],
            Some(TOKEN),
        )
        .await;
        assert_eq!(
            total(&body),
            count(&|l| l.pointer(pointer).and_then(Value::as_str) != Some(value)),
            "{column}"
        );
    }
    let version = sample["workflowVersion"].as_u64().unwrap();
    let (_, body) = get(
        &base,
        &[filters(vec![clause(
            "workflowVersion",
            "greaterthan",
            &version.to_string(),
        )])],
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        total(&body),
        count(&|l| l["workflowVersion"].as_u64().unwrap() > version)
    );
    let (_, body) = get(
        &base,
        &[(
            "workflowId",
            sample["forgeWorkflowId"].as_str().unwrap().to_string(),
        )],
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        total(&body),
        count(&|l| l["forgeWorkflowId"] == sample["forgeWorkflowId"])
    );
    let (_, body) = get(
        &base,
        &[(
            "associatedUserId",
            sample["userId"].as_str().unwrap().to_string(),
        )],
        Some(TOKEN),
    )
    .await;
    assert_eq!(total(&body), count(&|l| l["userId"] == sample["userId"]));
    let (_, body) = get(
        &base,
        &[filters(vec![clause("message", "notcontains", "Error")])],
        Some(TOKEN),
    )
    .await;
    assert_eq!(total(&body), count(&|l| l["message"] != "executionError"));
    let started = count(&|l| l["message"] == "executionStarted");
    let without_completed = count(&|l| l.get("completedAt").is_none());
    assert_eq!(
        started, without_completed,
        "completedAt is absent exactly on executionStarted"
    );
}

#[tokio::test]
async fn contains_case_sensitivity_is_a_switch() {
    for (sensitive, expect_errors) in [(true, false), (false, true)] {
        let setup = setup(SimConfig {
            contains_case_sensitive: sensitive,
            ..config(3, 60, None)
        })
        .await;
        let (_, body) = get(
            &setup.served.base_url(),
            &[filters(vec![clause("message", "contains", "error")])],
            Some(TOKEN),
        )
        .await;
        assert_eq!(
            body["pagination"]["totalItems"].as_u64().unwrap() > 0,
            expect_errors
        );
    }
}

#[tokio::test]
async fn ties_come_back_in_a_new_order_on_each_request_and_sorts_work() {
    let setup = setup(config(4, 60, Some(1))).await;
    let base = setup.served.base_url();
    let ids = |body: &Value| -> Vec<String> {
        body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["_id"].as_str().unwrap().to_string())
            .collect()
    };
    let page = [("limit", "60".to_string())];
    let (_, first) = get(&base, &page, Some(TOKEN)).await;
    let (_, second) = get(&base, &page, Some(TOKEN)).await;
    assert_ne!(ids(&first), ids(&second), "no tie-breaker");
    for sort_by in ["message", "userId", "completedAt"] {
        let query = [
            ("limit", "60".to_string()),
            ("sortBy", sort_by.to_string()),
            ("sortOrder", "asc".to_string()),
        ];
        let (_, body) = get(&base, &query, Some(TOKEN)).await;
        let keys: Vec<String> = body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                l.get(sort_by)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "sortBy={sort_by}");
    }
}
