//! The k-way merge of source streams, bounded by frontiers.
//!
//! Each source contributes a buffer of records (sorted, from its last
//! fetch) and a frontier: every record of it not yet fetched sorts after
//! the frontier. A record may be emitted only when it sorts before every
//! unfinished source's frontier, or a later page would have to emit
//! something that sorts before what this one served. Pure: no I/O.

use std::cmp::Ordering;
use std::collections::VecDeque;

use loggate_core::{Key, LogRecord, Order, Position, Resume};

/// One source's state within one page.
#[derive(Debug)]
pub struct SourceState {
    pub name: String,
    /// Where the records in `buffer` were fetched from.
    pub batch_from: Position,
    /// Fetched, not yet emitted, in traversal order.
    pub buffer: VecDeque<LogRecord>,
    /// The latest fetch's frontier (the start position before any fetch).
    pub frontier: Position,
    /// The key of the last record emitted from the current buffer.
    pub emitted_from_buffer: Option<Key>,
    /// The source failed this page; it no longer bounds the merge.
    pub failed: bool,
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
        }
    }

    /// Installs a fetched batch (only ever called with an empty buffer).
    pub fn accept(&mut self, records: Vec<LogRecord>, next: Position) {
        debug_assert!(self.buffer.is_empty());
        self.batch_from = std::mem::replace(&mut self.frontier, next);
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

/// Compares (timestamp, source) pairs in traversal order.
fn cmp_ts_source(a: (i64, &str), b: (i64, &str), order: Order) -> Ordering {
    let ascending = a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1));
    match order {
        Order::Asc => ascending,
        Order::Desc => ascending.reverse(),
    }
}

/// Compares two records of (possibly) different sources in traversal order.
pub fn cmp_global(a: (&str, &LogRecord), b: (&str, &LogRecord), order: Order) -> Ordering {
    let ascending =
        a.1.timestamp_ms
            .cmp(&b.1.timestamp_ms)
            .then_with(|| a.0.cmp(b.0))
            .then_with(|| a.1.native_id.cmp(&b.1.native_id));
    match order {
        Order::Asc => ascending,
        Order::Desc => ascending.reverse(),
    }
}

/// True when a record at `(ts, source)` sorts before everything `bound`'s
/// source may still hold.
fn before_frontier(ts: i64, source: &str, bound: &SourceState, order: Order) -> bool {
    let frontier_ts = match &bound.frontier.resume {
        Resume::Start => return false,
        Resume::Group(ts) => *ts,
        Resume::After(key) => key.timestamp_ms,
    };
    cmp_ts_source((ts, source), (frontier_ts, &bound.name), order) == Ordering::Less
}

/// Moves records into `out` (as `(source index, record)`) until the page
/// holds `limit`, a frontier blocks, or nothing is left.
pub fn merge_step(
    sources: &mut [SourceState],
    order: Order,
    limit: usize,
    out: &mut Vec<(usize, LogRecord)>,
) -> Stop {
    while out.len() < limit {
        let mut best: Option<usize> = None;
        for (i, s) in sources.iter().enumerate() {
            let Some(head) = s.buffer.front() else {
                continue;
            };
            best = match best {
                Some(b) => {
                    let current = sources[b].buffer.front().expect("best has a head");
                    if cmp_global((&s.name, head), (&sources[b].name, current), order)
                        == Ordering::Less
                    {
                        Some(i)
                    } else {
                        Some(b)
                    }
                }
                None => Some(i),
            };
        }
        // Sources with nothing buffered but more to come bound the merge.
        let blocker = |ts: Option<(i64, &str)>| {
            sources.iter().position(|s| {
                s.buffer.is_empty()
                    && s.is_open()
                    && ts.is_none_or(|(ts, name)| {
                        name != s.name && !before_frontier(ts, name, s, order)
                    })
            })
        };
        let Some(b) = best else {
            return match blocker(None) {
                Some(i) => Stop::Blocked(i),
                None => Stop::Exhausted,
            };
        };
        let head = sources[b].buffer.front().expect("best has a head");
        if let Some(i) = blocker(Some((head.timestamp_ms, &sources[b].name))) {
            return Stop::Blocked(i);
        }
        let record = sources[b].buffer.pop_front().expect("best has a head");
        sources[b].emitted_from_buffer = Some(record.key());
        out.push((b, record));
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

    fn state(name: &str, records: &[(i64, &str)], next: Position) -> SourceState {
        let mut s = SourceState::new(name.into(), Position::start());
        s.accept(records.iter().map(|(t, i)| rec(*t, i)).collect(), next);
        s
    }

    fn emitted(out: &[(usize, LogRecord)]) -> Vec<(usize, i64)> {
        out.iter().map(|(i, r)| (*i, r.timestamp_ms)).collect()
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
