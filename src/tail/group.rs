//! Shared pollers (issue 17 item 4): one per distinct tailed query.
//!
//! A group polls the engine with its own follow cursor and broadcasts each
//! page as a [`Shared`] message, saying from which caught-up bound it
//! started (`from`). Its watch says the bound its cursor is caught up at
//! right now (`None` while it is in the middle of a window); it is cleared
//! before each poll. A subscriber caught up at the same bound is in the
//! same state as the group (two caught-up follow cursors of one query at
//! one bound continue identically), so from the message starting there on
//! it can forward the group's pages and cursors as its own.
//!
//! The group stops when no subscriber holds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use super::{NextPoll, Polled, TailHub, TailSpec, TailStats};
use crate::engine::query::LogsRequest;

/// Pages a group keeps for its slowest subscriber; one further behind
/// polls on its own again from its last cursor.
pub const GROUP_BUFFER: usize = 16;

/// One page of a group, as every subscriber forwards it (with
/// `late_window` on, each takes its own part of it and keeps its own
/// cursor: [`crate::engine::late::shared`]).
#[derive(Debug)]
pub struct Shared {
    /// The caught-up bound the group's cursor stood at before this page
    /// (`None`: in the middle of a window).
    pub from: Option<i64>,
    /// The page, or `(code, message)` when every source failed.
    pub outcome: super::PollOutcome,
    /// The follow cursor after this page (`None`: the follow ended).
    pub after: Option<String>,
    /// The sources the page read (`None`: all); the others were not
    /// asked ([`super::Schedule`]).
    pub polled: Option<Vec<String>>,
}

/// A running shared poller, held by its subscribers.
pub struct Group {
    pub tx: broadcast::Sender<Arc<Shared>>,
    pub at: watch::Receiver<Option<i64>>,
}

/// The running groups by query.
pub struct Groups {
    max: usize,
    running: Mutex<HashMap<String, Weak<Group>>>,
}

impl Groups {
    pub fn new(max: usize) -> Self {
        Groups {
            max,
            running: Mutex::default(),
        }
    }
}

impl TailHub {
    /// The group of `spec`'s query, started from `cursor` (caught up at
    /// `at`) when none runs; `None` when `follow.max_groups` run already.
    pub fn group(self: &Arc<Self>, spec: &TailSpec, cursor: &str, at: i64) -> Option<Arc<Group>> {
        let mut running = self
            .groups
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(group) = running.get(&spec.query_key).and_then(Weak::upgrade) {
            return Some(group);
        }
        running.retain(|_, group| group.strong_count() > 0);
        if running.len() >= self.groups.max {
            return None;
        }
        let (tx, _) = broadcast::channel(GROUP_BUFFER);
        let (at_tx, at_rx) = watch::channel(Some(at));
        let group = Arc::new(Group {
            tx: tx.clone(),
            at: at_rx,
        });
        // With late_window on, subscribers at one bound may differ in the
        // ids they delivered: the group keeps every record it re-reads and
        // each subscriber drops its own (`engine::late::shared`).
        let shared_poll = !self.engine.late_window().is_zero();
        let cursor = match shared_poll {
            true => self.engine.shared_late_cursor(cursor)?,
            false => cursor.to_string(),
        };
        running.insert(spec.query_key.clone(), Arc::downgrade(&group));
        let poller = Poller {
            hub: self.clone(),
            spec: spec.clone(),
            shared_poll,
            cursor,
            from: Some(at),
            tx,
            at: at_tx,
        };
        tokio::spawn(poller.run(Arc::downgrade(&group)));
        Some(group)
    }
}

/// A group's polling task.
struct Poller {
    hub: Arc<TailHub>,
    spec: TailSpec,
    /// `late_window` is on: pages keep every record ([`Shared`]) and each
    /// subscriber takes its part; each source is still read at its own
    /// pace ([`Schedule`]).
    shared_poll: bool,
    cursor: String,
    from: Option<i64>,
    tx: broadcast::Sender<Arc<Shared>>,
    at: watch::Sender<Option<i64>>,
}

impl Poller {
    /// Polls each source when its [`Schedule`] says, until no subscriber
    /// holds the group (or the follow ended, or the gateway stops: its
    /// subscribers end with their own cursors, a poll in flight is given
    /// up).
    async fn run(mut self, group: Weak<Group>) {
        TailStats::add(&self.hub.stats.groups);
        let mut schedule = self.hub.schedule(&self.spec.sources);
        let shutdown = self.hub.shutdown.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(schedule.next_at(Instant::now())) => {}
                () = super::shutting_down(shutdown.clone()) => break,
            }
            if group.strong_count() == 0 {
                break;
            }
            let next = schedule.take(Instant::now());
            let shared = tokio::select! {
                shared = self.poll(&next) => shared,
                () = super::shutting_down(shutdown.clone()) => break,
            };
            let outcome = |source: &str| self.outcome(&shared, source);
            schedule.polled(next.sources.as_deref(), outcome, Instant::now());
            let ended = shared.after.is_none();
            let _ = self.tx.send(Arc::new(shared));
            if ended {
                break;
            }
        }
        TailStats::sub(&self.hub.stats.groups);
    }

    /// One page of the sources `next` reads: the message.
    async fn poll(&mut self, next: &NextPoll) -> Shared {
        self.at.send_replace(None);
        let hold = next.hold_at(&self.hub.engine, &self.cursor);
        let request = LogsRequest {
            shared_poll: self.shared_poll,
            ..self
                .spec
                .poll_request(&self.cursor, hold, next.sources.clone())
        };
        TailStats::add(&self.hub.stats.group_polls);
        let result = self.hub.engine.page(request, &self.spec.caller).await;
        let (outcome, after) = super::settle_poll(result, &self.cursor);
        let shared = Shared {
            from: self.from,
            outcome,
            after,
            polled: next.sources.clone(),
        };
        if let Some(after) = &shared.after {
            self.cursor = after.clone();
            self.from = self.hub.engine.caught_up_at(after);
        }
        self.at.send_replace(self.from);
        shared
    }

    /// How the page `shared` went for `source` (one it read).
    fn outcome(&self, shared: &Shared, source: &str) -> Polled {
        let after = shared.after.as_deref();
        Polled::of(&self.hub.engine, &shared.outcome, after, source)
    }
}
