//! One fetch: exactly-once traversal over an API that orders by time only.
//!
//! Logto returns equal timestamps in any order, afresh on every request,
//! so a page boundary inside a tie group is unstable. The scan therefore
//! only ever emits whole groups: in a window, every group but the last is
//! complete (the last is too when the window reaches the result's end).
//! A group too large for any window is read by [`Scan::collect_group`],
//! which pages over it until it holds as many distinct ids as the group
//! has rows. Progress is the keyset bound `b`: every timestamp before `b`
//! in traversal order is done, none at `b` is.
//!
//! - Time filter in use: each window is read at the start of the result
//!   bounded by `b` (`desc`: `end_time = b`, page 1; `asc`: `start_time = b`,
//!   the last page, found from `Total-Number`), so every page costs the same
//!   whatever the depth.
//! - No time filter: windows follow an anchor, the position of a row known
//!   to be done. A window must start at or before it, and its first row must
//!   be done; otherwise the anchor (only a hint) is backed up.

use loggate_core::position::ts_cmp_in_order;
use loggate_core::query::Filters;
use loggate_core::record::sort_records;
use loggate_core::{Batch, LogRecord, Order, Position, SourceError};

use crate::translate::NativeQuery;
use crate::window::{read_window, PageReader, ScanError, Window};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `start_time`/`end_time` are honoured: keyset paging.
    Time,
    /// Offset paging over the whole (filtered) result.
    Offset,
}

pub struct Scan<'a> {
    pub reader: &'a dyn PageReader,
    pub filters: &'a Filters,
    pub base: NativeQuery,
    pub order: Order,
    pub position: &'a Position,
    pub want: usize,
    pub budget: usize,
    pub mode: Mode,
    pub page_size: u64,
}

/// Where the scan stands.
#[derive(Default)]
struct Progress {
    out: Vec<LogRecord>,
    scanned: usize,
    /// Every timestamp before it in traversal order is done; none at it.
    bound: Option<i64>,
    /// Offset mode: position of a done row before `bound`.
    anchor: Option<u64>,
    /// `asc` only: the expected total of the next window's result.
    total: Option<u64>,
    /// Time mode: a window held rows before the bound, so the server
    /// treats the (widened) bounds as inclusive (v1.42+): the next
    /// window's result still holds the group just emitted.
    inclusive: bool,
}

