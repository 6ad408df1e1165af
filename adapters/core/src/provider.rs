//! What a provider crate exports to the gateway: one factory.
//!
//! A provider implements [`TypedProviderFactory`]: its configuration `kind`,
//! its own settings type ([`TypedProviderFactory::Params`], the keys of a
//! `[sources.NAME]` table besides the common ones, deserialised with
//! `#[serde(deny_unknown_fields)]`), the rules serde cannot express, the
//! secrets to scrub from every upstream message, its adapter and (feature
//! `sim`) its simulator. The gateway holds factories as the object-safe
//! [`ProviderFactory`] every typed factory is (the pattern of quickwit's
//! `source_factory.rs`: a typed factory with `type Params` behind an
//! object-safe trait).
//!
//! Every problem of a table is reported at once, each naming its key: an
//! unknown key, a value of the wrong type (each key is checked on its own),
//! then the provider's own rules. For that, every field of `Params` must be
//! optional (`Option` or `#[serde(default)]`); requiredness is a rule of
//! [`TypedProviderFactory::validate`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::adapter::Adapter;
use crate::settings::SourceSettings;

pub mod de;
mod fields;
mod token;

pub use token::TokenSearchParams;

/// The message of a key a provider does not take.
pub const UNKNOWN_KEY: &str = "unknown key";

/// One problem with a source's provider settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key inside the source table (`client_id`), or empty for the
    /// table as a whole.
    pub key: String,
    /// Lowercase, naming no secret value (`required with client_secret`).
    pub message: String,
}

impl Problem {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        Problem {
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// Whether this is "the provider does not take this key".
    pub fn is_unknown_key(&self) -> bool {
        self.message == UNKNOWN_KEY
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// A provider's settings type ([`TypedProviderFactory::Params`]): its keys
/// of a source table, every field optional (see the module docs); `Debug`
/// must not show secrets (use [`SecretString`]).
pub trait ProviderParams: DeserializeOwned + fmt::Debug + Send + Sync + 'static {
    /// The API token the provider's upstream is called with (conventionally
    /// the `token` key), if these settings hold one. The gateway hands it
    /// to the adapter as [`SourceSettings::token`]; the default
    /// [`TypedProviderFactory::validate`] requires it and the default
    /// [`TypedProviderFactory::secrets`] scrubs it. Default: none.
    fn token(&self) -> Option<&SecretString> {
        None
    }
}

/// A provider, typed: implemented once per provider crate.
pub trait TypedProviderFactory: Clone + Send + Sync + 'static {
    /// The provider's keys of a source table. Every field optional (see
    /// the module docs); `Debug` must not show secrets (use
    /// [`SecretString`]).
    type Params: ProviderParams;

    /// The configuration `kind` (`[a-z0-9_]+`).
    fn kind(&self) -> &'static str;

    /// The rules serde cannot express: required keys, either-or pairs.
    /// Every problem, not the first. Default: the rule of a provider
    /// whose only credential is its API token ([`required_token`]).
    fn validate(&self, params: &Self::Params) -> Vec<Problem> {
        required_token(params.token()).into_iter().collect()
    }

    /// The secrets of these settings in every form they travel in (a
    /// token, a Basic credential pair and its base64): every upstream
    /// client of the gateway scrubs them from what it reports. Default:
    /// the API token ([`ProviderParams::token`]).
    fn secrets(&self, params: &Self::Params) -> Vec<SecretString> {
        params.token().into_iter().cloned().collect()
    }

    /// The adapter of one source; `settings` carries the common keys, and
    /// [`SourceSettings::token`] is already [`ProviderParams::token`] when
    /// the params have one.
    fn adapter(&self, params: &Self::Params, settings: SourceSettings) -> Arc<dyn Adapter>;

    /// How the upstream pages its log (provider page; README "Provider
    /// quirks"): the benchmark and the tests pick providers by it instead
    /// of by name.
    fn upstream_paging(&self) -> UpstreamPaging {
        UpstreamPaging::Paged
    }

    /// The simulator variants (`sim` feature): different servers of the
    /// same provider (Logto before and after v1.40). The first is the
    /// default.
    fn sim_variants(&self) -> &'static [&'static str] {
        &["default"]
    }

    /// A simulator serving `spec`'s data set (`sim` feature).
    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &crate::sim::SimSpec) -> Option<Arc<dyn crate::sim::Simulator>> {
        let _ = spec;
        None
    }

    /// The simulated sources `loggate demo` shows of this provider.
    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<crate::sim::DemoSource> {
        let _ = now_ms;
        Vec::new()
    }
}

/// How an upstream answers a request for its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamPaging {
    /// In pages: one upstream request per gateway page in the common case.
    Paged,
    /// The whole log in every response (no pagination upstream): the
    /// costliest per page.
    WholeLog,
}

/// One source's validated provider settings, ready to build its adapter.
pub trait ProviderConfig: fmt::Debug + Send + Sync {
    fn kind(&self) -> &'static str;
    /// See [`TypedProviderFactory::secrets`].
    fn secrets(&self) -> Vec<SecretString>;
    fn adapter(&self, settings: SourceSettings) -> Arc<dyn Adapter>;
    /// How its upstream pages its log ([`TypedProviderFactory::upstream_paging`]):
    /// the gateway polls a tail of a [`UpstreamPaging::WholeLog`] source
    /// less often (README "Follow and live tail").
    fn upstream_paging(&self) -> UpstreamPaging;
    /// The typed settings, for a caller that knows the provider
    /// (`params().downcast_ref::<LogtoParams>()`).
    fn params(&self) -> &dyn Any;
}

