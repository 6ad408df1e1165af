//! `auto`'s choice between total-count pushdown and a scan (spec §7),
//! made once the window's total is known: the method expected to cover
//! more of the window before the deadline, and of two that cover as much,
//! the one that sends fewer upstream requests.
//!
//! What a method covers: pushdown sends one request per bucket × group,
//! so it covers `capacity / cells` of the window; a scan reads
//! `⌈total / 100⌉` pages and at most the scan budget's records, so it
//! covers `min(capacity / pages, budget / total)`. `capacity` is how many
//! requests the source can still send before the deadline: the free slots
//! of its outbound rate limit ([`SourceGate::slots_before`]) and, at the
//! latency the window's total took, what its concurrency cap lets through.
//!
//! [`SourceGate::slots_before`]: crate::gate::SourceGate::slots_before

use std::time::Duration;

use loggate_core::http::MIN_SEND_WINDOW;
use tokio::time::Instant;

use super::CountMethod;
use crate::engine::Source;

/// Total-count requests one source has in flight at once (its concurrency
/// cap may lower it).
pub(super) const PUSHDOWN_CONCURRENCY: usize = 4;

/// Records one upstream page holds, for comparing a scan's cost with
/// pushdown's (the providers' largest page is 100).
pub(super) const PAGE_RECORDS: u64 = 100;

/// What the choice weighs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Weights {
    /// Records matching over the whole window (the provider's total).
    pub total: u64,
    /// Pushdown's requests: buckets × groups.
    pub cells: usize,
    /// Records a counting scan may read.
    pub scan_budget: usize,
    /// Requests the source can send before the deadline.
    pub capacity: u64,
}

impl Weights {
    /// The part of the window pushdown is expected to cover, in `[0, 1]`.
    fn pushdown_cover(&self) -> f64 {
        ratio(self.capacity, self.cells as u64)
    }

    /// The part of the window a scan is expected to cover, in `[0, 1]`.
    fn scan_cover(&self) -> f64 {
        let pages = self.total.div_ceil(PAGE_RECORDS);
        ratio(self.capacity, pages).min(ratio(self.scan_budget as u64, self.total))
    }
}

/// `part / whole`, at most 1 (1 when `whole` is 0).
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        1.0
    } else {
        (part as f64 / whole as f64).min(1.0)
    }
}

/// Whether to count by totals: when asked to, when nothing matches, when
/// pushdown is expected to cover more of the window than a scan, or as
/// much for no more requests.
pub(super) fn prefers_pushdown(method: Option<CountMethod>, w: Weights) -> bool {
    if method == Some(CountMethod::Pushdown) || w.total == 0 {
        return true;
    }
    let (push, scan) = (w.pushdown_cover(), w.scan_cover());
    if push != scan {
        return push > scan;
    }
    w.cells as u64 <= w.total.div_ceil(PAGE_RECORDS)
}

/// Requests `source` can still send before `deadline`: its rate limit's
/// free slots, and `lanes × time left / latency` for its concurrency cap
/// (`latency`: what one total took). Unbounded without a gate.
pub(super) fn capacity(source: &Source, deadline: Instant, latency: Duration) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now() + MIN_SEND_WINDOW);
    let lanes = source
        .gate
        .as_ref()
        .map_or(PUSHDOWN_CONCURRENCY, |g| g.max_concurrency())
        .min(PUSHDOWN_CONCURRENCY) as u64;
    let latency = latency.max(Duration::from_millis(1));
    let by_concurrency = lanes.saturating_mul((left.as_nanos() / latency.as_nanos()) as u64);
    let by_rate = source
        .gate
        .as_ref()
        .map_or(u64::MAX, |g| g.slots_before(deadline));
    by_concurrency.min(by_rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(total: u64, cells: usize, capacity: u64) -> Weights {
        Weights {
            total,
            cells,
            scan_budget: 1_000,
            capacity,
        }
    }

    #[test]
    fn with_room_the_cheaper_method_wins() {
        let auto = None;
        // 500 records = 5 pages against 24 totals: scan.
        assert!(!prefers_pushdown(auto, w(500, 24, u64::MAX)));
        // 10,000 records = 100 pages against 24 totals: pushdown.
        assert!(prefers_pushdown(auto, w(10_000, 24, u64::MAX)));
        // Over the scan budget, pushdown covers more whatever it costs.
        assert!(prefers_pushdown(auto, w(2_000, 288, u64::MAX)));
        assert!(prefers_pushdown(auto, w(0, 288, 0)), "nothing to count");
        assert!(prefers_pushdown(Some(CountMethod::Pushdown), w(5, 288, 0)));
    }

    #[test]
    fn a_tight_rate_limit_turns_auto_to_what_covers_more() {
        let auto = None;
        // 2,000 records, budget 1,000: a scan covers half the window in 10
        // pages; 288 totals with room for 30 cover a tenth of it.
        assert!(!prefers_pushdown(auto, w(2_000, 288, 30)));
        // With room for 200 totals pushdown covers more (0.69 > 0.5).
        assert!(prefers_pushdown(auto, w(2_000, 288, 200)));
        // 100,000 records = 1,000 pages against 288 totals: pushdown
        // covers more of the window at any capacity.
        assert!(prefers_pushdown(auto, w(100_000, 288, 20)));
    }
}
