//! kind → adapter factory, one line per provider.

use std::sync::Arc;

use loggate_core::{Adapter, SourceSettings};

/// Builds the adapter of `kind` (validated by the configuration).
pub fn build_adapter(kind: &str, settings: SourceSettings) -> Option<Arc<dyn Adapter>> {
    let adapter: Arc<dyn Adapter> = match kind {
        loggate_leveled::KIND => Arc::new(loggate_leveled::LeveledAdapter::new(settings)),
        loggate_promptcrafter::KIND => {
            Arc::new(loggate_promptcrafter::PromptCrafterAdapter::new(settings))
        }
        loggate_alloy::KIND => Arc::new(loggate_alloy::AlloyAdapter::new(settings)),
        loggate_logto::KIND => Arc::new(loggate_logto::LogtoAdapter::new(settings)),
        _ => return None,
    };
    Some(adapter)
}
