//! The whole-window total a count starts with (spec §7): it tells whether
//! anything matches (all zero then, at no further cost) and, for `auto`,
//! what a scan would cost ([`super::choose`]).
//!
//! A window reaching into the last `freshness_horizon` (Grafana's "last
//! 1 h") ends after now, so its exact total is a new native request at
//! every pin. For `auto` with the cache on, the total of the settled part
//! `[start, S)` ([`super::Counting::settled_until`]) is asked instead:
//! that request stays the same while `S` does and is kept `settled_ttl`.
//! When it is not zero, the window's total is estimated from it by time
//! (`n × (end − start) / (S − start)`, rounded up): the estimate only
//! weighs the methods against each other, and a positive part implies a
//! positive whole, so nothing is counted from it. When it is zero the
//! exact total is asked as before (an all-zero answer must be exact).

use std::time::Duration;

use loggate_core::{Filters, SourceError};
use tokio::time::Instant;

use super::{Counting, StatsRequest};
use crate::engine::{Engine, Source};

/// What a count's first total brought back.
pub(super) struct Probe {
    /// `None`: the provider's answer carried no total.
    pub result: Result<Option<u64>, SourceError>,
    /// Upstream requests sent (cache hits send none).
    pub requests: u32,
    /// How long the last total took (weighs the concurrency cap).
    pub latency: Duration,
}

impl Engine {
    /// The window's total, or for `auto` an estimate from its settled part
    /// (see the module docs); `base` is the whole window's filters.
    pub(super) async fn probe(
        &self,
        source: &Source,
        base: &Filters,
        request: &StatsRequest,
        counting: Counting,
    ) -> Probe {
        let mut requests = 0;
        if let (None, Some(settled)) = (request.method, counting.settled_until) {
            let mut part = base.clone();
            part.end = Some(settled - 1);
            let asked = Instant::now();
            let total = self.count_total(source, &part, counting).await;
            requests += total.requests;
            match total.result {
                Ok(Some(0)) => {}
                Ok(Some(n)) => {
                    let (start, end) = (request.buckets.start, request.buckets.end);
                    return Probe {
                        result: Ok(Some(extrapolate(n, start, settled, end))),
                        requests,
                        latency: asked.elapsed(),
                    };
                }
                other => {
                    return Probe {
                        result: other,
                        requests,
                        latency: asked.elapsed(),
                    }
                }
            }
        }
        let asked = Instant::now();
        let total = self.count_total(source, base, counting).await;
        Probe {
            result: total.result,
            requests: requests + total.requests,
            latency: asked.elapsed(),
        }
    }
}

/// `n` records in `[start, settled)` scaled to `[start, end)` by time,
/// rounded up (all epoch ms, `start < settled < end`).
fn extrapolate(n: u64, start: i64, settled: i64, end: i64) -> u64 {
    let part = (settled - start).max(1) as u128;
    let whole = (end - start).max(1) as u128;
    (u128::from(n) * whole)
        .div_ceil(part)
        .min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::extrapolate;

    #[test]
    fn the_estimate_scales_the_settled_part_by_time() {
        // 50 records in 50 of 60 minutes: 60.
        assert_eq!(extrapolate(50, 0, 50, 60), 60);
        // Rounded up, never below the part.
        assert_eq!(extrapolate(1, 0, 59, 60), 2);
        assert_eq!(extrapolate(7, 10, 20, 20), 7);
        assert_eq!(extrapolate(u64::MAX, 0, 1, 1_000), u64::MAX);
    }
}
