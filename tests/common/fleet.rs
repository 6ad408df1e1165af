//! Any mix of the registered providers' simulators behind one gateway: the
//! property, page-cost, sparse-filter and failure tests build on it. Every
//! simulator comes from its provider's factory in the registry
//! ([`loggate_core::ProviderFactory::simulator`]) and is driven through the
//! core [`Simulator`] trait: nothing here knows a provider.

use std::sync::Arc;

use loggate::registry::Registry;
use loggate_core::sim::{serve_loopback, Faults, Served, SimSpec, Simulator};
use loggate_core::{LogRecord, UpstreamPaging};
use serde_json::Value;

use super::Gateway;

/// Outbound rate limits out of the way (rate limits are tested elsewhere).
pub const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

/// One simulator flavour: a registered kind and one of its simulator
/// variants (Logto comes in two server generations). The built-in ones
/// have names in `kinds.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub provider: &'static str,
    pub variant: &'static str,
}

impl Kind {
    pub const fn new(provider: &'static str, variant: &'static str) -> Kind {
        Kind { provider, variant }
    }

    /// Every variant of every provider of `registry`.
    pub fn all_in(registry: &Registry) -> Vec<Kind> {
        registry
            .factories()
            .flat_map(|f| f.sim_variants().iter().map(|v| Kind::new(f.kind(), v)))
            .collect()
    }

    /// Every variant of every built-in provider.
    pub fn all() -> Vec<Kind> {
        Kind::all_in(&Registry::builtin())
    }

    /// The default (first) variant of each built-in provider.
    pub fn each_provider() -> Vec<Kind> {
        Registry::builtin()
            .factories()
            .map(|f| Kind::new(f.kind(), f.sim_variants()[0]))
            .collect()
    }

    /// The provider that tests of the gateway itself (metrics, tracing,
    /// the OpenAPI document, ...) run against when what they test is not a
    /// provider: the last registered one whose upstream pages (as the
    /// benchmark's one-source provider). Its sources take a `token` key.
    pub fn stand_in() -> Kind {
        Registry::builtin()
            .factories()
            .filter(|f| f.upstream_paging() == UpstreamPaging::Paged)
            .map(|f| Kind::new(f.kind(), f.sim_variants()[0]))
            .last()
            .expect("a registered provider whose upstream pages")
    }

