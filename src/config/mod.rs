//! Configuration: one TOML file layered with `LOGGATE_` environment
//! variables (`__` between key levels), read with figment.
//!
//! The layers are merged into one value tree and then validated by hand
//! ([`validate`]) rather than by serde, so that every problem is reported
//! at once with its key path, unknown keys included, and no secret value
//! ever appears in a message. Tests pass the environment as a map instead
//! of touching the process environment.

mod follow;
mod table;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use loggate_core::ProviderConfig;
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

pub use follow::FollowConfig;
pub use validate::validate;

use crate::registry::Registry;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub sources: BTreeMap<String, SourceConfig>,
    pub auth: AuthConfig,
    /// The kinds of the registry this configuration was validated against
    /// (the OpenAPI document enumerates them).
    pub kinds: Vec<&'static str>,
    /// `[loki]`: the Loki-compatible read API (spec §6).
    pub loki: LokiConfig,
    /// `[follow]`: follow cursors and live tails (spec §8).
    pub follow: FollowConfig,
    /// `[cache]`: the upstream answer cache (spec §9).
    pub cache: CacheConfig,
}

/// `[cache]`: `enabled`, `max_bytes`, `fresh_ttl`, `settled_ttl`,
/// `freshness_horizon` (the answer cache, spec §9) and `pin_rounding`
/// (a traversal's pinned end is rounded down to a multiple of it, so that
/// first pages served within one such step send identical upstream
/// requests; README "Cache").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub settings: loggate_core::cache::CacheSettings,
    pub pin_rounding: Duration,
    /// Partial-range reuse: each source's window is split at
    /// `now − freshness_horizon` rounded down to a multiple of this, and a
    /// moving `start` is aligned down to it for the settled part (default
    /// 5 min; `0s`: no split; README "Cache").
    pub settled_grid: Duration,
}

/// The default `cache.settled_grid`: a window's settled part keeps its
/// native request for this long (README "Cache": partial-range reuse).
pub const DEFAULT_SETTLED_GRID: Duration = Duration::from_secs(300);

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            settings: loggate_core::cache::CacheSettings::default(),
            pin_rounding: Duration::from_secs(1),
            // Partial-range reuse on (README "Cache"): a 30 s dashboard
            // panel's settled part is read once per 5 minutes.
            settled_grid: DEFAULT_SETTLED_GRID,
        }
    }
}

impl CacheConfig {
    /// The engine's split of windows, when the cache is on and
    /// `settled_grid` is not zero.
    pub fn split(&self) -> Option<crate::engine::SplitGrid> {
        let grid_ms = self.settled_grid.as_millis() as i64;
        (self.settings.enabled && grid_ms > 0).then_some(crate::engine::SplitGrid {
            grid_ms,
            horizon_ms: self.settings.freshness_horizon.as_millis() as i64,
        })
    }
}

/// `[loki]`: `enabled = true` (default) serves `/loki/api/v1/*`;
/// `line = "message"` (default) or `"json"` chooses each entry's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LokiConfig {
    pub enabled: bool,
    pub line: crate::logql::labels::LineMode,
}

