//! Turns the merged value tree into a [`Config`], collecting every problem.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use loggate_core::TimeFilter;
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use crate::breaker::BreakerSettings;

use super::{
    ApiKeyConfig, AuthConfig, Config, ConfigErrors, RateLimit, ServerConfig, SourceConfig,
};

/// The provider kinds this build knows.
pub const KINDS: [&str; 4] = ["promptcrafter", "alloy", "logto", "leveled"];
const DEFAULT_LOGTO_RESOURCE: &str = "https://default.logto.app/api";

/// Validates the merged tree; every problem, with its key path, or the config.
pub fn validate(tree: &Value) -> Result<Config, ConfigErrors> {
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
    top.finish();

    let server = parse_server(server.as_ref(), &mut problems);
    let sources = parse_sources(sources.as_ref(), &mut problems);
    let auth = parse_auth(auth.as_ref(), &sources, &mut problems);
    if problems.is_empty() {
        Ok(Config {
            server,
            sources,
            auth,
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
    };
    t.finish();
    config
}

fn parse_sources(
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
        if let Some(source) = parse_source(table, &path, problems) {
            sources.insert(name.clone(), source);
        }
    }
    sources
}

fn parse_source(
    map: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<SourceConfig> {
    let mut t = Table::new(map, path, problems);
    let kind = t.required_string("kind");
    let base_url = t.url("base_url");
    let token = t.secret("token", 1);
    let client_id = t.string("client_id");
    let client_secret = t.secret("client_secret", 1);
    let resource = t.string("resource");
    let time_filter = t.one_of("time_filter", &["auto", "on", "off"]);
    let search_pushdown = t.boolean("search_pushdown");
    let timeout = t.duration("timeout").unwrap_or(Duration::from_secs(10));
    let retries = t.integer("retries", 0, 10).map_or(2, |n| n as u32);
    let rate_limit = t.rate_limit("rate_limit").unwrap_or(RateLimit {
        per_second: 10,
        burst: 20,
    });
    let max_concurrency = t
        .integer("max_concurrency", 1, 1024)
        .map_or(8, |n| n as usize);
    let max_body_bytes = t
        .integer("max_body_bytes", 1024, 1 << 30)
        .map_or(16 << 20, |n| n as usize);
    let circuit_breaker = t.circuit_breaker("circuit_breaker").unwrap_or_default();
    let enabled = t.boolean("enabled").unwrap_or(true);

    let kind = kind.filter(|kind| {
        let known = KINDS.contains(&kind.as_str());
        if !known {
            t.problem(
                "kind",
                &format!(
                    "unknown kind {kind:?}; expected one of {}",
                    KINDS.join(", ")
                ),
            );
        }
        known
    });
    if let Some(kind) = &kind {
        if kind != "logto" {
            for (key, set) in [
                ("client_id", client_id.is_some()),
                ("client_secret", client_secret.is_some()),
                ("resource", resource.is_some()),
                ("time_filter", time_filter.is_some()),
            ] {
                if set {
                    t.problem(key, "only a source of kind logto takes this key");
                }
            }
        }
        if !matches!(kind.as_str(), "leveled" | "alloy") && search_pushdown.is_some() {
            t.problem(
                "search_pushdown",
                "only sources of kind leveled and alloy take this key",
            );
        }
        let trio = client_id.is_some() || client_secret.is_some();
        if kind == "logto" && trio {
            if token.is_some() {
                t.problem(
                    "token",
                    "set either token or client_id and client_secret, not both",
                );
            }
            if client_id.is_none() {
                t.problem("client_id", "required with client_secret");
            }
            if client_secret.is_none() {
                t.problem("client_secret", "required with client_id");
            }
        } else if token.is_none() {
            let expected = if kind == "logto" {
                "required: an access token, or client_id and client_secret"
            } else {
                "required: the provider's API token"
            };
            t.problem("token", expected);
        }
    }
    t.finish();
    Some(SourceConfig {
        kind: kind?,
        base_url: base_url?,
        token,
        client_id,
        client_secret,
        resource: resource.or_else(|| Some(DEFAULT_LOGTO_RESOURCE.to_string())),
        time_filter: match time_filter.as_deref() {
            Some("on") => TimeFilter::On,
            Some("off") => TimeFilter::Off,
            _ => TimeFilter::Auto,
        },
        search_pushdown: search_pushdown.unwrap_or(true),
        timeout,
        retries,
        rate_limit,
        max_concurrency,
        max_body_bytes,
        circuit_breaker,
        enabled,
    })
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

/// One table being read: taken keys are checked off, the rest are unknown.
struct Table<'a, 'p> {
    map: &'a Map<String, Value>,
    path: String,
    taken: Vec<&'static str>,
    problems: &'p mut Vec<String>,
}

impl<'a, 'p> Table<'a, 'p> {
    fn new(map: &'a Map<String, Value>, path: &str, problems: &'p mut Vec<String>) -> Self {
        Table {
            map,
            path: path.to_string(),
            taken: Vec::new(),
            problems,
        }
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn problem(&mut self, key: &str, message: &str) {
        let path = self.key_path(key);
        self.problems.push(format!("{path}: {message}"));
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key);
        self.map.get(key)
    }

    fn finish(self) {
        for key in self.map.keys() {
            if !self.taken.contains(&key.as_str()) {
                let path = self.key_path(key);
                self.problems.push(format!("{path}: unknown key"));
            }
        }
    }

    fn table(&mut self, key: &'static str) -> Option<std::borrow::Cow<'a, Map<String, Value>>> {
        match self.get(key)? {
            Value::Object(map) => Some(std::borrow::Cow::Borrowed(map)),
            _ => {
                self.problem(key, "expected a table");
                None
            }
        }
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            other => {
                let shown = shown(other);
                self.problem(key, &format!("expected a non-empty string, got {shown}"));
                None
            }
        }
    }

    fn required_string(&mut self, key: &'static str) -> Option<String> {
        if !self.map.contains_key(key) {
            self.taken.push(key);
            self.problem(key, "required");
            return None;
        }
        self.string(key)
    }

    /// A secret: its value is never shown, only whether it is usable.
    fn secret(&mut self, key: &'static str, min_len: usize) -> Option<SecretString> {
        match self.get(key)? {
            Value::String(s) if s.chars().count() >= min_len => Some(SecretString::from(s.clone())),
            Value::Number(n) if n.to_string().len() >= min_len => {
                Some(SecretString::from(n.to_string()))
            }
            Value::String(_) | Value::Number(_) => {
                self.problem(
                    key,
                    &format!("expected at least {min_len} characters (value not shown)"),
                );
                None
            }
            _ => {
                self.problem(key, "expected a string (value not shown)");
                None
            }
        }
    }

    fn string_list(&mut self, key: &'static str) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::Array(items) => {
                let names: Option<Vec<String>> = items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                if names.is_none() {
                    self.problem(key, "expected a list of strings");
                }
                names
            }
            // From the environment: a comma list.
            Value::String(s) => Some(
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            ),
            other => {
                let shown = shown(other);
                self.problem(key, &format!("expected a list of strings, got {shown}"));
                None
            }
        }
    }

    fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                let shown = shown(other);
                self.problem(key, &format!("expected true or false, got {shown}"));
                None
            }
        }
    }

    fn integer(&mut self, key: &'static str, min: i64, max: i64) -> Option<i64> {
        let value = self.get(key)?;
        match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let shown = shown(value);
                self.problem(
                    key,
                    &format!("expected an integer from {min} to {max}, got {shown}"),
                );
                None
            }
        }
    }

    fn one_of(&mut self, key: &'static str, allowed: &[&str]) -> Option<String> {
        let value = self.get(key)?;
        match value.as_str() {
            Some(s) if allowed.contains(&s) => Some(s.to_string()),
            _ => {
                let shown = shown(value);
                self.problem(
                    key,
                    &format!("expected one of {}, got {shown}", allowed.join(", ")),
                );
                None
            }
        }
    }

    fn duration(&mut self, key: &'static str) -> Option<Duration> {
        let value = self.get(key)?;
        let parsed = value
            .as_str()
            .and_then(|s| humantime::parse_duration(s).ok());
        match parsed {
            Some(d) if !d.is_zero() && d <= Duration::from_secs(3600) => Some(d),
            _ => {
                let shown = shown(value);
                self.problem(key, &format!("expected a duration from 1ms to 1h such as \"10s\" or \"500ms\", got {shown}"));
                None
            }
        }
    }

    fn url(&mut self, key: &'static str) -> Option<Url> {
        if !self.map.contains_key(key) {
            self.taken.push(key);
            self.problem(key, "required");
            return None;
        }
        let text = self.string(key)?;
        match Url::parse(&text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.query().is_none()
                    && url.fragment().is_none()
                    && url.username().is_empty()
                    && url.password().is_none() =>
            {
                Some(url)
            }
            _ => {
                // The URL may carry credentials: show its scheme only.
                let scheme = text.split(':').next().unwrap_or("");
                let scheme: String = scheme.chars().take(16).collect();
                self.problem(key, &format!("expected an http or https URL with a host and no query, fragment or credentials (got a value starting {scheme:?})"));
                None
            }
        }
    }

    fn socket_addr(&mut self, key: &'static str) -> Option<SocketAddr> {
        let value = self.get(key)?;
        match value.as_str().and_then(|s| s.parse::<SocketAddr>().ok()) {
            Some(addr) => Some(addr),
            None => {
                let shown = shown(value);
                self.problem(
                    key,
                    &format!("expected an address such as \"127.0.0.1:8080\", got {shown}"),
                );
                None
            }
        }
    }

    fn rate_limit(&mut self, key: &'static str) -> Option<RateLimit> {
        let map = self.table(key)?.into_owned();
        let path = self.key_path(key);
        let mut t = Table::new(&map, &path, self.problems);
        let per_second = t.integer("per_second", 1, 1_000_000);
        let burst = t.integer("burst", 1, 1_000_000);
        if !map.contains_key("per_second") {
            t.problem("per_second", "required");
        }
        t.finish();
        let per_second = per_second? as u32;
        Some(RateLimit {
            per_second,
            burst: burst.map_or(per_second, |b| b as u32),
        })
    }

    /// `{ failures = 5, cool_down = "30s" }`, either key optional.
    fn circuit_breaker(&mut self, key: &'static str) -> Option<BreakerSettings> {
        let map = self.table(key)?.into_owned();
        let path = self.key_path(key);
        let mut t = Table::new(&map, &path, self.problems);
        let defaults = BreakerSettings::default();
        let failures = t
            .integer("failures", 1, 1000)
            .map_or(defaults.failures, |n| n as u32);
        let cool_down = t.duration("cool_down").unwrap_or(defaults.cool_down);
        t.finish();
        Some(BreakerSettings {
            failures,
            cool_down,
        })
    }

    fn sha256(&mut self, key: &'static str) -> Option<[u8; 32]> {
        if !self.map.contains_key(key) {
            self.taken.push(key);
            self.problem(
                key,
                "required: the hex SHA-256 of the key (see `loggate key`)",
            );
            return None;
        }
        let text = self.string(key)?;
        let mut out = [0u8; 32];
        let valid = text.len() == 64
            && text
                .as_bytes()
                .chunks(2)
                .zip(out.iter_mut())
                .all(|(pair, byte)| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                        .map(|b| *byte = b)
                        .is_some()
                });
        if valid {
            Some(out)
        } else {
            self.problem(key, "expected 64 hexadecimal characters");
            None
        }
    }
}

/// A non-secret value for an error message, cut short.
fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.chars().count() > 64 {
        text.chars().take(64).collect::<String>() + "…"
    } else {
        text
    }
}
