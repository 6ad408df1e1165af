//! Defence in depth on what an adapter returns, for records that may be
//! deferred ([`loggate_core::lazy`]): a record is mapped here only when a
//! check needs more than its timestamp.

use loggate_core::lazy::cmp_records;
use loggate_core::record::sort_records;
use loggate_core::{Position, Record, SourceQuery};

/// What [`checked_records`] kept, and why records it had to map could
/// not be (they are skipped, as an adapter skips an unreadable record).
pub(super) struct Checked {
    pub records: Vec<Record>,
    pub unmappable: Vec<String>,
}

/// Whatever an adapter returns, only records strictly after its position
/// that match every filter, in traversal order, go on. Mapped first: every
/// record when a filter looks past the timestamp, a record at the key
/// `from` resumes after (its id decides whether it is covered), records
/// sharing a timestamp with a neighbour (their ids order them).
pub(super) fn checked_records(
    records: Vec<Record>,
    from: &Position,
    query: &SourceQuery,
    source: &str,
) -> Checked {
    let mut unmappable = Vec::new();
    let content = query.filters.constrains_content();
    let stamps: Vec<i64> = records.iter().map(Record::timestamp_ms).collect();
    let tied =
        |i: usize| (i > 0 && stamps[i - 1] == stamps[i]) || stamps.get(i + 1) == Some(&stamps[i]);
    let before = records.len();
    let mut kept = Vec::with_capacity(before);
    for (i, mut record) in records.into_iter().enumerate() {
        if content || tied(i) || record.needs_id_for(from) {
            if let Err(reason) = record.force_in_place() {
                unmappable.push(reason);
                continue;
            }
        }
        let matches = match record.mapped() {
            Some(mapped) => query.filters.matches(mapped),
            None => query.filters.matches_time(record.timestamp_ms()),
        };
        if matches && !record.covered_by(from, query.order) {
            kept.push(record);
        }
    }
    let mut records = kept;
    if records.len() + unmappable.len() != before {
        tracing::warn!(
            source,
            dropped = before - records.len() - unmappable.len(),
            "adapter returned records outside its position or filters"
        );
    }
    let sorted = records
        .windows(2)
        .all(|w| cmp_records(&w[0], &w[1], query.order) == std::cmp::Ordering::Less);
    if !sorted {
        tracing::warn!(source, "adapter returned records out of order; sorting");
        // Rare: every record mapped, so that ids can order and dedupe.
        let mut mapped = Vec::with_capacity(records.len());
        for record in records {
            match record.force() {
                Ok(record) => mapped.push(record),
                Err(reason) => unmappable.push(reason),
            }
        }
        sort_records(&mut mapped, query.order);
        mapped.dedup_by(|a, b| a.native_id == b.native_id && a.timestamp_ms == b.timestamp_ms);
        records = mapped.into_iter().map(Record::Mapped).collect();
    }
    if !query.include_raw {
        for record in &mut records {
            if let Record::Mapped(record) = record {
                record.raw = None;
            }
        }
    }
    Checked {
        records,
        unmappable,
    }
}
