//! Any mix of the four provider simulators behind one gateway: the
//! property, page-cost, sparse-filter and failure tests build on it.

use loggate_core::sim::{serve_loopback, Faults, Served};
use loggate_core::LogRecord;
use serde_json::Value;

use super::Gateway;

/// Outbound rate limits out of the way (rate limits are tested elsewhere).
pub const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

/// One simulator flavour; Logto comes in two generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Leveled,
    PromptCrafter,
    Alloy,
    /// Logto v1.40+: honours `start_time`/`end_time`.
    LogtoTimed,
    /// Older Logto: ignores the time filter (offset paging only).
    LogtoUntimed,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Leveled,
        Kind::PromptCrafter,
        Kind::Alloy,
        Kind::LogtoTimed,
        Kind::LogtoUntimed,
    ];

    pub fn provider(self) -> &'static str {
        match self {
            Kind::Leveled => "leveled",
            Kind::PromptCrafter => "promptcrafter",
            Kind::Alloy => "alloy",
            Kind::LogtoTimed | Kind::LogtoUntimed => "logto",
        }
    }
}

/// How one simulator's data set is generated.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub kind: Kind,
    pub seed: u64,
    pub records: usize,
    pub distinct_timestamps: usize,
    pub span_ms: i64,
}

impl Spec {
    pub fn new(kind: Kind, seed: u64, records: usize, distinct_timestamps: usize) -> Spec {
        Spec {
            kind,
            seed,
            records,
            distinct_timestamps: distinct_timestamps.max(1),
            span_ms: 3_600_000,
        }
    }
}

/// A running simulator of any provider.
#[derive(Clone)]
pub enum Sim {
    Leveled(loggate_leveled::sim::LeveledSim),
    PromptCrafter(loggate_promptcrafter::sim::PromptCrafterSim),
    Alloy(loggate_alloy::sim::AlloySim),
    Logto(loggate_logto::sim::LogtoSim),
}

const TOKEN: &str = "fleet-token";

impl Sim {
    pub fn new(spec: Spec, now: i64) -> Sim {
        let distinct = Some(spec.distinct_timestamps);
        match spec.kind {
            Kind::Leveled => {
                let mut c = loggate_leveled::sim::SimConfig::demo(now);
                (c.seed, c.records, c.span_ms, c.distinct_timestamps, c.token) = (
                    spec.seed,
                    spec.records,
                    spec.span_ms,
                    distinct,
                    TOKEN.into(),
                );
                Sim::Leveled(loggate_leveled::sim::LeveledSim::new(c))
            }
            Kind::PromptCrafter => {
                let mut c = loggate_promptcrafter::sim::SimConfig::demo(now);
                (c.seed, c.records, c.span_ms, c.distinct_timestamps, c.token) = (
                    spec.seed,
                    spec.records,
                    spec.span_ms,
                    distinct,
                    TOKEN.into(),
                );
                Sim::PromptCrafter(loggate_promptcrafter::sim::PromptCrafterSim::new(c))
            }
            Kind::Alloy => {
                let mut c = loggate_alloy::sim::SimConfig::demo(now);
                (c.seed, c.records, c.span_ms, c.distinct_timestamps, c.token) = (
                    spec.seed,
                    spec.records,
                    spec.span_ms,
                    distinct,
                    TOKEN.into(),
                );
                Sim::Alloy(loggate_alloy::sim::AlloySim::new(c))
            }
            Kind::LogtoTimed | Kind::LogtoUntimed => {
                let mut c = loggate_logto::sim::SimConfig::demo(now);
                (c.seed, c.records, c.span_ms, c.distinct_timestamps, c.token) = (
                    spec.seed,
                    spec.records,
                    spec.span_ms,
                    distinct,
                    TOKEN.into(),
                );
                c.honours_time_filter = spec.kind == Kind::LogtoTimed;
                Sim::Logto(loggate_logto::sim::LogtoSim::new(c))
            }
        }
    }

    pub fn router(&self) -> axum::Router {
        match self {
            Sim::Leveled(s) => s.router(),
            Sim::PromptCrafter(s) => s.router(),
            Sim::Alloy(s) => s.router(),
            Sim::Logto(s) => s.router(),
        }
    }

    pub fn faults(&self) -> &Faults {
        match self {
            Sim::Leveled(s) => s.faults(),
            Sim::PromptCrafter(s) => s.faults(),
            Sim::Alloy(s) => s.faults(),
            Sim::Logto(s) => s.faults(),
        }
    }

    pub fn snapshot(&self) -> Vec<LogRecord> {
        match self {
            Sim::Leveled(s) => s.snapshot(),
            Sim::PromptCrafter(s) => s.snapshot(),
            Sim::Alloy(s) => s.snapshot(),
            Sim::Logto(s) => s.snapshot(),
        }
    }

    pub fn insert_new(&self, n: usize) {
        match self {
            Sim::Leveled(s) => s.insert_new(n),
            Sim::PromptCrafter(s) => s.insert_new(n),
            Sim::Alloy(s) => s.insert_new(n),
            Sim::Logto(s) => s.insert_new(n),
        }
    }

