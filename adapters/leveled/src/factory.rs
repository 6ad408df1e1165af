//! The leveled provider as the gateway registers it: [`LeveledFactory`]
//! and its keys of a `[sources.NAME]` table ([`LeveledParams`]).

use std::sync::Arc;

use loggate_core::provider::{de, ProviderParams, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};
use secrecy::SecretString;
use serde::Deserialize;

use crate::adapter::{LeveledAdapter, KIND};

/// The keys a leveled source takes besides the common ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeveledParams {
    /// The provider's API token, sent as `Authorization: Bearer` (required).
    #[serde(default, deserialize_with = "de::secret")]
    pub token: Option<SecretString>,
    /// Push `q` down as `search` (default `true`); `false` for a server
    /// whose search is case-sensitive or matches whole words only (see the
    /// crate docs).
    #[serde(default)]
    pub search_pushdown: Option<bool>,
}

impl ProviderParams for LeveledParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

/// The factory of leveled sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeveledFactory;

impl TypedProviderFactory for LeveledFactory {
    type Params = LeveledParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn adapter(&self, params: &LeveledParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        let adapter = LeveledAdapter::new(settings)
            .with_search_pushdown(params.search_pushdown.unwrap_or(true));
        Arc::new(adapter)
    }

    #[cfg(feature = "sim")]
    fn simulator(
        &self,
        spec: &loggate_core::sim::SimSpec,
    ) -> Option<Arc<dyn loggate_core::sim::Simulator>> {
        let c = crate::sim::SimConfig::from_spec(spec);
        Some(Arc::new(crate::sim::LeveledSim::new(c)))
    }

    /// `app`, and `billing` with other data from the same generator.
    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<loggate_core::sim::DemoSource> {
        use loggate_core::sim::DemoSource;
        let mut app = crate::sim::SimConfig::demo(now_ms);
        app.token = "demo-leveled-token".into();
        let mut billing = app.clone();
        billing.seed ^= 0xB111;
        [("app", app), ("billing", billing)]
            .into_iter()
            .map(|(name, config)| DemoSource::of(name, crate::sim::LeveledSim::new(config)))
            .collect()
    }
}