/// A provider as the gateway holds it: every [`TypedProviderFactory`] is one.
pub trait ProviderFactory: Send + Sync + 'static {
    fn kind(&self) -> &'static str;

    /// The keys `Params` takes (read from its `Deserialize`), to tell a
    /// user which kind takes a key another kind does not know.
    fn keys(&self) -> &'static [&'static str];

    /// Deserialises and validates the provider's keys of one source table
    /// (the common keys already removed); every problem at once.
    fn configure(
        &self,
        table: &Map<String, Value>,
    ) -> Result<Arc<dyn ProviderConfig>, Vec<Problem>>;

    /// See [`TypedProviderFactory::upstream_paging`].
    fn upstream_paging(&self) -> UpstreamPaging;

    fn sim_variants(&self) -> &'static [&'static str];

    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &crate::sim::SimSpec) -> Option<Arc<dyn crate::sim::Simulator>>;

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<crate::sim::DemoSource>;
}

impl<F: TypedProviderFactory> ProviderFactory for F {
    fn kind(&self) -> &'static str {
        TypedProviderFactory::kind(self)
    }

    fn keys(&self) -> &'static [&'static str] {
        fields::struct_fields::<F::Params>().unwrap_or(&[])
    }

    fn configure(
        &self,
        table: &Map<String, Value>,
    ) -> Result<Arc<dyn ProviderConfig>, Vec<Problem>> {
        let (params, mut problems) = parse_params::<F::Params>(table);
        let Some(params) = params else {
            return Err(problems);
        };
        // The rules too, except on keys already found wrong.
        let rules = self.validate(&params);
        let reported: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
        problems.extend(rules.into_iter().filter(|p| !reported.contains(&p.key)));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Arc::new(Configured {
            factory: self.clone(),
            params,
        }))
    }

    fn upstream_paging(&self) -> UpstreamPaging {
        TypedProviderFactory::upstream_paging(self)
    }

    fn sim_variants(&self) -> &'static [&'static str] {
        TypedProviderFactory::sim_variants(self)
    }

    #[cfg(feature = "sim")]
    fn simulator(&self, spec: &crate::sim::SimSpec) -> Option<Arc<dyn crate::sim::Simulator>> {
        TypedProviderFactory::simulator(self, spec)
    }

    #[cfg(feature = "sim")]
    fn demo_sources(&self, now_ms: i64) -> Vec<crate::sim::DemoSource> {
        TypedProviderFactory::demo_sources(self, now_ms)
    }
}

/// Validated `Params` with the factory that reads them.
struct Configured<F: TypedProviderFactory> {
    factory: F,
    params: F::Params,
}

impl<F: TypedProviderFactory> fmt::Debug for Configured<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.factory.kind())
            .field("params", &self.params)
            .finish()
    }
}

impl<F: TypedProviderFactory> ProviderConfig for Configured<F> {
    fn kind(&self) -> &'static str {
        self.factory.kind()
    }

    fn secrets(&self) -> Vec<SecretString> {
        self.factory.secrets(&self.params)
    }

    fn adapter(&self, mut settings: SourceSettings) -> Arc<dyn Adapter> {
        if let Some(token) = self.params.token() {
            settings.token = Some(token.clone());
        }
        self.factory.adapter(&self.params, settings)
    }

    fn upstream_paging(&self) -> UpstreamPaging {
        TypedProviderFactory::upstream_paging(&self.factory)
    }

    fn params(&self) -> &dyn Any {
        &self.params
    }
}

/// `token: required: the provider's API token` when `token` is unset: the
/// rule of a provider whose only credential is an API token.
pub fn required_token(token: Option<&SecretString>) -> Option<Problem> {
    token
        .is_none()
        .then(|| Problem::new("token", "required: the provider's API token"))
}

/// Deserialises `P` from `table`, reporting every unknown key and every
/// key of the wrong type (each key is deserialised alone, which works as
/// every field of `P` is optional). The value is `P` read from the good
/// keys, so that the provider's rules can be checked too; `None` only
/// when `P` breaks the every-field-optional rule.
pub fn parse_params<P: DeserializeOwned>(table: &Map<String, Value>) -> (Option<P>, Vec<Problem>) {
    let known = fields::struct_fields::<P>();
    let mut problems = Vec::new();
    let mut good = Map::new();
    for (key, value) in table {
        if known.is_some_and(|fields| !fields.contains(&key.as_str())) {
            problems.push(Problem::new(key, UNKNOWN_KEY));
            continue;
        }
        let alone = Map::from_iter([(key.clone(), value.clone())]);
        match serde_json::from_value::<P>(Value::Object(alone)) {
            Ok(_) => {
                good.insert(key.clone(), value.clone());
            }
            Err(e) => problems.push(Problem::new(key, de::message(&e))),
        }
    }
    match serde_json::from_value::<P>(Value::Object(good)) {
        Ok(params) => (Some(params), problems),
        Err(e) => {
            problems.push(Problem::new("", de::message(&e)));
            (None, problems)
        }
    }
}

#[cfg(test)]
mod tests;
