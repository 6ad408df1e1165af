//! One tail stream's task: polls on its own until caught up, then joins
//! its query's shared poller ([`super::group`]) and forwards its pages.
//! While it forwards it never waits for its connection: a connection
//! without room for the next event is slow, and the stream's
//! [`SlowPolicy`] decides (a resumable close, or dropped entries).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use super::group::{Group, Shared};
use super::{
    next_wait, shutting_down, SlowPolicy, TailEvent, TailHub, TailLog, TailPermit, TailSpec,
    TailStats, MAX_DROPPED,
};
use crate::engine::query::LogsRequest;
use crate::engine::{Page, ReportStatus};

/// The stream is over (the client left, `max_duration` passed, or the
/// follow ended); the task returns.
struct Stop;

/// Runs one tail stream until it stops. `_permit` holds its place among
/// the limits.
pub async fn run(
    hub: Arc<TailHub>,
    spec: TailSpec,
    tx: mpsc::Sender<TailEvent>,
    _permit: TailPermit,
) {
    let mut subscriber = Subscriber {
        shutdown: hub.shutdown.subscribe(),
        ends_at: Instant::now() + hub.settings.max_duration,
        wait: hub.settings.poll_min,
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
    tx: mpsc::Sender<TailEvent>,
    /// The follow cursor after the last event sent.
    cursor: String,
    /// Sources whose last answer was a failure.
    failing: BTreeMap<String, bool>,
    ends_at: Instant,
    wait: Duration,
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
            let joined = match self.hub.group(&self.spec, &self.cursor, at) {
                Some(group) => self.follow_group(&group, at).await?,
                None => false,
            };
            if !joined {
                // No room for a group, or it moved on: poll on our own.
                self.pause(false).await?;
            }
        }
    }

    /// Polls on its own until caught up (at most up to `to`); the bound.
    async fn catch_up(&mut self, to: Option<i64>) -> Result<i64, Stop> {
        loop {
            let request = LogsRequest {
                cursor: Some(self.cursor.clone()),
                limit: self.spec.limit,
                include_raw: self.spec.include_raw,
                partial: true,
                follow_to: self.spec.follow_to(to),
                ..LogsRequest::default()
            };
            TailStats::add(&self.hub.stats.private_polls);
            let outcome = match self.hub.engine.page(request, &self.spec.caller).await {
                Ok(page) => Ok(Arc::new(page)),
                Err(e) => Err((e.code().to_string(), e.to_string())),
            };
            let after = match &outcome {
                Ok(page) => page.next_cursor.clone(),
                Err(_) => Some(self.cursor.clone()),
            };
            let (wait, delivered) = self.forward(outcome, after).await?;
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
                    () = tokio::time::sleep(self.hub.settings.poll_max * 2) => return Ok(false),
                    () = self.tx.closed() => return Err(Stop),
                    () = tokio::time::sleep_until(self.ends_at) => return self.end_with("max_duration").await,
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
                () = self.tx.closed() => return Err(Stop),
                () = tokio::time::sleep_until(self.ends_at) => return self.end_with("max_duration").await,
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
            let outcome = message.outcome.clone();
            self.forward(outcome, message.after.clone()).await?;
        }
    }

    /// Sends the events of one page (its logs, then status changes) and
    /// moves the cursor; returns whether to wait before the next poll and
    /// whether logs were delivered.
    async fn forward(
        &mut self,
        outcome: Result<Arc<Page>, (String, String)>,
        after: Option<String>,
    ) -> Result<(bool, bool), Stop> {
        let Some(after) = after else {
            if let Ok(page) = outcome {
                if !page.logs.is_empty() {
                    self.deliver(page).await?;
                }
            }
            let end = TailEvent::End {
                cursor: None,
                reason: "end",
            };
            self.send(end).await?;
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
                for source in self.spec.sources.clone() {
                    self.status(&source, Some(failure.clone())).await?;
                }
                (true, false)
            }
        };
        if Instant::now() >= self.ends_at {
            return self.end_with("max_duration").await;
        }
        Ok((wait, delivered))
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

    /// Waits before the next own poll: `poll_min` after logs, doubling up
    /// to `poll_max` while nothing arrives.
    async fn pause(&mut self, delivered: bool) -> Result<(), Stop> {
        let settings = &self.hub.settings;
        self.wait = next_wait(self.wait, settings.poll_min, settings.poll_max, delivered);
        let until = (Instant::now() + self.wait).min(self.ends_at);
        tokio::select! {
            () = tokio::time::sleep_until(until) => {}
            () = self.tx.closed() => return Err(Stop),
            () = shutting_down(self.shutdown.clone()) => return self.end_with("shutdown").await,
        }
        if Instant::now() >= self.ends_at {
            return self.end_with("max_duration").await;
        }
        Ok(())
    }

    /// `max_duration` passed (or the gateway shuts down, `reason`): the
    /// `end` event with the cursor, then stop.
    async fn end_with<T>(&mut self, reason: &'static str) -> Result<T, Stop> {
        let end = TailEvent::End {
            cursor: Some(self.cursor.clone()),
            reason,
        };
        // The subscriber may not read any more: do not wait for room.
        let _ = self.offer(end);
        Err(Stop)
    }

    /// Sends one event. On its own polls it waits for room until the
    /// stream's end; forwarding a group's pages it does not wait: with
    /// [`SlowPolicy::Close`] one place stays free for the `end` event (no
    /// room beyond it: [`Self::slow`]), with [`SlowPolicy::Drop`] an event
    /// without room is left out (status events carry nothing a WebSocket
    /// frame shows; pages go through [`Self::deliver`]).
    async fn send(&mut self, event: TailEvent) -> Result<(), Stop> {
        if !self.forwarding {
            TailStats::add(&self.hub.stats.buffered_events);
            let sent = tokio::time::timeout_at(self.ends_at, self.tx.send(event)).await;
            return match sent {
                Ok(Ok(())) => Ok(()),
                _ => {
                    TailStats::sub(&self.hub.stats.buffered_events);
                    Err(Stop)
                }
            };
        }
        let room = self.tx.capacity();
        match self.spec.slow {
            SlowPolicy::Close if room < 2 => self.slow().await,
            SlowPolicy::Drop if room < 1 => Ok(()),
            _ => self.offer(event),
        }
    }

    /// Queues one event without waiting (the caller checked for room).
    fn offer(&self, event: TailEvent) -> Result<(), Stop> {
        TailStats::add(&self.hub.stats.buffered_events);
        self.tx.try_send(event).map_err(|_| {
            TailStats::sub(&self.hub.stats.buffered_events);
            Stop
        })
    }

    /// Sends a page of logs; a slow WebSocket's page is dropped and its
    /// logs reported (with those dropped before) ahead of the next that fits.
    async fn deliver(&mut self, page: Arc<Page>) -> Result<(), Stop> {
        if !self.forwarding || self.spec.slow == SlowPolicy::Close {
            return self.send(TailEvent::Logs(page)).await;
        }
        let need = if self.dropped.is_empty() { 1 } else { 2 };
        if self.tx.capacity() >= need {
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
    /// event with the cursor after the last event queued (its place was
    /// kept free), then stop.
    async fn slow<T>(&mut self) -> Result<T, Stop> {
        TailStats::add(&self.hub.stats.slow_closes);
        let end = TailEvent::End {
            cursor: Some(self.cursor.clone()),
            reason: "slow_subscriber",
        };
        let _ = self.offer(end);
        Err(Stop)
    }
}

/// Counts a subscriber as forwarding a group's pages while it lives.
struct SharedGuard(Arc<TailStats>);

impl SharedGuard {
    fn new(stats: Arc<TailStats>) -> Self {
        TailStats::add(&stats.shared_subscribers);
        SharedGuard(stats)
    }
}

impl Drop for SharedGuard {
    fn drop(&mut self) {
        TailStats::sub(&self.0.shared_subscribers);
    }
}
