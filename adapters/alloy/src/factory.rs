//! Alloy as the gateway registers it: [`AlloyFactory`] and its keys of
//! a `[sources.NAME]` table ([`AlloyParams`]).

use std::sync::Arc;

use loggate_core::provider::{de, ProviderParams, TypedProviderFactory};
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

impl ProviderParams for AlloyParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

/// The factory of Alloy sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlloyFactory;

impl TypedProviderFactory for AlloyFactory {
    type Params = AlloyParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn adapter(&self, params: &AlloyParams, settings: SourceSettings) -> Arc<dyn Adapter> {
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
        let c = crate::sim::SimConfig::from_spec(spec);
        Some(Arc::new(crate::sim::AlloySim::new(c)))
    }

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<loggate_core::sim::DemoSource> {
        let mut config = crate::sim::SimConfig::demo(now_ms);
        config.token = "demo-alloy-token".into();
        let sim = crate::sim::AlloySim::new(config);
        vec![loggate_core::sim::DemoSource::of("workflows", sim)]
    }
}
