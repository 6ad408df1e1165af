//! Outbound admission per source: a governor rate limiter shared by every
//! request to the source, and a cap on concurrent upstream requests. A
//! request that could not be admitted before its deadline fails the source
//! instead of queueing forever.

use std::num::NonZeroU32;
use std::sync::Arc;

use async_trait::async_trait;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use loggate_core::http::RequestGate;
use loggate_core::{CallContext, SourceError};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::RateLimit;

pub struct SourceGate {
    limiter: DefaultDirectRateLimiter,
    concurrency: Arc<Semaphore>,
}

impl SourceGate {
    pub fn new(rate: RateLimit, max_concurrency: usize) -> Self {
        let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst).unwrap_or(per_second);
        SourceGate {
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            concurrency: Arc::new(Semaphore::new(max_concurrency.max(1))),
        }
    }
}

#[async_trait]
impl RequestGate for SourceGate {
    async fn admit(&self, ctx: &CallContext) -> Result<Box<dyn Send>, SourceError> {
        let deadline = ctx.deadline;
        let waited_too_long =
            || SourceError::Timeout(deadline.saturating_duration_since(Instant::now()));
        let permit = tokio::time::timeout_at(deadline, self.concurrency.clone().acquire_owned())
            .await
            .map_err(|_| waited_too_long())?
            .map_err(|_| SourceError::Network("the source is shutting down".into()))?;
        let mut waited = false;
        loop {
            match self.limiter.check() {
                Ok(()) => return Ok(Box::new(permit)),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    if Instant::now() + wait >= deadline {
                        return Err(SourceError::Timeout(wait));
                    }
                    if !waited {
                        waited = true;
                        ctx.gate_waits
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}
