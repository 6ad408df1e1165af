//! Black-box: a source that keeps failing opens its circuit (skipped with
//! `circuit_open`, no upstream request), after the cool-down exactly one
//! probe goes upstream while concurrent requests are still skipped, and a
//! good probe closes the circuit again (a bad one re-opens it). States are
//! read from `GET /sources`; nothing asserts on how long anything took.

mod common;

use std::time::Duration;

use common::fleet::Sim;
use common::Gateway;
use loggate_core::sim::{Fault, Served};
use serde_json::Value;

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

struct Setup {
    gateway: Gateway,
    flaky: Sim,
    _served: Vec<Served>,
}

async fn start() -> Setup {
    let now = loggate_core::time::now_ms();
    // Two simulators of the stand-in provider.
    let seed = 0x01e7_e1ed;
    let (flaky, flaky_server, flaky_table) =
        common::serve_sim(common::stand_in_spec(40, seed), now).await;
    let (_, healthy_server, healthy_table) =
        common::serve_sim(common::stand_in_spec(40, seed + 1), now).await;
    let served = vec![flaky_server, healthy_server];
    let toml = format!(
        "[server]\nrequest_timeout = \"10s\"\n\
         [sources.flaky]\n{flaky_table}retries = 0\n{UNLIMITED}\n\
         circuit_breaker = {{ failures = 2, cool_down = \"200ms\" }}\n\
         [sources.healthy]\n{healthy_table}{UNLIMITED}\n",
    );
    Setup {
        gateway: Gateway::start(&toml).await,
        flaky,
        _served: served,
    }
}

impl Setup {
    async fn circuit(&self) -> String {
        let (status, body) = self.gateway.get("/sources").await;
        assert_eq!(status, 200, "{body}");
        let flaky = body["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["name"] == "flaky")
            .expect("flaky listed")
            .clone();
        flaky["circuit"]
            .as_str()
            .expect("circuit state")
            .to_string()
    }

    /// Polls (bounded) until the cool-down is over.
    async fn await_half_open(&self) {
        for _ in 0..200 {
            if self.circuit().await == "half_open" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the circuit never became half_open");
    }

    /// One page; returns the flaky source's entry.
    async fn page(&self) -> Value {
        let (status, body) = self.gateway.get("/logs?limit=5").await;
        assert_eq!(status, 200, "{body}");
        body["sources"]["flaky"].clone()
    }
}

fn code(entry: &Value) -> Option<&str> {
    entry["error"]["code"].as_str()
}

#[tokio::test]
async fn the_circuit_opens_cools_down_probes_once_and_closes() {
    let setup = start().await;
    let faults = setup.flaky.faults();
    assert_eq!(setup.circuit().await, "closed");

    // Two failed fetches open it.
    faults.fail_always(Fault::status(500, r#"{"status":"error","message":"down"}"#));
    for _ in 0..2 {
        let entry = setup.page().await;
        assert_eq!(code(&entry), Some("upstream_error"), "{entry}");
    }
    assert_eq!(faults.seen_count(), 2);
    assert_eq!(setup.circuit().await, "open");

    // While open the source is skipped without an upstream request.
    let entry = setup.page().await;
    assert_eq!(code(&entry), Some("circuit_open"), "{entry}");
    assert_eq!(entry["status"], "error");
    assert_eq!(entry["upstream_requests"], 0);
    assert_eq!(faults.seen_count(), 2);

    // After the cool-down a failed probe re-opens it: exactly one request.
    setup.await_half_open().await;
    let entry = setup.page().await;
    assert_eq!(code(&entry), Some("upstream_error"), "{entry}");
    assert_eq!(faults.seen_count(), 3);
    assert_eq!(setup.circuit().await, "open");
    let entry = setup.page().await;
    assert_eq!(code(&entry), Some("circuit_open"), "{entry}");
    assert_eq!(faults.seen_count(), 3);

    // The upstream recovers but answers slowly: the probe is held upstream
    // while a concurrent request arrives, which is still skipped.
    setup.await_half_open().await;
    faults.clear();
    faults.set_latency(Duration::from_secs(3));
    let probe = {
        let client = setup.gateway.client.clone();
        let url = setup.gateway.url("/logs?limit=5");
        tokio::spawn(async move {
            let response = client.get(url).send().await.expect("answer");
            let status = response.status().as_u16();
            let bytes = response.bytes().await.expect("body");
            let body: Value = serde_json::from_slice(&bytes).expect("json");
            (status, body)
        })
    };
    for _ in 0..400 {
        if faults.seen_count() > 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(faults.seen_count(), 4, "the probe reached the upstream");
    let concurrent = setup.page().await;
    assert_eq!(code(&concurrent), Some("circuit_open"), "{concurrent}");
    assert_eq!(setup.circuit().await, "half_open");

    let (status, body) = probe.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sources"]["flaky"]["status"], "ok", "{body}");
    let probe_requests = body["sources"]["flaky"]["upstream_requests"]
        .as_u64()
        .unwrap();
    assert_eq!(faults.seen_count() as u64, 3 + probe_requests);
    assert_eq!(setup.circuit().await, "closed");

    faults.set_latency(Duration::ZERO);
    let entry = setup.page().await;
    assert_eq!(entry["status"], "ok", "{entry}");
}