impl Scan<'_> {
    pub async fn run(self) -> Result<Batch, ScanError> {
        let mut p = Progress {
            bound: self.position.bound_ts(),
            ..Progress::default()
        };
        match self.mode {
            Mode::Offset => (p.anchor, p.total) = unpack_hint(self.position.hint),
            Mode::Time => p.total = self.position.hint,
        }
        let mut backups = 0;
        loop {
            let query = self.window_query(p.bound);
            if query
                .start_time
                .zip(query.end_time)
                .is_some_and(|(s, e)| s > e)
            {
                return Ok(self.finish(p));
            }
            let window = read_window(
                self.reader,
                &query,
                self.order,
                p.anchor,
                self.page_size,
                p.total,
            )
            .await?;
            p.scanned += window.scanned as usize;
            if self.mode == Mode::Offset {
                p.total = window.total.or(p.total);
            }
            if !window.at_start && !self.starts_done(&window, p.bound) {
                // The anchor (only a hint) was wrong: back up towards the start.
                backups += 1;
                if backups > 64 {
                    return Err(SourceError::Decode(
                        "could not find where to resume in the result".into(),
                    )
                    .into());
                }
                p.anchor = p.anchor.and_then(|a| (a >= 2).then_some(a / 2));
                continue;
            }
            if let Some(batch) = self.consume(&mut p, &query, window).await? {
                return Ok(batch);
            }
            if p.scanned >= self.budget {
                return Ok(self.frontier(p));
            }
        }
    }

    /// The native query of a window under `bound`.
    fn window_query(&self, bound: Option<i64>) -> NativeQuery {
        let mut query = self.base.clone();
        if self.mode == Mode::Time {
            let (mut start, mut end) = (self.filters.start, self.filters.end);
            match (self.order, bound) {
                (Order::Desc, Some(b)) => end = Some(end.map_or(b, |e| e.min(b))),
                (Order::Asc, Some(b)) => start = Some(start.map_or(b, |s| s.max(b))),
                (_, None) => {}
            }
            query.start_time = start;
            query.end_time = end;
        }
        query
    }

    /// The window's first row is strictly before the bound: done.
    fn starts_done(&self, window: &Window, bound: Option<i64>) -> bool {
        match (window.rows.first(), bound) {
            (Some((_, first)), Some(b)) => self.before(first.timestamp_ms, b),
            _ => false,
        }
    }

    pub(crate) fn before(&self, ts: i64, bound: i64) -> bool {
        ts_cmp_in_order(ts, bound, self.order) == std::cmp::Ordering::Less
    }

    fn next_ts(&self, ts: i64) -> i64 {
        match self.order {
            Order::Desc => ts.saturating_sub(1),
            Order::Asc => ts.saturating_add(1),
        }
    }

    /// Emits the window's complete groups; `Some` when the fetch is over.
    async fn consume(
        &self,
        p: &mut Progress,
        query: &NativeQuery,
        window: Window,
    ) -> Result<Option<Batch>, ScanError> {
        let groups = split_groups(window.rows);
        let complete = if window.at_end {
            groups.len()
        } else {
            groups.len().saturating_sub(1)
        };
        let mut progressed = false;
        for group in &groups[..complete] {
            let (first_pos, last_pos) = (group[0].0, group[group.len() - 1].0);
            if p.bound
                .is_some_and(|b| self.before(group[0].1.timestamp_ms, b))
            {
                p.inclusive |= self.mode == Mode::Time;
                continue;
            }
            progressed = true;
            let records = group.iter().map(|(_, r)| r.clone()).collect();
            let ts = group[0].1.timestamp_ms;
            if let Some(batch) =
                self.emit_group(p, ts, records, (first_pos, last_pos), window.total)
            {
                return Ok(Some(batch));
            }
        }
        if window.at_end {
            return Ok(Some(self.finish(std::mem::take(p))));
        }
        match groups.last() {
            None => {
                return Err(
                    SourceError::Decode("a whole page of unreadable log entries".into()).into(),
                );
            }
            Some(last)
                if p.bound
                    .is_some_and(|b| self.before(last[0].1.timestamp_ms, b)) =>
            {
                // Everything read was done already: move on past it.
                p.anchor = window.last_pos;
            }
            Some(last) if !progressed => {
                let (ts, first_pos) = (last[0].1.timestamp_ms, last[0].0);
                let (records, last_pos, total) = self
                    .collect_group(&mut p.scanned, query, ts, first_pos, window.total)
                    .await?;
                if let Some(batch) = self.emit_group(p, ts, records, (first_pos, last_pos), total) {
                    return Ok(Some(batch));
                }
            }
            Some(_) => {}
        }
        Ok(None)
    }

    /// Emits one whole group whose rows sit at `first_pos..=last_pos` of a
    /// result of `total` rows; `Some` when `want` is reached.
    fn emit_group(
        &self,
        p: &mut Progress,
        ts: i64,
        mut records: Vec<LogRecord>,
        (first_pos, last_pos): (u64, u64),
        total: Option<u64>,
    ) -> Option<Batch> {
        sort_records(&mut records, self.order);
        for record in records {
            if !self.position.covers_record(&record, self.order) && self.filters.matches(&record) {
                p.out.push(record);
            }
        }
        p.bound = Some(self.next_ts(ts));
        match self.mode {
            Mode::Offset => p.anchor = Some(last_pos),
            // The next window's result starts after this group (with it,
            // on a server whose widened bounds are inclusive).
            Mode::Time => {
                let before = if p.inclusive { first_pos } else { last_pos + 1 };
                p.total = total.map(|t| t.saturating_sub(before));
            }
        }
        if p.out.len() < self.want {
            return None;
        }
        if p.out.len() == self.want {
            return Some(self.frontier(std::mem::take(p)));
        }
        // Cut inside the group: resume by key, re-reading the group whole.
        p.out.truncate(self.want);
        let last = p.out.last()?.key();
        let hint = match (self.mode, self.order) {
            (Mode::Offset, Order::Desc) => first_pos.checked_sub(1),
            (Mode::Offset, Order::Asc) => pack_hint(first_pos.checked_sub(1), total),
            (Mode::Time, Order::Desc) => None,
            (Mode::Time, Order::Asc) => total.map(|t| t.saturating_sub(first_pos)),
        };
        Some(Batch {
            records: std::mem::take(&mut p.out),
            frontier: Position::after(last, hint),
            scanned: p.scanned,
            ..Batch::default()
        })
    }

    fn frontier(&self, p: Progress) -> Batch {
        let next = match p.bound {
            None => self.position.clone(),
            Some(b) => {
                let hint = match (self.mode, self.order) {
                    (Mode::Offset, Order::Desc) => p.anchor,
                    (Mode::Offset, Order::Asc) => pack_hint(p.anchor, p.total),
                    (Mode::Time, Order::Asc) => p.total,
                    (Mode::Time, Order::Desc) => None,
                };
                Position::group(b, hint)
            }
        };
        Batch {
            records: p.out,
            frontier: next,
            scanned: p.scanned,
            ..Batch::default()
        }
    }

    fn finish(&self, p: Progress) -> Batch {
        Batch {
            records: p.out,
            frontier: Position::finished(),
            scanned: p.scanned,
            ..Batch::default()
        }
    }
}

