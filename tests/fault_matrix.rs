//! Black-box fault matrix: each registered provider × each way an
//! upstream misbehaves (connection refused, no answer, 500, 503 and 429
//! with `Retry-After`, malformed JSON, truncated body, oversized body, an
//! HTML error page), behind a gateway with that source plus a healthy one
//! of the same provider.
//!
//! For every cell: the answer comes within `request_timeout` + 2 s; with
//! both sources it is `200`, `partial: true`, the failing source's `code`
//! set and the healthy source's logs served; alone (or with
//! `partial=false`) it is `502`/`504`; the upstream saw exactly as many
//! requests as the retry policy allows (3 for the retryable faults with
//! `retries = 2`, 1 for the rest). Then the fault clears and following
//! `next_cursor` from the partial page to the end yields every record of
//! both sources exactly once.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use common::{assert_same_ids, reference, Gateway};
use loggate::registry::Registry;
use loggate_core::sim::{serve, serve_loopback, Fault, Faults, Served, SimSpec, Simulator};
use loggate_core::time::now_ms;
use loggate_core::{Filters, Order};
use serde_json::Value;

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// Larger than any page of these small data sets, far below an oversized body.
const MAX_BODY: usize = 1 << 20;
const LIMIT: usize = 7;

/// One simulator of a registered provider, from its factory.
struct Upstream {
    sim: Arc<dyn Simulator>,
    /// A native record dated inside the data's span that the adapter
    /// cannot read (no id, or no usable timestamp), if the provider has one.
    unreadable: Option<Value>,
    /// `kind` and credentials lines of its source table.
    source_toml: String,
}

impl Upstream {
    fn faults(&self) -> &Faults {
        self.sim.faults()
    }

    fn router(&self) -> Router {
        self.sim.router()
    }
}

