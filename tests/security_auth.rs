//! Black-box auth matrix: a gateway with API keys in front of three
//! simulated sources. Each caller gets the right status and sees only the
//! sources its key may read; cursors are bound to the key that got them;
//! per-key rate limits answer `429` with `Retry-After` and leave other keys
//! alone; `/healthz` and `/readyz` stay open.

mod common;

use std::collections::BTreeSet;

use common::Gateway;
use loggate_core::sim::Served;
use serde_json::Value;
use sha2::{Digest, Sha256};

const DASH: &str = "lg_dashboard-key-0123456789";
const ALL: &str = "lg_everything-key-0123456789";
const NOISY: &str = "lg_noisy-key-0123456789";
const QUIET: &str = "lg_quiet-key-0123456789";
const SOURCES: [&str; 3] = ["app", "billing", "prompts"];

struct Setup {
    gateway: Gateway,
    _served: Vec<Served>,
}

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn start() -> Setup {
    let mut toml = String::new();
    let mut served = Vec::new();
    for (i, name) in SOURCES.iter().enumerate() {
        let (_, server, table) = common::stand_in_sim(40, i as u64 + 1).await;
        toml += &format!(
            "[sources.{name}]\n{table}rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
        );
        served.push(server);
    }
    let unlimited = "rate_limit = { per_second = 100000, burst = 100000 }";
    let limited = "rate_limit = { per_second = 1, burst = 3 }";
    for (name, key, scope, rate) in [
        ("dash", DASH, r#"["app", "billing"]"#, unlimited),
        ("all", ALL, r#"["*"]"#, unlimited),
        ("noisy", NOISY, r#"["app"]"#, limited),
        ("quiet", QUIET, r#"["app"]"#, limited),
    ] {
        toml += &format!(
            "[auth.keys.{name}]\nsha256 = \"{}\"\nsources = {scope}\n{rate}\n",
            sha256_hex(key)
        );
    }
    Setup {
        gateway: Gateway::start(&toml).await,
        _served: served,
    }
}

/// GET with an arbitrary `Authorization` header value (or none).
async fn get_raw(gateway: &Gateway, path: &str, authorization: Option<&str>) -> (u16, Value) {
    let mut request = gateway.client.get(gateway.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    if status == 401 {
        let challenge = response.headers().get("www-authenticate");
        assert!(
            challenge.is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
            "401 without a Bearer challenge"
        );
    }
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

fn assert_error(status: u16, body: &Value, want: u16, code: &str, what: &str) {
    assert_eq!(status, want, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

/// The sources of a `/logs` page: its `sources` block and the prefixes of its ids.
fn page_sources(body: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let block = body["sources"]
        .as_object()
        .expect("sources block")
        .keys()
        .cloned()
        .collect();
    let from_ids = body["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["source"].as_str().unwrap().to_string())
        .collect();
    (block, from_ids)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn without_a_valid_key_nothing_but_health_is_served() {
    let setup = start().await;
    let g = &setup.gateway;
    for path in ["/logs", "/sources", "/logs?source=app"] {
        for (auth, what) in [
            (None, "no header"),
            (Some("Bearer"), "bearer without a key"),
            (Some("Bearer "), "bearer with a blank key"),
            (Some(DASH), "key without scheme"),
            (Some(&*format!("Basic {DASH}")), "basic scheme"),
            (Some("Bearer lg_not-a-configured-key"), "unknown key"),
            (Some(&*format!("Bearer {DASH}x")), "key with one extra char"),
            (
                Some(&*format!("Bearer {}", sha256_hex(DASH))),
                "the digest itself",
            ),
        ] {
            let (status, body) = get_raw(g, path, auth).await;
            assert_error(
                status,
                &body,
                401,
                "unauthorized",
                &format!("{path} {what}"),
            );
            assert!(body.get("logs").is_none() && body.get("sources").is_none());
        }
    }
    let (status, body) = get_raw(g, "/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get_raw(g, "/readyz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")));
}

#[tokio::test]
async fn a_key_sees_exactly_its_sources() {
    let setup = start().await;
    let g = &setup.gateway;

    // Within scope, named explicitly; the scheme is case-insensitive.
    for auth in [format!("Bearer {DASH}"), format!("bearer {DASH}")] {
        let (status, body) = get_raw(g, "/logs?source=app&limit=100", Some(&auth)).await;
        assert_eq!(status, 200, "{body}");
        let (block, ids) = page_sources(&body);
        assert_eq!(block, set(&["app"]));
        assert_eq!(ids, set(&["app"]));
    }

    // Outside scope, alone or alongside an allowed source.
    for query in [
        "source=prompts",
        "source=app,prompts",
        "source=prompts,billing",
    ] {
        let (status, body) = g.get_with(&format!("/logs?{query}"), Some(DASH)).await;
        assert_error(status, &body, 403, "forbidden", query);
        assert_eq!(body["error"]["param"], "source", "{body}");
        assert!(body.get("logs").is_none());
    }

    // `source` omitted: exactly the key's sources.
    let (status, body) = g.get_with("/logs?limit=1000", Some(DASH)).await;
    assert_eq!(status, 200, "{body}");
    let (block, ids) = page_sources(&body);
    assert_eq!(block, set(&["app", "billing"]));
    assert_eq!(ids, set(&["app", "billing"]));

    // `/sources` lists only them.
    let listed = |body: &Value| -> BTreeSet<String> {
        body["sources"]
            .as_array()
            .expect("sources array")
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, body) = g.get_with("/sources", Some(DASH)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), set(&["app", "billing"]));

    // `["*"]` reads everything, with and without `source`.
    let (status, body) = g.get_with("/sources", Some(ALL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), set(&SOURCES));
    let (status, body) = g.get_with("/logs?limit=1000", Some(ALL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(page_sources(&body), (set(&SOURCES), set(&SOURCES)));
    let (status, body) = g.get_with("/logs?source=prompts", Some(ALL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(page_sources(&body).0, set(&["prompts"]));

    // An unknown source is named as such, not hidden behind 403.
    let (status, body) = g.get_with("/logs?source=nope", Some(ALL)).await;
    assert_error(status, &body, 400, "unknown_source", "unknown source");
}

#[tokio::test]
async fn counts_are_scoped_like_logs() {
    let setup = start().await;
    let g = &setup.gateway;
    let now = loggate_core::time::now_ms();
    let window = format!(
        "start={}&end={}&interval=1h",
        common::enc(&loggate_core::time::format_ms(now - 86_400_000)),
        common::enc(&loggate_core::time::format_ms(now + 1_000))
    );
    // A source outside the key's scope, alone or alongside an allowed one:
    // 403 naming `source`, no counts.
    for sources in ["prompts", "app,prompts", "prompts,billing"] {
        let query = format!("/logs/stats?{window}&source={sources}&by=source");
        let (status, body) = g.get_with(&query, Some(DASH)).await;
        assert_error(status, &body, 403, "forbidden", &query);
        assert_eq!(body["error"]["param"], "source", "{body}");
        assert!(body.get("series").is_none() && body.get("sources").is_none());
    }
    // `source` omitted: exactly the key's sources are counted.
    let query = format!("/logs/stats?{window}&by=source");
    let (status, body) = g.get_with(&query, Some(DASH)).await;
    assert_eq!(status, 200, "{body}");
    let counted: BTreeSet<String> = body["sources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(counted, set(&["app", "billing"]));
    let grouped: BTreeSet<String> = body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["group"]["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(grouped, set(&["app", "billing"]));
    // The same over the Loki API: a selector naming only a source outside
    // the scope selects nothing (Loki has no 403; the source is not there).
    let loki = format!(
        "/loki/api/v1/query?query={}",
        common::enc(r#"sum(count_over_time({source="prompts"}[8d]))"#)
    );
    let (status, body) = g.get_with(&loki, Some(DASH)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"], serde_json::json!([]), "{body}");
    let (status, body) = g.get_with(&loki, Some(ALL)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["result"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

#[tokio::test]
async fn a_cursor_works_only_for_the_key_it_was_issued_to() {
    let setup = start().await;
    let g = &setup.gateway;
    let (status, body) = g.get_with("/logs?source=app&limit=3", Some(DASH)).await;
    assert_eq!(status, 200, "{body}");
    let cursor = body["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();

    // Another key, even one that may read the source: invalid_cursor.
    for other in [ALL, QUIET] {
        let (status, body) = g
            .get_with(&format!("/logs?cursor={cursor}"), Some(other))
            .await;
        assert_error(
            status,
            &body,
            400,
            "invalid_cursor",
            "cursor of another key",
        );
        assert_eq!(body["error"]["param"], "cursor");
    }
    // No key at all: 401 before the cursor is looked at.
    let (status, body) = g.get(&format!("/logs?cursor={cursor}")).await;
    assert_error(status, &body, 401, "unauthorized", "cursor without a key");

    // The key it was issued to follows it.
    let (status, body) = g
        .get_with(&format!("/logs?cursor={cursor}"), Some(DASH))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(page_sources(&body).0, set(&["app"]));
}

#[tokio::test]
async fn a_noisy_key_is_limited_without_starving_another() {
    let setup = start().await;
    let g = &setup.gateway;
    // Burst 3 at 1/s: within 20 back-to-back requests the key runs dry
    // unless they take over ~17 s.
    let mut limited = None;
    for _ in 0..20 {
        let response = g
            .client
            .get(g.url("/sources"))
            .bearer_auth(NOISY)
            .send()
            .await
            .unwrap();
        if response.status().as_u16() == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
    }
    let response = limited.expect("the noisy key was rate limited");
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After set")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_error(429, &body, 429, "rate_limited", "noisy key");

    // The other keys, limited or not, are unaffected.
    for key in [QUIET, DASH, ALL] {
        let (status, body) = g.get_with("/logs?source=app&limit=1", Some(key)).await;
        assert_eq!(status, 200, "{key}: {body}");
    }
    // Health checks are never rate limited or authenticated.
    let (status, _) = g.get("/healthz").await;
    assert_eq!(status, 200);
}

/// The served OpenAPI document says what this gateway's configuration does:
/// with keys, `/logs` and `/sources` require the bearer scheme and document
/// `401`; with none, they require nothing and answer without a key.
#[tokio::test]
async fn the_openapi_security_requirement_follows_the_configuration() {
    let keyed = start().await;
    let (status, doc) = keyed.gateway.get("/openapi.json").await;
    assert_eq!(status, 200);
    for path in ["/logs", "/sources"] {
        let operation = &doc["paths"][path]["get"];
        assert_eq!(
            operation["security"],
            serde_json::json!([{ "bearer": [] }]),
            "{path}"
        );
        assert!(operation["responses"]["401"].is_object(), "{path}");
    }

    let (_, _server, table) = common::stand_in_sim(5, 0x01e7_e1ed).await;
    let open = Gateway::start(&format!("[sources.app]\n{table}")).await;
    let (_, doc) = open.get("/openapi.json").await;
    for path in ["/logs", "/sources"] {
        let operation = &doc["paths"][path]["get"];
        assert!(operation["security"].is_null(), "{path}: {operation}");
        assert!(operation["responses"]["401"].is_null(), "{path}");
        let (status, _) = open.get(&format!("{path}?")).await;
        assert_eq!(status, 200, "{path} answers without a key");
    }
}
