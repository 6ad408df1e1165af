//! An Alloy log to a [`LogRecord`] (spec §3, the `alloy` column): typed
//! from the answer's bytes ([`record_from_raw`], issue 13), or from a
//! `Value` ([`record_from_native`], the simulator's and the tests' form,
//! and the fallback for a log whose shape the typed reading refuses).
//! Both give the same record for the same log.

use std::borrow::Cow;

use loggate_core::time::parse_rfc3339_ms;
use loggate_core::wire::{raw_object, raw_scalar, raw_str};
use loggate_core::{Level, LogRecord, RawJson};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::ERROR_MESSAGE;
use crate::wire::{ExecutionData, ForgeWorkflow, Integration, Log, ObjectId};

/// `attributes` of a record and where each comes from.
const ATTRIBUTE_PATHS: [(&str, &[&str]); 10] = [
    ("workflowId", &["workflowId"]),
    ("forgeWorkflowId", &["forgeWorkflowId"]),
    ("executionId", &["data", "executionId"]),
    ("executionUuid", &["data", "executionUuid"]),
    ("workflowVersion", &["workflowVersion"]),
    ("startedAt", &["startedAt"]),
    ("completedAt", &["completedAt"]),
    ("teamId", &["teamId"]),
    ("integrationId", &["forgeWorkflow", "integrationId", "_id"]),
    (
        "integrationName",
        &["forgeWorkflow", "integrationId", "name"],
    ),
];

/// Maps one Alloy log straight from its JSON text: the fields read as
/// borrowed raw text, only the attribute scalars built as `Value`s, the
/// untouched log parsed only when `include_raw`. A log the typed reading
/// cannot take (not an object, a field repeated) is read as a `Value` by
/// [`record_from_native`], so it is mapped or refused exactly as before.
/// `Err` says why it cannot be mapped (the caller skips it).
pub fn record_from_raw(raw: &RawValue, include_raw: bool) -> Result<LogRecord, String> {
    let typed = raw
        .get()
        .starts_with('{')
        .then(|| typed_record(raw))
        .and_then(Result::ok);
    let record = match typed {
        Some(record) => record?,
        None => {
            let value: Value =
                serde_json::from_str(raw.get()).map_err(|e| format!("unreadable log: {e}"))?;
            record_from_native(&value, false)?
        }
    };
    Ok(LogRecord {
        raw: include_raw.then(|| RawJson::from_raw(raw)),
        ..record
    })
}

/// The typed reading: the outer `Err` is a shape it does not take (the
/// caller falls back to a `Value`), the inner one a log that cannot be
/// mapped. `raw` is left `None`.
fn typed_record(raw: &RawValue) -> Result<Result<LogRecord, String>, serde_json::Error> {
    let log: Log<'_> = serde_json::from_str(raw.get())?;
    let data: ExecutionData<'_> = raw_object(log.data)?;
    let workflow: ForgeWorkflow<'_> = raw_object(log.forge_workflow)?;
    let integration: Integration<'_> = raw_object(workflow.integration_id)?;
    let native_id = match log.id {
        Some(id) if id.get().starts_with('{') => {
            let oid: ObjectId<'_> = serde_json::from_str(id.get())?;
            oid.oid.and_then(text)
        }
        Some(id) => text(id).filter(|id| !id.is_empty()),
        None => None,
    };
    let Some(native_id) = native_id else {
        return Ok(Err("log has no _id".into()));
    };
    let Some(timestamp_ms) = log
        .created_at
        .and_then(raw_str)
        .and_then(|t| parse_rfc3339_ms(&t))
    else {
        return Ok(Err(format!("log {native_id} has no readable createdAt")));
    };
    let message = log.message.and_then(text).unwrap_or_default();
    let fields = [
        log.workflow_id,
        log.forge_workflow_id,
        data.execution_id,
        data.execution_uuid,
        log.workflow_version,
        log.started_at,
        log.completed_at,
        log.team_id,
        integration.id,
        integration.name,
    ];
    let mut attributes = Map::new();
    for ((name, _), field) in ATTRIBUTE_PATHS.iter().zip(fields) {
        if let Some(value) = field.and_then(raw_scalar) {
            attributes.insert((*name).to_string(), value);
        }
    }
    // An unpopulated reference is the bare id string.
    if !attributes.contains_key("integrationId") {
        if let Some(id) = workflow.integration_id.and_then(text) {
            attributes.insert("integrationId".into(), Value::String(id));
        }
    }
    Ok(Ok(LogRecord {
        native_id,
        timestamp_ms,
        level: level_of(&message),
        message,
        service: workflow.name.and_then(text),
        user_id: log.user_id.and_then(text),
        attributes,
        raw: None,
    }))
}

/// A string field as an owned `String`; `None` when it is not a string.
fn text(raw: &RawValue) -> Option<String> {
    raw_str(raw).map(Cow::into_owned)
}

/// Alloy logs are only ERROR (`executionError`) or INFO.
fn level_of(message: &str) -> Level {
    if message == ERROR_MESSAGE {
        Level::Error
    } else {
        Level::Info
    }
}

/// Maps one Alloy log given as a `Value`; `Err` says why it cannot be (the
/// caller skips it).
pub fn record_from_native(raw: &Value, include_raw: bool) -> Result<LogRecord, String> {
    if !raw.is_object() {
        return Err(String::from("log is not a JSON object"));
    }
    let native_id = native_id(raw).ok_or("log has no _id")?;
    let timestamp_ms =
        created_at_ms(raw).ok_or_else(|| format!("log {native_id} has no readable createdAt"))?;
    let message = text_at(raw, &["message"]).unwrap_or_default();
    let mut attributes = Map::new();
    for (name, path) in ATTRIBUTE_PATHS {
        if let Some(value) = scalar_at(raw, path) {
            attributes.insert(name.to_string(), value.clone());
        }
    }
    // An unpopulated reference is the bare id string.
    if !attributes.contains_key("integrationId") {
        if let Some(id) = text_at(raw, &["forgeWorkflow", "integrationId"]) {
            attributes.insert("integrationId".into(), Value::String(id));
        }
    }
    Ok(LogRecord {
        native_id,
        timestamp_ms,
        level: level_of(&message),
        message,
        service: text_at(raw, &["forgeWorkflow", "name"]),
        user_id: text_at(raw, &["userId"]),
        attributes,
        raw: include_raw.then(|| RawJson::from_value(raw)),
    })
}

/// `_id` as a string (also the extended-JSON `{"$oid": ...}` form).
pub fn native_id(raw: &Value) -> Option<String> {
    match raw.get("_id")? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Object(object) => object.get("$oid")?.as_str().map(str::to_string),
        _ => None,
    }
}

pub fn created_at_ms(raw: &Value) -> Option<i64> {
    raw.get("createdAt")?.as_str().and_then(parse_rfc3339_ms)
}

fn value_at<'a>(raw: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(raw, |value, key| value.get(key))
}

fn text_at(raw: &Value, path: &[&str]) -> Option<String> {
    value_at(raw, path)?.as_str().map(str::to_string)
}

/// A string, number or boolean; `null`, objects and arrays are left out.
fn scalar_at<'a>(raw: &'a Value, path: &[&str]) -> Option<&'a Value> {
    value_at(raw, path).filter(|v| v.is_string() || v.is_number() || v.is_boolean())
}
