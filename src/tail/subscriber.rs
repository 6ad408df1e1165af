//! One tail stream's task: polls on its own until caught up, then joins
//! its query's shared poller ([`super::group`]) and forwards its pages.
//! While it forwards it never waits for its connection: a connection
//! without room for the next event is slow, and the stream's
//! [`SlowPolicy`] decides (a resumable close, or dropped entries).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::group::{Group, Shared};
use super::stats::SharedGuard;
use super::{
    settle_poll, shutting_down, Pace, PollOutcome, SlowPolicy, TailEvent, TailHub, TailLog,
    TailPermit, TailSender, TailSpec, TailStats, MAX_DROPPED,
};
use crate::engine::{Page, ReportStatus};

mod alone;

/// The stream is over (the client left, `max_duration` passed, or the
/// follow ended); the task returns.
struct Stop;

/// Runs one tail stream until it stops. `_permit` holds its place among
/// the limits.
pub async fn run(hub: Arc<TailHub>, spec: TailSpec, tx: TailSender, _permit: TailPermit) {
    let pace = hub.pace(&spec.sources);
    let mut subscriber = Subscriber {
        shutdown: hub.shutdown.subscribe(),
        pace,
        ends_at: Instant::now() + hub.settings.max_duration,
        idle_at: idle_at(hub.settings.idle_timeout),
        wait: pace.min,
        cursor: spec.cursor.clone(),
        failing: BTreeMap::new(),
        forwarding: false,
        dropped: Vec::new(),
        hub,
        spec,
        tx,
    };
    let _ = subscriber.serve().await;
}

struct Subscriber {
    hub: Arc<TailHub>,
    spec: TailSpec,
    tx: TailSender,
    /// The follow cursor after the last event sent.
    cursor: String,
    /// Sources whose last answer was a failure.
    failing: BTreeMap<String, bool>,
    ends_at: Instant,
    /// When the stream ends for having delivered no logs for
    /// `follow.idle_timeout` (`None`: off); moved on by every page of logs.
    idle_at: Option<Instant>,
    wait: Duration,
    /// How long it waits between its own polls ([`Pace`]).
    pace: Pace,
    /// Forwarding a group's pages: sending never waits ([`SlowPolicy`]).
    forwarding: bool,
    /// Logs dropped since the last event that fit ([`SlowPolicy::Drop`]).
    dropped: Vec<TailLog>,
    /// The gateway's shutdown ([`TailHub::shut_down`]).
    shutdown: watch::Receiver<bool>,
}

impl Subscriber {
    async fn serve(&mut self) -> Result<(), Stop> {
        let open = TailEvent::Open {
            cursor: self.cursor.clone(),
        };
        self.send(open).await?;
        loop {
            let at = self.catch_up(None).await?;
            let (group, at) = match self.hub.group(&self.spec, &self.cursor, at) {
                Some(group) => (group, at),
                // No room for a group: each source at its own pace.
                None => self.poll_alone().await?,
            };
            if !self.follow_group(&group, at).await? {
                // It moved on, or this stream fell behind: poll on our own.
                self.pause(false).await?;
            }
        }
    }

    /// Polls on its own until caught up (at most up to `to`); the bound.
    async fn catch_up(&mut self, to: Option<i64>) -> Result<i64, Stop> {
        loop {
            let (outcome, after) = self.poll_own(to, None).await?;
            let (wait, delivered) = self.forward(outcome, after, None).await?;
            if let Some(at) = self.hub.engine.caught_up_at(&self.cursor) {
                return Ok(at);
            }
            if wait {
                self.pause(delivered).await?;
            }
        }
    }

