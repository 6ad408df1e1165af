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
//! channel of [`EVENT_BUFFER`] events ([`channel`]), and the group keeps at
//! most [`group::GROUP_BUFFER`] pages. A subscriber forwarding a group's
//! pages never waits for its connection: when the channel has no room it
//! is slow, and what happens then is its [`SlowPolicy`] — the SSE stream
//! ends with a resumable `end` event, the WebSocket drops the entries and
//! reports them in its next frame's `dropped_entries`, as Loki does. It
//! never polls upstream on its own because it is slow.

pub mod group;
mod limits;
mod pace;
mod schedule;
mod stats;
mod subscriber;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::config::FollowConfig;
use crate::engine::query::LogsRequest;
use crate::engine::{Caller, Engine, Page};

pub use crate::engine::TailStart;

pub use limits::{TailLimits, TailPermit};
pub use pace::Pace;
pub use schedule::{NextPoll, Polled, Schedule};
pub use stats::TailStats;
pub use subscriber::run;

use loggate_core::LogRecord;

/// Events buffered for one subscriber's connection: the bound of a slow
/// subscriber's memory is this many events of at most `limit` logs each.
pub const EVENT_BUFFER: usize = 4;

/// Most dropped entries a WebSocket subscriber remembers for its next
/// frame; further ones are counted (`loggate_tail_dropped_entries_total`)
/// but not reported. Loki's `maxDroppedEntriesPerTailResponse`
/// (`pkg/querier/tail.go`).
pub const MAX_DROPPED: usize = 1000;

/// One log of a page: source, provider kind, record.
pub type TailLog = (Arc<str>, &'static str, LogRecord);

/// What a subscriber does when its connection does not take its events
/// as fast as its shared poller reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowPolicy {
    /// End the stream with `TailEvent::End { reason: "slow_subscriber" }`
    /// carrying the cursor after the last event queued (SSE: resumable).
    Close,
    /// Drop the page and report its logs in a `TailEvent::Dropped` before
    /// the next page that fits (Loki's WebSocket `dropped_entries`).
    Drop,
}

/// The last event of a stream (its `end`), kept beside the channel: the
/// receiver gets it after every queued event, however full the channel
/// was, so a slow client (or one the gateway stops) still gets its
/// resumable close. One event: the bound of memory holds.
type LastSlot = Arc<std::sync::Mutex<Option<TailEvent>>>;

/// The sending end of a subscriber's channel ([`channel`]).
pub struct TailSender {
    tx: mpsc::Sender<TailEvent>,
    last: LastSlot,
    stats: Arc<TailStats>,
}

impl TailSender {
    /// Places the stream's last event (`End`): the receiver gets it after
    /// the events queued before, once this sender is dropped. Never waits
    /// and never fails for want of room.
    fn finish(&self, event: TailEvent) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.replace(event).is_none() {
            TailStats::add(&self.stats.buffered_events);
        }
    }
}

/// The receiving end of a subscriber's channel, keeping
/// `loggate_tail_buffered_events` (events queued for connections) true.
pub struct TailReceiver {
    rx: mpsc::Receiver<TailEvent>,
    last: LastSlot,
    stats: Arc<TailStats>,
}

impl TailReceiver {
    /// The next event: the queued ones, then the stream's last event
    /// ([`TailSender::finish`]); `None` once the subscriber stopped and
    /// everything was received.
    pub async fn recv(&mut self) -> Option<TailEvent> {
        if let Some(event) = self.rx.recv().await {
            TailStats::sub(&self.stats.buffered_events);
            return Some(event);
        }
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).take();
        if last.is_some() {
            TailStats::sub(&self.stats.buffered_events);
        }
        last
    }
}

impl Drop for TailReceiver {
    fn drop(&mut self) {
        self.rx.close();
        while self.rx.try_recv().is_ok() {
            TailStats::sub(&self.stats.buffered_events);
        }
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner()).take();
        if last.is_some() {
            TailStats::sub(&self.stats.buffered_events);
        }
    }
}

