//! Turns the merged value tree into a [`Config`], collecting every problem.

use std::collections::BTreeMap;
use std::time::Duration;

use loggate_core::Problem;
use serde_json::{Map, Value};

use super::table::Table;
use loggate_core::cache::CacheSettings;

use super::{
    ApiKeyConfig, AuthConfig, CacheConfig, Config, ConfigErrors, LokiConfig, RateLimit,
    ServerConfig, SourceConfig,
};
use crate::registry::Registry;

/// Validates the merged tree against `registry`'s providers; every
/// problem, with its key path, or the config.
pub fn validate(registry: &Registry, tree: &Value) -> Result<Config, ConfigErrors> {
    let mut problems = Vec::new();
    let empty = Map::new();
    let root = match tree.as_object() {
        Some(map) => map,
        None => {
            problems.push("configuration: expected a table at the top level".to_string());
            &empty
        }
    };
    let mut top = Table::new(root, "", &mut problems);
    let server = top.table("server").map(|t| t.into_owned());
    let sources = top.table("sources").map(|t| t.into_owned());
    let auth = top.table("auth").map(|t| t.into_owned());
    let loki = top.table("loki").map(|t| t.into_owned());
    let follow = top.table("follow").map(|t| t.into_owned());
    let cache = top.table("cache").map(|t| t.into_owned());
    top.finish();

    let server = parse_server(server.as_ref(), &mut problems);
    let sources = parse_sources(registry, sources.as_ref(), &mut problems);
    let auth = parse_auth(auth.as_ref(), &sources, &mut problems);
    let loki = parse_loki(loki.as_ref(), &mut problems);
    let follow = super::follow::parse_follow(follow.as_ref(), &mut problems);
    let cache = parse_cache(cache.as_ref(), &mut problems);
    if problems.is_empty() {
        Ok(Config {
            server,
            sources,
            auth,
            kinds: registry.kinds(),
            loki,
            follow,
            cache,
        })
    } else {
        Err(ConfigErrors(problems))
    }
}

fn parse_server(map: Option<&Map<String, Value>>, problems: &mut Vec<String>) -> ServerConfig {
    let defaults = ServerConfig::default();
    let empty = Map::new();
    let mut t = Table::new(map.unwrap_or(&empty), "server", problems);
    let config = ServerConfig {
        listen: t.socket_addr("listen").unwrap_or(defaults.listen),
        request_timeout: t
            .duration("request_timeout")
            .unwrap_or(defaults.request_timeout),
        cursor_secret: t.secret("cursor_secret", 16),
        scan_budget: t
            .integer("scan_budget", 1, 10_000_000)
            .map_or(defaults.scan_budget, |n| n as usize),
        shutdown_grace: t
            .duration("shutdown_grace")
            .unwrap_or(defaults.shutdown_grace),
        header_read_timeout: t
            .duration("header_read_timeout")
            .unwrap_or(defaults.header_read_timeout),
        idle_timeout: t.duration("idle_timeout").unwrap_or(defaults.idle_timeout),
        max_connections: t
            .integer("max_connections", 1, 1_000_000)
            .map_or(defaults.max_connections, |n| n as usize),
        max_queue_wait: t
            .duration("max_queue_wait")
            .unwrap_or(defaults.max_queue_wait),
    };
    t.finish();
    config
}

fn parse_loki(map: Option<&Map<String, Value>>, problems: &mut Vec<String>) -> LokiConfig {
    use crate::logql::labels::LineMode;
    let empty = Map::new();
    let mut t = Table::new(map.unwrap_or(&empty), "loki", problems);
    let defaults = LokiConfig::default();
    let config = LokiConfig {
        enabled: t.boolean("enabled").unwrap_or(defaults.enabled),
        line: match t.string("line").as_deref() {
            Some("json") => LineMode::Json,
            Some("message") | None => defaults.line,
            Some(other) => {
                t.problem("line", &format!("expected message or json, got {other:?}"));
                defaults.line
            }
        },
    };
    t.finish();
    config
}

/// `[cache]` (spec §9): sizes in bytes, lifetimes as durations; a
/// settled answer lives at least as long as a fresh one.
fn parse_cache(map: Option<&Map<String, Value>>, problems: &mut Vec<String>) -> CacheConfig {
    let empty = Map::new();
    let mut t = Table::new(map.unwrap_or(&empty), "cache", problems);
    let d = CacheConfig::default();
    let settings = CacheSettings {
        enabled: t.boolean("enabled").unwrap_or(d.settings.enabled),
        max_bytes: t
            .integer("max_bytes", 0, 1 << 40)
            .map_or(d.settings.max_bytes, |n| n as u64),
        fresh_ttl: t.duration("fresh_ttl").unwrap_or(d.settings.fresh_ttl),
        settled_ttl: t.duration("settled_ttl").unwrap_or(d.settings.settled_ttl),
        freshness_horizon: t
            .duration("freshness_horizon")
            .unwrap_or(d.settings.freshness_horizon),
    };
    let pin_rounding = t.duration("pin_rounding").unwrap_or(d.pin_rounding);
    let settled_grid = t.duration("settled_grid").unwrap_or(d.settled_grid);
    if settings.settled_ttl < settings.fresh_ttl {
        t.problem(
            "settled_ttl",
            "must be at least fresh_ttl (an answer for a settled window lives longer)",
        );
    }
    if pin_rounding > Duration::from_secs(60) {
        t.problem("pin_rounding", "expected at most 60s");
    }
    if settled_grid > Duration::from_secs(86_400) {
        t.problem("settled_grid", "expected at most 24h");
    }
    t.finish();
    CacheConfig {
        settings,
        pin_rounding,
        settled_grid,
    }
}

