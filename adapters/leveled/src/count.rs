//! Exact counts from `pagination.total` (spec §7): one `GET /logs` with
//! `limit=1` per filtered window.

use loggate_core::count::only_exact;
use loggate_core::{CallContext, FetchRequest, Filters, Order, Position, SourceError, SourceQuery};

use crate::adapter::LeveledAdapter;
use crate::translate::{pushed_level, Window};

/// Filters the native query evaluates exactly: the window (inclusive
/// `startDate`/`endDate`, widened to whole milliseconds, which is exact at
/// loggate's millisecond resolution) and `service`; a level only when it
/// reduces to one natively exact level ([`crate::translate::PUSHABLE_LEVELS`]).
/// `search` is never exact (an ASCII-only superset of `q`).
pub(crate) fn counts_exactly(filters: &Filters) -> bool {
    let mut exact = vec!["start", "end", "service"];
    if pushed_level(filters).is_some() {
        exact.extend(["level", "min_level"]);
    }
    only_exact(filters, &exact)
}

impl LeveledAdapter {
    /// `pagination.total` of the filtered window, asked with `limit=1`.
    pub(crate) async fn count_total(
        &self,
        filters: &Filters,
        ctx: &CallContext,
    ) -> Result<Option<u64>, SourceError> {
        let query = SourceQuery {
            filters: filters.clone(),
            order: Order::Desc,
            include_raw: false,
        };
        let position = Position::start();
        let request = FetchRequest {
            query: &query,
            position: &position,
            want: 1,
            budget: 1,
            ctx,
        };
        let window = Window {
            start: filters.start,
            end: filters.end,
        };
        let page = self.page(&request, window, 0, 1, false).await?;
        Ok(Some(page.total))
    }
}
