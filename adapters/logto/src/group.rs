//! Reading one tie group whole: every row sharing a timestamp, as one
//! consistent set, when no single page can hold it.
//!
//! Logto reshuffles equal timestamps on every request, so paging over a
//! group may repeat some rows and miss others. The group is read by the
//! shared sweep of [`loggate_core::group`] (unique ids: until as many
//! distinct ids are in hand as the group has rows) over the result the
//! scan is reading, time-bounded or not: the group is the run of rows from
//! its first row's position to the first row past it (or the result's
//! end). A `[ts, ts]` window of its own is not used: the time bounds are
//! pushed widened by 1 ms (Logto v1.40–v1.41 treat them as exclusive), so
//! on v1.42+ such a window holds the neighbouring groups too.

use async_trait::async_trait;
use loggate_core::group::{sweep_group, GroupPage, GroupReader, Identity};
use loggate_core::{LogRecord, Order, SourceError};

use crate::scan::Scan;
use crate::translate::NativeQuery;
use crate::window::{read_window, ScanError};
use crate::wire::MAX_PAGE_SIZE;

impl Scan<'_> {
    /// Reads the whole group at `ts`, whose first row sits at `first_pos`
    /// of the current result of `total` rows, as one consistent set.
    /// Returns its rows, the position of its last row and the total.
    pub(crate) async fn collect_group(
        &self,
        scanned: &mut usize,
        query: &NativeQuery,
        ts: i64,
        first_pos: u64,
        total: Option<u64>,
    ) -> Result<(Vec<LogRecord>, u64, Option<u64>), ScanError> {
        let mut rows = GroupRows {
            scan: self,
            query,
            ts,
            first: first_pos,
            total,
            len: None,
            ignored: false,
        };
        // Live reads only: Logto reshuffles a group on every request, and
        // a stored page would repeat one order forever.
        let _live = self.reader.live_reads();
        let swept = sweep_group(&mut rows, ts, Identity::Unique, MAX_PAGE_SIZE).await;
        if rows.ignored {
            return Err(ScanError::TimeFilterIgnored);
        }
        let swept = swept?;
        *scanned += swept.scanned;
        let last = rows.first + rows.len.unwrap_or(1).max(1) - 1;
        Ok((swept.records, last, rows.total))
    }
}

/// The group's rows within the scan's result, read by position.
struct GroupRows<'s, 'a> {
    scan: &'s Scan<'a>,
    query: &'s NativeQuery,
    ts: i64,
    /// Position of the group's first row (new rows at the head of a `desc`
    /// result move it).
    first: u64,
    total: Option<u64>,
    /// Rows in the group, once a row past it or the result's end was seen.
    len: Option<u64>,
    /// The server turned out to ignore the time bounds.
    ignored: bool,
}

#[async_trait]
impl GroupReader for GroupRows<'_, '_> {
    async fn read(&mut self, from: u64) -> Result<GroupPage, SourceError> {
        let start = self.first + from;
        let order = self.scan.order;
        let window = match read_window(
            self.scan.reader,
            self.query,
            order,
            start.checked_sub(1),
            MAX_PAGE_SIZE,
            self.total,
        )
        .await
        {
            Ok(window) => window,
            Err(ScanError::Source(e)) => return Err(e),
            Err(ScanError::TimeFilterIgnored) => {
                self.ignored = true;
                return Err(SourceError::Decode(
                    "the server ignores the time bounds".into(),
                ));
            }
        };
        if order == Order::Desc {
            // New rows at the head push every offset down.
            if let (Some(old), Some(new)) = (self.total, window.total) {
                self.first = (self.first + new).saturating_sub(old);
            }
        }
        self.total = window.total.or(self.total);
        let (first, ts) = (self.first, self.ts);
        let mut records = Vec::new();
        for (pos, record) in window.rows {
            if record.timestamp_ms == ts {
                if pos >= first && self.len.is_none_or(|n| pos < first + n) {
                    records.push(record);
                }
            } else if self.len.is_none()
                && pos >= first
                && !self.scan.before(record.timestamp_ms, ts)
            {
                self.len = Some(pos - first);
            }
        }
        if self.len.is_none() && window.at_end {
            self.len = window.last_pos.map(|last| (last + 1).saturating_sub(first));
        }
        let start = first + from;
        let reached = window.last_pos.map_or(start, |last| last + 1);
        let reached = self.len.map_or(reached, |n| reached.min(first + n));
        let covered = reached.saturating_sub(start);
        Ok(GroupPage {
            records,
            unreadable: Vec::new(),
            covered,
            returned: window.scanned,
            group_len: self.len,
            end: self.len.is_some_and(|n| start + covered >= first + n),
        })
    }
}