    pub fn provider(self) -> &'static str {
        self.provider
    }

    /// The stand-in first, then the default variant of every other built-in
    /// provider whose upstream pages, in registration order: for tests
    /// that want a few different paged providers.
    pub fn paged() -> Vec<Kind> {
        let stand_in = Kind::stand_in();
        let mut kinds = vec![stand_in];
        kinds.extend(
            Kind::each_provider()
                .into_iter()
                .filter(|k| !k.whole_log() && k.provider() != stand_in.provider()),
        );
        kinds
    }

    /// How its provider's upstream pages (from the built-in registry).
    pub fn paging(self) -> UpstreamPaging {
        Registry::builtin()
            .get(self.provider)
            .unwrap_or_else(|| panic!("{} is not registered", self.provider))
            .upstream_paging()
    }

    /// Whether its provider's upstream answers every page with its whole
    /// log (no pagination upstream).
    pub fn whole_log(self) -> bool {
        self.paging() == UpstreamPaging::WholeLog
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

/// A running simulator of any provider (a [`Simulator`] trait object).
#[derive(Clone)]
pub struct Sim(pub Arc<dyn Simulator>);

const TOKEN: &str = "fleet-token";

impl Sim {
    /// The simulator of `spec` from its provider's factory in `registry`.
    pub fn new_in(registry: &Registry, spec: Spec, now: i64) -> Sim {
        let factory = registry
            .get(spec.kind.provider)
            .unwrap_or_else(|| panic!("{} is not registered", spec.kind.provider));
        let sim_spec = SimSpec {
            seed: spec.seed,
            records: spec.records,
            now_ms: now,
            span_ms: spec.span_ms,
            distinct_timestamps: Some(spec.distinct_timestamps),
            token: TOKEN.into(),
            variant: spec.kind.variant.into(),
        };
        let sim = factory
            .simulator(&sim_spec)
            .unwrap_or_else(|| panic!("{} has no simulator", spec.kind.provider));
        Sim(sim)
    }

    /// A built-in simulator of `kind` holding `records` records (seed 1,
    /// each on its own instant, over the hour before now).
    pub fn of(kind: Kind, records: usize) -> Sim {
        let spec = Spec::new(kind, 1, records, records);
        Sim::new_in(&Registry::builtin(), spec, loggate_core::time::now_ms())
    }

    /// The API token its source table names (for a stand-in provider,
    /// whose credential is a token).
    pub fn token(&self) -> String {
        TOKEN.into()
    }

    pub fn router(&self) -> axum::Router {
        self.0.router()
    }

    pub fn faults(&self) -> &Faults {
        self.0.faults()
    }

    pub fn snapshot(&self) -> Vec<LogRecord> {
        self.0.snapshot()
    }

    pub fn insert_new(&self, n: usize) {
        self.0.insert_new(n)
    }

    pub fn insert(&self, raw: Value) {
        self.0.insert(raw)
    }

    /// See [`Simulator::insert_copies`]: `n` records stamped `at_ms`.
    pub fn insert_copies(&self, n: usize, at_ms: i64) {
        self.0.insert_copies(n, at_ms)
    }

    pub fn raw_records(&self) -> Vec<Value> {
        self.0.raw_records()
    }

    /// See [`Simulator::null_list_answer`].
    pub fn null_list_answer(&self) -> String {
        self.0.null_list_answer()
    }

    /// See [`Simulator::planted`].
    pub fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        self.0.planted(raw, n, value)
    }

    /// `kind`, `base_url` and credentials of its source table.
    pub fn source_table(&self, kind: Kind, base_url: &str) -> String {
        format!(
            "kind = \"{}\"\nbase_url = \"{base_url}\"\n{}",
            kind.provider,
            self.0.source_toml()
        )
    }
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
        Fleet::start_in(&Registry::builtin(), specs, server, extra).await
    }

    /// Like [`Fleet::start`], with the providers of `registry`.
    pub async fn start_in(registry: &Registry, specs: &[Spec], server: &str, extra: &str) -> Fleet {
        let now = loggate_core::time::now_ms();
        let names: Vec<String> = (0..specs.len()).map(|i| format!("s{i}")).collect();
        let (sims, served, toml) = start_sims_in(registry, specs, &names, now, server, extra).await;
        Fleet {
            gateway: Gateway::start_in(registry, &toml, Vec::new()).await,
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
    start_sims_in(&Registry::builtin(), specs, names, now, server, extra).await
}

/// Like [`start_sims`], with the providers of `registry`.
pub async fn start_sims_in(
    registry: &Registry,
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
        let sim = Sim::new_in(registry, *spec, now);
        let server = serve_loopback(sim.router()).await.expect("simulator binds");
        let table = sim.source_table(spec.kind, &server.base_url());
        // An `extra` naming its own rate limit replaces the unlimited one.
        let rate = if extra.contains("rate_limit") {
            ""
        } else {
            UNLIMITED
        };
        toml.push_str(&format!("[sources.{name}]\n{table}{rate}\n{extra}\n"));
        sims.push((name.clone(), spec.kind, sim));
        served.push(server);
    }
    (sims, served, toml)
}

/// Every record the simulators hold now, as gateway ids in ascending
/// merged order (spec §3): what a tail from the beginning must deliver.
pub fn every_id_asc(sims: &[(String, Kind, Sim)]) -> Vec<String> {
    let data: Vec<(&str, Vec<LogRecord>)> = sims
        .iter()
        .map(|(name, _, sim)| (name.as_str(), sim.snapshot()))
        .collect();
    super::reference(
        &data,
        &loggate_core::Filters::default(),
        loggate_core::Order::Asc,
    )
}

/// Resolves once the writer has stopped (`writing` false) and `have`
/// delivered ids cover every record the simulators hold. A tail test
/// waits for its next event in a `select!` with this: the last batch may
/// be delivered before the writer stops, and after it the stream has
/// nothing more to send (heartbeats are comments), so checking only after
/// each event would wait forever. Polls a flag, never a clock: how long
/// delivery takes does not decide the outcome.
pub async fn all_delivered(
    writing: &std::sync::atomic::AtomicBool,
    have: usize,
    sims: &[(String, Kind, Sim)],
) {
    use std::sync::atomic::Ordering;
    while writing.load(Ordering::SeqCst) || have < every_id_asc(sims).len() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
