//! The client-credentials flow: one cached token, one token request for
//! many concurrent fetches, one refresh on a 401, tokens that expire in
//! the middle of a traversal, and errors that never show the secret.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::*;
use loggate_core::query::Filters;
use loggate_core::{Adapter, Order, Position, SourceError};
use loggate_logto::LogtoAdapter;
use loggate_logto::TimeFilter;

#[tokio::test]
async fn the_token_is_fetched_once_and_reused() {
    let env = start(config(100, 50, true), Creds::Grant, TimeFilter::On).await;
    let q = query(Filters::default(), Order::Desc);
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 10)
        .await
        .unwrap();
    fetch(env.adapter.as_ref(), &q, &batch.frontier, 10)
        .await
        .unwrap();
    assert_eq!(token_requests(&env.sim), 1);
    let seen = env.sim.faults().seen();
    let token_request = &seen[0];
    assert_eq!(
        (token_request.method.as_str(), token_request.path.as_str()),
        ("POST", "/oidc/token")
    );
    let basic = base64::engine::general_purpose::STANDARD.encode("m2m-demo-client:m2m-demo-secret");
    assert_eq!(
        token_request.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        token_request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let bearer = seen[1].header("authorization").unwrap();
    assert!(bearer.starts_with("Bearer sim-at-"), "{bearer}");
    assert!(seen[1..]
        .iter()
        .all(|r| r.header("authorization") == Some(bearer)));
}

#[tokio::test]
async fn concurrent_fetches_share_one_token_request() {
    let env = start(config(100, 50, true), Creds::Grant, TimeFilter::On).await;
    let q = query(Filters::default(), Order::Desc);
    let position = Position::start();
    let fetches = (0..12).map(|_| fetch(env.adapter.as_ref(), &q, &position, 5));
    for result in futures::future::join_all(fetches).await {
        result.unwrap();
    }
    assert_eq!(token_requests(&env.sim), 1);
    assert_eq!(env.sim.issued_tokens(), 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_on_401() {
    let env = start(config(100, 50, true), Creds::Grant, TimeFilter::On).await;
    let q = query(Filters::default(), Order::Desc);
    fetch(env.adapter.as_ref(), &q, &Position::start(), 10)
        .await
        .unwrap();
    env.sim.expire_all_tokens();
    env.sim.faults().forget_seen();
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 10)
        .await
        .unwrap();
    assert!(!batch.records.is_empty());
    let paths: Vec<String> = env
        .sim
        .faults()
        .seen()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(&paths[..3], ["/api/logs", "/oidc/token", "/api/logs"]);
    assert_eq!(token_requests(&env.sim), 1);
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let env = start(config(100, 50, true), Creds::Grant, TimeFilter::On).await;
    let q = query(Filters::default(), Order::Desc);
    let position = Position::start();
    fetch(env.adapter.as_ref(), &q, &position, 10)
        .await
        .unwrap();
    env.sim.expire_all_tokens();
    env.sim.faults().forget_seen();
    let fetches = (0..8).map(|_| fetch(env.adapter.as_ref(), &q, &position, 5));
    for result in futures::future::join_all(fetches).await {
        result.unwrap();
    }
    assert_eq!(token_requests(&env.sim), 1);
}

#[tokio::test]
async fn tokens_expiring_during_a_traversal_lose_nothing() {
    for order in [Order::Desc, Order::Asc] {
        let env = start(config(300, 60, true), Creds::Grant, TimeFilter::Auto).await;
        let q = query(
            Filters {
                end: Some(env.sim.now_ms()),
                ..Filters::default()
            },
            order,
        );
        let want_keys = expected(env.sim.snapshot(), &q);
        let sim = env.sim.clone();
        let got = traverse(env.adapter.as_ref(), &q, 9, 10_000, |round| {
            if round % 3 == 0 {
                sim.expire_all_tokens();
            }
        })
        .await;
        assert_eq!(keys(&got), want_keys);
        assert!(token_requests(&env.sim) > 5);
    }
}

#[tokio::test]
async fn a_rejected_static_token_is_not_retried() {
    let mut cfg = config(10, 5, true);
    let env = start(cfg.clone(), Creds::Static, TimeFilter::On).await;
    cfg.spec.token = "wrong-token".into();
    let adapter = adapter(&env.served.base_url(), &cfg, Creds::Static, TimeFilter::On);
    let error = fetch(
        &adapter,
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        5,
    )
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
    assert_eq!(env.sim.faults().seen_count(), 1);
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_credentials_error_without_the_secret() {
    let mut cfg = config(10, 5, true);
    let env = start(cfg.clone(), Creds::Grant, TimeFilter::On).await;
    cfg.client_secret = "not-the-secret-0042".into();
    let adapter = Arc::new(adapter(
        &env.served.base_url(),
        &cfg,
        Creds::Grant,
        TimeFilter::On,
    ));
    let error = fetch(
        adapter.as_ref(),
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        5,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, SourceError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("invalid_client") && !text.contains("not-the-secret-0042"),
        "{text}"
    );
    assert_eq!(error.code(), "upstream_unauthorized");
    assert_eq!(adapter.kind(), "logto");
}

#[tokio::test]
async fn a_wrong_resource_is_reported_by_the_token_endpoint() {
    let mut cfg = config(10, 5, true);
    let env = start(cfg.clone(), Creds::Grant, TimeFilter::On).await;
    cfg.resource = "https://other.example/api".into();
    let adapter = adapter(&env.served.base_url(), &cfg, Creds::Grant, TimeFilter::On);
    let error = fetch(
        &adapter,
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        5,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("invalid_target"), "{error}");
}

#[tokio::test]
async fn no_credentials_is_an_error_without_a_request() {
    let cfg = config(10, 5, true);
    let env = start(cfg.clone(), Creds::Static, TimeFilter::On).await;
    let (mut s, mut params) = settings(&env.served.base_url(), &cfg, Creds::Static, TimeFilter::On);
    (s.token, params.token) = (None, None);
    let adapter = LogtoAdapter::new(s, &params);
    let error = fetch(
        &adapter,
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        5,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("no credentials configured"),
        "{error}"
    );
    assert_eq!(env.sim.faults().seen_count(), 0);
}