fn upstream(provider: &str, seed: u64) -> Upstream {
    let now = now_ms() - 1000;
    let mut spec = SimSpec::new(seed, 30, now);
    spec.distinct_timestamps = Some(12);
    spec.token = format!("{provider}-token");
    let sim = Registry::builtin()
        .get(provider)
        .and_then(|factory| factory.simulator(&spec))
        .unwrap_or_else(|| panic!("no simulator of {provider}"));
    Upstream {
        unreadable: sim.unreadable(now - 5000),
        source_toml: format!("kind = \"{provider}\"\n{}", sim.source_toml()),
        sim,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Case {
    Refused,
    Hang,
    Status500,
    Status503,
    Status429,
    Malformed,
    Truncated,
    Oversized,
    Html,
}

const CASES: [Case; 9] = [
    Case::Refused,
    Case::Hang,
    Case::Status500,
    Case::Status503,
    Case::Status429,
    Case::Malformed,
    Case::Truncated,
    Case::Oversized,
    Case::Html,
];

impl Case {
    fn fault(self) -> Option<Fault> {
        let body = r#"{"status":"error","error":"boom","message":"boom"}"#;
        Some(match self {
            Case::Refused => return None,
            Case::Hang => Fault::Hang,
            Case::Status500 => Fault::status(500, body),
            // `0`: honoured, and short enough for both retries to fit.
            Case::Status503 => Fault::with_retry_after(503, body, "0"),
            Case::Status429 => Fault::with_retry_after(429, body, "0"),
            Case::Malformed => Fault::MalformedJson,
            Case::Truncated => Fault::TruncatedBody,
            Case::Oversized => Fault::Oversized(2 * MAX_BODY),
            Case::Html => Fault::HtmlErrorPage,
        })
    }

    /// The failing source's `code`, and the upstream requests one page
    /// makes (`None`: a refused connection reaches no simulator).
    fn expected(self) -> (&'static str, Option<usize>) {
        match self {
            Case::Refused => ("upstream_unavailable", None),
            Case::Hang => ("upstream_timeout", Some(1)),
            Case::Status500 => ("upstream_error", Some(1)),
            Case::Status503 => ("upstream_error", Some(3)),
            Case::Status429 => ("upstream_rate_limited", Some(3)),
            Case::Malformed => ("upstream_invalid_response", Some(1)),
            Case::Truncated => ("upstream_unavailable", Some(1)),
            Case::Oversized => ("upstream_invalid_response", Some(1)),
            // A proxy's 502 page: retryable like any 502.
            Case::Html => ("upstream_error", Some(3)),
        }
    }
}

/// A loopback address nothing listens on (bound, then released).
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

async fn timed_get(gateway: &Gateway, path: &str) -> (u16, Value) {
    let started = Instant::now();
    let answer = gateway.get(path).await;
    let took = started.elapsed();
    assert!(
        took <= REQUEST_TIMEOUT + Duration::from_secs(2),
        "{path} took {took:?}"
    );
    answer
}

async fn run_case(provider: &str, case: Case, seed: u64) {
    let what = format!("{provider} × {case:?}");
    let bad = upstream(provider, seed);
    let healthy = upstream(provider, seed + 1000);
    let healthy_served = serve_loopback(healthy.router()).await.unwrap();
    let (bad_addr, mut bad_served): (SocketAddr, Option<Served>) = match case.fault() {
        None => (closed_port(), None),
        Some(fault) => {
            bad.faults().fail_always(fault);
            let served = serve_loopback(bad.router()).await.unwrap();
            (served.addr, Some(served))
        }
    };
    let toml = format!(
        "[server]\nrequest_timeout = \"{}ms\"\n\
         [sources.bad]\n{}\nbase_url = \"http://{bad_addr}\"\ntimeout = \"500ms\"\nretries = 2\n\
         max_body_bytes = {MAX_BODY}\n{UNLIMITED}\ncircuit_breaker = {{ failures = 1000 }}\n\
         [sources.healthy]\n{}\nbase_url = \"{}\"\n{UNLIMITED}\n",
        REQUEST_TIMEOUT.as_millis(),
        bad.source_toml,
        healthy.source_toml,
        healthy_served.base_url(),
    );
    let gateway = Gateway::start(&toml).await;
    let (code, requests) = case.expected();

    // Both sources: a partial page.
    let (status, first) = timed_get(&gateway, &format!("/logs?limit={LIMIT}")).await;
    assert_eq!(status, 200, "{what}: {first}");
    assert_eq!(first["partial"], true, "{what}: {first}");
    let entry = &first["sources"]["bad"];
    assert_eq!(entry["status"], "error", "{what}: {entry}");
    assert_eq!(entry["error"]["code"], code, "{what}: {entry}");
    assert_eq!(first["sources"]["healthy"]["status"], "ok", "{what}");
    assert_eq!(first["logs"].as_array().unwrap().len(), LIMIT, "{what}");
    if let Some(n) = requests {
        assert_eq!(bad.faults().seen_count(), n, "{what}: upstream requests");
        assert_eq!(entry["upstream_requests"], n, "{what}: {entry}");
    }

    // Alone, or with partial=false: the whole request fails.
    let whole = if case == Case::Hang { 504 } else { 502 };
    let whole_code = if case == Case::Hang {
        "upstream_timeout"
    } else {
        "upstream_error"
    };
    for path in [
        "/logs?source=bad".to_string(),
        format!("/logs?limit={LIMIT}&partial=false"),
    ] {
        let (status, body) = timed_get(&gateway, &path).await;
        assert_eq!(status, whole, "{what} {path}: {body}");
        assert_eq!(body["error"]["code"], whole_code, "{what} {path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("bad") && m.contains(code)),
            "{what} {path}: {body}"
        );
    }

    // The fault clears: the traversal goes on from the partial page.
    bad.faults().clear();
    if bad_served.is_none() {
        bad_served = Some(serve(bad.router(), bad_addr).await.unwrap());
    }
    let mut ids: Vec<String> = page_ids(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_string);
    for _ in 0..200 {
        let Some(c) = cursor.take() else { break };
        let (status, page) = gateway
            .get(&format!("/logs?cursor={c}&limit={LIMIT}"))
            .await;
        assert_eq!(status, 200, "{what}: {page}");
        assert_eq!(page["partial"], false, "{what}: {page}");
        ids.extend(page_ids(&page));
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    assert!(cursor.is_none(), "{what}: the traversal did not end");
    let mut expected = reference(
        &[
            ("bad", bad.sim.snapshot()),
            ("healthy", healthy.sim.snapshot()),
        ],
        &Filters::default(),
        Order::Desc,
    );
    // Pages after a partial one may place the recovered source's older
    // logs after later ones of the other source: compare as sets, which
    // with no duplicates allowed is "each exactly once".
    ids.sort();
    expected.sort();
    assert_same_ids(&ids, &expected, &what);
    drop(bad_served);
}

fn page_ids(page: &Value) -> Vec<String> {
    page["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_string())
        .collect()
}

async fn run_provider(provider: &str, seed: u64) {
    for (i, case) in CASES.into_iter().enumerate() {
        run_case(provider, case, seed + i as u64).await;
    }
}

/// Every provider's column of the matrix, the providers concurrently.
#[tokio::test]
async fn every_provider_under_every_fault() {
    let kinds = Registry::builtin().kinds();
    let runs = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| run_provider(kind, 100 * (i as u64 + 1)));
    futures::future::join_all(runs).await;
}

/// `Retry-After` is honoured (the retry waits at least that long) and never
/// waited past the deadline (a wait that would cross it is not taken).
#[tokio::test]
async fn retry_after_is_honoured_and_bounded_by_the_deadline() {
    let bad = upstream(Registry::builtin().kinds()[0], 500);
    let served = serve_loopback(bad.router()).await.unwrap();
    let config = |timeout: &str| {
        format!(
            "[server]\nrequest_timeout = \"{timeout}\"\n[sources.bad]\n{}\nbase_url = \"{}\"\nretries = 2\n{UNLIMITED}\n",
            bad.source_toml,
            served.base_url()
        )
    };
    let body = r#"{"status":"error","message":"busy"}"#;

    let gateway = Gateway::start(&config("3s")).await;
    bad.faults()
        .fail_always(Fault::with_retry_after(503, body, "1"));
    let (status, answer) = gateway.get("/logs?source=bad").await;
    assert_eq!(status, 502, "{answer}");
    let seen = bad.faults().seen();
    assert_eq!(seen.len(), 3, "two retries fit in 3 s");
    for pair in seen.windows(2) {
        assert!(
            pair[1].at_ms - pair[0].at_ms >= 1000,
            "retried before Retry-After: {} then {}",
            pair[0].at_ms,
            pair[1].at_ms
        );
    }

    bad.faults().forget_seen();
    let gateway = Gateway::start(&config("1s")).await;
    bad.faults()
        .fail_always(Fault::with_retry_after(429, body, "5"));
    let started = Instant::now();
    let (status, answer) = gateway.get("/logs?source=bad").await;
    assert!(started.elapsed() <= Duration::from_secs(3));
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("upstream_rate_limited")),
        "{answer}"
    );
    assert_eq!(
        bad.faults().seen_count(),
        1,
        "a 5 s wait would pass the deadline"
    );
}

/// A record an adapter cannot read is skipped and counted in its source's
/// `skipped`, never failing the page; every readable record still comes
/// exactly once. (A provider whose simulator has no unreadable record a
/// time-bounded read returns is left out: see `Simulator::unreadable`.)
#[tokio::test]
async fn unreadable_records_are_counted_as_skipped() {
    for (i, provider) in Registry::builtin().kinds().into_iter().enumerate() {
        let source = upstream(provider, 600 + i as u64);
        let Some(unreadable) = source.unreadable.clone() else {
            continue;
        };
        source.sim.insert(unreadable);
        let served = serve_loopback(source.router()).await.unwrap();
        let toml = format!(
            "[sources.src]\n{}\nbase_url = \"{}\"\n{UNLIMITED}\n",
            source.source_toml,
            served.base_url()
        );
        let gateway = Gateway::start(&toml).await;
        let mut path = "/logs?limit=9".to_string();
        let (mut ids, mut skipped) = (Vec::new(), 0);
        for _ in 0..100 {
            let (status, page) = gateway.get(&path).await;
            assert_eq!(status, 200, "{provider}: {page}");
            assert_eq!(page["partial"], false, "{provider}: {page}");
            skipped += page["sources"]["src"]["skipped"].as_u64().expect("skipped");
            ids.extend(page_ids(&page));
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/logs?cursor={c}&limit=9"),
                None => break,
            }
        }
        assert!(skipped >= 1, "{provider}: nothing counted as skipped");
        let expected = reference(
            &[("src", source.sim.snapshot())],
            &Filters::default(),
            Order::Desc,
        );
        assert_same_ids(&ids, &expected, provider);
    }
}
