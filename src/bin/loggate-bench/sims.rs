//! The provider simulators the benchmark runs (in this process, on their
//! own runtime whose threads are named `bench-sim`, so their CPU time is
//! told apart from the load generator's), the gateway configuration in
//! front of them, and the native requests a "direct" client sends. Every
//! provider comes from the registry; each simulator is driven through the
//! core `Simulator` trait.

use std::sync::Arc;
use std::time::Duration;

use loggate::registry::Registry;
use loggate_core::sim::{serve_loopback, Faults, SeenRequest, Served, SimSpec, Simulator};
use serde_json::Value;
use tokio::runtime::Runtime;

/// A provider: its registered kind (also its source's name in the
/// gateway's configuration).
pub type Provider = &'static str;

/// The providers the benchmark measures: every registered one.
pub fn all() -> Vec<Provider> {
    Registry::builtin().kinds()
}

fn token(provider: Provider) -> String {
    format!("bench-{provider}-token")
}

/// One running simulator.
pub struct Sim {
    pub provider: Provider,
    pub faults: Faults,
    sim: Arc<dyn Simulator>,
    served: Served,
}

impl Sim {
    pub fn addr(&self) -> std::net::SocketAddr {
        self.served.addr
    }
}

/// Simulators of some providers.
pub struct SimSet {
    pub sims: Vec<Sim>,
}

/// How the simulators' data is made.
#[derive(Debug, Clone, Copy)]
pub struct DataSize {
    pub records: usize,
    /// Over the last `span_ms` before now.
    pub span_ms: i64,
}

impl SimSet {
    /// Starts one simulator per provider on `runtime`, each from its
    /// provider's factory.
    pub fn start(runtime: &Runtime, providers: &[Provider], size: DataSize) -> SimSet {
        let registry = Registry::builtin();
        let now = loggate_core::time::now_ms();
        // A quarter as many distinct timestamps as records: tie groups of
        // about four, as in the black-box tests.
        let distinct = Some((size.records / 4).max(1));
        let sims = providers
            .iter()
            .map(|&provider| {
                let mut spec = SimSpec::new(0, size.records, now);
                (spec.span_ms, spec.distinct_timestamps, spec.token) =
                    (size.span_ms, distinct, token(provider));
                let sim = registry
                    .get(provider)
                    .and_then(|factory| factory.simulator(&spec))
                    .expect("every registered provider has a simulator");
                let served = runtime
                    .block_on(serve_loopback(sim.router()))
                    .expect("a simulator binds a loopback port");
                Sim {
                    provider,
                    faults: sim.faults().clone(),
                    sim,
                    served,
                }
            })
            .collect();
        SimSet { sims }
    }

    pub fn get(&self, provider: Provider) -> &Sim {
        self.sims
            .iter()
            .find(|s| s.provider == provider)
            .expect("the simulator was started")
    }

    pub fn set_latency(&self, latency: Duration) {
        for sim in &self.sims {
            sim.faults.set_latency(latency);
        }
    }

    pub fn forget_seen(&self) {
        for sim in &self.sims {
            sim.faults.forget_seen();
        }
    }

    /// The gateway configuration over `providers` (a subset of these).
    pub fn gateway_toml(&self, providers: &[Provider]) -> String {
        let mut toml = String::from(
            "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"60s\"\n\
             cursor_secret = \"loggate-bench-cursor-secret-0123456789\"\n",
        );
        for &provider in providers {
            let sim = self.get(provider);
            // A 50,000-record account answered whole (no pagination
            // upstream) is larger than the default 16 MiB body cap.
            toml.push_str(&format!(
                "\n[sources.{provider}]\nkind = \"{provider}\"\nbase_url = \"http://{}\"\n{}\
                 rate_limit = {{ per_second = 100000, burst = 100000 }}\nmax_body_bytes = 268435456\n",
                sim.addr(),
                sim.sim.source_toml(),
            ));
        }
        toml
    }
}

/// A native request as a direct client would send it: the very request the
/// gateway's adapter sent (captured from the simulator), replayed.
#[derive(Debug, Clone)]
pub struct NativeRequest {
    pub provider: Provider,
    pub addr: std::net::SocketAddr,
    pub path_and_query: String,
    pub authorization: Option<String>,
}

impl NativeRequest {
    pub fn from_seen(sim: &Sim, seen: &SeenRequest) -> NativeRequest {
        let path_and_query = if seen.query.is_empty() {
            seen.path.clone()
        } else {
            format!("{}?{}", seen.path, seen.query)
        };
        NativeRequest {
            provider: sim.provider,
            addr: sim.addr(),
            path_and_query,
            authorization: seen.header("authorization").map(str::to_string),
        }
    }
}

/// What a naive client does with the native answers: decode each, read
/// every record's time (as each simulator's provider encodes it), merge
/// newest first, keep `limit`.
pub fn naive_merge(
    sims: &SimSet,
    answers: &[(Provider, hyper::body::Bytes)],
    limit: usize,
) -> usize {
    let mut merged: Vec<i64> = Vec::new();
    for (provider, body) in answers {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            continue;
        };
        merged.extend(
            sims.get(provider)
                .sim
                .answer_times(&body)
                .into_iter()
                .flatten(),
        );
    }
    merged.sort_by_key(|t| std::cmp::Reverse(*t));
    merged.truncate(limit);
    merged.len()
}