/// A subscriber's channel of [`EVENT_BUFFER`] events, and one place
/// beside it for the stream's last event.
pub fn channel(stats: Arc<TailStats>) -> (TailSender, TailReceiver) {
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let last = LastSlot::default();
    let sender = TailSender {
        tx,
        last: last.clone(),
        stats: stats.clone(),
    };
    (sender, TailReceiver { rx, last, stats })
}

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
    /// Logs of pages that could not be delivered to a slow subscriber
    /// ([`SlowPolicy::Drop`]), at most [`MAX_DROPPED`]; sent right before
    /// the next page that fits.
    Dropped(Vec<TailLog>),
    /// The stream ends (`max_duration` reached, the client's `end` passed,
    /// the subscriber was too slow, the gateway shuts down); `cursor`
    /// resumes it — after the client's `end`, a terminal cursor, which
    /// resumes nothing (`/logs/tail` answers it `204`).
    End {
        cursor: Option<String>,
        reason: &'static str,
    },
}

/// How one poll went: its page, or the failure's `(code, message)`.
pub type PollOutcome = Result<Arc<Page>, (String, String)>;

/// A poll's page (or failure) from `cursor` as a [`PollOutcome`] and the
/// follow cursor after it: the page's `next_cursor` (`None`: the follow
/// ended), or `cursor` itself when the poll failed (it is read again).
pub fn settle_poll(
    result: Result<Page, crate::engine::EngineError>,
    cursor: &str,
) -> (PollOutcome, Option<String>) {
    match result {
        Ok(page) => {
            let after = page.next_cursor.clone();
            (Ok(Arc::new(page)), after)
        }
        Err(e) => (
            Err((e.code().to_string(), e.to_string())),
            Some(cursor.to_string()),
        ),
    }
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
    /// What to do when the connection does not keep up.
    pub slow: SlowPolicy,
}

impl TailSpec {
    /// The page request of one poll from `cursor` (a follow cursor):
    /// `limit` and `include` as the stream asked, the window moved at most
    /// to `to` (epoch ms; and to now − `delay`), only `sources` read
    /// (`None`: all). A failing source does not fail the poll.
    pub fn poll_request(
        &self,
        cursor: &str,
        to: Option<i64>,
        sources: Option<Vec<String>>,
    ) -> LogsRequest {
        LogsRequest {
            cursor: Some(cursor.to_string()),
            limit: self.limit,
            include_raw: self.include_raw,
            partial: true,
            follow_to: self.follow_to(to),
            poll_sources: sources,
            ..LogsRequest::default()
        }
    }

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
    /// `true` once the gateway shuts down: every stream ends at once with
    /// `TailEvent::End { reason: "shutdown" }` and its cursor.
    pub shutdown: watch::Sender<bool>,
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
            shutdown: watch::Sender::new(false),
        }
    }

    /// The pace of a poller reading `sources` ([`Pace`]).
    pub fn pace(&self, sources: &[String]) -> Pace {
        let sources = self
            .engine
            .sources()
            .filter(|source| sources.iter().any(|name| **name == *source.name));
        Pace::of(&self.settings, sources)
    }

    /// The timetable of a poller reading `sources`, each at its own pace
    /// ([`Schedule`]).
    pub fn schedule(&self, sources: &[String]) -> Schedule {
        let paces = self
            .engine
            .sources()
            .filter(|source| sources.iter().any(|name| **name == *source.name))
            .map(|source| {
                let pace = Pace::of(&self.settings, std::iter::once(source));
                (source.name.to_string(), pace)
            })
            .collect();
        Schedule::new(paces, tokio::time::Instant::now())
    }

    /// Ends every tail stream (graceful shutdown, issue 17): each sends its
    /// `end` event with the cursor to resume from, then closes.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves once no tail stream is open (their subscriber tasks have
    /// returned); graceful shutdown waits for it within `shutdown_grace`.
    pub async fn closed(&self) {
        while self.limits.open() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Resolves when `shutdown` turns `true`.
pub(crate) async fn shutting_down(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
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

#[cfg(test)]
mod tests;
