//! Records mapped lazily (issue 13): a fetch may hand the engine records
//! read only as far as the merge needs (their timestamp), with the rest
//! of the mapping (the content-hash id, the attributes, the message and
//! service strings) deferred until the record is emitted.
//!
//! On page one of `limit=50` over four sources every source reads its
//! whole share (`limit + 1` entries) and the merge emits about a quarter
//! of them: mapped eagerly, three quarters of the mapping went to records
//! no one received.
//!
//! The contract, for an adapter that defers (see
//! [`crate::Adapter::fetch_lazy`]):
//! - everything that can refuse a record (so that today it is skipped
//!   before the merge) is checked when the record is read: a deferred
//!   record's mapping is not expected to fail (if it does, the engine
//!   skips it then and reports it as skipped);
//! - a deferred record is alone at its timestamp within the answer it was
//!   read from, so its id never decides an order within its source; records
//!   sharing a timestamp are mapped when read;
//! - only queries whose filters look at nothing but the timestamp
//!   ([`crate::Filters::constrains_content`] false) may get deferred
//!   records: any other filter needs the mapped fields to decide.

use std::cmp::Ordering;
use std::fmt;

use crate::adapter::Batch;
use crate::position::{Position, Resume};
use crate::query::Order;
use crate::record::LogRecord;

/// The deferred part of a record's mapping: runs once, when forced.
/// `Err` carries why the record cannot be placed (as an adapter's
/// skipped-record reason).
pub type MapFn = Box<dyn FnOnce() -> Result<LogRecord, String> + Send + Sync>;

/// A record as a fetch hands it over: mapped, or read to its timestamp
/// with the rest of its mapping deferred.
pub enum Record {
    Mapped(LogRecord),
    Deferred {
        /// Milliseconds since the Unix epoch, UTC (what the mapping gives).
        timestamp_ms: i64,
        map: MapFn,
    },
}

impl Record {
    /// A record whose mapping runs only when forced.
    pub fn deferred(timestamp_ms: i64, map: MapFn) -> Self {
        Record::Deferred { timestamp_ms, map }
    }

    pub fn timestamp_ms(&self) -> i64 {
        match self {
            Record::Mapped(record) => record.timestamp_ms,
            Record::Deferred { timestamp_ms, .. } => *timestamp_ms,
        }
    }

    /// The mapped record, when it is mapped already.
    pub fn mapped(&self) -> Option<&LogRecord> {
        match self {
            Record::Mapped(record) => Some(record),
            Record::Deferred { .. } => None,
        }
    }

    /// The mapped record, mapping it now if it was deferred.
    pub fn force(self) -> Result<LogRecord, String> {
        match self {
            Record::Mapped(record) => Ok(record),
            Record::Deferred { map, .. } => map(),
        }
    }

    /// Maps a deferred record in place; `Err` (the record is then
    /// unusable) says why it could not be mapped.
    pub fn force_in_place(&mut self) -> Result<&mut LogRecord, String> {
        if let Record::Deferred { timestamp_ms, .. } = self {
            let placeholder = Record::Deferred {
                timestamp_ms: *timestamp_ms,
                map: Box::new(|| Err("mapped already".into())),
            };
            let taken = std::mem::replace(self, placeholder);
            *self = Record::Mapped(taken.force()?);
        }
        match self {
            Record::Mapped(record) => Ok(record),
            Record::Deferred { .. } => unreachable!("forced above"),
        }
    }

    /// Whether deciding if `position` covers this record needs its id:
    /// only a record at the timestamp of the key the position resumes
    /// after.
    pub fn needs_id_for(&self, position: &Position) -> bool {
        match &position.resume {
            Resume::After(key) if !position.done => key.timestamp_ms == self.timestamp_ms(),
            _ => false,
        }
    }

    /// [`Position::covers_record`] for a record that is mapped, or
    /// deferred and not at the position's key timestamp
    /// ([`Record::needs_id_for`] false: its id cannot matter).
    pub fn covered_by(&self, position: &Position, order: Order) -> bool {
        match self {
            Record::Mapped(record) => position.covers_record(record, order),
            Record::Deferred { timestamp_ms, .. } => position.covers_at(*timestamp_ms, "", order),
        }
    }
}

impl From<LogRecord> for Record {
    fn from(record: LogRecord) -> Self {
        Record::Mapped(record)
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Mapped(record) => f.debug_tuple("Mapped").field(record).finish(),
            Record::Deferred { timestamp_ms, .. } => f
                .debug_struct("Deferred")
                .field("timestamp_ms", timestamp_ms)
                .finish_non_exhaustive(),
        }
    }
}

