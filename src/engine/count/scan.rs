//! Counting one source by reading its records (spec §7): ascending through
//! the adapter ([`Adapter::fetch`], so the split, the cache and the
//! source's limits apply), each record that matches the filters counted
//! into its bucket and group, within the scan budget and the deadline.
//!
//! A window cut at a settled boundary `S` ([`super::Counting`]) is read in
//! two parts. The settled part `[start, S)` with the filters: the same
//! native requests while `S` stays put, kept `settled_ttl`. The fresh part
//! `[S, end)` first *without* filters, one upstream page
//! ([`SHARED_FRESH_WANT`]) and filtered here: that native request is the
//! same for every panel of a dashboard counting this source, whatever its
//! filters, so the panels of one refresh share it (coalesced, or cached
//! within the pin). Only when that page holds the whole fresh part and no
//! unreadable record is it used; else (a busy source) the fresh part is
//! read again with the filters, and the page is one request lost (counted
//! against the scan budget, as read). The filters' meaning is
//! [`Filters::matches`], the reference every pushed filter equals.
//!
//! [`Adapter::fetch`]: loggate_core::Adapter::fetch

use std::sync::Arc;

use loggate_core::http::MIN_SEND_WINDOW;
use loggate_core::{Batch, Filters, Order, Position, SourceQuery};
use tokio::time::Instant;

use super::source::key_of;
use super::{CountMethod, Counting, SourceCount, StatsRequest};
use crate::engine::fresh::SHARED_FRESH_WANT;
use crate::engine::page::FetchLimits;
use crate::engine::{Engine, Source};

/// One source's scan in progress.
struct Scan<'a> {
    source: &'a Source,
    request: &'a StatsRequest,
    limits: FetchLimits,
    /// The count's scan budget (records).
    budget: usize,
    scanned: usize,
    out: SourceCount,
}

impl Scan<'_> {
    /// Counts the records of `batch` that match `filters`.
    fn count(&mut self, batch: &Batch, filters: &Filters) {
        let buckets = self.request.buckets;
        let n = buckets.len();
        for record in batch.records.iter().filter(|r| filters.matches(r)) {
            if let Some(b) = buckets.index(record.timestamp_ms) {
                let service = record.service.as_deref();
                let key = key_of(&self.request.by, self.source, record.level, service);
                self.out.add(key, b, 1, n);
            }
        }
    }

    /// The count, with `position` where the last part stopped and `floor`
    /// the buckets covered before that part (the settled part's, when it
    /// was read whole).
    fn finish(mut self, position: &Position, floor: usize) -> SourceCount {
        let buckets = self.request.buckets;
        self.out.covered = if position.done {
            buckets.len()
        } else {
            position
                .bound_ts()
                .map_or(floor, |ts| buckets.covered_before(ts).max(floor))
        };
        self.out.exact = self.out.skipped == 0;
        self.out
    }
}

impl Engine {
    /// Reads the window ascending and counts it (see the module docs).
    pub(super) async fn count_by_scan(
        &self,
        source: &Source,
        base: &Filters,
        request: &StatsRequest,
        counting: Counting,
    ) -> SourceCount {
        let mut scan = Scan {
            source,
            request,
            limits: FetchLimits {
                deadline: counting.deadline,
                no_cache: counting.no_cache,
                window_cap: Some(counting.pin),
            },
            budget: self.count_scan_budget(),
            scanned: 0,
            out: SourceCount::new(source.kind, CountMethod::Scan),
        };
        if base.is_unsatisfiable() {
            scan.out.covered = request.buckets.len();
            return scan.out;
        }
        let Some(settled) = counting.settled_until else {
            let position = self.scan_part(&mut scan, base).await;
            return scan.finish(&position, 0);
        };
        let mut part = base.clone();
        part.end = Some(settled - 1);
        let position = self.scan_part(&mut scan, &part).await;
        if !position.done {
            return scan.finish(&position, 0);
        }
        let floor = request.buckets.covered_before(settled);
        if let Some(position) = self.shared_fresh_part(&mut scan, base, settled).await {
            return scan.finish(&position, floor);
        }
        let mut part = base.clone();
        part.start = Some(settled);
        let position = self.scan_part(&mut scan, &part).await;
        scan.finish(&position, floor)
    }

    /// Reads `filters`' window from its start until done, the budget is
    /// spent, the deadline nears or a fetch fails; where it stopped.
    async fn scan_part(&self, scan: &mut Scan<'_>, filters: &Filters) -> Position {
        let query = Arc::new(SourceQuery {
            filters: filters.clone(),
            order: Order::Asc,
            include_raw: false,
        });
        let budget = scan.budget;
        let mut position = Position::start();
        loop {
            if Instant::now() + MIN_SEND_WINDOW >= scan.limits.deadline {
                scan.out.reason = Some("the request deadline passed".into());
                break;
            }
            if scan.scanned >= budget {
                scan.out.reason = Some(format!(
                    "the count's scan budget of {budget} upstream records ran out"
                ));
                break;
            }
            let left = budget - scan.scanned;
            let fetched = self
                .fetch_one(
                    scan.source,
                    position.clone(),
                    &query,
                    left,
                    left,
                    scan.limits,
                )
                .await;
            scan.out.upstream_requests += fetched.ctx.requests();
            let batch = match fetched.result {
                Ok(batch) => batch.force(|reason| fetched.ctx.note_skipped(&reason)),
                Err(error) => {
                    scan.out.fail(error);
                    break;
                }
            };
            scan.scanned += batch.scanned;
            scan.out.skipped += batch.skipped;
            scan.count(&batch, filters);
            position = batch.frontier;
            if position.done {
                break;
            }
        }
        position
    }

    /// The fresh part `[settled, end]` read once without filters and
    /// counted with `base`'s: `Some` where the count stopped (done, or
    /// failed), `None` when that page did not hold the whole part cleanly
    /// (the caller reads it again with the filters).
    async fn shared_fresh_part(
        &self,
        scan: &mut Scan<'_>,
        base: &Filters,
        settled: i64,
    ) -> Option<Position> {
        let left = scan.budget.saturating_sub(scan.scanned);
        if left < SHARED_FRESH_WANT || Instant::now() + MIN_SEND_WINDOW >= scan.limits.deadline {
            return None;
        }
        let query = Arc::new(SourceQuery {
            filters: Filters {
                start: Some(settled),
                end: base.end,
                ..Filters::default()
            },
            order: Order::Asc,
            include_raw: false,
        });
        let want = SHARED_FRESH_WANT;
        let fetched = self
            .fetch_one(
                scan.source,
                Position::start(),
                &query,
                want,
                want,
                scan.limits,
            )
            .await;
        scan.out.upstream_requests += fetched.ctx.requests();
        match fetched.result {
            Err(error) => {
                scan.out.fail(error);
                Some(Position::start())
            }
            Ok(batch) => {
                let batch = batch.force(|reason| fetched.ctx.note_skipped(&reason));
                scan.scanned += batch.scanned;
                if !batch.frontier.done || batch.skipped > 0 {
                    return None;
                }
                scan.count(&batch, base);
                Some(batch.frontier)
            }
        }
    }
}
