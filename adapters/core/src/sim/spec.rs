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

/// A provider's simulator configuration as the factory helpers of
/// [`SpecSimulator`] build it; `sim_config_from_spec!` writes it.
pub trait SimConfigure: Sized {
    /// The `loggate demo` data set, its newest record at most `now_ms`.
    fn demo_at(now_ms: i64) -> Self;
    /// The demo configuration with `spec`'s common knobs (`seed`,
    /// `records`, `now_ms`, `span_ms`, `distinct_timestamps`, `token`);
    /// `spec.variant` is the provider's to read.
    fn from_spec(spec: &SimSpec) -> Self;
    /// Sets the API token the simulator accepts.
    fn set_token(&mut self, token: &str);
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
        config.set_token(token);
        DemoSource::of(name, Self::from_config(config))
    }
}

/// Expands to `impl SimConfigure for $config` and
/// `impl SpecSimulator for $sim`: `$config::demo(spec.now_ms)` with the
/// knobs every simulator configuration has (`seed`, `records`, `span_ms`,
/// `distinct_timestamps`, `token`) taken from the [`SimSpec`], and
/// `$sim::new(config)`; the rest (and `spec.variant`) is the provider's.
#[macro_export]
macro_rules! sim_config_from_spec {
    ($config:ty => $sim:ty) => {
        impl $crate::sim::SimConfigure for $config {
            fn demo_at(now_ms: i64) -> Self {
                <$config>::demo(now_ms)
            }

            fn from_spec(spec: &$crate::sim::SimSpec) -> Self {
                let mut config = <$config>::demo(spec.now_ms);
                config.seed = spec.seed;
                config.records = spec.records;
                config.span_ms = spec.span_ms;
                config.distinct_timestamps = spec.distinct_timestamps;
                config.token = spec.token.clone();
                config
            }

            fn set_token(&mut self, token: &str) {
                self.token = token.to_string();
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
