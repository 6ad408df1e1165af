//! The keys of a provider whose credential is one API token and whose
//! upstream can search text: [`TokenSearchParams`] (leveled and Alloy take
//! exactly these).

use secrecy::SecretString;
use serde::Deserialize;

use super::{de, ProviderParams};

/// A source table's `token` and `search_pushdown` keys (every other key is
/// `unknown key`, as for any provider's params).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSearchParams {
    /// The provider's API token, sent as a bearer token (required: the
    /// default [`super::TypedProviderFactory::validate`]).
    #[serde(default, deserialize_with = "de::secret")]
    pub token: Option<SecretString>,
    /// Push `q` down to the upstream's text search (default `true`); what
    /// that search is, and why one would turn it off, is the provider's
    /// (its crate docs).
    #[serde(default)]
    pub search_pushdown: Option<bool>,
}

impl TokenSearchParams {
    /// Whether `q` is pushed down: `search_pushdown`, `true` when unset.
    pub fn search_pushdown(&self) -> bool {
        self.search_pushdown.unwrap_or(true)
    }
}

impl ProviderParams for TokenSearchParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}
