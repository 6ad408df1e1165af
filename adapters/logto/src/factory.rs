//! Logto as the gateway registers it: [`LogtoFactory`] and its keys of a
//! `[sources.NAME]` table ([`LogtoParams`]): a static access token, or the
//! client-credentials pair of a machine-to-machine app (and the API
//! resource it asks a token for), and whether the server honours
//! `start_time`/`end_time`.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use loggate_core::provider::{de, Problem, ProviderParams, TypedProviderFactory};
use loggate_core::{Adapter, SourceSettings};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::adapter::{LogtoAdapter, KIND};

/// Logto OSS's Management API resource, asked for when none is set.
pub const DEFAULT_RESOURCE: &str = "https://default.logto.app/api";

/// Whether the server honours `start_time`/`end_time` (Logto v1.40+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeFilter {
    /// Find out from the server's answers.
    #[default]
    Auto,
    On,
    Off,
}

/// The keys a Logto source takes besides the common ones: `token`, or
/// `client_id` and `client_secret` (and optionally `resource`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogtoParams {
    /// A Management API access token, used as is.
    #[serde(default, deserialize_with = "de::secret")]
    pub token: Option<SecretString>,
    /// The machine-to-machine app of the client-credentials grant.
    #[serde(default, deserialize_with = "de::text")]
    pub client_id: Option<String>,
    #[serde(default, deserialize_with = "de::secret")]
    pub client_secret: Option<SecretString>,
    /// The API resource the grant asks a token for ([`DEFAULT_RESOURCE`]
    /// when unset).
    #[serde(default, deserialize_with = "de::text")]
    pub resource: Option<String>,
    #[serde(default)]
    pub time_filter: TimeFilter,
}

impl ProviderParams for LogtoParams {
    fn token(&self) -> Option<&SecretString> {
        self.token.as_ref()
    }
}

impl LogtoParams {
    /// The resource the grant names.
    pub fn resource(&self) -> &str {
        self.resource.as_deref().unwrap_or(DEFAULT_RESOURCE)
    }
}

/// The factory of Logto sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogtoFactory;

impl TypedProviderFactory for LogtoFactory {
    type Params = LogtoParams;

    fn kind(&self) -> &'static str {
        KIND
    }

    fn validate(&self, params: &LogtoParams) -> Vec<Problem> {
        let mut problems = Vec::new();
        let (id, secret) = (params.client_id.is_some(), params.client_secret.is_some());
        if id || secret {
            if params.token.is_some() {
                problems.push(Problem::new(
                    "token",
                    "set either token or client_id and client_secret, not both",
                ));
            }
            if !id {
                problems.push(Problem::new("client_id", "required with client_secret"));
            }
            if !secret {
                problems.push(Problem::new("client_secret", "required with client_id"));
            }
        } else if params.token.is_none() {
            problems.push(Problem::new(
                "token",
                "required: an access token, or client_id and client_secret",
            ));
        }
        problems
    }

    /// The token, the client secret, and the pair as it travels in the
    /// token request's Basic header (plain and base64).
    fn secrets(&self, params: &LogtoParams) -> Vec<SecretString> {
        let mut secrets: Vec<SecretString> = [&params.token, &params.client_secret]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        if let (Some(id), Some(secret)) = (&params.client_id, &params.client_secret) {
            let pair = format!("{id}:{}", secret.expose_secret());
            let encoded = STANDARD.encode(&pair);
            secrets.extend([SecretString::from(pair), SecretString::from(encoded)]);
        }
        secrets
    }

    fn adapter(&self, params: &LogtoParams, settings: SourceSettings) -> Arc<dyn Adapter> {
        Arc::new(LogtoAdapter::new(settings, params))
    }

    /// `timed`: a v1.42+ server (inclusive bounds); `exclusive`: v1.40–v1.41
    /// (exclusive bounds, equal ones refused); `untimed`: an older one that
    /// ignores the time filter.
    fn sim_variants(&self) -> &'static [&'static str] {
        &["timed", "exclusive", "untimed"]
    }

    #[cfg(feature = "sim")]
    fn simulator(
        &self,
        spec: &loggate_core::sim::SimSpec,
    ) -> Option<Arc<dyn loggate_core::sim::Simulator>> {
        use loggate_core::sim::SimConfigure as _;
        let c = crate::sim::SimConfig::from_spec(spec);
        let generation = match spec.variant.as_str() {
            "untimed" => crate::sim::Generation::IgnoresTime,
            "exclusive" => crate::sim::Generation::Exclusive,
            _ => crate::sim::Generation::Inclusive,
        };
        Some(Arc::new(crate::sim::LogtoSim::new(
            c.with_generation(generation),
        )))
    }

    /// `auth`, read with the client-credentials grant.
    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<loggate_core::sim::DemoSource> {
        let mut config = crate::sim::SimConfig::demo(now_ms);
        config.client_id = "demo-client".into();
        config.client_secret = "demo-client-secret".into();
        let source_toml = [
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
            ("resource", &config.resource),
        ]
        .map(|(key, value)| loggate_core::sim::toml_line(key, value))
        .concat();
        vec![loggate_core::sim::DemoSource {
            name: "auth",
            sim: Arc::new(crate::sim::LogtoSim::new(config)),
            source_toml,
        }]
    }
}
