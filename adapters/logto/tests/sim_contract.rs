//! The simulator against the provider contract (not against the adapter):
//! headers, pagination validation, tie order, filters, both generations,
//! the token endpoint and the shape of the generated data.

mod common;

use std::collections::HashSet;

use common::*;
use loggate_core::sim::serve_loopback;
use loggate_logto::sim::{LogtoSim, SimConfig};
use serde_json::Value;

struct Answer {
    status: u16,
    total: Option<String>,
    /// Every `Link` line, joined with `, `.
    link: Option<String>,
    link_lines: usize,
    body: Value,
}

async fn get(base: &str, query: &str, token: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(format!("{base}/api/logs?{query}"));
    if let Some(token) = token {
        request = request.header("Authorization", token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let lines: Vec<String> = response
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let (total, link) = (
        header("total-number"),
        (!lines.is_empty()).then(|| lines.join(", ")),
    );
    let status = response.status().as_u16();
    Answer {
        status,
        total,
        link,
        link_lines: lines.len(),
        body: serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    }
}

async fn serve(config: SimConfig) -> (LogtoSim, String) {
    let sim = LogtoSim::new(config);
    let served = serve_loopback(sim.router()).await.unwrap();
    let base = served.base_url();
    std::mem::forget(served);
    (sim, base)
}

const BEARER: Option<&str> = Some("Bearer logto-demo-token");

#[tokio::test]
async fn headers_follow_logtos_pagination_middleware() {
    let (_sim, base) = serve(config(45, 45, true)).await;
    let a = get(&base, "page=2&page_size=20&logKey=", BEARER).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.total.as_deref(), Some("45"));
    assert_eq!(a.body.as_array().unwrap().len(), 20);
    let host = base.trim_start_matches("http://");
    let url = |p: u32| format!("<http://{host}/api/logs?logKey=&page={p}&page_size=20>");
    let expected = format!(
        "{}; rel=\"first\", {}; rel=\"prev\", {}; rel=\"next\", {}; rel=\"last\"",
        url(1),
        url(1),
        url(3),
        url(3)
    );
    assert_eq!(a.link.as_deref(), Some(expected.as_str()));
    assert_eq!(
        a.link_lines, 4,
        "one header line per link, as Logto sends them"
    );
    let first = get(&base, "", BEARER).await;
    assert_eq!(
        first.body.as_array().unwrap().len(),
        20,
        "default page_size is 20"
    );
    assert!(!first.link.unwrap().contains("rel=\"prev\""));
    let last = get(&base, "page=3&page_size=20", BEARER).await;
    assert!(!last.link.unwrap().contains("rel=\"next\""));
    let past = get(&base, "page=9&page_size=20", BEARER).await;
    assert_eq!(
        (past.status, past.body.clone()),
        (200, Value::Array(vec![]))
    );
}

#[tokio::test]
async fn invalid_pagination_is_refused() {
    let (_sim, base) = serve(config(5, 5, true)).await;
    for query in [
        "page=0",
        "page_size=0",
        "page_size=101",
        "page=abc",
        "page=-1",
    ] {
        let a = get(&base, query, BEARER).await;
        assert_eq!(a.status, 400, "{query}");
        assert_eq!(a.body["code"], "guard.invalid_pagination");
        assert_eq!(
            a.body["message"],
            "The request pagination value is invalid."
        );
    }
    assert_eq!(get(&base, "page_size=100", BEARER).await.status, 200);
}

#[tokio::test]
async fn authorization_errors_use_logtos_codes() {
    let (_sim, base) = serve(config(5, 5, true)).await;
    let missing = get(&base, "", None).await;
    assert_eq!(
        (missing.status, missing.body["code"].as_str()),
        (401, Some("auth.authorization_header_missing"))
    );
    for bad in ["Bearer nope", "bearer logto-demo-token", "Basic abc"] {
        let a = get(&base, "", Some(bad)).await;
        assert_eq!(
            (a.status, a.body["code"].as_str()),
            (401, Some("auth.unauthorized")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn ties_come_back_in_a_fresh_order_and_rows_are_newest_first() {
    let (_sim, base) = serve(config(60, 1, true)).await;
    let mut orders = HashSet::new();
    for _ in 0..5 {
        let a = get(&base, "page_size=100", BEARER).await;
        let ids: Vec<String> = a
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        orders.insert(ids);
    }
    assert!(orders.len() > 1, "equal timestamps must not keep one order");
    let (_sim, base) = serve(config(200, 200, true)).await;
    let a = get(&base, "page_size=100", BEARER).await;
    let stamps: Vec<i64> = a
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdAt"].as_i64().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]));
}

#[tokio::test]
async fn filters_are_exact_and_the_time_window_depends_on_the_generation() {
    for honours in [true, false] {
        let (sim, base) = serve(config(300, 300, honours)).await;
        let raws = sim.raw_records();
        let user = raws
            .iter()
            .find_map(|r| r["payload"]["userId"].as_str())
            .unwrap()
            .to_string();
        let a = get(&base, &format!("userId={user}&page_size=100"), BEARER).await;
        let expected = raws
            .iter()
            .filter(|r| r["payload"]["userId"] == user.as_str())
            .count();
        assert_eq!(a.total, Some(expected.to_string()));
        let prefix = &user[..4];
        assert_eq!(
            get(&base, &format!("userId={prefix}"), BEARER)
                .await
                .total
                .as_deref(),
            Some("0")
        );
        let mid = NOW - 1_800_000;
        let a = get(&base, &format!("end_time={mid}&page_size=100"), BEARER).await;
        let inside = a
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["createdAt"].as_i64().unwrap() <= mid);
        assert_eq!(inside, honours);
        let bad = get(&base, "start_time=yesterday", BEARER).await;
        assert_eq!(bad.status, if honours { 400 } else { 200 });
        if honours {
            assert_eq!(bad.body["code"], "guard.invalid_input");
        }
    }
}

#[tokio::test]
async fn data_looks_like_logtos() {
    let sim = LogtoSim::new(SimConfig::demo(NOW));
    let raws = sim.raw_records();
    assert!(raws.len() >= 2000);
    let ids: HashSet<&str> = raws.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), raws.len());
    assert!(ids.iter().all(|id| id.len() == 21
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())));
    let stamps: HashSet<i64> = raws
        .iter()
        .map(|r| r["createdAt"].as_i64().unwrap())
        .collect();
    assert!(stamps.len() < raws.len(), "ties expected");
    assert!(stamps
        .iter()
        .all(|t| (NOW - 7 * 24 * 3_600_000..=NOW).contains(t)));
    let errors = raws
        .iter()
        .filter(|r| r["payload"]["result"] == "Error")
        .count();
    assert!(errors > 50 && raws.iter().any(|r| r["payload"]["error"].is_string()));
    assert!(raws.iter().any(|r| r["key"] == "Interaction.SignIn.Submit"));
    assert!(raws.iter().all(|r| r["key"] == r["payload"]["key"]));
    assert_eq!(sim.snapshot().len(), raws.len());
    let before = sim.now_ms();
    sim.insert_new(3);
    let new: Vec<i64> = sim.raw_records()[raws.len()..]
        .iter()
        .map(|r| r["createdAt"].as_i64().unwrap())
        .collect();
    assert!(new.len() == 3 && new.iter().all(|t| *t > before));
}

#[tokio::test]
async fn the_token_endpoint_checks_client_grant_resource_and_scope() {
    let (sim, base) = serve(SimConfig {
        token_expires_in: 120,
        ..config(5, 5, true)
    })
    .await;
    let basic = |id: &str, secret: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        )
    };
    let post = |auth: String, body: &'static str| {
        let base = base.clone();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{base}/oidc/token"))
                .header("Authorization", auth)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap(),
            )
        }
    };
    let good =
        "grant_type=client_credentials&resource=https%3A%2F%2Fdefault.logto.app%2Fapi&scope=all";
    let (status, body) = post(basic("m2m-demo-client", "wrong"), good).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let cases = [
        (
            "grant_type=password&resource=https%3A%2F%2Fdefault.logto.app%2Fapi&scope=all",
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials&resource=https%3A%2F%2Fx%2Fapi&scope=all",
            "invalid_target",
        ),
        (
            "grant_type=client_credentials&resource=https%3A%2F%2Fdefault.logto.app%2Fapi",
            "invalid_scope",
        ),
    ];
    for (body, error) in cases {
        let (status, answer) = post(basic("m2m-demo-client", "m2m-demo-secret"), body).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some(error)));
    }
    let (status, body) = post(basic("m2m-demo-client", "m2m-demo-secret"), good).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["expires_in"].as_u64(), body["token_type"].as_str()),
        (Some(120), Some("Bearer"))
    );
    let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
    assert_eq!(get(&base, "", Some(&bearer)).await.status, 200);
    sim.advance_clock(std::time::Duration::from_secs(121));
    assert_eq!(
        get(&base, "", Some(&bearer)).await.status,
        401,
        "expired on the sim's clock"
    );
    assert_eq!(
        get(&base, "", BEARER).await.status,
        200,
        "the static token never expires"
    );
}
