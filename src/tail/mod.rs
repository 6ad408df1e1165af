//! Live tails (spec §8, issue 17 items 2–4).
//!
//! Each tail stream has a subscriber task ([`subscriber`]) that turns
//! engine pages into [`TailEvent`]s for its connection. A subscriber first
//! polls on its own, from its follow cursor, until it has caught up; it
//! then joins the shared poller ([`group`]) of its query — the same API
//! key, sources, filters, `limit` and `include` — once its cursor and the
//! group's stand at the same bound, and from there forwards the group's
//! pages: subscribers of one query cost one upstream poll stream per
//! source. A subscriber that falls behind the group's buffer, or whose
//! group cannot be joined, polls on its own again from its last cursor:
//! nothing is lost or repeated either way, since every event carries the
//! follow cursor after it.
//!
//! Memory is bounded per subscriber: its connection is fed through a
//! channel of [`EVENT_BUFFER`] events, and the group keeps at most
//! [`group::GROUP_BUFFER`] pages for its slowest subscriber.

pub mod group;
mod limits;
mod stats;
mod subscriber;

use std::sync::Arc;

use crate::config::FollowConfig;
use crate::engine::{Caller, Engine, Page};

pub use crate::engine::TailStart;

pub use limits::{TailLimits, TailPermit};
pub use stats::TailStats;
pub use subscriber::run;

/// Events buffered for one subscriber's connection before its task waits.
pub const EVENT_BUFFER: usize = 4;

/// What a tail sends.
#[derive(Debug)]
pub enum TailEvent {
    /// The stream is open; `cursor` resumes it from here.
    Open { cursor: String },
    /// A batch of logs: a `/logs` page whose `next_cursor` resumes after it.
    Logs(Arc<Page>),
    /// A source failed or recovered; the others go on, the failed one
    /// resumes from its position once it answers again.
    Status {
        source: String,
        ok: bool,
        /// `(code, message)` when it failed.
        error: Option<(String, String)>,
        cursor: String,
    },
    /// The stream ends (`max_duration` reached, or the client's `end`
    /// passed); `cursor` resumes it (`None` when nothing is left).
    End {
        cursor: Option<String>,
        reason: &'static str,
    },
}

/// One tail stream to run.
#[derive(Debug, Clone)]
pub struct TailSpec {
    pub caller: Caller,
    /// The follow cursor to start from ([`Engine::open_tail`]).
    pub cursor: String,
    pub sources: Vec<String>,
    /// The query's identity for sharing a poller: key, sources, filters,
    /// limit and include, as one string.
    pub query_key: String,
    /// Most logs per event.
    pub limit: usize,
    pub include_raw: bool,
    /// Read nothing newer than now − `delay` either (Loki's `delay_for`,
    /// on top of `follow.settle`).
    pub delay: std::time::Duration,
}

impl TailSpec {
    /// The bound `delay` allows now (epoch ms), combined with `to`.
    pub fn follow_to(&self, to: Option<i64>) -> Option<i64> {
        if self.delay.is_zero() {
            return to;
        }
        let delay = i64::try_from(self.delay.as_millis()).unwrap_or(i64::MAX);
        let bound = loggate_core::time::now_ms().saturating_sub(delay);
        Some(to.map_or(bound, |to| to.min(bound)))
    }
}

/// What every tail of the gateway shares: the engine, the settings, the
/// limits, the shared pollers and the counters.
pub struct TailHub {
    pub engine: Arc<Engine>,
    pub settings: FollowConfig,
    pub limits: TailLimits,
    pub groups: group::Groups,
    pub stats: Arc<TailStats>,
}

impl TailHub {
    /// `stats` is registered in the application's metrics by the caller.
    pub fn new(engine: Arc<Engine>, settings: FollowConfig, stats: Arc<TailStats>) -> Self {
        TailHub {
            engine,
            limits: TailLimits::new(settings.max_streams_per_key, settings.max_streams),
            groups: group::Groups::new(settings.max_groups),
            stats,
            settings,
        }
    }
}

/// How long a caught-up tail waits, from `min` doubling to `max` while
/// nothing arrives (`delivered` resets it to `min`).
pub fn next_wait(
    current: std::time::Duration,
    min: std::time::Duration,
    max: std::time::Duration,
    delivered: bool,
) -> std::time::Duration {
    if delivered {
        min
    } else {
        (current * 2).clamp(min, max)
    }
}
