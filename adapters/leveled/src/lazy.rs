//! Reading an answer's entries lazily (issue 13, [`loggate_core::lazy`]):
//! each entry is checked when read for everything that can refuse it
//! (so a refused entry is skipped before the merge, as when mapped
//! eagerly) and read to its timestamp; the content hash, the `details`
//! tree, the attributes and the strings are built by
//! [`crate::translate::map_text`] only for the records the engine emits.
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
use serde_json::value::RawValue;

use crate::translate::{assign_occurrence_ids, is_plain_string, map_raw, map_raw_entries};
use crate::wire::Entry;

/// One entry of the answer, as read.
enum Slot {
    /// Checked, mappable, read to its timestamp; its text is
    /// `body[start..end]`.
    Lazy {
        timestamp_ms: i64,
        start: usize,
        end: usize,
    },
    Mapped(loggate_core::LogRecord),
}

/// The timestamp of an entry that [`map_text`](crate::translate::map_text)
/// certainly maps, or `None` when the mapper should look at it now: an
/// entry that is not an object or not readable, whose timestamp is not a
/// plain string of a readable instant, whose `level`, `service` or
/// `message` is neither a plain string nor a readable JSON value, or
/// whose `details` is unreadable as a JSON value.
pub(crate) fn lazy_timestamp(text: &str) -> Option<i64> {
    if !text.starts_with('{') {
        return None;
    }
    let entry: Entry<'_> = serde_json::from_str(text).ok()?;
    let timestamp = entry.timestamp?.get();
    if !is_plain_string(timestamp) {
        return None;
    }
    let timestamp_ms = parse_rfc3339_ms(&timestamp[1..timestamp.len() - 1])?;
    let fields = [entry.level, entry.service, entry.message, entry.details];
    for field in fields.into_iter().flatten() {
        let text = field.get();
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

/// The records of an answer's entries (`raw`, borrowed from
/// `response`'s body), in answer order, and the number of unreadable
/// entries skipped (`skipped` hears why). With `defer`, entries alone at
/// their timestamp that pass [`lazy_timestamp`] are deferred: mapped from
/// the shared body when forced. Occurrence ids are assigned over the
/// mapped records (copies share a timestamp, so none is deferred).
pub(crate) fn read_entries(
    response: &Arc<UpstreamResponse>,
    raw: &[&RawValue],
    include_raw: bool,
    defer: bool,
    mut skipped: impl FnMut(&str),
) -> (Vec<Record>, usize) {
    if !defer || include_raw {
        let (records, bad) = map_raw_entries(raw, include_raw, skipped);
        return (records.into_iter().map(Record::Mapped).collect(), bad);
    }
    let (slots, mut bad) = read_slots(response, raw, &mut skipped);
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
                start,
                end,
            } if tied(timestamp_ms) => match map_text_at(response, start, end) {
                Ok(record) => Record::Mapped(record),
                Err(reason) => {
                    bad += 1;
                    skipped(&reason);
                    continue;
                }
            },
            Slot::Lazy {
                timestamp_ms,
                start,
                end,
            } => {
                let response = Arc::clone(response);
                Record::deferred(
                    timestamp_ms,
                    Box::new(move || map_text_at(&response, start, end)),
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

/// Each readable entry of the answer as a [`Slot`]: lazy when
/// [`lazy_timestamp`] vouches for it (and it lies in the body), else
/// mapped now; the number of unreadable ones (`skipped` hears why).
fn read_slots(
    response: &UpstreamResponse,
    raw: &[&RawValue],
    skipped: &mut impl FnMut(&str),
) -> (Vec<Slot>, usize) {
    let body = response.body.as_ptr_range();
    let mut bad = 0;
    let mut slots = Vec::with_capacity(raw.len());
    for entry in raw {
        let text = entry.get();
        let range = text.as_bytes().as_ptr_range();
        let inside = body.start <= range.start && range.end <= body.end;
        if let Some(timestamp_ms) = lazy_timestamp(text).filter(|_| inside) {
            let start = range.start as usize - body.start as usize;
            let end = start + text.len();
            slots.push(Slot::Lazy {
                timestamp_ms,
                start,
                end,
            });
            continue;
        }
        match map_raw(entry, false) {
            Ok(record) => slots.push(Slot::Mapped(record)),
            Err(reason) => {
                bad += 1;
                tracing::debug!(%reason, "skipping unreadable leveled log entry");
                skipped(&reason);
            }
        }
    }
    (slots, bad)
}

fn slot_timestamp(slot: &Slot) -> i64 {
    match slot {
        Slot::Lazy { timestamp_ms, .. } => *timestamp_ms,
        Slot::Mapped(record) => record.timestamp_ms,
    }
}

/// Maps the entry whose text is `body[start..end]`.
fn map_text_at(
    response: &UpstreamResponse,
    start: usize,
    end: usize,
) -> Result<loggate_core::LogRecord, String> {
    let text = response
        .body
        .get(start..end)
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .ok_or("log entry is not where it was read")?;
    crate::translate::map_text(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::LogsResponse;

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
        let response = answer(&entries);
        let body: LogsResponse<'_> = response.json_borrowed().unwrap();
        let raw = body.data.unwrap().logs;
        let mut eager_reasons = Vec::new();
        let (eager, eager_bad) =
            map_raw_entries(&raw, false, |r| eager_reasons.push(r.to_string()));
        let mut lazy_reasons = Vec::new();
        let (lazy, lazy_bad) = read_entries(&response, &raw, false, true, |r| {
            lazy_reasons.push(r.to_string())
        });
        let deferred = lazy.iter().filter(|r| r.mapped().is_none()).count();
        let forced: Vec<_> = lazy.into_iter().map(|r| r.force().unwrap()).collect();
        assert_eq!(forced, eager);
        assert_eq!(lazy_bad, eager_bad);
        lazy_reasons.sort();
        eager_reasons.sort();
        assert_eq!(lazy_reasons, eager_reasons);
        // The readable entries alone at their timestamp were deferred (an
        // escaped or numeric field is checked, not mapped); ties were not.
        assert_eq!(deferred, 4, "{forced:#?}");
        assert!(eager.iter().any(|r| r.native_id.ends_with("-2")));
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
        let body: LogsResponse<'_> = response.json_borrowed().unwrap();
        let raw = body.data.unwrap().logs;
        for (include_raw, defer) in [(false, false), (true, true)] {
            let (records, _) = read_entries(&response, &raw, include_raw, defer, |_| {});
            assert!(records.iter().all(|r| r.mapped().is_some()));
        }
        let (records, _) = read_entries(&response, &raw, false, true, |_| {});
        assert!(records[0].mapped().is_none());
    }
}
