//! PromptCrafter as the gateway registers it: [`PromptCrafterFactory`] and its keys of
//! a `[sources.NAME]` table ([`PromptCrafterParams`]).

use std::sync::Arc;

use loggate_core::provider::{de, ProviderParams, TypedProviderFactory, UpstreamPaging};
use loggate_core::{Adapter, SourceSettings};
use secrecy::SecretString;
use serde::Deserialize;

use crate::adapter::{PromptCrafterAdapter, KIND};
use crate::listing::ListMode;
#[cfg(feature = "sim")]
use crate::sim::PromptCrafterSim;
#[cfg(feature = "sim")]
use loggate_core::sim::{DemoSource, SimSpec, Simulator, SpecSimulator};

/// The keys a PromptCrafter source takes besides the common ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptCrafterParams {
    /// The provider's API token, sent as a bearer token (required).
    #[serde(default, deserialize_with = "de::secret")]
    pub token: Option<SecretString>,
    /// How an unfiltered read lists the logs: `auto` (default), `all` or
    /// `per_prompt` ([`ListMode`], issue 11 item 14).
    #[serde(default)]
    pub list_mode: ListMode,
}

impl ProviderParams for PromptCrafterParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

/// The factory of PromptCrafter sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct PromptCrafterFactory;

impl TypedProviderFactory for PromptCrafterFactory {
    type Params = PromptCrafterParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    /// No pagination: the whole array in one response (providers README).
    fn upstream_paging(&self) -> UpstreamPaging {
        UpstreamPaging::WholeLog
    }

    fn adapter(&self, params: &PromptCrafterParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        Arc::new(PromptCrafterAdapter::new(settings).with_list_mode(params.list_mode))
    }

    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &SimSpec) -> Option<Arc<dyn Simulator>> {
        PromptCrafterSim::for_spec(spec)
    }

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<DemoSource> {
        let token = "demo-promptcrafter-token";
        vec![PromptCrafterSim::demo_source("prompts", now_ms, token)]
    }
}
