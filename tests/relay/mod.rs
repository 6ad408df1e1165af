//! A fifth provider, `relay`, living entirely in this folder: what a new
//! provider crate exports, written against the same core contract. Its
//! upstream speaks the leveled-log API (the simulator and the adapter are
//! leveled's, wrapped), but it is its own kind with its own settings
//! (`api_key`, `search`), secrets, adapter and simulator. Registered from
//! a test with one line: `Registry::builtin().with(RelayFactory)`.

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use loggate_core::provider::{de, Problem, ProviderParams, TypedProviderFactory};
use loggate_core::sim::{Faults, SimSpec, Simulator};
use loggate_core::SourceSettings;
use loggate_core::{Adapter, Batch, Capabilities, FetchRequest, Filters, LogRecord, SourceError};
use loggate_leveled::{LeveledAdapter, LeveledFactory};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::Value;

/// The configuration `kind`.
pub const KIND: &str = "relay";

/// The keys a relay source takes besides the common ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayParams {
    /// The relay's API key, sent as a bearer token (required).
    #[serde(default, deserialize_with = "de::secret")]
    pub api_key: Option<SecretString>,
    /// Whether `q` goes upstream (default `true`).
    #[serde(default)]
    pub search: Option<bool>,
}

impl ProviderParams for RelayParams {
    /// The API key is its token: handed to the adapter and scrubbed.
    fn token(&self) -> Option<&SecretString> {
        self.api_key.as_ref()
    }
}

/// The factory of relay sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct RelayFactory;

impl TypedProviderFactory for RelayFactory {
    type Params = RelayParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn validate(&self, params: &RelayParams) -> Vec<Problem> {
        match params.api_key {
            Some(_) => Vec::new(),
            None => vec![Problem::new("api_key", "required: the relay's API key")],
        }
    }

    fn adapter(&self, params: &RelayParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        let inner =
            LeveledAdapter::new(settings).with_search_pushdown(params.search.unwrap_or(true));
        Arc::new(RelayAdapter(inner))
    }

    fn simulator(&self, spec: &SimSpec) -> Option<Arc<dyn Simulator>> {
        let inner = LeveledFactory.simulator(spec)?;
        Some(Arc::new(RelaySim(inner)))
    }
}

/// Leveled's adapter under the relay kind.
pub struct RelayAdapter(LeveledAdapter);

#[async_trait]
impl Adapter for RelayAdapter {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn capabilities(&self) -> &Capabilities {
        self.0.capabilities()
    }

    fn pushed(&self, filters: &Filters) -> Vec<String> {
        self.0.pushed(filters)
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        self.0.fetch(request).await
    }
}

/// Leveled's simulator, read with an `api_key`.
pub struct RelaySim(Arc<dyn Simulator>);

impl Simulator for RelaySim {
    fn router(&self) -> Router {
        self.0.router()
    }

    fn faults(&self) -> &Faults {
        self.0.faults()
    }

    fn insert_new(&self, n: usize) {
        self.0.insert_new(n)
    }

    fn insert_copies(&self, n: usize, at_ms: i64) {
        self.0.insert_copies(n, at_ms)
    }

    fn snapshot(&self) -> Vec<LogRecord> {
        self.0.snapshot()
    }

    fn insert(&self, raw: Value) {
        self.0.insert(raw)
    }

    fn raw_records(&self) -> Vec<Value> {
        self.0.raw_records()
    }

    fn source_toml(&self) -> String {
        self.0.source_toml().replacen("token", "api_key", 1)
    }

    fn planted(&self, raw: &Value, n: usize, value: &str) -> (Value, &'static str) {
        self.0.planted(raw, n, value)
    }

    fn unreadable(&self, at_ms: i64) -> Option<Value> {
        self.0.unreadable(at_ms)
    }

    fn answer_times(&self, body: &Value) -> Option<Vec<i64>> {
        self.0.answer_times(body)
    }

    fn null_list_answer(&self) -> String {
        self.0.null_list_answer()
    }
}
