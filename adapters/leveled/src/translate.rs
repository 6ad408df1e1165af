//! Pure translations: native log entries to [`LogRecord`]s (spec §3, the
//! `leveled` column) and unified filters to the native query parameters.
//!
//! Records carry no id, so the native id is a content hash: the first 16
//! hex digits of the SHA-256 of a canonical JSON array
//! `[timestamp_ms, level, service, message, details]` (object keys sorted,
//! absent fields as `null`). Records with identical content are
//! indistinguishable; the 2nd, 3rd, ... copy within one slice gets `-2`,
//! `-3`, ... appended. That is stable across fetches as long as the slice
//! holds the whole group of records sharing the timestamp (identical
//! content implies an identical timestamp, and every filter treats the
//! copies alike), and the adapter only ever emits whole groups read in one
//! response (or unioned by [`crate::paging`] for groups larger than a page).

use std::borrow::{BorrowMut, Cow};
use std::collections::HashMap;

use loggate_core::query::{ascii_search_is_superset, Filters};
use loggate_core::time::{format_ms, format_ms_end, parse_rfc3339_ms};
// The string a JSON value is, borrowed when it has no escapes.
use loggate_core::wire::json_str as text_of;
use loggate_core::{Level, LogRecord, RawJson};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::wire::Entry;

/// The largest `limit` the provider accepts (undocumented; 100 as far as
/// is known).
pub const PAGE_LIMIT: u64 = 100;

/// Levels whose native `level` filter is exact for loggate's mapping.
/// INFO is missing on purpose: an unknown native level (`NOTICE`) maps to
/// INFO, and the native `level=INFO` would not return it. TRACE has no
/// native value.
pub const PUSHABLE_LEVELS: [Level; 4] = [Level::Debug, Level::Warn, Level::Error, Level::Fatal];

/// The inclusive time window of one native request (epoch ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

impl Window {
    /// True when no timestamp fits.
    pub fn is_empty(&self) -> bool {
        matches!((self.start, self.end), (Some(s), Some(e)) if s > e)
    }
}

/// The one native level to send, when the query's levels reduce to a
/// single pushable one.
pub fn pushed_level(filters: &Filters) -> Option<Level> {
    filters
        .levels()?
        .single()
        .filter(|level| PUSHABLE_LEVELS.contains(level))
}

/// The names of the set filters the native request evaluates.
pub fn pushed_names(filters: &Filters, search_pushdown: bool) -> Vec<String> {
    let level_pushed = pushed_level(filters).is_some();
    filters
        .names()
        .into_iter()
        .filter(|name| match name.as_str() {
            "start" | "end" | "service" => true,
            "level" | "min_level" => level_pushed,
            "q" => pushed_search(filters, search_pushdown).is_some(),
            _ => false,
        })
        .collect()
}

/// The query parameters of one `GET /logs`, in a fixed order. Dates are
/// UTC; the provider treats both as inclusive and may store finer than
/// milliseconds, so `startDate` is the start of its millisecond and
/// `endDate` the end of its (`.123999999Z`, spec §10).
pub fn request_params(
    filters: &Filters,
    window: Window,
    offset: u64,
    limit: u64,
    search_pushdown: bool,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("limit", limit.clamp(1, PAGE_LIMIT).to_string()),
        ("offset", offset.to_string()),
    ];
    if let Some(start) = window.start {
        params.push(("startDate", format_ms(start)));
    }
    if let Some(end) = window.end {
        params.push(("endDate", format_ms_end(end)));
    }
    if let Some(level) = pushed_level(filters) {
        params.push(("level", level.as_str().to_string()));
    }
    if let Some(service) = &filters.service {
        params.push(("service", service.clone()));
    }
    if let Some(q) = pushed_search(filters, search_pushdown) {
        params.push(("search", q.to_string()));
    }
    params
}

/// `q` as the native `search`, when pushing it cannot lose a match. The
/// provider's search is taken to be an ASCII-case-insensitive substring
/// test (what is known of real deployments: it folds ASCII only), so `q`
/// is pushed only where that finds everything loggate's full Unicode
/// folding does ([`ascii_search_is_superset`]): `über` or `login` (which
/// `ﬂogin` matches) are filtered by loggate alone.
pub fn pushed_search(filters: &Filters, search_pushdown: bool) -> Option<&str> {
    filters
        .q
        .as_deref()
        .filter(|q| search_pushdown && ascii_search_is_superset(q))
}

/// Maps one native entry given as a `Value` (the simulator's and the
/// tests' form): the same path as [`map_raw`], from the entry's text.
pub fn map_entry(raw: &Value, include_raw: bool) -> Result<LogRecord, String> {
    let text = serde_json::to_string(raw).map_err(|e| e.to_string())?;
    let raw = RawValue::from_string(text).map_err(|e| e.to_string())?;
    map_raw(&raw, include_raw)
}

