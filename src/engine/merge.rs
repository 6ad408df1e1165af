//! The k-way merge of source streams, bounded by frontiers.
//!
//! Each source contributes a buffer of records (sorted, from its last
//! fetch) and a frontier: every record of it not yet fetched sorts after
//! the frontier. A record may be emitted only when it sorts before every
//! unfinished source's frontier, or a later page would have to emit
//! something that sorts before what this one served. Pure: no I/O.

use std::borrow::{Borrow, BorrowMut};
use std::cmp::Ordering;
use std::collections::VecDeque;

use loggate_core::{Key, LogRecord, Order, Position, Record, Resume};

/// One source's state within one page.
#[derive(Debug)]
pub struct SourceState {
    pub name: String,
    /// Where the records in `buffer` were fetched from.
    pub batch_from: Position,
    /// Fetched, not yet emitted, in traversal order; a record may still be
    /// deferred ([`loggate_core::lazy`]): it is mapped when emitted.
    pub buffer: VecDeque<Record>,
    /// The latest fetch's frontier (the start position before any fetch).
    pub frontier: Position,
    /// The key of the last record emitted from the current buffer.
    pub emitted_from_buffer: Option<Key>,
    /// The source failed this page; it no longer bounds the merge.
    pub failed: bool,
    /// Why deferred records of this source could not be mapped when
    /// emitted (skipped: not expected, an adapter checks what can refuse
    /// a record when reading it).
    pub unmappable: Vec<String>,
}

impl SourceState {
    pub fn new(name: String, position: Position) -> Self {
        SourceState {
            name,
            batch_from: position.clone(),
            buffer: VecDeque::new(),
            frontier: position,
            emitted_from_buffer: None,
            failed: false,
            unmappable: Vec::new(),
        }
    }

    /// Installs a fetched batch and its frontier (only ever called with an
    /// empty buffer).
    pub fn accept(&mut self, records: Vec<Record>, frontier: Position) {
        debug_assert!(self.buffer.is_empty());
        self.batch_from = std::mem::replace(&mut self.frontier, frontier);
        self.buffer = records.into();
        self.emitted_from_buffer = None;
    }

    /// Can still contribute records after its buffer.
    pub fn is_open(&self) -> bool {
        !self.failed && !self.frontier.done
    }

    /// Where the next page must resume this source: after the last record
    /// emitted when part of a batch is left over, else the frontier.
    pub fn resume_position(&self) -> Position {
        if self.buffer.is_empty() {
            return self.frontier.clone();
        }
        match &self.emitted_from_buffer {
            Some(key) => Position::after(key.clone(), self.batch_from.hint),
            None => self.batch_from.clone(),
        }
    }
}

/// Why a merge stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The page is full.
    Limit,
    /// The next record would pass this source's frontier: fetch more from
    /// it, or end the page here.
    Blocked(usize),
    /// Every buffer is empty and no source is open.
    Exhausted,
}

/// A place in the merged traversal. `id` is `None` for a frontier, which
/// bounds a whole (timestamp, source) pair rather than one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub timestamp_ms: i64,
    pub source: &'a str,
    pub id: Option<&'a str>,
}

impl<'a> Place<'a> {
    pub fn of(source: &'a str, record: &'a LogRecord) -> Self {
        Place {
            timestamp_ms: record.timestamp_ms,
            source,
            id: Some(&record.native_id),
        }
    }

    /// The place of a buffered record: without an id while it is deferred
    /// (ids only order records of one source, and a buffer is in order).
    pub fn of_buffered(source: &'a str, record: &'a Record) -> Self {
        Place {
            timestamp_ms: record.timestamp_ms(),
            source,
            id: record.mapped().map(|r| r.native_id.as_str()),
        }
    }
}

/// The one comparator of the merged order (spec §3): by timestamp, then
/// source name, then native id (compared as strings), ascending for
/// `asc` and reversed for `desc`. Ids are compared only when both places
/// have one.
pub fn cmp_places(a: Place<'_>, b: Place<'_>, order: Order) -> Ordering {
    let ascending = a
        .timestamp_ms
        .cmp(&b.timestamp_ms)
        .then_with(|| a.source.cmp(b.source))
        .then_with(|| match (a.id, b.id) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => Ordering::Equal,
        });
    match order {
        Order::Asc => ascending,
        Order::Desc => ascending.reverse(),
    }
}

