//! Reading one table of the merged value tree by hand: each key taken is
//! checked off, the rest are unknown; every problem is pushed with its key
//! path, and no secret value is ever shown.

use std::net::SocketAddr;
use std::time::Duration;

use loggate_core::provider::de::shown;
use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use crate::breaker::BreakerSettings;

use super::RateLimit;

/// One table being read: taken keys are checked off, the rest are unknown.
pub(super) struct Table<'a, 'p> {
    map: &'a Map<String, Value>,
    path: String,
    taken: Vec<String>,
    problems: &'p mut Vec<String>,
}

impl<'a, 'p> Table<'a, 'p> {
    pub(super) fn new(
        map: &'a Map<String, Value>,
        path: &str,
        problems: &'p mut Vec<String>,
    ) -> Self {
        Table {
            map,
            path: path.to_string(),
            taken: Vec::new(),
            problems,
        }
    }

    fn key_path(&self, key: &str) -> String {
        if key.is_empty() {
            self.path.clone()
        } else if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// `{path}.{key}: {message}` (`{path}: {message}` for an empty key).
    pub(super) fn problem(&mut self, key: &str, message: &str) {
        let path = self.key_path(key);
        self.problems.push(format!("{path}: {message}"));
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key.to_string());
        self.map.get(key)
    }

    /// Checks off `keys` read elsewhere (a provider's).
    pub(super) fn take_all<'k>(&mut self, keys: impl IntoIterator<Item = &'k String>) {
        self.taken.extend(keys.into_iter().cloned());
    }

    /// Reports the keys not taken as unknown.
    pub(super) fn finish(self) {
        for key in self.map.keys() {
            if !self.taken.contains(key) {
                let path = self.key_path(key);
                self.problems.push(format!("{path}: unknown key"));
            }
        }
    }

    pub(super) fn table(
        &mut self,
        key: &'static str,
    ) -> Option<std::borrow::Cow<'a, Map<String, Value>>> {
        match self.get(key)? {
            Value::Object(map) => Some(std::borrow::Cow::Borrowed(map)),
            _ => {
                self.problem(key, "expected a table");
                None
            }
        }
    }

    pub(super) fn string(&mut self, key: &'static str) -> Option<String> {
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

    pub(super) fn required_string(&mut self, key: &'static str) -> Option<String> {
        if !self.map.contains_key(key) {
            self.taken.push(key.to_string());
            self.problem(key, "required");
            return None;
        }
        self.string(key)
    }

    /// A secret: its value is never shown, only whether it is usable.
    pub(super) fn secret(&mut self, key: &'static str, min_len: usize) -> Option<SecretString> {
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

    pub(super) fn string_list(&mut self, key: &'static str) -> Option<Vec<String>> {
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

    pub(super) fn boolean(&mut self, key: &'static str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                let shown = shown(other);
                self.problem(key, &format!("expected true or false, got {shown}"));
                None
            }
        }
    }

    pub(super) fn integer(&mut self, key: &'static str, min: i64, max: i64) -> Option<i64> {
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

    pub(super) fn duration(&mut self, key: &'static str) -> Option<Duration> {
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

    /// A duration from 0 s to 1 h (`"0s"` allowed: the setting is off), or
    /// a problem naming `key`.
    pub(super) fn zero_or_duration(&mut self, key: &'static str) -> Option<Duration> {
        let text = self.string(key)?;
        match humantime::parse_duration(&text) {
            Ok(d) if d <= Duration::from_secs(3600) => Some(d),
            _ => {
                self.problem(
                    key,
                    &format!("expected a duration from 0s to 1h such as \"5s\", got {text:?}"),
                );
                None
            }
        }
    }

    pub(super) fn url(&mut self, key: &'static str) -> Option<Url> {
        if !self.map.contains_key(key) {
            self.taken.push(key.to_string());
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

    pub(super) fn socket_addr(&mut self, key: &'static str) -> Option<SocketAddr> {
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

    pub(super) fn rate_limit(&mut self, key: &'static str) -> Option<RateLimit> {
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
    pub(super) fn circuit_breaker(&mut self, key: &'static str) -> Option<BreakerSettings> {
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

    pub(super) fn sha256(&mut self, key: &'static str) -> Option<[u8; 32]> {
        if !self.map.contains_key(key) {
            self.taken.push(key.to_string());
            self.problem(
                key,
                "required: the hex SHA-256 of the key (see `loggate key`)",
            );
            return None;
        }
        let text = self.string(key)?;
        let mut out = [0u8; 32];
        let valid = hex::decode_to_slice(&text, &mut out).is_ok();
        if valid {
            Some(out)
        } else {
            self.problem(key, "expected 64 hexadecimal characters");
            None
        }
    }
}