/// Offset mode, `asc`: the hint carries the anchor (low 32 bits) and the
/// result's total (high 32 bits), saving the request that learns the
/// total. Both are checked against the answers, never trusted.
fn pack_hint(anchor: Option<u64>, total: Option<u64>) -> Option<u64> {
    match (anchor, total) {
        (Some(a), Some(t)) if a < u64::from(u32::MAX) && t > 0 && t < u64::from(u32::MAX) => {
            Some(t << 32 | a)
        }
        (anchor, _) => anchor,
    }
}

/// The anchor and total of a hint written by [`pack_hint`] (or a plain
/// anchor).
fn unpack_hint(hint: Option<u64>) -> (Option<u64>, Option<u64>) {
    match hint {
        Some(h) if h >> 32 > 0 => (Some(h & u64::from(u32::MAX)), Some(h >> 32)),
        other => (other, None),
    }
}

/// Splits rows (sorted by timestamp in traversal order) into runs of equal
/// timestamps.
fn split_groups(rows: Vec<(u64, LogRecord)>) -> Vec<Vec<(u64, LogRecord)>> {
    let mut groups: Vec<Vec<(u64, LogRecord)>> = Vec::new();
    for row in rows {
        match groups.last_mut() {
            Some(group) if group[0].1.timestamp_ms == row.1.timestamp_ms => group.push(row),
            _ => groups.push(vec![row]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use loggate_core::Level;

    fn record(ts: i64, id: &str) -> LogRecord {
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

    #[test]
    fn hints_pack_anchor_and_total_and_fall_back_to_the_anchor() {
        assert_eq!(
            unpack_hint(pack_hint(Some(7), Some(300))),
            (Some(7), Some(300))
        );
        assert_eq!(unpack_hint(pack_hint(Some(0), Some(1))), (Some(0), Some(1)));
        assert_eq!(unpack_hint(pack_hint(Some(7), None)), (Some(7), None));
        assert_eq!(unpack_hint(pack_hint(None, Some(9))), (None, None));
        assert_eq!(unpack_hint(Some(42)), (Some(42), None));
    }

    #[test]
    fn groups_split_on_timestamp_changes_only() {
        let rows = vec![
            (0, record(5, "b")),
            (1, record(5, "a")),
            (2, record(4, "c")),
            (3, record(5, "d")),
        ];
        let groups = split_groups(rows);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 1, 1]);
    }
}
