//! How a normalised record looks to Loki (spec §6 "Streams and labels"):
//! stream labels `source`, `provider`, `level`, `detected_level`,
//! `service_name`; structured metadata `id`, `user_id`, `severity_number`
//! and `attr_<name>`; the line, `message` or the record as JSON.

use std::collections::BTreeMap;

use loggate_core::{Level, LogRecord};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The stream label names, in the order `/labels` lists them.
pub const STREAM_LABELS: [&str; 5] = [
    "detected_level",
    "level",
    "provider",
    "service_name",
    "source",
];

/// What `[loki] line` selects as an entry's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineMode {
    /// The record's `message` (default).
    #[default]
    Message,
    /// The whole normalised record as JSON (the `/logs` shape).
    Json,
}

/// A level as a Loki label value: lower case.
pub fn level_label(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
        Level::Fatal => "fatal",
    }
}

/// One record seen as a Loki entry.
pub struct EntryView<'a> {
    pub source: &'a str,
    pub provider: &'a str,
    pub record: &'a LogRecord,
    /// The entry's line (see [`LineMode`]).
    pub line: &'a str,
}

impl EntryView<'_> {
    /// The stream labels (sorted by name).
    pub fn stream(&self) -> BTreeMap<&'static str, String> {
        let level = level_label(self.record.level).to_string();
        BTreeMap::from([
            ("detected_level", level.clone()),
            ("level", level),
            ("provider", self.provider.to_string()),
            (
                "service_name",
                self.record
                    .service
                    .clone()
                    .unwrap_or_else(|| self.source.to_string()),
            ),
            ("source", self.source.to_string()),
        ])
    }

    /// The structured metadata (sorted by name). Attribute names map to
    /// `attr_<name>` with characters outside `[A-Za-z0-9_]` as `_`; when two
    /// attributes map to one name, the first in name order wins.
    pub fn metadata(&self) -> BTreeMap<String, String> {
        let r = self.record;
        let mut out = BTreeMap::new();
        out.insert("id".to_string(), format!("{}:{}", self.source, r.native_id));
        out.insert(
            "severity_number".to_string(),
            r.level.severity_number().to_string(),
        );
        if let Some(user) = &r.user_id {
            out.insert("user_id".to_string(), user.clone());
        }
        for (name, value) in &r.attributes {
            out.entry(attr_label(name))
                .or_insert_with(|| metadata_value(value));
        }
        out
    }

    /// The value of a label or metadata key as a label filter sees it; an
    /// absent one is the empty string, as in Loki.
    pub fn value(&self, name: &str) -> String {
        let r = self.record;
        match name {
            "source" => self.source.to_string(),
            "provider" => self.provider.to_string(),
            "level" | "detected_level" => level_label(r.level).to_string(),
            "service_name" => r.service.clone().unwrap_or_else(|| self.source.to_string()),
            "id" => format!("{}:{}", self.source, r.native_id),
            "severity_number" => r.level.severity_number().to_string(),
            "user_id" => r.user_id.clone().unwrap_or_default(),
            _ => match name.strip_prefix("attr_") {
                Some(_) => self.metadata().remove(name).unwrap_or_default(),
                None => String::new(),
            },
        }
    }
}

/// `attr_<name>`, characters outside `[A-Za-z0-9_]` replaced by `_`.
pub fn attr_label(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("attr_{clean}")
}

/// A metadata value: strings as they are, anything else as its JSON text.
pub fn metadata_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The entry's timestamp in nanoseconds: the record's millisecond × 10⁶
/// plus a tie-break in [0, 10⁶) from `source:native id` (spec §6), the same
/// on every request and in every process.
pub fn entry_ns(source: &str, record: &LogRecord) -> i128 {
    let digest = Sha256::new()
        .chain_update(source.as_bytes())
        .chain_update(b":")
        .chain_update(record.native_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let tie = u64::from_be_bytes(first) % 1_000_000;
    i128::from(record.timestamp_ms) * 1_000_000 + i128::from(tie)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> LogRecord {
        let mut r = LogRecord {
            native_id: "n1".into(),
            timestamp_ms: 1_700_000_000_123,
            level: Level::Warn,
            message: "m".into(),
            service: None,
            user_id: Some("u1".into()),
            attributes: Default::default(),
            raw: None,
        };
        r.attributes.insert("prompt.Id".into(), Value::from("p"));
        r.attributes.insert("score".into(), Value::from(9));
        r
    }

    #[test]
    fn labels_and_metadata_follow_the_spec() {
        let r = record();
        let view = EntryView {
            source: "app",
            provider: "kind_a",
            record: &r,
            line: "m",
        };
        let stream = view.stream();
        assert_eq!(stream["level"], "warn");
        assert_eq!(stream["service_name"], "app");
        let meta = view.metadata();
        assert_eq!(meta["id"], "app:n1");
        assert_eq!(meta["attr_prompt_Id"], "p");
        assert_eq!(meta["attr_score"], "9");
        assert_eq!(meta["severity_number"], "13");
        assert_eq!(view.value("attr_prompt_Id"), "p");
        assert_eq!(view.value("nope"), "");
    }

    #[test]
    fn entry_ns_stays_within_its_millisecond() {
        let r = record();
        let ns = entry_ns("app", &r);
        assert_eq!(ns / 1_000_000, 1_700_000_000_123);
        assert_eq!(ns, entry_ns("app", &r));
        assert_ne!(ns, entry_ns("billing", &r));
    }
}
