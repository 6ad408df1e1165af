//! What a provider's factory is asked for when a demo, a test or the
//! benchmark wants a simulator without knowing the provider.

use std::sync::Arc;

use super::Simulator;

/// The data set of one simulator: the knobs every provider's simulator
/// has, embedded as the field `spec` of each provider's `SimConfig`.
/// Records are spread over `span_ms` milliseconds ending at `now_ms`
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
    /// One of the factory's `sim_variants()`; empty for the first. Read
    /// by the factory's `simulator` (it sets the provider's own switches);
    /// the simulator itself does not look at it.
    pub variant: String,
}

impl SimSpec {
    /// `records` records of seed `seed` over the hour before `now_ms`,
    /// token `sim-token`.
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

/// A provider's simulator configuration: the common knobs ([`SimSpec`],
/// embedded as its field `spec`) and the provider's own switches.
/// `sim_config_from_spec!` writes it.
pub trait SimConfigure: Sized {
    /// The `loggate demo` data set, its newest record at most `now_ms`.
    fn demo_at(now_ms: i64) -> Self;
    /// The common knobs (`seed`, `records`, `now_ms`, `span_ms`,
    /// `distinct_timestamps`, `token`, `variant`).
    fn spec_mut(&mut self) -> &mut SimSpec;

    /// The demo configuration with `spec` as its common knobs;
    /// `spec.variant` is the provider's to read.
    fn from_spec(spec: &SimSpec) -> Self {
        let mut config = Self::demo_at(spec.now_ms);
        *config.spec_mut() = spec.clone();
        config
    }
}

/// A simulator built from its provider's configuration: what a factory's
/// `simulator` and `demo_sources` return, written once.
pub trait SpecSimulator: Simulator + Sized {
    type Config: SimConfigure;

    /// The simulator serving `config`.
    fn from_config(config: Self::Config) -> Self;

    /// A simulator of `spec`'s data set (a factory's `simulator`).
    fn for_spec(spec: &SimSpec) -> Option<Arc<dyn Simulator>> {
        Some(Arc::new(Self::from_config(Self::Config::from_spec(spec))))
    }

    /// The demo source `name`: the demo data set at `now_ms`, accepting
    /// `token`.
    fn demo_source(name: &'static str, now_ms: i64, token: &str) -> DemoSource {
        let mut config = Self::Config::demo_at(now_ms);
        config.spec_mut().token = token.to_string();
        DemoSource::of(name, Self::from_config(config))
    }
}

/// Expands to `impl SimConfigure for $config` and
/// `impl SpecSimulator for $sim`: `$config::demo(now_ms)` as the demo data
/// set, `$config`'s field `spec: SimSpec` as its common knobs, and
/// `$sim::new(config)`; the rest (and `spec.variant`) is the provider's.
#[macro_export]
macro_rules! sim_config_from_spec {
    ($config:ty => $sim:ty) => {
        impl $crate::sim::SimConfigure for $config {
            fn demo_at(now_ms: i64) -> Self {
                <$config>::demo(now_ms)
            }

            fn spec_mut(&mut self) -> &mut $crate::sim::SimSpec {
                &mut self.spec
            }
        }

        impl $crate::sim::SpecSimulator for $sim {
            type Config = $config;

            fn from_config(config: $config) -> Self {
                <$sim>::new(config)
            }
        }
    };
}
