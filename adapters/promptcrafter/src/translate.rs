//! PromptCrafter logs → [`LogRecord`] (spec §3), and filters → the native
//! request. Pure functions.
//!
//! Mapping: id `_id`, timestamp `createdAt`, level INFO (PromptCrafter has
//! no severity), message `output`, no service, no user; attributes
//! `promptId`, `modelUsed`, `notes`, `score`, each left out when absent or
//! null upstream.

use loggate_core::time::parse_rfc3339_ms;
use loggate_core::wire::{raw_scalar, raw_str};
use loggate_core::{Filters, Level, LogRecord, RawJson};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};
use url::Url;

use crate::wire::{RawLog, WireLog};

/// The one filter PromptCrafter evaluates natively.
pub const PROMPT_ID_FILTER: &str = "attr.promptId";
/// Its attribute name and native query parameter.
pub const PROMPT_ID: &str = "promptId";

/// Which `attr.promptId` values are sent upstream as `promptId`. A value
/// not sent is still applied, locally, after a full download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptIdPushdown {
    /// Only MongoDB ObjectIds (24 hex digits, any case), the real service's
    /// ids: it drops the connection on any other value instead of
    /// answering, which would fail a query that merely matches nothing.
    #[default]
    ObjectIds,
    /// Every non-empty value, as the docs describe (ids like `prompt101`).
    Any,
}

/// The `promptId` pushed down for `filters` under `mode`, if any. An empty
/// value is never pushed: the docs answer `?promptId=` with `400`, which
/// would hide a record whose `promptId` is really empty.
pub fn pushed_prompt_id(filters: &Filters, mode: PromptIdPushdown) -> Option<&str> {
    let value = filters.attrs.get(PROMPT_ID).map(String::as_str)?;
    let pushable = match mode {
        PromptIdPushdown::ObjectIds => is_object_id(value),
        PromptIdPushdown::Any => !value.is_empty(),
    };
    pushable.then_some(value)
}