/// Maps one native entry straight from its JSON text: typed fields
/// borrowed from the answer, `details` the only tree built (it becomes
/// the attributes), the untouched entry's text copied only when
/// `include_raw`. The native id is the bare content hash;
/// [`assign_occurrence_ids`] disambiguates copies. Errors say why the
/// entry cannot be placed (it is then skipped).
pub fn map_raw(raw: &RawValue, include_raw: bool) -> Result<LogRecord, String> {
    let mut record = map_fields(&parse_entry(raw.get())?)?;
    record.raw = include_raw.then(|| RawJson::from_raw(raw));
    Ok(record)
}

/// [`map_raw`] of the entry's JSON text: parsed to its fields, mapped by
/// [`map_fields`] (a record read lazily, [`crate::lazy`], is mapped by it
/// when emitted).
pub fn map_text(text: &str, include_raw: bool) -> Result<LogRecord, String> {
    let mut record = map_fields(&parse_entry(text)?)?;
    if include_raw {
        record.raw = Some(RawJson::parse(text)?);
    }
    Ok(record)
}

/// An entry's JSON text read to its fields; `Err` says why it cannot be.
pub(crate) fn parse_entry(text: &str) -> Result<Entry<'_>, String> {
    if !text.starts_with('{') {
        return Err("log entry is not an object".into());
    }
    serde_json::from_str(text).map_err(|e| format!("unreadable log entry: {e}"))
}

/// The one mapper, from an entry's fields (each its raw JSON text):
/// `details` the only tree built (it becomes the attributes), strings
/// borrowed until the record takes them; `raw` is left `None`.
pub(crate) fn map_fields(entry: &Entry<'_>) -> Result<LogRecord, String> {
    let timestamp = entry
        .timestamp
        .and_then(text_of)
        .ok_or("log entry has no timestamp string")?;
    let timestamp_ms = parse_rfc3339_ms(&timestamp)
        .ok_or_else(|| format!("unreadable timestamp {timestamp:?}"))?;
    let level_text = entry.level.and_then(text_of);
    let known = level_text.as_deref().and_then(known_level);
    let details: Option<Value> = match entry.details {
        Some(details) => {
            Some(serde_json::from_str(details).map_err(|e| format!("unreadable details: {e}"))?)
        }
        None => None,
    };
    let native_id = entry_hash(timestamp_ms, entry, details.as_ref())?;
    let mut attributes = match details {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let user_id = attributes.get("user_id").and_then(|value| match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    });
    if let (None, Some(original)) = (known, entry.level) {
        // The spec keeps an unknown level here, over a `details.level`.
        let original = match level_text {
            Some(text) => Value::String(text.into_owned()),
            None => value_of(original)?,
        };
        attributes.insert("level".to_string(), original);
    }
    Ok(LogRecord {
        native_id,
        timestamp_ms,
        level: known.unwrap_or(Level::Info),
        message: entry
            .message
            .and_then(text_of)
            .map(Cow::into_owned)
            .unwrap_or_default(),
        service: entry.service.and_then(text_of).map(Cow::into_owned),
        user_id,
        attributes,
        raw: None,
    })
}

fn value_of(raw: &str) -> Result<Value, String> {
    serde_json::from_str(raw).map_err(|e| format!("unreadable log entry: {e}"))
}

/// [`content_hash`] of a typed entry: the same canonical text, written
/// from the borrowed fields (strings as `serde_json` writes them: the raw
/// text itself when it has no escape, else re-escaped; anything else
/// through its canonical form).
fn entry_hash(
    timestamp_ms: i64,
    entry: &Entry<'_>,
    details: Option<&Value>,
) -> Result<String, String> {
    let mut text = Vec::with_capacity(256);
    text.push(b'[');
    write_i64(&mut text, timestamp_ms);
    for field in [entry.level, entry.service, entry.message] {
        text.push(b',');
        match field {
            None => text.extend_from_slice(b"null"),
            Some(raw) if is_plain_string(raw) => text.extend_from_slice(raw.as_bytes()),
            Some(raw) => match text_of(raw) {
                Some(s) => write_scalar(&mut text, &*s),
                None => write_canonical(&mut text, &value_of(raw)?),
            },
        }
    }
    text.push(b',');
    match details {
        Some(value) => write_canonical(&mut text, value),
        None => text.extend_from_slice(b"null"),
    }
    text.push(b']');
    Ok(hex_digest(&text))
}