impl Default for LokiConfig {
    fn default() -> Self {
        LokiConfig {
            enabled: true,
            line: crate::logql::labels::LineMode::Message,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub request_timeout: Duration,
    /// Signs cursors; random per process when absent.
    pub cursor_secret: Option<SecretString>,
    pub scan_budget: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// From the first byte of a request head (the accept, for a
    /// connection's first request) to its end; then `408` or close.
    pub header_read_timeout: Duration,
    /// Longest a keep-alive connection waits for its next request, and
    /// longest a response write may make no progress.
    pub idle_timeout: Duration,
    /// Most client connections open at once; more are refused (`503`).
    pub max_connections: usize,
    /// Longest a page waits for room among the pages in flight (loggate's
    /// own queue, issue 18) before it is declined with `503 overloaded`;
    /// never more than half of `request_timeout`.
    pub max_queue_wait: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout: Duration::from_secs(15),
            cursor_secret: None,
            scan_budget: 10_000,
            shutdown_grace: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(75),
            max_connections: 1024,
            max_queue_wait: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// One `[sources.NAME]` table: the keys every source takes, and its
/// provider's own, validated by the provider's factory.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub kind: String,
    pub base_url: Url,
    /// The provider's settings (credentials and provider-only keys).
    pub provider: Arc<dyn ProviderConfig>,
    pub timeout: Duration,
    pub retries: u32,
    pub rate_limit: RateLimit,
    pub max_concurrency: usize,
    /// `max_queue_wait = "1s"`: the longest one upstream request waits in
    /// loggate's own queue (a rate-limit slot or a concurrency permit)
    /// before it is declined with `503 overloaded` (issue 18).
    pub max_queue_wait: Duration,
    pub max_body_bytes: usize,
    /// `circuit_breaker = { failures = 5, cool_down = "30s" }`.
    pub circuit_breaker: crate::breaker::BreakerSettings,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub keys: BTreeMap<String, ApiKeyConfig>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyConfig {
    /// SHA-256 of the key.
    pub sha256: [u8; 32],
    /// Source names, or `*` for all.
    pub sources: Vec<String>,
    pub rate_limit: Option<RateLimit>,
}

/// Every problem found, one line each, naming the key path.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigErrors(pub Vec<String>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.0 {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The environment prefix.
pub const ENV_PREFIX: &str = "LOGGATE_";
/// Top-level sections an environment variable may set; other `LOGGATE_`
/// variables (such as `LOGGATE_LOG_FORMAT`) are not configuration keys.
const SECTIONS: [&str; 5] = ["server", "sources", "auth", "loki", "cache"];

/// Loads `path` (which must exist) layered with `env`, for the built-in
/// providers.
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    load_with(&Registry::builtin(), path, env)
}

/// Loads `path` layered with `env`, for `registry`'s providers.
pub fn load_with(
    registry: &Registry,
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    if !path.is_file() {
        return Err(ConfigErrors(vec![format!(
            "{}: configuration file not found (pass --config PATH)",
            path.display()
        )]));
    }
    load_layers(registry, Figment::from(Toml::file_exact(path)), env)
}

/// Loads TOML text layered with `env` (tests, `demo`), for the built-in
/// providers.
pub fn load_str(
    toml: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    load_str_with(&Registry::builtin(), toml, env)
}

/// Loads TOML text layered with `env`, for `registry`'s providers.
pub fn load_str_with(
    registry: &Registry,
    toml: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    load_layers(registry, Figment::from(Toml::string(toml)), env)
}

fn load_layers(
    registry: &Registry,
    figment: Figment,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let figment = figment.merge(Serialized::globals(env_tree(env)));
    let tree: Value = figment
        .extract()
        .map_err(|e| ConfigErrors(figment_problems(e)))?;
    validate(registry, &tree)
}

/// `LOGGATE_SOURCES__APP__TOKEN=x` becomes `{"sources": {"app": {"token": "x"}}}`.
/// Numbers and booleans are typed; everything else stays text.
pub fn env_tree(env: impl IntoIterator<Item = (String, String)>) -> Value {
    let mut root = Map::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if !SECTIONS.contains(&path[0].as_str()) || path.iter().any(String::is_empty) {
            continue;
        }
        let typed = if let Ok(n) = value.parse::<i64>() {
            Value::from(n)
        } else if let Ok(b) = value.parse::<bool>() {
            Value::Bool(b)
        } else {
            Value::String(value)
        };
        let mut node = &mut root;
        for part in &path[..path.len() - 1] {
            let entry = node
                .entry(part.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("just made an object");
        }
        node.insert(path[path.len() - 1].clone(), typed);
    }
    Value::Object(root)
}

/// figment's errors, without the source line excerpts a TOML syntax error
/// carries (they could show a secret).
fn figment_problems(error: figment::Error) -> Vec<String> {
    error
        .into_iter()
        .map(|e| {
            let text = e.to_string();
            let kept: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.contains('|') && !line.starts_with('^'))
                .collect();
            format!("configuration: {}", kept.join(": "))
        })
        .collect()
}

#[cfg(test)]
mod tests;