/// 24 hex digits: what MongoDB casts to an ObjectId.
pub fn is_object_id(value: &str) -> bool {
    value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET {base}/logs[?promptId=...]`: `endpoint` is the `/logs` URL; only
/// `attr.promptId` goes into it, percent-encoded.
pub fn logs_url(mut endpoint: Url, filters: &Filters, mode: PromptIdPushdown) -> Url {
    endpoint.set_query(None);
    // RFC 3986 encoding (spec §10): a space is `%20`, never `+`.
    let pairs = pushed_prompt_id(filters, mode).map(|id| (PROMPT_ID, id));
    loggate_core::wire::with_query(endpoint, pairs)
}

/// Maps one item of the `GET /logs` array straight from its JSON text
/// (issue 13): fields borrowed, only the attribute scalars built as
/// `Value`s, the item parsed whole only when `include_raw`. An item the
/// typed reading refuses (a key field missing or mistyped, a field
/// repeated) is read by [`to_record`], so it is mapped or refused, with the
/// same reason, as before.
pub fn raw_to_record(raw: &RawValue, include_raw: bool) -> Result<LogRecord, String> {
    let Ok(log) = serde_json::from_str::<RawLog<'_>>(raw.get()) else {
        let value: Value =
            serde_json::from_str(raw.get()).map_err(|e| format!("bad log item: {e}"))?;
        let record = to_record(&value, false)?;
        return Ok(LogRecord {
            raw: include_raw.then(|| RawJson::from_raw(raw)),
            ..record
        });
    };
    let timestamp_ms = parse_rfc3339_ms(&log.created_at).ok_or_else(|| {
        format!(
            "log {}: createdAt {:?} is not a timestamp",
            log.id, log.created_at
        )
    })?;
    let message = match log.output {
        None => String::new(),
        Some(output) if output.get() == "null" => String::new(),
        Some(output) => match raw_str(output) {
            Some(text) => text.into_owned(),
            None => serde_json::from_str::<Value>(output.get())
                .map_err(|e| format!("bad log item: {e}"))?
                .to_string(),
        },
    };
    let mut attributes = Map::new();
    let fields = [
        ("promptId", log.prompt_id.and_then(raw_scalar)),
        ("modelUsed", log.model_used.and_then(raw_scalar)),
        ("notes", log.notes.and_then(raw_scalar)),
        (
            "score",
            log.score.and_then(raw_scalar).map(normalise_number),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            attributes.insert(name.to_string(), value);
        }
    }
    Ok(LogRecord {
        native_id: log.id,
        timestamp_ms,
        level: Level::Info,
        message,
        service: None,
        user_id: None,
        attributes,
        raw: include_raw.then(|| RawJson::from_raw(raw)),
    })
}

/// Maps one item of the `GET /logs` array given as a `Value`. The error
/// names what is wrong with the item, for the warning logged when it is
/// skipped.
pub fn to_record(raw: &Value, include_raw: bool) -> Result<LogRecord, String> {
    let log = WireLog::deserialize(raw).map_err(|e| format!("bad log item: {e}"))?;
    let timestamp_ms = parse_rfc3339_ms(&log.created_at).ok_or_else(|| {
        format!(
            "log {}: createdAt {:?} is not a timestamp",
            log.id, log.created_at
        )
    })?;
    let message = match log.output {
        Some(Value::String(text)) => text,
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    let mut attributes = Map::new();
    let fields = [
        ("promptId", log.prompt_id),
        ("modelUsed", log.model_used),
        ("notes", log.notes),
        ("score", log.score.map(normalise_number)),
    ];
    for (name, value) in fields {
        if let Some(value) = value.filter(is_scalar) {
            attributes.insert(name.to_string(), value);
        }
    }
    Ok(LogRecord {
        native_id: log.id,
        timestamp_ms,
        level: Level::Info,
        message,
        service: None,
        user_id: None,
        attributes,
        raw: include_raw.then(|| RawJson::from_value(raw)),
    })
}

/// Strings, numbers and booleans are kept; `null` counts as absent, and
/// objects or arrays cannot be matched by `attr.NAME`, so they are left out.
fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// A float without a fraction (`9.0`) becomes the integer `9`, so that
/// `attr.score=9` matches it as it matches `9`; `9.5` stays fractional.
pub fn normalise_number(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::Number(Number::from(f as i64))
            }
            _ => Value::Number(n),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::query::attribute_equals;
    use loggate_core::testkit::raw_respelled;
    use loggate_core::time::format_ms;
    use proptest::prelude::*;
    use serde_json::json;

    fn docs_example() -> Value {
        json!({
            "_id": "log106", "promptId": "prompt101",
            "output": "The business report finds that revenue increased 12% last quarter.",
            "notes": "Summary is clear and actionable. Matches requirements.",
            "modelUsed": "GPT-4o", "score": 9, "createdAt": "2024-06-20T13:10:00Z"
        })
    }

    /// The typed reading of an item's text and the `Value` reading agree,
    /// on the record and on the reason an item is refused.
    #[test]
    fn the_typed_reading_maps_as_the_value_reading_does() {
        let texts = [
            docs_example().to_string(),
            r#"{"_id":"a","createdAt":"2024-06-20T13:10:00Z","output":{"k":[1, 2]},"score":9.0,"notes":null,"modelUsed":true}"#.into(),
            r#"{ "_id" : "a\u0062" , "createdAt" : "2024-06-20T13:10:00.5Z", "output": 12.50, "score": 9.5, "promptId": ["x"] }"#.into(),
            r#"{"_id":"a","createdAt":"2024-06-20T13:10:00Z","output":null,"score":"9"}"#.into(),
            r#"{"_id":"a","createdAt":"yesterday"}"#.into(),
            r#"{"_id":"a"}"#.into(),
            r#"{"_id":5,"createdAt":"2024-06-20T13:10:00Z"}"#.into(),
            r#"{"_id":"a","_id":"b","createdAt":"2024-06-20T13:10:00Z"}"#.into(),
            r#"[1]"#.into(),
            r#""log""#.into(),
        ];
        for text in &texts {
            let raw = RawValue::from_string(text.clone()).unwrap();
            let value: Value = serde_json::from_str(text).unwrap();
            for include_raw in [false, true] {
                assert_eq!(
                    raw_respelled(raw_to_record(&raw, include_raw)),
                    raw_respelled(to_record(&value, include_raw)),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn maps_the_documented_example() {
        let record = to_record(&docs_example(), false).unwrap();
        assert_eq!(record.native_id, "log106");
        assert_eq!(format_ms(record.timestamp_ms), "2024-06-20T13:10:00.000Z");
        assert_eq!(record.level, Level::Info);
        assert!(record.message.starts_with("The business report"));
        assert_eq!((record.service, record.user_id), (None, None));
        assert_eq!(
            Value::Object(record.attributes),
            json!({"promptId": "prompt101", "modelUsed": "GPT-4o", "score": 9,
                   "notes": "Summary is clear and actionable. Matches requirements."})
        );
        assert_eq!(record.raw, None);
        assert_eq!(
            to_record(&docs_example(), true)
                .unwrap()
                .raw
                .map(|raw| raw.to_value()),
            Some(docs_example())
        );
    }

    #[test]
    fn absent_and_null_fields_are_left_out() {
        let raw = json!({"_id": "a", "createdAt": "2024-06-20T13:10:00.123Z", "promptId": "p",
                         "output": "o", "modelUsed": "GPT-4o", "notes": null, "__v": 0,
                         "updatedAt": "2024-06-21T00:00:00.000Z"});
        let record = to_record(&raw, false).unwrap();
        assert_eq!(
            Value::Object(record.attributes),
            json!({"promptId": "p", "modelUsed": "GPT-4o"})
        );
        assert_eq!(record.timestamp_ms % 1000, 123);
    }

    #[test]
    fn scores_keep_fractions_and_integers_stay_integers() {
        let with_score = |score: Value| {
            let raw = json!({"_id": "a", "createdAt": "2024-06-20T13:10:00Z", "score": score});
            to_record(&raw, false).unwrap().attributes["score"].clone()
        };
        assert_eq!(with_score(json!(9.5)).to_string(), "9.5");
        assert_eq!(with_score(json!(9)).to_string(), "9");
        assert_eq!(with_score(json!(9.0)).to_string(), "9");
        assert!(attribute_equals(&with_score(json!(9.0)), "9"));
    }

    #[test]
    fn items_without_a_usable_key_are_errors() {
        let bad_time = json!({"_id": "a", "createdAt": "yesterday", "output": "o"});
        assert!(to_record(&bad_time, false)
            .unwrap_err()
            .contains("createdAt"));
        assert!(to_record(&json!("text"), false).is_err());
        assert!(to_record(&json!({"createdAt": "2024-06-20T13:10:00Z"}), false).is_err());
    }

    #[test]
    fn only_prompt_id_reaches_the_url() {
        let base = Url::parse("http://h:1/logs").unwrap();
        let mut filters = Filters {
            start: Some(1),
            q: Some("x".into()),
            ..Filters::default()
        };
        let any = PromptIdPushdown::Any;
        assert_eq!(
            logs_url(base.clone(), &filters, any).as_str(),
            "http://h:1/logs"
        );
        filters
            .attrs
            .insert("promptId".into(), "a b&c=d/é+%".into());
        filters.attrs.insert("modelUsed".into(), "GPT-4o".into());
        assert_eq!(
            logs_url(base.clone(), &filters, any).as_str(),
            "http://h:1/logs?promptId=a%20b%26c%3Dd%2F%C3%A9%2B%25"
        );
        filters.attrs.insert("promptId".into(), String::new());
        assert_eq!(logs_url(base, &filters, any).as_str(), "http://h:1/logs");
    }

    #[test]
    fn by_default_only_object_ids_are_pushed() {
        let mode = PromptIdPushdown::default();
        let with = |v: &str| Filters {
            attrs: [("promptId".to_string(), v.to_string())].into(),
            ..Filters::default()
        };
        let id = "665f1c2ab8e4f0a1c2d3e4f5";
        assert_eq!(pushed_prompt_id(&with(id), mode), Some(id));
        let upper = id.to_uppercase();
        assert_eq!(pushed_prompt_id(&with(&upper), mode), Some(upper.as_str()));
        assert_eq!(pushed_prompt_id(&with("prompt101"), mode), None);
        assert_eq!(pushed_prompt_id(&with(&id[1..]), mode), None);
        let any = PromptIdPushdown::Any;
        assert_eq!(pushed_prompt_id(&with("prompt101"), any), Some("prompt101"));
    }

    fn arb_score() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            (0i64..=10).prop_map(|s| Some(json!(s))),
            (0u32..=20).prop_map(|h| Some(json!(h as f64 / 2.0))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn mapping_invariants(
            id in "[0-9a-f]{24}",
            prompt in "[0-9a-f]{24}",
            ms in 1_500_000_000_000i64..1_900_000_000_000,
            millis in any::<bool>(),
            output in ".{0,40}",
            notes in proptest::option::of(".{0,20}"),
            score in arb_score(),
            extras in any::<bool>(),
        ) {
            let created = if millis { format_ms(ms) } else { format_ms(ms - ms % 1000).replace(".000Z", "Z") };
            let mut raw = json!({"_id": id, "promptId": prompt, "output": output,
                                 "modelUsed": "Claude 3.5 Sonnet", "createdAt": created});
            if let Some(n) = &notes { raw["notes"] = json!(n); }
            if let Some(s) = &score { raw["score"] = s.clone(); }
            if extras { raw["__v"] = json!(0); raw["updatedAt"] = json!(format_ms(ms + 5)); }
            let record = to_record(&raw, false).unwrap();
            prop_assert_eq!(&record.native_id, &id);
            prop_assert_eq!(record.timestamp_ms, if millis { ms } else { ms - ms % 1000 });
            prop_assert_eq!(record.level, Level::Info);
            prop_assert_eq!(&record.message, &output);
            prop_assert!(record.service.is_none() && record.user_id.is_none());
            prop_assert!(record.attributes.values().all(|v| !v.is_null()));
            prop_assert!(record.attributes.keys().all(|k| ["promptId", "modelUsed", "notes", "score"].contains(&k.as_str())));
            prop_assert_eq!(record.attributes.contains_key("notes"), notes.is_some());
            prop_assert_eq!(record.attributes.contains_key("score"), score.is_some());
            if let Some(s) = score.as_ref().and_then(Value::as_f64) {
                let text = if s.fract() == 0.0 { format!("{}", s as i64) } else { s.to_string() };
                prop_assert!(attribute_equals(&record.attributes["score"], &text));
            }
            prop_assert!(attribute_equals(&record.attributes["promptId"], &prompt));
        }

        #[test]
        fn prompt_id_round_trips_through_the_url(value in "\\PC{1,30}") {
            let filters = Filters { attrs: [("promptId".to_string(), value.clone())].into(), ..Filters::default() };
            let url = logs_url(Url::parse("http://h:1/logs").unwrap(), &filters, PromptIdPushdown::Any);
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            prop_assert_eq!(pairs, vec![("promptId".to_string(), value)]);
            prop_assert_eq!(url.path(), "/logs");
        }
    }
}
