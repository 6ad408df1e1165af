//! The leveled provider as the gateway registers it: [`LeveledFactory`]
//! and its keys of a `[sources.NAME]` table ([`LeveledParams`]).

use std::sync::Arc;

use loggate_core::provider::{TokenSearchParams, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};

use crate::adapter::{LeveledAdapter, KIND};
#[cfg(feature = "sim")]
use crate::sim::LeveledSim;
#[cfg(feature = "sim")]
use loggate_core::sim::{DemoSource, SimSpec, Simulator, SpecSimulator};

/// The keys a leveled source takes besides the common ones: `token`, the
/// API token sent as `Authorization: Bearer` (required), and
/// `search_pushdown`, whether `q` is pushed down as `search` (default
/// `true`; `false` for a server whose search is case-sensitive or matches
/// whole words only, see the crate docs).
pub type LeveledParams = TokenSearchParams;

/// The factory of leveled sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeveledFactory;

impl TypedProviderFactory for LeveledFactory {
    type Params = LeveledParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn adapter(&self, params: &LeveledParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        Arc::new(LeveledAdapter::new(settings).with_search_pushdown(params.search_pushdown()))
    }

    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &SimSpec) -> Option<Arc<dyn Simulator>> {
        LeveledSim::for_spec(spec)
    }

    /// `app`, and `billing` with other data from the same generator.
    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<DemoSource> {
        let mut billing = crate::sim::SimConfig::demo(now_ms);
        billing.spec.token = "demo-leveled-token".into();
        billing.spec.seed ^= 0xB111;
        vec![
            LeveledSim::demo_source("app", now_ms, "demo-leveled-token"),
            DemoSource::of("billing", LeveledSim::new(billing)),
        ]
    }
}