/// A JSON string literal that `serde_json` would write back byte for
/// byte: quoted, without a backslash (so no escape to undo) and without
/// control characters (the only other characters it escapes; a `"`
/// cannot stand unescaped inside). Issue 13: re-escaping every field of
/// every entry for its content hash was 4 % of the gateway's CPU.
pub(crate) fn is_plain_string(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2
        && bytes[0] == b'"'
        && bytes[bytes.len() - 1] == b'"'
        && !bytes[1..bytes.len() - 1]
            .iter()
            .any(|&b| b == b'\\' || b == b'"' || b < 0x20)
}

/// Appends the decimal text of `n` (what `n.to_string()` gives) without
/// allocating.
fn write_i64(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// Only the exact upper-case names count as known: the native `level`
/// filter is exact, so a `warn` entry mapped to WARN would be lost by a
/// pushed `level=WARN`.
fn known_level(text: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|level| level.as_str() == text)
}

/// First 16 hex digits of the SHA-256 of the canonical content: the
/// compact JSON text of `[timestamp_ms, level, service, message, details]`
/// (absent fields as `null`) with every object's keys in sorted order.
///
/// Written straight into one buffer rather than built as a `Value` first:
/// this runs for every record read and was a quarter of the gateway's CPU.
pub fn content_hash(timestamp_ms: i64, object: &Map<String, Value>) -> String {
    let mut text = Vec::with_capacity(256);
    text.push(b'[');
    write_i64(&mut text, timestamp_ms);
    for name in ["level", "service", "message", "details"] {
        text.push(b',');
        match object.get(name) {
            Some(value) => write_canonical(&mut text, value),
            None => text.extend_from_slice(b"null"),
        }
    }
    text.push(b']');
    hex_digest(&text)
}

/// First 16 hex digits of the SHA-256 of `text`.
fn hex_digest(text: &[u8]) -> String {
    let digest = Sha256::digest(text);
    let mut hex = String::with_capacity(16);
    for byte in digest.iter().take(8) {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    hex
}

/// `value` as compact JSON with every object's keys in sorted order,
/// whatever order `serde_json` keeps maps in.
fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // `serde_json`'s map keeps its keys sorted (a `BTreeMap` unless
            // its `preserve_order` feature is on): sort only when not.
            if map.keys().is_sorted() {
                for (i, (key, value)) in map.iter().enumerate() {
                    write_member(out, i, key, value);
                }
            } else {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for (i, key) in keys.into_iter().enumerate() {
                    write_member(out, i, key, &map[key]);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        scalar => write_scalar(out, scalar),
    }
}

/// One `"key":value` member of a canonical object, after a comma unless
/// it is the first (`i == 0`).
fn write_member(out: &mut Vec<u8>, i: usize, key: &str, value: &Value) {
    if i > 0 {
        out.push(b',');
    }
    write_scalar(out, key);
    out.push(b':');
    write_canonical(out, value);
}

fn write_scalar<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends `-2`, `-3`, ... to the 2nd, 3rd, ... record with the same
/// content hash in `records`.
pub fn assign_occurrence_ids<R: BorrowMut<LogRecord>>(records: &mut [R]) {
    // Counted over borrowed ids first (no id copied per record), then
    // only the copies are renamed.
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    let mut copies: Vec<(usize, usize)> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let count = seen.entry(record.borrow().native_id.as_str()).or_insert(0);
        *count += 1;
        if *count > 1 {
            copies.push((i, *count));
        }
    }
    for (i, count) in copies {
        let record = records[i].borrow_mut();
        record.native_id = format!("{}-{}", record.native_id, count);
    }
}

/// Maps a slice of native entries, skipping (and counting) unreadable
/// ones, with occurrence ids assigned over the slice.
pub fn map_entries(raw: &[Value], include_raw: bool) -> (Vec<LogRecord>, usize) {
    let mut bad = 0;
    let mut records = Vec::with_capacity(raw.len());
    for entry in raw {
        match map_entry(entry, include_raw) {
            Ok(record) => records.push(record),
            Err(_) => bad += 1,
        }
    }
    assign_occurrence_ids(&mut records);
    (records, bad)
}

/// [`map_entries`] over the entries of an answer as they arrived:
/// `skipped` hears why each unreadable one was skipped.
pub fn map_raw_entries(
    raw: &[&RawValue],
    include_raw: bool,
    mut skipped: impl FnMut(&str),
) -> (Vec<LogRecord>, usize) {
    let mut bad = 0;
    let mut records = Vec::with_capacity(raw.len());
    for entry in raw {
        match map_raw(entry, include_raw) {
            Ok(record) => records.push(record),
            Err(reason) => {
                bad += 1;
                tracing::debug!(%reason, "skipping unreadable leveled log entry");
                skipped(&reason);
            }
        }
    }
    assign_occurrence_ids(&mut records);
    (records, bad)
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