    /// Joins `group` once both stand at one bound and forwards its pages;
    /// `false` when it cannot align or falls behind (then the caller polls
    /// on its own from the last cursor sent).
    async fn follow_group(&mut self, group: &Group, mut at: i64) -> Result<bool, Stop> {
        let mut rx = group.tx.subscribe();
        let mut watch = group.at.clone();
        loop {
            let group_at = *watch.borrow_and_update();
            match group_at {
                Some(g) if g == at => break,
                // Behind the group: catch up to its bound exactly.
                Some(g) if g > at => match self.catch_up(Some(g)).await? {
                    reached if reached == g => at = g,
                    _ => return Ok(false),
                },
                // Ahead of it, or it is mid-window: wait for its next bound,
                // at most twice `poll_max` (a group held mid-window by a
                // failing source must not hold this stream back).
                _ => tokio::select! {
                    changed = watch.changed() => if changed.is_err() { return Ok(false) },
                    () = tokio::time::sleep(self.pace.max * 2) => return Ok(false),
                    () = self.tx.tx.closed() => return Err(Stop),
                    () = tokio::time::sleep_until(self.deadline().0) => return self.end_at_deadline().await,
                    () = shutting_down(self.shutdown.clone()) => return self.end_with("shutdown").await,
                },
            }
        }
        let _shared = SharedGuard::new(self.hub.stats.clone());
        self.forwarding = true;
        let followed = self.forward_group(&mut rx, at).await;
        self.forwarding = false;
        followed
    }

    /// Forwards the group's messages from the one starting at `at`.
    async fn forward_group(
        &mut self,
        rx: &mut broadcast::Receiver<Arc<Shared>>,
        at: i64,
    ) -> Result<bool, Stop> {
        let mut started = false;
        loop {
            let message = tokio::select! {
                message = rx.recv() => message,
                () = self.tx.tx.closed() => return Err(Stop),
                () = tokio::time::sleep_until(self.deadline().0) => return self.end_at_deadline().await,
                () = shutting_down(self.shutdown.clone()) => return self.end_with("shutdown").await,
            };
            let message: Arc<Shared> = match message {
                Ok(message) => message,
                // This task did not keep up with the group (it never waits
                // for its connection, so only when starved of CPU): as slow.
                Err(RecvError::Lagged(_)) if started => return self.slow().await,
                Err(RecvError::Lagged(_) | RecvError::Closed) => return Ok(false),
            };
            if !started && message.from != Some(at) {
                continue;
            }
            started = true;
            let Some((outcome, after)) = self.own_part(&message) else {
                return Ok(false);
            };
            self.forward(outcome, after, message.polled.as_deref())
                .await?;
        }
    }

    /// What this subscriber forwards of a group's message, and its cursor
    /// after it: the message itself, or with `late_window` on the part its
    /// own cursor would have delivered ([`crate::engine::late::shared`]);
    /// `None` if that cannot be made (then it polls on its own).
    #[allow(clippy::type_complexity)]
    fn own_part(&self, message: &Shared) -> Option<(PollOutcome, Option<String>)> {
        if self.hub.engine.late_window().is_zero() {
            return Some((message.outcome.clone(), message.after.clone()));
        }
        let page = match &message.outcome {
            Ok(page) => page,
            Err(failure) => return Some((Err(failure.clone()), Some(self.cursor.clone()))),
        };
        let engine = &self.hub.engine;
        let mine = engine.share_late_page(&self.cursor, page, message.after.as_deref());
        let mine = mine
            .inspect_err(
                |e| tracing::warn!(error = %e, "tail: cannot take its part of a shared page"),
            )
            .ok()?;
        let after = mine.next_cursor.clone();
        Some((Ok(Arc::new(mine)), after))
    }

