//! A caught-up stream that finds no room for a shared poller
//! (`follow.max_groups` run already) polls on its own as a poller would:
//! each source at its own pace ([`Schedule`]; issue 17 item 4), not every
//! source at the slowest pace. It joins a shared poller as soon as one has
//! room at a bound it is caught up at.

use std::sync::Arc;

use tokio::time::Instant;

use super::{Stop, Subscriber};
use crate::tail::group::Group;
use crate::tail::{shutting_down, Polled};

impl Subscriber {
    /// Polls on its own, each source when the schedule says, until caught
    /// up at a bound where a shared poller of its query has room: that
    /// poller and the bound.
    pub(super) async fn poll_alone(&mut self) -> Result<(Arc<Group>, i64), Stop> {
        let mut schedule = self.hub.schedule(&self.spec.sources);
        let engine = self.hub.engine.clone();
        loop {
            self.sleep_to(schedule.next_at(Instant::now())).await?;
            let next = schedule.take(Instant::now());
            let hold = next.hold_at(&engine, &self.cursor);
            let (outcome, after) = self.poll_own(hold, next.sources.clone()).await?;
            let polled = |source: &str| Polled::of(&engine, &outcome, after.as_deref(), source);
            schedule.polled(next.sources.as_deref(), polled, Instant::now());
            self.forward(outcome, after, next.sources.as_deref())
                .await?;
            if let Some(at) = engine.caught_up_at(&self.cursor) {
                if let Some(group) = self.hub.group(&self.spec, &self.cursor, at) {
                    return Ok((group, at));
                }
            }
        }
    }

    /// Waits until `at`, but not past the stream's deadline (then it ends
    /// with its cursor), the client leaving or the gateway's shutdown.
    async fn sleep_to(&mut self, at: Instant) -> Result<(), Stop> {
        let until = at.min(self.deadline().0);
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = self.tx.tx.closed() => return Err(Stop),
            () = shutting_down(self.shutdown.clone()) => return self.end_with("shutdown").await,
        }
        if Instant::now() >= self.deadline().0 {
            return self.end_at_deadline().await;
        }
        Ok(())
    }
}
