//! The answer cache and request coalescing through the whole gateway
//! (spec §9), over every simulator flavour. Windows that end before the
//! freshness horizon make each assertion independent of timing: whichever
//! way an identical request finds the answer (stored, or in flight), the
//! upstream sees it once. The store's own rules (lifetimes under a paused
//! clock, coalescing of requests held in flight) are tested in
//! `adapters/core/src/cache_tests.rs`.

mod common;

use std::collections::BTreeMap;

use common::fleet::{Fleet, Kind, Spec};
use common::Gateway;
use futures::future::join_all;
use loggate_core::sim::Fault;
use loggate_core::time::{format_ms, now_ms};
use serde_json::Value;
use sha2::{Digest, Sha256};

const MINUTE: i64 = 60_000;

/// The harness turns the cache off unless the configuration has a
/// `[cache]` table (tests/common/mod.rs): these tests run it with its
/// defaults.
const CACHE_ON: &str = "[cache]\nenabled = true";

/// A window that was settled long before the test: `[now-2h, now-20min]`
/// (the simulators' data span the last hour).
fn settled_window() -> String {
    let now = now_ms();
    format!(
        "start={}&end={}",
        format_ms(now - 120 * MINUTE),
        format_ms(now - 20 * MINUTE)
    )
}

async fn fleet(extra_server: &str, extra_source: &str) -> Fleet {
    let specs: Vec<Spec> = Kind::all()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(kind, 7 + i as u64, 60, 20))
        .collect();
    Fleet::start(&specs, &format!("{extra_server}\n{CACHE_ON}"), extra_source).await
}

