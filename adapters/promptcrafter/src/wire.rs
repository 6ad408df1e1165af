//! Serde of PromptCrafter's native `GET /logs` API.
//!
//! Items are read leniently: only `_id` and `createdAt` are required (they
//! make the record's key); the mapped fields are kept as the JSON values
//! they arrive as, and unknown fields (`updatedAt`, `__v`) are ignored.
//!
//! The answer is decoded straight from its bytes (issue 13): each item is
//! its raw JSON text ([`RawValue`]) and read as a [`RawLog`], whose
//! fields borrow from the answer; [`WireLog`] is the same item read from a
//! `Value` (the simulator's form, and the fallback for an item the typed
//! reading refuses, so that its error names what is wrong as before).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// One item of the `GET /logs` array.
#[derive(Debug, Clone, Deserialize)]
pub struct WireLog {
    /// 24-hex MongoDB ObjectId in the real service (`log106` in the docs).
    #[serde(rename = "_id")]
    pub id: String,
    /// ISO 8601, with or without milliseconds.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    #[serde(rename = "promptId", default)]
    pub prompt_id: Option<Value>,
    #[serde(default)]
    pub output: Option<Value>,
    #[serde(rename = "modelUsed", default)]
    pub model_used: Option<Value>,
    /// Absent on some records of the real service.
    #[serde(default)]
    pub notes: Option<Value>,
    /// 0–10, integer or fractional (`9.5`); absent on some records.
    #[serde(default)]
    pub score: Option<Value>,
}

/// One item of the `GET /logs` array read from the answer's bytes: the
/// key fields decoded, the mapped ones kept as their raw text.
#[derive(Debug, Deserialize)]
pub struct RawLog<'a> {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(rename = "createdAt", borrow)]
    pub created_at: std::borrow::Cow<'a, str>,
    #[serde(rename = "promptId", default, borrow)]
    pub prompt_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub output: Option<&'a RawValue>,
    #[serde(rename = "modelUsed", default, borrow)]
    pub model_used: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub notes: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub score: Option<&'a RawValue>,
}

/// An error body. The docs send `{"error": "..."}`; `message` is accepted
/// too because Express middleware in front of the API uses it.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The message of a JSON error body, if `body` is one.
pub fn error_message(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    parsed
        .error
        .or(parsed.message)
        .filter(|m| !m.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_tolerate_extra_and_absent_fields() {
        let item = json!({
            "_id": "665f1c2ab8e4f0a1c2d3e4f5", "createdAt": "2024-06-20T13:10:00Z",
            "promptId": "665f1c2ab8e4f0a1c2d3e400", "output": "ok", "modelUsed": "GPT-4o",
            "updatedAt": "2024-06-20T13:10:00.000Z", "__v": 0
        });
        let log: WireLog = serde_json::from_value(item).unwrap();
        assert_eq!(log.id, "665f1c2ab8e4f0a1c2d3e4f5");
        assert!(log.notes.is_none() && log.score.is_none());
    }

    #[test]
    fn items_without_key_fields_are_rejected() {
        assert!(serde_json::from_value::<WireLog>(json!({"_id": "a"})).is_err());
        assert!(serde_json::from_value::<WireLog>(json!({"createdAt": "x"})).is_err());
        assert!(serde_json::from_value::<WireLog>(json!({"_id": 5, "createdAt": "x"})).is_err());
    }

    #[test]
    fn error_bodies_yield_their_message() {
        assert_eq!(
            error_message(br#"{"error": "No logs found for the specified prompt ID."}"#).as_deref(),
            Some("No logs found for the specified prompt ID.")
        );
        assert_eq!(
            error_message(br#"{"message": "boom"}"#).as_deref(),
            Some("boom")
        );
        assert_eq!(error_message(b"No token"), None);
        assert_eq!(error_message(br#"{"error": ""}"#), None);
    }
}
