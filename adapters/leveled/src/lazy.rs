//! Reading an answer's entries lazily (issue 13, [`loggate_core::lazy`]):
//! each entry is checked when read for everything that can refuse it
//! (so a refused entry is skipped before the merge, as when mapped
//! eagerly) and read to its timestamp; the content hash, the `details`
//! tree, the attributes and the strings are built by
//! [`crate::translate::map_fields`] only for the records the engine
//! emits, from where its fields lie in the answer's shared body (no
//! entry is scanned again: the answer's one pass,
//! [`crate::wire::EntryObject`], read them).
//!
//! Mapped when read, as before: entries sharing a timestamp with another
//! of the answer (their ids order them and their occurrence suffixes
//! are counted over the answer), entries with anything unusual (a field
//! that is not a plain string, an escaped timestamp: the cheap check
//! leaves them to the mapper, which says why it refuses one), and every
//! entry when the query asks for `include=raw` or filters on more than
//! time.

use std::sync::Arc;

use loggate_core::http::UpstreamResponse;
use loggate_core::time::parse_rfc3339_ms;
use loggate_core::wire::ValueChecked;
use loggate_core::Record;

use crate::translate::{
    assign_occurrence_ids, is_plain_string, map_fields, map_raw_entries, parse_entry,
};
use crate::wire::{Entries, Entry};

/// Where each field of a deferred entry lies in the answer's body:
/// `(start, end)` byte offsets, in [`Entry`]'s field order.
type Spans = [Option<(u32, u32)>; 5];

/// One entry of the answer, as read.
enum Slot {
    /// Checked, mappable, read to its timestamp; its fields are at `spans`.
    Lazy {
        timestamp_ms: i64,
        spans: Spans,
    },
    Mapped(loggate_core::LogRecord),
}

/// The timestamp of an entry that [`map_fields`] certainly maps, or
/// `None` when the mapper should look at it now: an entry whose timestamp
/// is not a plain string of a readable instant, whose `level`, `service`
/// or `message` is neither a plain string nor a readable JSON value, or
/// whose `details` is unreadable as a JSON value.
pub(crate) fn lazy_timestamp(entry: &Entry<'_>) -> Option<i64> {
    let timestamp = entry.timestamp?;
    if !is_plain_string(timestamp) {
        return None;
    }
    let timestamp_ms = parse_rfc3339_ms(&timestamp[1..timestamp.len() - 1])?;
    let fields = [entry.level, entry.service, entry.message, entry.details];
    for text in fields.into_iter().flatten() {
        if !is_plain_string(text)
            && !reads_as_value(text)
            && serde_json::from_str::<ValueChecked>(text).is_err()
        {
            return None;
        }
    }
    Some(timestamp_ms)
}

