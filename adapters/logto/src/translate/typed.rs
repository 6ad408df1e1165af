//! One `/api/logs` row read straight from the answer's bytes (issue 13),
//! mapped as [`super::to_record`] maps the same row read as a `Value`.

use loggate_core::wire::{raw_object, raw_str};
use loggate_core::{Level, LogRecord, RawJson};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{epoch_ms, to_record, PAYLOAD_ATTRIBUTES};
use crate::wire::{RawPayload, RawRow};

/// Maps one `/api/logs` row straight from its JSON text (issue 13): fields
/// borrowed, only the attribute values built as `Value`s, the row parsed
/// whole only when `include_raw`. A row the typed reading refuses (not an
/// object, a field repeated) is read by [`to_record`], so it is mapped or
/// refused, with the same reason, as before.
pub fn raw_to_record(raw: &RawValue, include_raw: bool) -> Result<LogRecord, String> {
    let typed = raw
        .get()
        .starts_with('{')
        .then(|| typed_record(raw))
        .and_then(Result::ok);
    let mut record = match typed {
        Some(record) => record?,
        None => {
            let value: Value = serde_json::from_str(raw.get())
                .map_err(|e| format!("unreadable log entry: {e}"))?;
            to_record(&value, false)?
        }
    };
    record.raw = include_raw.then(|| RawJson::from_raw(raw));
    Ok(record)
}

/// The typed reading: the outer `Err` is a shape it does not take, the
/// inner one a row that cannot be mapped. `raw` is left `None`.
fn typed_record(raw: &RawValue) -> Result<Result<LogRecord, String>, serde_json::Error> {
    let row: RawRow<'_> = serde_json::from_str(raw.get())?;
    let payload: RawPayload<'_> = raw_object(row.payload)?;
    let Some(id) = row.id.and_then(raw_str).filter(|id| !id.is_empty()) else {
        return Ok(Err("log entry has no string id".into()));
    };
    let created = row.created_at.map(value_of).transpose()?;
    let Some(timestamp_ms) = created.as_ref().and_then(epoch_ms) else {
        return Ok(Err(format!("log entry {id} has no numeric createdAt")));
    };
    let key = row.key.and_then(raw_str);
    let mut attributes = Map::new();
    if let Some(key) = &key {
        attributes.insert("key".into(), Value::String(key.to_string()));
    }
    let fields = [
        payload.result,
        payload.application_id,
        payload.session_id,
        payload.ip,
        payload.user_agent,
        payload.error,
    ];
    for (name, field) in PAYLOAD_ATTRIBUTES.into_iter().zip(fields) {
        // `error` may be an object or a string: kept as it came.
        if let Some(field) = field.filter(|f| f.get() != "null") {
            attributes.insert(name.into(), value_of(field)?);
        }
    }
    if let Some(tenant) = row.tenant_id.and_then(raw_str) {
        attributes.insert("tenantId".into(), Value::String(tenant.into_owned()));
    }
    let level = match payload.result.and_then(raw_str).as_deref() {
        Some("Error") => Level::Error,
        _ => Level::Info,
    };
    Ok(Ok(LogRecord {
        native_id: id.into_owned(),
        timestamp_ms,
        level,
        message: key.map(|k| k.into_owned()).unwrap_or_default(),
        service: None,
        user_id: payload.user_id.and_then(raw_str).map(|u| u.into_owned()),
        attributes,
        raw: None,
    }))
}

fn value_of(raw: &RawValue) -> Result<Value, serde_json::Error> {
    serde_json::from_str(raw.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::testkit::raw_respelled;

    /// The typed reading of a row's text and the `Value` reading agree, on
    /// the record and on the reason a row is refused (the three Logto
    /// generations' `createdAt` spellings included).
    #[test]
    fn the_typed_reading_maps_as_the_value_reading_does() {
        let texts = [
            r#"{"id":"x","key":"ExchangeTokenBy.RefreshToken","tenantId":"default","createdAt":1717408801000,
               "payload":{"key":"k","result":"Error","applicationId":"app","sessionId":null,"ip":"1.2.3.4",
               "userAgent":"ua","error":{"code":"oidc.invalid_grant","message":"m"},"userId":"u1"}}"#,
            r#"{"id":"x","key":5,"createdAt":"1717408801000","payload":"nope","tenantId":7}"#,
            r#"{"id":"x","createdAt":"2024-06-03T12:00:01.000999+02","payload":{"result":"Success","error":"e","userId":3}}"#,
            r#"{"id":"x","createdAt":1717408801000.75,"payload":{"ip":1.50}}"#,
            r#"{"id":"x","createdAt":"2025-01-01x"}"#,
            r#"{"id":"","createdAt":1}"#,
            r#"{"key":"k","createdAt":1}"#,
            r#"{ "id" : "a\u0062", "createdAt" : 1 , "payload" : {"result":"Error","result":"Success"}}"#,
            r#"{"id":"a","id":"b","createdAt":1}"#,
            r#"[1]"#,
        ];
        for text in texts {
            let raw = RawValue::from_string(text.to_string()).unwrap();
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
}