    /// Sends the events of one page (its logs, then status changes) and
    /// moves the cursor; returns whether to wait before the next poll and
    /// whether logs were delivered.
    async fn forward(
        &mut self,
        outcome: PollOutcome,
        after: Option<String>,
        polled: Option<&[String]>,
    ) -> Result<(bool, bool), Stop> {
        let Some(after) = after else {
            // The follow passed the client's `end`: the page's terminal
            // cursor is the last `logs` event's id and the `end` event's.
            let mut terminal = None;
            if let Ok(page) = outcome {
                terminal = page.terminal_cursor.clone();
                if !page.logs.is_empty() {
                    self.deliver(page).await?;
                }
            }
            self.tx.finish(TailEvent::End {
                cursor: terminal,
                reason: "end",
            });
            return Err(Stop);
        };
        let (wait, delivered) = match outcome {
            Ok(page) => {
                let wait = page.caught_up != Some(false) || page.partial;
                let delivered = !page.logs.is_empty();
                let changes: Vec<(String, Option<(String, String)>)> = page
                    .sources
                    .iter()
                    .map(|(name, report)| {
                        let failure = (report.status == ReportStatus::Error)
                            .then(|| report.error.clone().unwrap_or_default());
                        (name.clone(), failure)
                    })
                    .collect();
                if delivered {
                    self.deliver(page).await?;
                }
                self.cursor = after;
                for (source, failure) in changes {
                    self.status(&source, failure).await?;
                }
                (wait, delivered)
            }
            Err(failure) => {
                self.cursor = after;
                // The sources the page read (a poller reads each at its pace).
                let failed = polled.map_or_else(|| self.spec.sources.clone(), <[String]>::to_vec);
                for source in failed {
                    self.status(&source, Some(failure.clone())).await?;
                }
                (true, false)
            }
        };
        if Instant::now() >= self.deadline().0 {
            return self.end_at_deadline().await;
        }
        Ok((wait, delivered))
    }

    /// One engine page, given up when the client leaves or the gateway
    /// shuts down (then the stream ends with its cursor: nothing of the
    /// page was sent).
    async fn poll_own(
        &mut self,
        to: Option<i64>,
        sources: Option<Vec<String>>,
    ) -> Result<(PollOutcome, Option<String>), Stop> {
        let request = self.spec.poll_request(&self.cursor, to, sources);
        TailStats::add(&self.hub.stats.private_polls);
        let engine = self.hub.engine.clone();
        let result = tokio::select! {
            page = engine.page(request, &self.spec.caller) => page,
            () = self.tx.tx.closed() => return Err(Stop),
            () = shutting_down(self.shutdown.clone()) => return self.end_with("shutdown").await,
        };
        Ok(settle_poll(result, &self.cursor))
    }

    /// A status event when `source` changed between failing and answering.
    async fn status(
        &mut self,
        source: &str,
        failure: Option<(String, String)>,
    ) -> Result<(), Stop> {
        let now_failing = failure.is_some();
        let was_failing = self
            .failing
            .insert(source.to_string(), now_failing)
            .unwrap_or(false);
        if now_failing == was_failing {
            return Ok(());
        }
        let event = TailEvent::Status {
            source: source.to_string(),
            ok: !now_failing,
            error: failure,
            cursor: self.cursor.clone(),
        };
        self.send(event).await
    }

