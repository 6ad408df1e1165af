//! Black-box: the outbound rate limit holds under concurrent clients
//! (upstream arrivals counted per one-second window at the simulator), and
//! graceful shutdown lets an in-flight request finish with its `200`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::fleet::{Kind, Sim, Spec};
use common::Gateway;
use loggate::app::Application;
use loggate::config;
use loggate::registry::Registry;
use loggate_core::sim::serve_loopback;
use serde_json::Value;

/// The stand-in provider's simulator: `records` records on up to 800
/// instants over the hour before a second ago.
fn stand_in(records: usize) -> Sim {
    let spec = Spec::new(Kind::stand_in(), 0x01e7_e1ed, records, 800);
    Sim::new_in(
        &Registry::builtin(),
        spec,
        loggate_core::time::now_ms() - 1000,
    )
}

#[tokio::test]
async fn concurrent_clients_never_push_a_source_past_its_rate() {
    const PER_SECOND: usize = 5;
    const BURST: usize = 5;
    const CLIENTS: usize = 30;
    let sim = stand_in(40);
    let served = serve_loopback(sim.router()).await.unwrap();
    // Every client is served: the queue may hold them all (30 requests at
    // 5 a second), so nothing is declined and the rate alone paces them.
    let toml = format!(
        "[server]\nrequest_timeout = \"30s\"\n[sources.app]\n{}\
         rate_limit = {{ per_second = {PER_SECOND}, burst = {BURST} }}\nmax_concurrency = 64\n\
         max_queue_wait = \"30s\"\n",
        sim.source_table(Kind::stand_in(), &served.base_url())
    );
    let gateway = Gateway::start(&toml).await;
    let requests = (0..CLIENTS).map(|_| gateway.get("/logs?limit=5"));
    for (status, body) in futures::future::join_all(requests).await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["partial"], false, "{body}");
    }
    let arrivals: Vec<u64> = sim.faults().seen().iter().map(|r| r.at_ms).collect();
    assert!(arrivals.len() >= CLIENTS, "{} arrivals", arrivals.len());
    for &from in &arrivals {
        let in_window = arrivals
            .iter()
            .filter(|&&t| t >= from && t < from + 1000)
            .count();
        assert!(
            in_window <= PER_SECOND + BURST,
            "{in_window} upstream requests in the second from {from} ms: {arrivals:?}"
        );
    }
}

/// A gateway run by hand, to signal its shutdown.
async fn start_app(
    toml: &str,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut config = config::load_str(toml, Vec::new()).expect("valid config");
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let app = Application::build(&config).await.expect("binds");
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    (addr, stop, running)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .expect("answer");
    let status = response.status().as_u16();
    let body = response.bytes().await.expect("body");
    (status, serde_json::from_slice(&body).expect("json"))
}

async fn await_upstream_request(sim: &Sim) {
    for _ in 0..500 {
        if sim.faults().seen_count() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the request never reached the upstream");
}

#[tokio::test]
async fn shutdown_drains_an_in_flight_request() {
    let sim = stand_in(20);
    let served = serve_loopback(sim.router()).await.unwrap();
    sim.faults().set_latency(Duration::from_millis(1500));
    let toml = format!(
        "[server]\nshutdown_grace = \"20s\"\n[sources.app]\n{}\
         rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
        sim.source_table(Kind::stand_in(), &served.base_url())
    );
    let (addr, stop, running) = start_app(&toml).await;
    let in_flight = tokio::spawn(async move { get(addr, "/logs?limit=5").await });
    await_upstream_request(&sim).await;
    stop.send(()).expect("the server is running");

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["logs"].as_array().map(Vec::len), Some(5), "{body}");
    let finished = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the server stops once drained");
    finished.unwrap().expect("a clean stop");
    // Nothing listens any more.
    assert!(reqwest::get(format!("http://{addr}/healthz"))
        .await
        .is_err());
}

#[tokio::test]
async fn shutdown_waits_no_longer_than_the_grace_period() {
    let sim = stand_in(20);
    let served = serve_loopback(sim.router()).await.unwrap();
    sim.faults().set_latency(Duration::from_secs(60));
    let toml = format!(
        "[server]\nshutdown_grace = \"300ms\"\nrequest_timeout = \"60s\"\n[sources.app]\n{}timeout = \"60s\"\n\
         rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
        sim.source_table(Kind::stand_in(), &served.base_url())
    );
    let (addr, stop, running) = start_app(&toml).await;
    let in_flight =
        tokio::spawn(async move { reqwest::get(format!("http://{addr}/logs?limit=5")).await });
    await_upstream_request(&sim).await;
    stop.send(()).expect("the server is running");
    let finished = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the grace period ends the wait");
    finished.unwrap().expect("a clean stop");
    in_flight.abort();
}
