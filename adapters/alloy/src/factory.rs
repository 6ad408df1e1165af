//! Alloy as the gateway registers it: [`AlloyFactory`] and its keys of
//! a `[sources.NAME]` table ([`AlloyParams`]).

use std::sync::Arc;

use loggate_core::provider::{de, required_token, Problem, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};
use secrecy::SecretString;
use serde::Deserialize;

use crate::adapter::{AlloyAdapter, KIND};

/// The keys an Alloy source takes besides the common ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlloyParams {
    /// The provider's API token, sent as a bearer token (required).
    #[serde(default, deserialize_with = "de::secret")]
    pub token: Option<SecretString>,
    /// Push `q` down as a `message` clause (default `true`); see
    /// [`crate::translate`] for when it is pushed at all.
    #[serde(default)]
    pub search_pushdown: Option<bool>,
}

/// The factory of Alloy sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlloyFactory;

impl TypedProviderFactory for AlloyFactory {
    type Params = AlloyParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn validate(&self, params: &AlloyParams) -> Vec<Problem> {
        required_token(&params.token).into_iter().collect()
    }

    fn secrets(&self, params: &AlloyParams) -> Vec<SecretString> {
        params.token.iter().cloned().collect()
    }

    fn adapter(&self, params: &AlloyParams, mut settings: SourceSettings) -> Arc<dyn Adapter> {
        settings.token = params.token.clone();
        Arc::new(
            AlloyAdapter::new(settings)
                .with_search_pushdown(params.search_pushdown.unwrap_or(true)),
        )
    }

    #[cfg(feature = "sim")]
    fn simulator(
        &self,
        spec: &loggate_core::sim::SimSpec,
    ) -> Option<Arc<dyn loggate_core::sim::Simulator>> {
        let mut c = crate::sim::SimConfig::demo(spec.now_ms);
        (c.seed, c.records, c.span_ms, c.distinct_timestamps) = (
            spec.seed,
            spec.records,
            spec.span_ms,
            spec.distinct_timestamps,
        );
        c.token = spec.token.clone();
        Some(Arc::new(crate::sim::AlloySim::new(c)))
    }

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<loggate_core::sim::DemoSource> {
        use loggate_core::sim::Simulator;
        let mut config = crate::sim::SimConfig::demo(now_ms);
        config.token = "demo-alloy-token".into();
        let sim = crate::sim::AlloySim::new(config);
        vec![loggate_core::sim::DemoSource {
            name: "workflows",
            source_toml: sim.source_toml(),
            sim: Arc::new(sim),
        }]
    }
}