/// True when `text`, valid JSON (the whole answer was read), certainly
/// reads as a `Value`: without a backslash no string holds an escape to
/// refuse, without a control character in a string nothing else in one
/// can be refused, numbers are kept as text (`arbitrary_precision`), and
/// nesting under 64 is far from `serde_json`'s recursion limit (128).
/// `false` leaves it to [`ValueChecked`]. One pass over the bytes, no
/// parse: the check of every `details` read.
fn reads_as_value(text: &str) -> bool {
    let mut depth = 0u32;
    let mut in_string = false;
    for &byte in text.as_bytes() {
        match byte {
            b'\\' => return false,
            b'"' => in_string = !in_string,
            _ if in_string && byte < 0x20 => return false,
            _ if in_string => {}
            b'[' | b'{' => {
                depth += 1;
                if depth >= 64 {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The records of an answer's entries (borrowed from `response`'s
/// body), in answer order, and the number of unreadable entries skipped
/// (`skipped` hears why). With `defer`, entries alone at their timestamp
/// that pass [`lazy_timestamp`] are deferred: mapped from the shared body
/// when forced. Occurrence ids are assigned over the mapped records
/// (copies share a timestamp, so none is deferred). `include_raw` needs
/// [`Entries::Raw`] (the record keeps the entry's text).
pub(crate) fn read_entries(
    response: &Arc<UpstreamResponse>,
    entries: &Entries<'_>,
    include_raw: bool,
    defer: bool,
    mut skipped: impl FnMut(&str),
) -> (Vec<Record>, usize) {
    debug_assert!(!include_raw || matches!(entries, Entries::Raw(_)));
    if let (Entries::Raw(raw), true) = (entries, include_raw || !defer) {
        let (records, bad) = map_raw_entries(raw, include_raw, skipped);
        return (records.into_iter().map(Record::Mapped).collect(), bad);
    }
    let (slots, mut bad) = read_slots(&response.body, entries, defer, &mut skipped);
    if !defer {
        let mut records: Vec<loggate_core::LogRecord> = slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Mapped(record) => Some(record),
                Slot::Lazy { .. } => None,
            })
            .collect();
        assign_occurrence_ids(&mut records);
        return (records.into_iter().map(Record::Mapped).collect(), bad);
    }
    let mut timestamps: Vec<i64> = slots.iter().map(slot_timestamp).collect();
    timestamps.sort_unstable();
    let tied = |ts: i64| {
        let first = timestamps.partition_point(|t| *t < ts);
        timestamps.get(first + 1) == Some(&ts)
    };
    let mut records: Vec<Record> = Vec::with_capacity(slots.len());
    for slot in slots {
        records.push(match slot {
            Slot::Mapped(record) => Record::Mapped(record),
            Slot::Lazy {
                timestamp_ms,
                spans,
            } if tied(timestamp_ms) => match map_spans(&response.body, &spans) {
                Ok(record) => Record::Mapped(record),
                Err(reason) => {
                    bad += 1;
                    skipped(&reason);
                    continue;
                }
            },
            Slot::Lazy {
                timestamp_ms,
                spans,
            } => {
                let response = Arc::clone(response);
                Record::deferred(
                    timestamp_ms,
                    Box::new(move || map_spans(&response.body, &spans)),
                )
            }
        });
    }
    let mut mapped: Vec<&mut loggate_core::LogRecord> = records
        .iter_mut()
        .filter_map(|r| match r {
            Record::Mapped(record) => Some(record),
            Record::Deferred { .. } => None,
        })
        .collect();
    assign_occurrence_ids(&mut mapped);
    (records, bad)
}

/// Each readable entry of the answer as a [`Slot`]: with `defer`, lazy
/// when [`lazy_timestamp`] vouches for it (and its fields lie in `body`),
/// else mapped now; the number of unreadable ones (`skipped` hears why).
fn read_slots(
    body: &[u8],
    entries: &Entries<'_>,
    defer: bool,
    skipped: &mut impl FnMut(&str),
) -> (Vec<Slot>, usize) {
    let mut bad = 0;
    let mut slots = Vec::with_capacity(entries.len());
    let mut read = |entry: Result<Entry<'_>, String>| {
        let slot = entry.and_then(|entry| {
            let lazy = defer
                .then(|| lazy_timestamp(&entry).zip(spans_in(body, &entry)))
                .flatten();
            match lazy {
                Some((timestamp_ms, spans)) => Ok(Slot::Lazy {
                    timestamp_ms,
                    spans,
                }),
                None => map_fields(&entry).map(Slot::Mapped),
            }
        });
        match slot {
            Ok(slot) => slots.push(slot),
            Err(reason) => {
                bad += 1;
                tracing::debug!(%reason, "skipping unreadable leveled log entry");
                skipped(&reason);
            }
        }
    };
    match entries {
        Entries::Read(entries) => entries.iter().for_each(|entry| read(Ok(*entry))),
        Entries::Raw(entries) => entries.iter().for_each(|raw| read(parse_entry(raw.get()))),
    }
    (slots, bad)
}

/// Where `entry`'s fields lie in `body`; `None` when one does not.
fn spans_in(body: &[u8], entry: &Entry<'_>) -> Option<Spans> {
    let range = body.as_ptr_range();
    let span = |text: &str| -> Option<(u32, u32)> {
        let field = text.as_bytes().as_ptr_range();
        if field.start < range.start || field.end > range.end {
            return None;
        }
        let start = u32::try_from(field.start as usize - range.start as usize).ok()?;
        Some((start, start.checked_add(u32::try_from(text.len()).ok()?)?))
    };
    let mut spans: Spans = [None; 5];
    let fields = [
        entry.timestamp,
        entry.level,
        entry.service,
        entry.message,
        entry.details,
    ];
    for (slot, field) in spans.iter_mut().zip(fields) {
        if let Some(text) = field {
            *slot = Some(span(text)?);
        }
    }
    Some(spans)
}

fn slot_timestamp(slot: &Slot) -> i64 {
    match slot {
        Slot::Lazy { timestamp_ms, .. } => *timestamp_ms,
        Slot::Mapped(record) => record.timestamp_ms,
    }
}

/// Maps the entry whose fields lie at `spans` in `body`.
fn map_spans(body: &[u8], spans: &Spans) -> Result<loggate_core::LogRecord, String> {
    let mut fields: [Option<&str>; 5] = [None; 5];
    for (field, span) in fields.iter_mut().zip(spans) {
        if let Some((start, end)) = *span {
            let text = body
                .get(start as usize..end as usize)
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .ok_or("log entry is not where it was read")?;
            *field = Some(text);
        }
    }
    let [timestamp, level, service, message, details] = fields;
    map_fields(&Entry {
        timestamp,
        level,
        service,
        message,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{read_body, LogsResponse};
    use serde_json::value::RawValue;

    fn answer(entries: &[String]) -> Arc<UpstreamResponse> {
        let body = format!(
            r#"{{"status":"success","data":{{"logs":[{}],"pagination":{{"total":{}}}}}}}"#,
            entries.join(","),
            entries.len()
        );
        Arc::new(UpstreamResponse {
            status: 200,
            headers: Default::default(),
            body: body.into_bytes(),
        })
    }

    fn entry(ts: &str, message: &str, details: &str) -> String {
        format!(
            r#"{{"timestamp":"{ts}","level":"ERROR","service":"api","message":{message},"details":{details}}}"#
        )
    }

    /// Read lazily and forced, an answer gives exactly the records, ids
    /// (occurrence suffixes included), order and refusals of the eager
    /// mapper, whatever mix of ties, copies, odd and unreadable entries.
    #[test]
    fn forced_lazy_records_are_the_eager_ones() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let entries = vec![
            entry(
                "2024-05-01T10:00:09Z",
                r#""alone""#,
                r#"{"user_id":7,"k":[1,{"b":2}]}"#,
            ),
            entry("2024-05-01T10:00:08Z", r#""copy""#, "null"),
            entry("2024-05-01T10:00:08Z", r#""copy""#, "null"),
            entry("2024-05-01T10:00:08Z", r#""other""#, "{}"),
            entry(
                "2024-05-01T10:00:07Z",
                r#""esc\u00e9\"q\"""#,
                r#"{"a":"\u00e9"}"#,
            ),
            entry("2024-05-01T10:00:06Z", r#""bad \ud800""#, "{}"),
            entry("2024-05-01T10:00:05Z", r#""deep""#, &deep),
            entry("2024-05-01T10:00:04Z", "42", r#"{"x":1.50}"#),
            r#"{"level":"INFO","message":"no timestamp"}"#.to_string(),
            entry("not a time", r#""m""#, "{}"),
            "[1]".to_string(),
            r#"{"timestamp":"2024-05-01T10:00:03.5Z","level":"NOTICE","message":"plain"}"#
                .to_string(),
        ];
        // Whole, the answer is read entry by entry (`[1]` fails the one
        // pass); without its non-object entry, in the one pass.
        let objects: Vec<String> = entries
            .iter()
            .filter(|e| e.starts_with('{'))
            .cloned()
            .collect();
        for (entries, one_pass) in [(entries, false), (objects, true)] {
            let response = answer(&entries);
            let body: LogsResponse<&RawValue> = response.json_borrowed().unwrap();
            let raw = body.data.unwrap().logs;
            let mut eager_reasons = Vec::new();
            let (eager, eager_bad) =
                map_raw_entries(&raw, false, |r| eager_reasons.push(r.to_string()));
            let (read, _) = read_body(&response, false).unwrap().data.unwrap();
            assert_eq!(matches!(read, Entries::Read(_)), one_pass);
            for defer in [true, false] {
                let mut lazy_reasons = Vec::new();
                let (lazy, lazy_bad) = read_entries(&response, &read, false, defer, |r| {
                    lazy_reasons.push(r.to_string())
                });
                let deferred = lazy.iter().filter(|r| r.mapped().is_none()).count();
                let forced: Vec<_> = lazy.into_iter().map(|r| r.force().unwrap()).collect();
                assert_eq!(forced, eager);
                assert_eq!(lazy_bad, eager_bad);
                lazy_reasons.sort();
                eager_reasons.sort();
                assert_eq!(lazy_reasons, eager_reasons);
                // The readable entries alone at their timestamp were
                // deferred (an escaped or numeric field is checked, not
                // mapped); ties were not.
                assert_eq!(deferred, if defer { 4 } else { 0 }, "{forced:#?}");
            }
            assert!(eager.iter().any(|r| r.native_id.ends_with("-2")));
        }
    }

    #[test]
    fn the_byte_check_leaves_escapes_control_characters_and_depth_to_the_parser() {
        assert!(reads_as_value(r#"{"a":[1,{"b":"x y"}],"c":1e400}"#));
        assert!(!reads_as_value(r#"{"a":"\u00e9"}"#));
        assert!(!reads_as_value("{\"a\":\"\u{1}\"}"));
        assert!(!reads_as_value(&format!(
            "{}1{}",
            "[".repeat(64),
            "]".repeat(64)
        )));
        assert!(reads_as_value(&format!(
            "{}1{}",
            "[".repeat(63),
            "]".repeat(63)
        )));
    }

    #[test]
    fn nothing_is_deferred_unless_asked_or_with_include_raw() {
        let entries = vec![entry("2024-05-01T10:00:09Z", r#""a""#, "{}")];
        let response = answer(&entries);
        for (include_raw, defer) in [(false, false), (true, true)] {
            let (read, _) = read_body(&response, include_raw).unwrap().data.unwrap();
            assert_eq!(matches!(read, Entries::Raw(_)), include_raw);
            let (records, _) = read_entries(&response, &read, include_raw, defer, |_| {});
            assert!(records.iter().all(|r| r.mapped().is_some()));
            assert_eq!(records[0].mapped().unwrap().raw.is_some(), include_raw);
        }
        let (read, _) = read_body(&response, false).unwrap().data.unwrap();
        let (records, _) = read_entries(&response, &read, false, true, |_| {});
        assert!(records[0].mapped().is_none());
    }
}