/// GET `/logs?{query}` with optional extra headers: (status, body).
async fn get(gateway: &Gateway, query: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = gateway.client.get(gateway.url(&format!("/logs?{query}")));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("gateway answers");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

/// Upstream `GET` requests each simulator received so far, by source name
/// (a Logto token request is a `POST`, never cached).
fn seen(fleet: &Fleet) -> BTreeMap<String, usize> {
    fleet
        .sims
        .iter()
        .map(|(name, _, sim)| {
            let gets = sim
                .faults()
                .seen()
                .iter()
                .filter(|r| r.method == "GET")
                .count();
            (name.clone(), gets)
        })
        .collect()
}

fn cache_counts(body: &Value, source: &str) -> (u64, u64, u64) {
    let cache = &body["sources"][source]["cache"];
    let n = |k: &str| {
        cache[k]
            .as_u64()
            .unwrap_or_else(|| panic!("cache.{k} in {body}"))
    };
    (n("hit"), n("miss"), n("coalesced"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_reach_each_upstream_once() {
    // What one such request costs each upstream, alone, on an identical
    // fleet (same kinds, seeds and sizes; its own gateway and cache).
    let alone = fleet("", "").await;
    let query = format!("{}&limit=1000", settled_window());
    let (status, body) = get(&alone.gateway, &query, &[]).await;
    assert_eq!(status, 200, "{body}");
    let one = seen(&alone);
    let fleet = fleet("", "").await;
    for (_, _, sim) in &fleet.sims {
        sim.faults()
            .set_latency(std::time::Duration::from_millis(150));
    }
    let answers = join_all((0..20).map(|_| get(&fleet.gateway, &query, &[]))).await;
    let first = &answers[0].1;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["logs"], first["logs"]);
    }
    // Each upstream saw only what one request costs (a Logto source's first
    // request also detects its time filter): the misses of all 20 answers
    // together, whichever way the others found the answer (in flight or
    // stored).
    let seen = seen(&fleet);
    for (name, _, _) in &fleet.sims {
        let (hits, misses, coalesced) = answers.iter().fold((0, 0, 0), |acc, (_, b)| {
            let (h, m, c) = cache_counts(b, name);
            (acc.0 + h, acc.1 + m, acc.2 + c)
        });
        assert_eq!(misses as usize, seen[name], "{name}: {seen:?}");
        // Every request looked up at least once; all but the misses were
        // answered without sending.
        assert!(hits + coalesced + misses >= 20, "{name}");
        // Issue 16: N identical requests cost the upstream what one costs
        // (coalesced in flight or served from the store; never sent twice).
        assert_eq!(
            seen[name], one[name],
            "{name}: 20 identical requests against one alone"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cache_reads_every_upstream_again() {
    let fleet = fleet("", "").await;
    let query = format!("{}&limit=1000", settled_window());
    let (_, first) = get(&fleet.gateway, &query, &[]).await;
    let cost = seen(&fleet);
    let (_, second) = get(&fleet.gateway, &query, &[]).await;
    assert_eq!(
        seen(&fleet),
        cost,
        "a settled window is served from the cache"
    );
    assert_eq!(second["logs"], first["logs"]);
    for (name, _, _) in &fleet.sims {
        let (hit, miss, coalesced) = cache_counts(&second, name);
        assert!(hit >= 1 && miss == 0 && coalesced == 0, "{name}: {second}");
    }
    for header in [("cache-control", "no-cache"), ("pragma", "no-cache")] {
        let before = seen(&fleet);
        let (_, third) = get(&fleet.gateway, &query, &[header]).await;
        assert_eq!(third["logs"], first["logs"]);
        let after = seen(&fleet);
        for (name, _, _) in &fleet.sims {
            let (hit, miss, _) = cache_counts(&third, name);
            assert_eq!(hit, 0, "{name}: {third}");
            assert!(miss >= 1, "{name}: {third}");
            assert_eq!(after[name] - before[name], miss as usize, "{name}");
        }
    }
    // /metrics counts them per source.
    let metrics = fleet.gateway.text("/metrics").await;
    for (name, _, _) in &fleet.sims {
        let n = cache_counts(&second, name).0;
        let line = format!("loggate_cache_lookups_total{{source=\"{name}\",outcome=\"hit\"}} {n}");
        assert!(metrics.contains(&line), "missing {line} in\n{metrics}");
    }
}

#[tokio::test]
async fn a_429_holds_its_source_until_its_retry_after() {
    let specs = [
        Spec::new(Kind::stand_in(), 3, 30, 10),
        Spec::new(Kind::stand_in(), 4, 30, 10),
    ];
    let fleet = Fleet::start(&specs, CACHE_ON, "").await;
    let faults = fleet.sim("s0").faults();
    faults.fail_next(Fault::with_retry_after(
        429,
        r#"{"status":"error","message":"slow down"}"#,
        "120",
    ));
    let query = format!("{}&source=s0", settled_window());
    let (status, body) = get(&fleet.gateway, &query, &[]).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(faults.seen_count(), 1);
    // Until its Retry-After the 429 answers every request of that source
    // (spec §9): the same native request, no-cache or not, and another
    // native request of the same source (its quota is the source's).
    let other = format!("{}&source=s0&level=error", settled_window());
    for (query, headers) in [
        (&query, &[][..]),
        (&query, &[("cache-control", "no-cache")][..]),
        (&other, &[][..]),
    ] {
        let (status, body) = get(&fleet.gateway, query, headers).await;
        assert_eq!(status, 502, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("upstream_rate_limited")),
            "{body}"
        );
    }
    assert_eq!(faults.seen_count(), 1);
    // Another source is not held by it.
    let (status, body) = get(
        &fleet.gateway,
        &format!("{}&source=s1", settled_window()),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(fleet.sim("s1").faults().seen_count() > 0);
}

fn sha256_hex(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_cached_answer_never_crosses_a_scope() {
    const READS_S0: &str = "lg_reads-s0-0123456789";
    const READS_S1: &str = "lg_reads-s1-0123456789";
    let specs = [
        Spec::new(Kind::paged()[0], 1, 40, 10),
        Spec::new(Kind::paged()[1], 2, 40, 10),
    ];
    let names = ["s0".to_string(), "s1".to_string()];
    let (sims, _served, mut toml) =
        common::fleet::start_sims(&specs, &names, now_ms(), "", "").await;
    for (name, key, scope) in [("a", READS_S0, "s0"), ("b", READS_S1, "s1")] {
        toml += &format!(
            "[auth.keys.{name}]\nsha256 = \"{}\"\nsources = [\"{scope}\"]\n",
            sha256_hex(key)
        );
    }
    let gateway = Gateway::start(&format!("{toml}\n{CACHE_ON}\n")).await;
    let window = settled_window();
    let (status, own) = gateway
        .get_with(&format!("/logs?{window}&source=s0"), Some(READS_S0))
        .await;
    assert_eq!(status, 200, "{own}");
    assert!(!own["logs"].as_array().unwrap().is_empty());
    let cost = sims[0].2.faults().seen_count();
    // The other key asks for the cached source: refused, not served.
    let (status, body) = gateway
        .get_with(&format!("/logs?{window}&source=s0"), Some(READS_S1))
        .await;
    assert_eq!(status, 403, "{body}");
    // Its own default view holds nothing of s0, cached or not.
    let (status, body) = gateway
        .get_with(&format!("/logs?{window}"), Some(READS_S1))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["sources"].get("s0").is_none(), "{body}");
    assert!(body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["source"] == "s1"));
    assert_eq!(sims[0].2.faults().seen_count(), cost);
}

#[tokio::test]
async fn the_cache_can_be_turned_off() {
    let specs = [Spec::new(Kind::stand_in(), 3, 30, 10)];
    let names = ["s0".to_string()];
    let (sims, _served, toml) = common::fleet::start_sims(&specs, &names, now_ms(), "", "").await;
    let gateway = Gateway::start(&format!("{toml}\n[cache]\nenabled = false\n")).await;
    let query = format!("{}&source=s0", settled_window());
    let (_, first) = get(&gateway, &query, &[]).await;
    let cost = sims[0].2.faults().seen_count();
    let (_, second) = get(&gateway, &query, &[]).await;
    assert_eq!(sims[0].2.faults().seen_count(), 2 * cost);
    assert_eq!(cache_counts(&second, "s0"), (0, 0, 0));
    assert_eq!(first["logs"], second["logs"]);
}
