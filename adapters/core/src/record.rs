//! The normalised log record and the order all sources are merged by.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Severity, with the OpenTelemetry log data model's severity numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub const ALL: [Level; 6] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Fatal,
    ];

    /// OpenTelemetry `SeverityNumber` of the first number of each range.
    pub fn severity_number(self) -> u8 {
        match self {
            Level::Trace => 1,
            Level::Debug => 5,
            Level::Info => 9,
            Level::Warn => 13,
            Level::Error => 17,
            Level::Fatal => 21,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Bit of this level in a [`LevelSet`](crate::query::LevelSet).
    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = ();

    /// Case-insensitive; accepts the common aliases `WARNING` and `CRITICAL`.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.to_ascii_uppercase().as_str() {
            "TRACE" => Ok(Level::Trace),
            "DEBUG" => Ok(Level::Debug),
            "INFO" => Ok(Level::Info),
            "WARN" | "WARNING" => Ok(Level::Warn),
            "ERROR" => Ok(Level::Error),
            "FATAL" | "CRITICAL" => Ok(Level::Fatal),
            _ => Err(()),
        }
    }
}

/// One log in the unified schema, as an adapter produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// The provider's id, or a stable content hash where it has none.
    pub native_id: String,
    /// Milliseconds since the Unix epoch, UTC.
    pub timestamp_ms: i64,
    pub level: Level,
    pub message: String,
    pub service: Option<String>,
    pub user_id: Option<String>,
    /// Absent upstream fields are left out, never set to `null`.
    pub attributes: Map<String, Value>,
    /// The untouched upstream object (kept only when the query asks for
    /// it, `include=raw`): its JSON text as the upstream sent it.
    pub raw: Option<RawJson>,
}

/// An upstream object's JSON text, kept as it came (issue 13 item 1: no
/// `Value` tree for `include=raw`; numbers, key order and escapes stay
/// the upstream's). Serialises as that JSON through serde_json (the only
/// serializer loggate writes records with; another would see serde_json's
/// private marker struct); two are equal when their texts are.
#[derive(Debug, Clone)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// A copy of `raw`'s text (already checked JSON: no parse).
    pub fn from_raw(raw: &RawValue) -> Self {
        RawJson(raw.to_owned())
    }

    /// `text`, checked to be one JSON value; `Err` says why it is not.
    pub fn parse(text: &str) -> Result<Self, String> {
        RawValue::from_string(text.to_owned())
            .map(RawJson)
            .map_err(|e| format!("unreadable log entry: {e}"))
    }

    /// `value` written as JSON: for an object an adapter only has as a
    /// tree (a fallback reading, a simulator's).
    pub fn from_value(value: &Value) -> Self {
        RawJson(serde_json::value::to_raw_value(value).expect("a Value always serialises"))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The text parsed to a tree (tests and the rare reader that needs
    /// one); `Value::Null` if it cannot be (it was checked when made).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl LogRecord {
    pub fn key(&self) -> Key {
        Key {
            timestamp_ms: self.timestamp_ms,
            native_id: self.native_id.clone(),
        }
    }
}

/// The position of a record within one source: (timestamp, native id).
/// Across sources the engine orders by (timestamp, source, native id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    #[serde(rename = "t")]
    pub timestamp_ms: i64,
    #[serde(rename = "i")]
    pub native_id: String,
}

impl Key {
    pub fn new(timestamp_ms: i64, native_id: impl Into<String>) -> Self {
        Key {
            timestamp_ms,
            native_id: native_id.into(),
        }
    }
}

/// Compares two keys of one source in traversal order (`desc` reverses).
pub fn cmp_in_order(a: &Key, b: &Key, order: crate::Order) -> Ordering {
    let ascending = a.cmp(b);
    match order {
        crate::Order::Asc => ascending,
        crate::Order::Desc => ascending.reverse(),
    }
}

/// Sorts records of one source into traversal order.
pub fn sort_records(records: &mut [LogRecord], order: crate::Order) {
    records.sort_by(|a, b| {
        let ascending = a
            .timestamp_ms
            .cmp(&b.timestamp_ms)
            .then_with(|| a.native_id.cmp(&b.native_id));
        match order {
            crate::Order::Asc => ascending,
            crate::Order::Desc => ascending.reverse(),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers_follow_opentelemetry() {
        let numbers: Vec<u8> = Level::ALL.iter().map(|l| l.severity_number()).collect();
        assert_eq!(numbers, vec![1, 5, 9, 13, 17, 21]);
    }

    #[test]
    fn levels_parse_case_insensitively() {
        assert_eq!("warn".parse::<Level>(), Ok(Level::Warn));
        assert_eq!("Fatal".parse::<Level>(), Ok(Level::Fatal));
        assert_eq!("verbose".parse::<Level>(), Err(()));
    }

    #[test]
    fn desc_order_reverses_timestamp_then_id() {
        let a = Key::new(5, "a");
        let b = Key::new(5, "b");
        let c = Key::new(6, "a");
        assert_eq!(cmp_in_order(&a, &b, crate::Order::Asc), Ordering::Less);
        assert_eq!(cmp_in_order(&a, &b, crate::Order::Desc), Ordering::Greater);
        assert_eq!(cmp_in_order(&c, &b, crate::Order::Desc), Ordering::Less);
    }
}
