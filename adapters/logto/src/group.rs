//! Reading one tie group whole: every row sharing a timestamp, as one
//! consistent set, when no single page can hold it.
//!
//! Logto reshuffles equal timestamps on every request, so paging over a
//! group may repeat some rows and miss others. The group is paged over
//! again and again until as many distinct ids are in hand as the group has
//! rows: with the time filter its size is the `Total-Number` of the window
//! `[ts, ts]`; without, the distance from its first row to the first row
//! past it. On a database with a stable order (the usual case) one pass
//! suffices.

use std::collections::BTreeMap;

use loggate_core::{LogRecord, Order, SourceError};

use crate::scan::{Mode, Scan};
use crate::translate::NativeQuery;
use crate::window::{read_window, ScanError};
use crate::wire::MAX_PAGE_SIZE;

/// Requests per page of a group a group read may take before giving up.
const GROUP_REQUESTS_PER_PAGE: u64 = 12;

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
        // With a time filter the group is a result of its own: [ts, ts].
        let (group_query, order, mut first, mut group_total) = match self.mode {
            Mode::Time => {
                let mut q = self.base.clone();
                (q.start_time, q.end_time) = (Some(ts), Some(ts));
                (q, Order::Desc, 0, None)
            }
            Mode::Offset => (query.clone(), self.order, first_pos, total),
        };
        let mut seen: BTreeMap<String, LogRecord> = BTreeMap::new();
        let mut len: Option<u64> = None;
        let mut cursor = first.checked_sub(1);
        let mut requests = 0;
        // A pass over a group of n pages finds each row with chance 1/n per
        // request when ties are reshuffled: allow a dozen passes.
        while requests
            < GROUP_REQUESTS_PER_PAGE
                * (1 + len.unwrap_or(seen.len() as u64).div_ceil(MAX_PAGE_SIZE))
        {
            requests += 1;
            let window = read_window(
                self.reader,
                &group_query,
                order,
                cursor,
                MAX_PAGE_SIZE,
                group_total,
            )
            .await?;
            *scanned += window.scanned as usize;
            if self.mode == Mode::Offset && order == Order::Desc {
                // New rows at the head push every offset down.
                if let (Some(old), Some(new)) = (group_total, window.total) {
                    first = (first + new).saturating_sub(old);
                }
            }
            group_total = window.total.or(group_total);
            if self.mode == Mode::Time {
                // The group is the whole result: its size is the total.
                len = group_total.or(len);
            }
            for (pos, record) in window.rows {
                if record.timestamp_ms == ts {
                    seen.insert(record.native_id.clone(), record);
                } else if len.is_none() && pos >= first && !self.before(record.timestamp_ms, ts) {
                    len = Some(pos - first);
                }
            }
            if len.is_none() && window.at_end {
                len = window.last_pos.map(|last| (last + 1).saturating_sub(first));
            }
            if let Some(n) = len.filter(|n| seen.len() as u64 >= *n) {
                let records = seen.into_values().collect();
                return Ok(match self.mode {
                    Mode::Time => (records, first_pos + n.max(1) - 1, total),
                    Mode::Offset => (records, first + n.max(1) - 1, group_total),
                });
            }
            let last = window.last_pos.unwrap_or(first);
            cursor = match len {
                // A full pass done but ids missing: go over the group again.
                Some(n) if last + 1 >= first + n => first.checked_sub(1),
                _ => Some(last),
            };
        }
        Err(SourceError::Upstream {
            status: 200,
            message: format!("could not read the logs stamped {ts} as one consistent set"),
            retry_after: None,
        }
        .into())
    }
}
