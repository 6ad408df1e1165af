//! The one list of providers this build knows: configuration validation,
//! `check-config`, `demo`, the OpenAPI description of `kind`, the tests and
//! the benchmark all read it. Adding a provider is one crate under
//! `adapters/` and one line in [`Registry::builtin`] (README, "Adding a
//! provider").

use std::sync::Arc;

use loggate_core::ProviderFactory;

/// Provider factories by kind, in registration order (the order the
/// unknown-kind error lists them in).
#[derive(Clone)]
pub struct Registry {
    factories: Vec<Arc<dyn ProviderFactory>>,
}

impl Registry {
    /// No provider at all (tests build their own).
    pub fn empty() -> Self {
        Registry {
            factories: Vec::new(),
        }
    }

    /// Every provider of this build.
    pub fn builtin() -> Self {
        Registry::empty()
            .with(loggate_promptcrafter::PromptCrafterFactory)
            .with(loggate_alloy::AlloyFactory)
            .with(loggate_logto::LogtoFactory)
            .with(loggate_leveled::LeveledFactory)
    }

    /// This registry and `factory`, which replaces one of the same kind.
    pub fn with(mut self, factory: impl ProviderFactory) -> Self {
        self.factories.retain(|f| f.kind() != factory.kind());
        self.factories.push(Arc::new(factory));
        self
    }

    /// The factory of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn ProviderFactory>> {
        self.factories.iter().find(|f| f.kind() == kind)
    }

    /// The registered kinds, in registration order.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.iter().map(|f| f.kind()).collect()
    }

    pub fn factories(&self) -> impl Iterator<Item = &Arc<dyn ProviderFactory>> {
        self.factories.iter()
    }

    /// The kinds whose settings take `key`, in registration order.
    pub fn kinds_taking(&self, key: &str) -> Vec<&'static str> {
        self.factories
            .iter()
            .filter(|f| f.keys().contains(&key))
            .map(|f| f.kind())
            .collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.kinds()).finish()
    }
}

#[cfg(test)]
mod tests;