    pub fn insert(&self, raw: Value) {
        match self {
            Sim::Leveled(s) => s.insert(raw),
            Sim::PromptCrafter(s) => s.insert(raw),
            Sim::Alloy(s) => s.insert(raw),
            Sim::Logto(s) => s.insert(raw),
        }
    }

    pub fn raw_records(&self) -> Vec<Value> {
        match self {
            Sim::Leveled(s) => s.raw_records(),
            Sim::PromptCrafter(s) => s.raw_records(),
            Sim::Alloy(s) => s.raw_records(),
            Sim::Logto(s) => s.raw_records(),
        }
    }
}

/// The `[sources.NAME]` table for a simulator of `kind` at `base_url`;
/// `extra` is appended verbatim (one `key = value` per line).
pub fn source_toml(name: &str, kind: Kind, base_url: &str, extra: &str) -> String {
    let time_filter = match kind {
        Kind::LogtoTimed | Kind::LogtoUntimed => "time_filter = \"auto\"\n",
        _ => "",
    };
    format!(
        "[sources.{name}]\nkind = \"{}\"\nbase_url = \"{base_url}\"\ntoken = \"{TOKEN}\"\n{time_filter}{UNLIMITED}\n{extra}\n",
        kind.provider()
    )
}

/// Named simulators on loopback and a gateway in front of them.
pub struct Fleet {
    pub gateway: Gateway,
    pub sims: Vec<(String, Kind, Sim)>,
    _served: Vec<Served>,
}

impl Fleet {
    /// Starts one simulator per spec (named `s0`, `s1`, ...) and a gateway;
    /// `server` is the `[server]` table's body, `extra` goes into every
    /// source table.
    pub async fn start(specs: &[Spec], server: &str, extra: &str) -> Fleet {
        let now = loggate_core::time::now_ms();
        let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
        Fleet::start_named(specs, &names, now, server, extra).await
    }

    pub async fn start_named(
        specs: &[Spec],
        names: &[String],
        now: i64,
        server: &str,
        extra: &str,
    ) -> Fleet {
        let (sims, served, toml) = start_sims(specs, names, now, server, extra).await;
        Fleet {
            gateway: Gateway::start(&toml).await,
            sims,
            _served: served,
        }
    }

    /// Every source's data as (name, records), for [`super::reference`].
    pub fn snapshot(&self) -> Vec<(&str, Vec<LogRecord>)> {
        self.sims
            .iter()
            .map(|(name, _, sim)| (name.as_str(), sim.snapshot()))
            .collect()
    }

    pub fn sim(&self, name: &str) -> &Sim {
        &self
            .sims
            .iter()
            .find(|(n, _, _)| n == name)
            .expect("a simulator of that name")
            .2
    }
}

/// Starts simulators on loopback; returns them, their servers and the
/// gateway configuration naming them (for gateways run elsewhere too).
pub async fn start_sims(
    specs: &[Spec],
    names: &[String],
    now: i64,
    server: &str,
    extra: &str,
) -> (Vec<(String, Kind, Sim)>, Vec<Served>, String) {
    let mut toml = format!("[server]\n{server}\n");
    let mut sims = Vec::new();
    let mut served = Vec::new();
    for (spec, name) in specs.iter().zip(names) {
        let sim = Sim::new(*spec, now);
        let server = serve_loopback(sim.router()).await.expect("simulator binds");
        toml.push_str(&source_toml(name, spec.kind, &server.base_url(), extra));
        sims.push((name.clone(), spec.kind, sim));
        served.push(server);
    }
    (sims, served, toml)
}

/// A copy of native record `raw` of `kind` with a fresh native id (`n`
/// makes it unique) and a planted attribute value that no generator
/// produces; returns the record and the attribute name to filter on.
/// None of these attributes is pushed down by its adapter.
pub fn planted(kind: Kind, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
    let mut raw = raw.clone();
    let object = |v: &mut Value, key: &str| {
        if !v.get(key).is_some_and(Value::is_object) {
            v[key] = Value::Object(Default::default());
        }
    };
    match kind {
        Kind::Leveled => {
            // The native id is a hash of the content: the new value makes it new.
            object(&mut raw, "details");
            raw["details"]["needle"] = Value::from(value);
            raw["details"]["needle_n"] = Value::from(n);
            (raw, "needle")
        }
        Kind::PromptCrafter => {
            raw["_id"] = Value::from(format!("{:024x}", 0xfeed_0000_0000u64 + n as u64));
            raw["notes"] = Value::from(value);
            (raw, "notes")
        }
        Kind::Alloy => {
            raw["_id"] = Value::from(format!("{:024x}", 0xfeed_0000_0000u64 + n as u64));
            object(&mut raw, "data");
            raw["data"]["executionUuid"] = Value::from(value);
            (raw, "executionUuid")
        }
        Kind::LogtoTimed | Kind::LogtoUntimed => {
            raw["id"] = Value::from(format!("needle{n:016}"));
            object(&mut raw, "payload");
            raw["payload"]["sessionId"] = Value::from(value);
            (raw, "sessionId")
        }
    }
}
