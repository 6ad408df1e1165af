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
        if !is_plain_string(text) && serde_json::from_str::<ValueChecked>(text).is_err() {
            return None;
        }
    }
    Some(timestamp_ms)
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