    /// Waits before the next own poll: the pace's minimum after logs,
    /// doubling up to its maximum while nothing arrives.
    async fn pause(&mut self, delivered: bool) -> Result<(), Stop> {
        self.wait = self.pace.next(self.wait, delivered);
        let until = (Instant::now() + self.wait).min(self.deadline().0);
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

    /// When the stream ends unless it delivers logs before, and why:
    /// `max_duration`, or `idle` when `follow.idle_timeout` comes first.
    fn deadline(&self) -> (Instant, &'static str) {
        match self.idle_at {
            Some(idle) if idle < self.ends_at => (idle, "idle"),
            _ => (self.ends_at, "max_duration"),
        }
    }

    /// The deadline passed: the `end` event with its reason and the cursor.
    async fn end_at_deadline<T>(&mut self) -> Result<T, Stop> {
        let (_, reason) = self.deadline();
        if reason == "idle" {
            TailStats::add(&self.hub.stats.idle_closes);
        }
        self.end_with(reason).await
    }

    /// `max_duration` or `idle_timeout` passed, or the gateway shuts down
    /// (`reason`): the `end` event with the cursor, then stop.
    async fn end_with<T>(&mut self, reason: &'static str) -> Result<T, Stop> {
        let end = TailEvent::End {
            cursor: Some(self.cursor.clone()),
            reason,
        };
        // Placed beside the channel: it arrives after the queued events,
        // without waiting for room (the client may never read again).
        self.tx.finish(end);
        Err(Stop)
    }

    /// Sends one event. On its own polls it waits for room, but not past
    /// the stream's `max_duration` nor the gateway's shutdown (the stream
    /// then ends with the cursor before this event); forwarding a group's
    /// pages it does not wait: with [`SlowPolicy::Close`] a channel with
    /// one place left ends the stream ([`Self::slow`]), with [`SlowPolicy::Drop`] an event without room
    /// is left out (status events carry nothing a WebSocket frame shows;
    /// pages go through [`Self::deliver`]).
    async fn send(&mut self, event: TailEvent) -> Result<(), Stop> {
        if !self.forwarding {
            TailStats::add(&self.hub.stats.buffered_events);
            let blocked = tokio::select! {
                sent = self.tx.tx.send(event) => match sent {
                    Ok(()) => return Ok(()),
                    Err(_) => None,
                },
                () = tokio::time::sleep_until(self.ends_at) => Some("max_duration"),
                () = shutting_down(self.shutdown.clone()) => Some("shutdown"),
            };
            TailStats::sub(&self.hub.stats.buffered_events);
            return match blocked {
                Some(reason) => self.end_with(reason).await,
                None => Err(Stop),
            };
        }
        let room = self.tx.tx.capacity();
        match self.spec.slow {
            // One place stays free, so that a forwarding stream holds at
            // most `EVENT_BUFFER` events with its `end`.
            SlowPolicy::Close if room < 2 => self.slow().await,
            SlowPolicy::Drop if room < 1 => Ok(()),
            _ => self.offer(event),
        }
    }

    /// Queues one event without waiting (the caller checked for room).
    fn offer(&self, event: TailEvent) -> Result<(), Stop> {
        TailStats::add(&self.hub.stats.buffered_events);
        self.tx.tx.try_send(event).map_err(|_| {
            TailStats::sub(&self.hub.stats.buffered_events);
            Stop
        })
    }

    /// Sends a page of logs; a slow WebSocket's page is dropped and its
    /// logs reported (with those dropped before) ahead of the next that fits.
    async fn deliver(&mut self, page: Arc<Page>) -> Result<(), Stop> {
        self.idle_at = idle_at(self.hub.settings.idle_timeout);
        if !self.forwarding || self.spec.slow == SlowPolicy::Close {
            return self.send(TailEvent::Logs(page)).await;
        }
        let need = if self.dropped.is_empty() { 1 } else { 2 };
        if self.tx.tx.capacity() >= need {
            if !self.dropped.is_empty() {
                let dropped = std::mem::take(&mut self.dropped);
                self.offer(TailEvent::Dropped(dropped))?;
            }
            return self.offer(TailEvent::Logs(page));
        }
        let stats = self.hub.stats.clone();
        let stats = &stats.dropped_entries;
        for log in &page.logs {
            stats.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if self.dropped.len() < MAX_DROPPED {
                self.dropped.push(log.clone());
            }
        }
        Ok(())
    }

    /// The connection does not keep up ([`SlowPolicy::Close`]): the `end`
    /// event with the cursor after the last event queued (in its own place
    /// beside the full channel), then stop.
    async fn slow<T>(&mut self) -> Result<T, Stop> {
        TailStats::add(&self.hub.stats.slow_closes);
        let end = TailEvent::End {
            cursor: Some(self.cursor.clone()),
            reason: "slow_subscriber",
        };
        self.tx.finish(end);
        Err(Stop)
    }
}

/// When a stream that delivers nothing from now on ends
/// (`follow.idle_timeout`; zero: never).
fn idle_at(idle_timeout: Duration) -> Option<Instant> {
    (!idle_timeout.is_zero()).then(|| Instant::now() + idle_timeout)
}
