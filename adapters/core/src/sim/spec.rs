//! What a provider's factory is asked for when a demo, a test or the
//! benchmark wants a simulator without knowing the provider.

use std::sync::Arc;

use super::Simulator;

/// The data set of one simulator: the knobs every provider's simulator
/// has. Records are spread over `span_ms` milliseconds ending at `now_ms`
/// (epoch ms), on at most `distinct_timestamps` distinct instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSpec {
    pub seed: u64,
    pub records: usize,
    pub now_ms: i64,
    pub span_ms: i64,
    /// `None`: as many as the generator makes (few ties).
    pub distinct_timestamps: Option<usize>,
    /// The API token the simulator accepts.
    pub token: String,
    /// One of the factory's `sim_variants()`; empty for the first.
    pub variant: String,
}

impl SimSpec {
    /// `records` records of seed `seed` over the hour before `now_ms`.
    pub fn new(seed: u64, records: usize, now_ms: i64) -> Self {
        SimSpec {
            seed,
            records,
            now_ms,
            span_ms: 3_600_000,
            distinct_timestamps: None,
            token: "sim-token".into(),
            variant: String::new(),
        }
    }
}

/// One source of `loggate demo`: a simulator with seeded demo data.
#[derive(Clone)]
pub struct DemoSource {
    /// The source's name in the demo's configuration (`app`).
    pub name: &'static str,
    pub sim: Arc<dyn Simulator>,
    /// The keys of its source table besides `kind` and `base_url`, as
    /// TOML lines (its credentials).
    pub source_toml: String,
}

impl DemoSource {
    /// The demo source `name` served by `sim`, its table keys from
    /// [`Simulator::source_toml`].
    pub fn of(name: &'static str, sim: impl Simulator) -> Self {
        DemoSource {
            name,
            source_toml: sim.source_toml(),
            sim: Arc::new(sim),
        }
    }
}

/// Expands to `impl $config { pub fn from_spec(spec: &SimSpec) -> Self }`:
/// the provider's `$config::demo(spec.now_ms)` with the knobs every
/// simulator configuration has (`seed`, `records`, `span_ms`,
/// `distinct_timestamps`, `token`) taken from the [`SimSpec`]; the rest
/// (and `spec.variant`) is the provider's.
#[macro_export]
macro_rules! sim_config_from_spec {
    ($config:ty) => {
        impl $config {
            /// The demo configuration with `spec`'s data set and token.
            pub fn from_spec(spec: &$crate::sim::SimSpec) -> Self {
                let mut config = <$config>::demo(spec.now_ms);
                config.seed = spec.seed;
                config.records = spec.records;
                config.span_ms = spec.span_ms;
                config.distinct_timestamps = spec.distinct_timestamps;
                config.token = spec.token.clone();
                config
            }
        }
    };
}
