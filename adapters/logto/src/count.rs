//! Exact counts from `Total-Number` (spec §7): one `GET /api/logs` with
//! `page_size=1` per filtered window.
//!
//! Fetching widens the window by 1 ms on each side, right on every server
//! generation because the scan re-checks rows; a total cannot be
//! re-checked, so counting first learns how the server reads the bounds
//! (`../shared/providers/README.md`): one request with equal bounds
//! `start_time = end_time = 1` is `400 log.invalid_time_window` on
//! v1.40–v1.41 (exclusive bounds); elsewhere it answers the rows of that
//! millisecond, which are none on a server that honours the bounds (v1.42+,
//! inclusive) and every row on one that ignores them (before v1.40), told
//! apart with the unbounded total. A server that ignores the bounds cannot
//! count a window: the engine scans. The verdict is kept for the adapter's
//! life (not while the log is empty, when no answer tells).

use std::sync::atomic::Ordering;

use loggate_core::count::only_exact;
use loggate_core::{CallContext, Filters, SourceError};

use crate::adapter::LogtoAdapter;
use crate::translate::{self, NativeQuery};

/// How the server reads `start_time`/`end_time`, as counting found out.
pub(crate) const BOUNDS_UNKNOWN: u8 = 0;
pub(crate) const BOUNDS_INCLUSIVE: u8 = 1;
pub(crate) const BOUNDS_EXCLUSIVE: u8 = 2;
pub(crate) const BOUNDS_IGNORED: u8 = 3;

/// The window and the exact native filters (`userId`, `applicationId`,
/// `logKey`, compared exactly by Logto). The level (`payload.result`) has
/// no native filter.
pub(crate) fn counts_exactly(filters: &Filters, time_filter: bool) -> bool {
    time_filter
        && only_exact(
            filters,
            &["start", "end", "user_id", "attr.applicationId", "attr.key"],
        )
}

impl LogtoAdapter {
    /// `Total-Number` of the filtered window; `None` when the server
    /// ignores the time bounds.
    pub(crate) async fn count_total(
        &self,
        filters: &Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        let (Some(start), Some(end)) = (filters.start, filters.end) else {
            return Ok(None);
        };
        // `NativeQuery` sends `start_time - 1` and `end_time + 1`.
        let (start_time, end_time) = match self.bounds(ctx).await? {
            BOUNDS_EXCLUSIVE => (start, end),
            BOUNDS_INCLUSIVE => (start + 1, end - 1),
            _ => return Ok(None),
        };
        let query = NativeQuery {
            filters: translate::filter_params(filters),
            start_time: Some(start_time),
            end_time: Some(end_time),
        };
        self.total_of(ctx, &query).await
    }

    async fn total_of(
        &self,
        ctx: &CallContext,
        query: &NativeQuery,
    ) -> Result<Option<u64>, SourceError> {
        Ok(self.get_page(ctx, query, 1, 1, false).await?.total)
    }

    /// How the server reads the bounds: learnt once (see the module docs).
    async fn bounds(&self, ctx: &CallContext) -> Result<u8, SourceError> {
        let known = self.count_bounds.load(Ordering::Relaxed);
        if known != BOUNDS_UNKNOWN {
            return Ok(known);
        }
        // Sent as start_time = end_time = 1.
        let probe = NativeQuery {
            filters: Vec::new(),
            start_time: Some(2),
            end_time: Some(0),
        };
        let in_probe = match self.total_of(ctx, &probe).await {
            Err(SourceError::Rejected {
                status: 400,
                message,
            }) if message.contains("log.invalid_time_window") => {
                self.count_bounds.store(BOUNDS_EXCLUSIVE, Ordering::Relaxed);
                return Ok(BOUNDS_EXCLUSIVE);
            }
            other => other?,
        };
        let Some(in_probe) = in_probe else {
            return Ok(BOUNDS_UNKNOWN);
        };
        let verdict = if in_probe > 0 {
            BOUNDS_IGNORED
        } else {
            match self.total_of(ctx, &NativeQuery::default()).await? {
                Some(all) if all > 0 => BOUNDS_INCLUSIVE,
                // An empty log: every window counts 0 either way.
                _ => return Ok(BOUNDS_INCLUSIVE),
            }
        };
        self.count_bounds.store(verdict, Ordering::Relaxed);
        Ok(verdict)
    }
}
