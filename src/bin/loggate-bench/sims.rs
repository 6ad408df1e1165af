//! The provider simulators the benchmark runs (in this process, on their
//! own runtime whose threads are named `bench-sim`, so their CPU time is
//! told apart from the load generator's), the gateway configuration in
//! front of them, and the native requests a "direct" client sends.

use std::time::Duration;

use loggate_core::sim::{serve_loopback, Faults, SeenRequest, Served};
use loggate_core::time::parse_rfc3339_ms;
use serde_json::Value;
use tokio::runtime::Runtime;

/// The four providers, in the order the table lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Leveled,
    Alloy,
    Logto,
    PromptCrafter,
}

pub const ALL: [Provider; 4] = [
    Provider::Leveled,
    Provider::Alloy,
    Provider::Logto,
    Provider::PromptCrafter,
];

impl Provider {
    /// The source name in the gateway's configuration.
    pub fn source(self) -> &'static str {
        match self {
            Provider::Leveled => "app",
            Provider::Alloy => "workflows",
            Provider::Logto => "auth",
            Provider::PromptCrafter => "prompts",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Provider::Leveled => "leveled",
            Provider::Alloy => "alloy",
            Provider::Logto => "logto",
            Provider::PromptCrafter => "promptcrafter",
        }
    }

    fn token(self) -> String {
        format!("bench-{}-token", self.kind())
    }

    /// The records of a native answer (each provider wraps them differently).
    fn records(self, body: &Value) -> Option<&Vec<Value>> {
        match self {
            Provider::Leveled => body.pointer("/data/logs"),
            Provider::Alloy => body.get("notifications"),
            Provider::Logto | Provider::PromptCrafter => Some(body),
        }?
        .as_array()
    }

    /// A native record's time in epoch ms.
    fn timestamp_ms(self, record: &Value) -> Option<i64> {
        match self {
            Provider::Leveled => record.get("timestamp")?.as_str().and_then(parse_rfc3339_ms),
            Provider::Logto => record.get("createdAt")?.as_i64(),
            Provider::Alloy | Provider::PromptCrafter => {
                record.get("createdAt")?.as_str().and_then(parse_rfc3339_ms)
            }
        }
    }
}

/// One running simulator.
pub struct Sim {
    pub provider: Provider,
    pub faults: Faults,
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
    /// Starts one simulator per provider on `runtime`.
    pub fn start(runtime: &Runtime, providers: &[Provider], size: DataSize) -> SimSet {
        use loggate_alloy::sim as alloy;
        use loggate_leveled::sim as leveled;
        use loggate_logto::sim as logto;
        use loggate_promptcrafter::sim as promptcrafter;

        let now = loggate_core::time::now_ms();
        // A quarter as many distinct timestamps as records: tie groups of
        // about four, as in the black-box tests.
        let distinct = Some((size.records / 4).max(1));
        let sims = providers
            .iter()
            .map(|&provider| {
                let (router, faults) = match provider {
                    Provider::Leveled => {
                        let mut c = leveled::SimConfig::demo(now);
                        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
                            (size.records, size.span_ms, distinct, provider.token());
                        let sim = leveled::LeveledSim::new(c);
                        (sim.router(), sim.faults().clone())
                    }
                    Provider::Alloy => {
                        let mut c = alloy::SimConfig::demo(now);
                        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
                            (size.records, size.span_ms, distinct, provider.token());
                        let sim = alloy::AlloySim::new(c);
                        (sim.router(), sim.faults().clone())
                    }
                    Provider::Logto => {
                        let mut c = logto::SimConfig::demo(now);
                        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
                            (size.records, size.span_ms, distinct, provider.token());
                        c.honours_time_filter = true;
                        let sim = logto::LogtoSim::new(c);
                        (sim.router(), sim.faults().clone())
                    }
                    Provider::PromptCrafter => {
                        let mut c = promptcrafter::SimConfig::demo(now);
                        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
                            (size.records, size.span_ms, distinct, provider.token());
                        let sim = promptcrafter::PromptCrafterSim::new(c);
                        (sim.router(), sim.faults().clone())
                    }
                };
                let served = runtime
                    .block_on(serve_loopback(router))
                    .expect("a simulator binds a loopback port");
                Sim {
                    provider,
                    faults,
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
            toml.push_str(&format!(
                "\n[sources.{}]\nkind = \"{}\"\nbase_url = \"http://{}\"\ntoken = \"{}\"\n\
                 rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
                provider.source(),
                provider.kind(),
                sim.addr(),
                provider.token(),
            ));
            match provider {
                Provider::Logto => toml.push_str("time_filter = \"on\"\n"),
                // PromptCrafter answers with its whole log: a 50,000-record
                // account is larger than the default 16 MiB body cap.
                Provider::PromptCrafter => toml.push_str("max_body_bytes = 268435456\n"),
                _ => {}
            }
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

/// What a naive client does with the four native answers: decode each,
/// read every record's time, merge newest first, keep `limit`.
pub fn naive_merge(answers: &[(Provider, hyper::body::Bytes)], limit: usize) -> usize {
    let mut merged: Vec<(i64, Value)> = Vec::new();
    for (provider, body) in answers {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            continue;
        };
        if let Some(records) = provider.records(&body) {
            merged.extend(
                records
                    .iter()
                    .filter_map(|r| Some((provider.timestamp_ms(r)?, r.clone()))),
            );
        }
    }
    merged.sort_by_key(|r| std::cmp::Reverse(r.0));
    merged.truncate(limit);
    merged.len()
}
