//! One total-count request of one source (spec §7), handled like a page's
//! fetch: through the source's circuit breaker (an open circuit skips it
//! without a request, and its failures count towards opening it), recorded
//! in the source's health (`/sources`) and the metrics
//! (`loggate_upstream_requests_total` and its kin), and through the
//! upstream answer cache (spec §9) for the window it counts (its end
//! capped at the count's pin: [`super::Counting::pin`]), so that a settled
//! bucket's total is asked once across requests.

use loggate_core::{CallContext, Filters, SourceError};
use tokio::time::Instant;

use super::Counting;
use crate::engine::fetch::outcome_of;
use crate::engine::{Engine, Source};
use crate::metrics::FetchObservation;

/// What one total-count request brought back.
pub(super) struct Total {
    /// `None`: the provider's answer carried no total.
    pub result: Result<Option<u64>, SourceError>,
    /// Upstream requests sent (cache hits send none).
    pub requests: u32,
}

impl Engine {
    /// The total of `filters` (its window included) from `source` under
    /// the count's deadline and cache rules.
    pub(super) async fn count_total(
        &self,
        source: &Source,
        filters: &Filters,
        counting: Counting,
    ) -> Total {
        let Counting {
            deadline, no_cache, ..
        } = counting;
        let ctx = match filters.end {
            Some(end) => {
                CallContext::new(deadline).with_cache_window(end.min(counting.pin), no_cache)
            }
            None => CallContext::new(deadline),
        };
        let started = Instant::now();
        let result = match source.breaker.admit() {
            Err(skipped) => Err(skipped),
            Ok(permit) => {
                let counted =
                    tokio::time::timeout_at(deadline, source.adapter.count(filters, &ctx))
                        .await
                        .unwrap_or(Err(SourceError::DeadlineExceeded))
                        // A timeout cut short after mostly queueing in
                        // loggate is overload (not counted by the breaker);
                        // a passed deadline stays one: the count is
                        // inexact, not failed (spec §7).
                        .map_err(|e| ctx.attribute_timeout(e, started.elapsed()));
                permit.record(&counted);
                if counted.is_err() {
                    // An answer the adapter could not use is not kept.
                    ctx.cache.forget_used().await;
                }
                counted
            }
        };
        source.health.record(&result);
        self.metrics.observe_fetch(&FetchObservation {
            source: &source.name,
            outcome: outcome_of(&result),
            latency: started.elapsed(),
            requests: ctx.requests(),
            failed_requests: ctx.failed(),
            retries: ctx.retries(),
            gate_waits: ctx.gate_waits(),
            cache: ctx.cache.get(),
            scanned: 0,
        });
        Total {
            result,
            requests: ctx.requests(),
        }
    }
}
