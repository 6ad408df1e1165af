//! Alloy as the gateway registers it: [`AlloyFactory`] and its keys of
//! a `[sources.NAME]` table ([`AlloyParams`]).

use std::sync::Arc;

use loggate_core::provider::{TokenSearchParams, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};

use crate::adapter::{AlloyAdapter, KIND};
#[cfg(feature = "sim")]
use crate::sim::AlloySim;
#[cfg(feature = "sim")]
use loggate_core::sim::{DemoSource, SimSpec, Simulator, SpecSimulator};

/// The keys an Alloy source takes besides the common ones: `token`, the
/// API key sent as a bearer token (required), and `search_pushdown`, whether
/// `q` is pushed down as a `message` clause (default `true`; see
/// [`crate::translate`] for when it is pushed at all).
pub type AlloyParams = TokenSearchParams;

/// The factory of Alloy sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlloyFactory;

impl TypedProviderFactory for AlloyFactory {
    type Params = AlloyParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn adapter(&self, params: &AlloyParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        Arc::new(AlloyAdapter::new(settings).with_search_pushdown(params.search_pushdown()))
    }

    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &SimSpec) -> Option<Arc<dyn Simulator>> {
        AlloySim::for_spec(spec)
    }

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<DemoSource> {
        vec![AlloySim::demo_source(
            "workflows",
            now_ms,
            "demo-alloy-token",
        )]
    }
}