/// Compares two records of (possibly) different sources in traversal order.
pub fn cmp_global(a: (&str, &LogRecord), b: (&str, &LogRecord), order: Order) -> Ordering {
    cmp_places(Place::of(a.0, a.1), Place::of(b.0, b.1), order)
}

/// True when a record at `place` sorts before everything `bound`'s source
/// may still hold.
fn before_frontier(place: Place<'_>, bound: &SourceState, order: Order) -> bool {
    let frontier_ts = match &bound.frontier.resume {
        Resume::Start => return false,
        Resume::Group(ts) => *ts,
        Resume::After(key) => key.timestamp_ms,
    };
    let frontier = Place {
        timestamp_ms: frontier_ts,
        source: &bound.name,
        id: None,
    };
    let place = Place { id: None, ..place };
    cmp_places(place, frontier, order) == Ordering::Less
}

/// The index of the buffered record that comes first in traversal order.
fn first_buffered<S: Borrow<SourceState>>(sources: &[S], order: Order) -> Option<usize> {
    let mut best: Option<(usize, Place<'_>)> = None;
    for (i, s) in sources.iter().enumerate() {
        let s = s.borrow();
        let Some(head) = s.buffer.front() else {
            continue;
        };
        let place = Place::of_buffered(&s.name, head);
        if best.is_none_or(|(_, b)| cmp_places(place, b, order) == Ordering::Less) {
            best = Some((i, place));
        }
    }
    best.map(|(i, _)| i)
}

/// The first source with nothing buffered but more to come that bounds a
/// record at `place` (every such source, without a place).
fn blocker<S: Borrow<SourceState>>(
    sources: &[S],
    place: Option<Place<'_>>,
    order: Order,
) -> Option<usize> {
    sources.iter().position(|s| {
        let s = s.borrow();
        s.buffer.is_empty()
            && s.is_open()
            && place.is_none_or(|p| p.source != s.name && !before_frontier(p, s, order))
    })
}

/// Moves records into `out` (as `(source index, record)`) until the page
/// holds `limit`, a frontier blocks, or nothing is left.
pub fn merge_step<S: BorrowMut<SourceState>>(
    sources: &mut [S],
    order: Order,
    limit: usize,
    out: &mut Vec<(usize, LogRecord)>,
) -> Stop {
    while out.len() < limit {
        let Some(b) = first_buffered(sources, order) else {
            return match blocker(sources, None, order) {
                Some(i) => Stop::Blocked(i),
                None => Stop::Exhausted,
            };
        };
        let best = sources[b].borrow();
        let head = best.buffer.front().expect("best has a head");
        if let Some(i) = blocker(sources, Some(Place::of_buffered(&best.name, head)), order) {
            return Stop::Blocked(i);
        }
        let best = sources[b].borrow_mut();
        let record = best.buffer.pop_front().expect("best has a head");
        // Emitted: the one point where a deferred record is mapped.
        match record.force() {
            Ok(record) => {
                best.emitted_from_buffer = Some(record.key());
                out.push((b, record));
            }
            Err(reason) => best.unmappable.push(reason),
        }
    }
    Stop::Limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::Level;

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

    fn state(name: &str, records: &[(i64, &str)], frontier: Position) -> SourceState {
        let mut s = SourceState::new(name.into(), Position::start());
        s.accept(
            records.iter().map(|(t, i)| rec(*t, i).into()).collect(),
            frontier,
        );
        s
    }

    fn emitted(out: &[(usize, LogRecord)]) -> Vec<(usize, i64)> {
        out.iter().map(|(i, r)| (*i, r.timestamp_ms)).collect()
    }

    #[test]
    fn one_comparator_orders_timestamp_source_id_both_ways() {
        let (a, b) = (rec(5, "x"), rec(5, "y"));
        for order in [Order::Asc, Order::Desc] {
            let flip = |o: Ordering| if order == Order::Asc { o } else { o.reverse() };
            assert_eq!(
                cmp_global(("s", &a), ("s", &b), order),
                flip(Ordering::Less)
            );
            assert_eq!(
                cmp_global(("r", &b), ("s", &a), order),
                flip(Ordering::Less)
            );
            assert_eq!(
                cmp_global(("s", &rec(4, "z")), ("r", &a), order),
                flip(Ordering::Less)
            );
            assert_eq!(cmp_global(("s", &a), ("s", &a), order), Ordering::Equal);
        }
    }

    #[test]
    fn merges_finished_sources_by_timestamp_then_source() {
        let mut sources = vec![
            state("a", &[(9, "x"), (5, "x")], Position::finished()),
            state("b", &[(9, "y"), (7, "y")], Position::finished()),
        ];
        let mut out = Vec::new();
        assert_eq!(
            merge_step(&mut sources, Order::Desc, 10, &mut out),
            Stop::Exhausted
        );
        // desc: at ts 9, source "b" sorts before "a".
        assert_eq!(emitted(&out), vec![(1, 9), (0, 9), (1, 7), (0, 5)]);
    }

    #[test]
    fn an_open_source_blocks_records_past_its_frontier() {
        let mut sources = vec![
            state("a", &[(9, "x"), (5, "x")], Position::finished()),
            state("b", &[(8, "y")], Position::after(Key::new(6, "z"), None)),
        ];
        let mut out = Vec::new();
        assert_eq!(
            merge_step(&mut sources, Order::Desc, 10, &mut out),
            Stop::Blocked(1)
        );
        assert_eq!(emitted(&out), vec![(0, 9), (1, 8)]);
        assert_eq!(
            sources[0].resume_position(),
            Position::after(Key::new(9, "x"), None)
        );
        assert_eq!(
            sources[1].resume_position(),
            Position::after(Key::new(6, "z"), None)
        );
    }

    #[test]
    fn ties_at_the_frontier_respect_source_order() {
        // b stopped inside the group at ts 5; a's record at ts 5 sorts
        // after b's (desc: "a" < "b"), so it must wait.
        let mut sources = vec![
            state("a", &[(5, "x")], Position::finished()),
            state("b", &[], Position::group(5, None)),
        ];
        let mut out = Vec::new();
        assert_eq!(
            merge_step(&mut sources, Order::Desc, 10, &mut out),
            Stop::Blocked(1)
        );
        assert!(out.is_empty());
        // In ascending order "a" sorts first and may go.
        let mut sources = vec![
            state("a", &[(5, "x")], Position::finished()),
            state("b", &[], Position::group(5, None)),
        ];
        assert_eq!(
            merge_step(&mut sources, Order::Asc, 10, &mut out),
            Stop::Blocked(1)
        );
        assert_eq!(emitted(&out), vec![(0, 5)]);
    }

    #[test]
    fn a_failed_source_does_not_block() {
        let mut sources = vec![
            state("a", &[(9, "x")], Position::finished()),
            SourceState::new("b".into(), Position::start()),
        ];
        sources[1].failed = true;
        let mut out = Vec::new();
        assert_eq!(
            merge_step(&mut sources, Order::Desc, 10, &mut out),
            Stop::Exhausted
        );
        assert_eq!(out.len(), 1);
        assert_eq!(sources[1].resume_position(), Position::start());
    }

    #[test]
    fn limit_leaves_the_rest_for_the_next_page() {
        let mut sources = vec![state(
            "a",
            &[(9, "x"), (8, "x"), (7, "x")],
            Position::group(7, Some(4)),
        )];
        sources[0].batch_from = Position::group(10, Some(1));
        let mut out = Vec::new();
        assert_eq!(
            merge_step(&mut sources, Order::Desc, 2, &mut out),
            Stop::Limit
        );
        assert_eq!(
            sources[0].resume_position(),
            Position::after(Key::new(8, "x"), Some(1))
        );
    }

    #[test]
    fn nothing_emitted_from_a_batch_resumes_where_it_was_fetched() {
        let mut sources = vec![
            state("a", &[(9, "x")], Position::finished()),
            state("b", &[(1, "y")], Position::finished()),
        ];
        sources[1].batch_from = Position::group(3, Some(7));
        let mut out = Vec::new();
        merge_step(&mut sources, Order::Desc, 1, &mut out);
        assert_eq!(sources[1].resume_position(), Position::group(3, Some(7)));
    }
}
