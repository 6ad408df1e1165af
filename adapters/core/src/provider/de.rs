//! Field deserialisers for provider settings that keep the gateway's
//! conventions: a secret's value never appears in a message, and a value
//! set from the environment (`LOGGATE_SOURCES__APP__CLIENT_ID=1234`
//! arrives as a number) is taken as text.

use secrecy::SecretString;
use serde::de::{Deserializer, Error};
use serde::Deserialize;
use serde_json::Value;

/// A non-empty secret string (a number from the environment is taken as
/// its digits). `#[serde(default, deserialize_with = "de::secret")]` on an
/// `Option<SecretString>`.
pub fn secret<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SecretString>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) if !s.is_empty() => Ok(Some(SecretString::from(s))),
        Value::Number(n) => Ok(Some(SecretString::from(n.to_string()))),
        Value::String(_) => Err(D::Error::custom(
            "expected at least 1 characters (value not shown)",
        )),
        _ => Err(D::Error::custom("expected a string (value not shown)")),
    }
}

/// A non-empty string (a number is taken as its digits), for
/// `Option<String>` fields.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) if !s.is_empty() => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(D::Error::custom(format!(
            "expected a non-empty string, got {}",
            shown(&other)
        ))),
    }
}

/// The problem text of a serde error, cut short (it may quote a
/// non-secret value).
pub fn message(error: &serde_json::Error) -> String {
    cut(&error.to_string(), 160)
}

/// A non-secret value for an error message, cut to 64 characters.
pub fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    cut(&text, 64)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        text.chars().take(max).collect::<String>() + "…"
    } else {
        text.to_string()
    }
}