/// Traversal order within one source: by timestamp, then by native id
/// where both records are mapped (a deferred record is alone at its
/// timestamp, so its id never decides).
pub fn cmp_records(a: &Record, b: &Record, order: Order) -> Ordering {
    let ascending =
        a.timestamp_ms()
            .cmp(&b.timestamp_ms())
            .then_with(|| match (a.mapped(), b.mapped()) {
                (Some(x), Some(y)) => x.native_id.cmp(&y.native_id),
                _ => Ordering::Equal,
            });
    match order {
        Order::Asc => ascending,
        Order::Desc => ascending.reverse(),
    }
}

/// Sorts records of one source into traversal order (stable).
pub fn sort_lazy(records: &mut [Record], order: Order) {
    records.sort_by(|a, b| cmp_records(a, b, order));
}

/// [`Batch`] with records that may be deferred: what
/// [`crate::Adapter::fetch_lazy`] returns.
#[derive(Debug, Default)]
pub struct LazyBatch {
    /// As [`Batch::records`].
    pub records: Vec<Record>,
    pub frontier: Position,
    pub scanned: usize,
    pub skipped: usize,
}

impl From<Batch> for LazyBatch {
    fn from(batch: Batch) -> Self {
        LazyBatch {
            records: batch.records.into_iter().map(Record::Mapped).collect(),
            frontier: batch.frontier,
            scanned: batch.scanned,
            skipped: batch.skipped,
        }
    }
}

impl LazyBatch {
    /// Every record mapped: the [`Batch`] an eager fetch returns. A
    /// deferred record whose mapping fails is skipped and counted in
    /// `skipped`; `skipped_reason` hears why.
    pub fn force(self, mut skipped_reason: impl FnMut(&str)) -> Batch {
        let mut skipped = self.skipped;
        let mut records = Vec::with_capacity(self.records.len());
        for record in self.records {
            match record.force() {
                Ok(record) => records.push(record),
                Err(reason) => {
                    skipped += 1;
                    skipped_reason(&reason);
                }
            }
        }
        Batch {
            records,
            frontier: self.frontier,
            scanned: self.scanned,
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Key, Level};

    fn rec(ts: i64, id: &str) -> LogRecord {
        LogRecord {
            native_id: id.into(),
            timestamp_ms: ts,
            level: Level::Info,
            message: String::new(),
            service: None,
            user_id: None,
            attributes: Default::default(),
            raw: None,
        }
    }

    fn deferred(ts: i64, id: &'static str) -> Record {
        Record::deferred(ts, Box::new(move || Ok(rec(ts, id))))
    }

    #[test]
    fn forcing_runs_the_deferred_mapping_once_in_place() {
        let mut record = deferred(7, "x");
        assert!(record.mapped().is_none());
        assert_eq!(record.force_in_place().unwrap().native_id, "x");
        assert_eq!(record.mapped().map(|r| r.timestamp_ms), Some(7));
        assert_eq!(record.force().unwrap(), rec(7, "x"));
    }

    #[test]
    fn a_failing_mapping_is_counted_as_skipped() {
        let batch = LazyBatch {
            records: vec![
                deferred(9, "a"),
                Record::deferred(8, Box::new(|| Err("bad".into()))),
                rec(7, "c").into(),
            ],
            frontier: Position::finished(),
            scanned: 3,
            skipped: 1,
        };
        let mut reasons = Vec::new();
        let batch = batch.force(|r| reasons.push(r.to_string()));
        let ids: Vec<&str> = batch.records.iter().map(|r| r.native_id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!((batch.scanned, batch.skipped), (3, 2));
        assert_eq!(reasons, ["bad"]);
    }

    #[test]
    fn order_is_by_timestamp_then_id_of_mapped_records() {
        let mut records = vec![
            deferred(5, "z"),
            rec(9, "b").into(),
            rec(9, "a").into(),
            deferred(1, "y"),
        ];
        sort_lazy(&mut records, Order::Desc);
        let order: Vec<i64> = records.iter().map(Record::timestamp_ms).collect();
        assert_eq!(order, [9, 9, 5, 1]);
        assert_eq!(records[0].mapped().unwrap().native_id, "b");
    }

    #[test]
    fn only_a_record_at_the_resumed_key_needs_its_id() {
        let after = Position::after(Key::new(5, "m"), None);
        assert!(deferred(5, "z").needs_id_for(&after));
        assert!(!deferred(4, "z").needs_id_for(&after));
        assert!(!deferred(5, "z").needs_id_for(&Position::group(5, None)));
        // desc: 6 is before the key (covered), 4 after it.
        assert!(deferred(6, "z").covered_by(&after, Order::Desc));
        assert!(!deferred(4, "z").covered_by(&after, Order::Desc));
        assert!(deferred(4, "z").covered_by(&Position::group(5, None), Order::Asc));
    }
}