fn parse_sources(
    registry: &Registry,
    map: Option<&Map<String, Value>>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, SourceConfig> {
    let mut sources = BTreeMap::new();
    let Some(map) = map else {
        problems.push(
            "sources: at least one source is required ([sources.NAME] with kind and base_url)"
                .into(),
        );
        return sources;
    };
    if map.is_empty() {
        problems.push(
            "sources: at least one source is required ([sources.NAME] with kind and base_url)"
                .into(),
        );
    }
    for (name, value) in map {
        let path = format!("sources.{name}");
        if !valid_name(name) {
            problems.push(format!(
                "{path}: source names are 1 to 32 characters of a-z, 0-9 and _"
            ));
        }
        let Some(table) = value.as_object() else {
            problems.push(format!("{path}: expected a table"));
            continue;
        };
        if let Some(source) = parse_source(registry, table, &path, problems) {
            sources.insert(name.clone(), source);
        }
    }
    sources
}

/// The keys every source takes, whatever its kind; the rest of its table
/// belongs to its provider.
const COMMON_KEYS: [&str; 10] = [
    "kind",
    "base_url",
    "timeout",
    "retries",
    "rate_limit",
    "max_concurrency",
    "max_queue_wait",
    "max_body_bytes",
    "circuit_breaker",
    "enabled",
];

/// `sources.NAME.max_queue_wait` when unset: long enough to smooth a
/// burst over the rate limit, short enough that an overloaded gateway
/// answers `503` at once rather than near the deadline (issue 18, item 7).
pub const DEFAULT_MAX_QUEUE_WAIT: Duration = Duration::from_secs(1);

fn parse_source(
    registry: &Registry,
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<SourceConfig> {
    let mut t = Table::new(map, path, problems);
    let kind = t.required_string("kind");
    let base_url = t.url("base_url");
    let timeout = t.duration("timeout").unwrap_or(Duration::from_secs(10));
    let retries = t.integer("retries", 0, 10).map_or(2, |n| n as u32);
    let rate_limit = t.rate_limit("rate_limit").unwrap_or(RateLimit {
        per_second: 10,
        burst: 20,
    });
    let max_concurrency = t
        .integer("max_concurrency", 1, 1024)
        .map_or(8, |n| n as usize);
    let max_queue_wait = t
        .duration("max_queue_wait")
        .unwrap_or(DEFAULT_MAX_QUEUE_WAIT);
    let max_body_bytes = t
        .integer("max_body_bytes", 1024, 1 << 30)
        .map_or(16 << 20, |n| n as usize);
    let circuit_breaker = t.circuit_breaker("circuit_breaker").unwrap_or_default();
    let enabled = t.boolean("enabled").unwrap_or(true);

    let factory = kind.as_deref().and_then(|kind| {
        let factory = registry.get(kind);
        if factory.is_none() {
            let message = format!(
                "unknown kind {kind:?}; expected one of {}",
                registry.kinds().join(", ")
            );
            t.problem("kind", &message);
        }
        factory
    });
    // The other keys are the provider's (unchecked when the kind is not).
    let own: Map<String, Value> = map
        .iter()
        .filter(|(key, _)| !COMMON_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    t.take_all(own.keys());
    let provider = factory.and_then(|factory| match factory.configure(&own) {
        Ok(provider) => Some(provider),
        Err(found) => {
            for problem in found {
                let message = provider_problem(registry, &problem);
                t.problem(&problem.key, &message);
            }
            None
        }
    });
    t.finish();
    Some(SourceConfig {
        kind: kind?,
        base_url: base_url?,
        provider: provider?,
        timeout,
        retries,
        rate_limit,
        max_concurrency,
        max_queue_wait,
        max_body_bytes,
        circuit_breaker,
        enabled,
    })
}

/// A provider's problem as the user reads it: a key its kind does not
/// take but another does says which.
fn provider_problem(registry: &Registry, problem: &Problem) -> String {
    if !problem.is_unknown_key() {
        return problem.message.clone();
    }
    match registry.kinds_taking(&problem.key).as_slice() {
        [] => problem.message.clone(),
        [one] => format!("only a source of kind {one} takes this key"),
        [rest @ .., last] => format!(
            "only sources of kind {} and {last} take this key",
            rest.join(", ")
        ),
    }
}

fn parse_auth(
    map: Option<&Map<String, Value>>,
    sources: &BTreeMap<String, SourceConfig>,
    problems: &mut Vec<String>,
) -> AuthConfig {
    let mut auth = AuthConfig::default();
    let Some(map) = map else { return auth };
    let mut t = Table::new(map, "auth", problems);
    let keys = t.table("keys").map(|k| k.into_owned());
    t.finish();
    for (name, value) in keys.iter().flatten() {
        let path = format!("auth.keys.{name}");
        if !valid_name(name) {
            problems.push(format!(
                "{path}: key names are 1 to 32 characters of a-z, 0-9 and _"
            ));
        }
        let Some(map) = value.as_object() else {
            problems.push(format!("{path}: expected a table"));
            continue;
        };
        let mut k = Table::new(map, &path, problems);
        let sha256 = k.sha256("sha256");
        let scope = k.string_list("sources");
        let rate_limit = k.rate_limit("rate_limit");
        for source in scope.iter().flatten() {
            if source != "*" && !sources.contains_key(source) {
                k.problem(
                    "sources",
                    &format!("no source named {source:?} is configured"),
                );
            }
        }
        if scope.is_none() {
            k.problem(
                "sources",
                "required: the sources this key may read, or [\"*\"]",
            );
        }
        k.finish();
        if let (Some(sha256), Some(sources)) = (sha256, scope) {
            auth.keys.insert(
                name.clone(),
                ApiKeyConfig {
                    sha256,
                    sources,
                    rate_limit,
                },
            );
        }
    }
    auth
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
