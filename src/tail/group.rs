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
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use super::{TailHub, TailSpec, TailStats};
use crate::engine::query::LogsRequest;
use crate::engine::Page;

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
    pub outcome: Result<Arc<Page>, (String, String)>,
    /// The follow cursor after this page (`None`: the follow ended).
    pub after: Option<String>,
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
            partial: false,
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
    /// `late_window` is on: pages keep every record ([`Shared`]), and a
    /// window is finished before it moves (unless a source failed:
    /// `partial`), else each source would restart as soon as it finished.
    shared_poll: bool,
    /// The last page missed a source.
    partial: bool,
    cursor: String,
    from: Option<i64>,
    tx: broadcast::Sender<Arc<Shared>>,
    at: watch::Sender<Option<i64>>,
}

impl Poller {
    /// Polls until no subscriber holds the group (or the follow ended).
    async fn run(mut self, group: Weak<Group>) {
        TailStats::add(&self.hub.stats.groups);
        let pace = self.hub.pace(&self.spec.sources);
        let mut wait = pace.min;
        let mut pause = wait;
        let shutdown = self.hub.shutdown.subscribe();
        loop {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = super::shutting_down(shutdown.clone()) => break,
            }
            if group.strong_count() == 0 {
                break;
            }
            // The gateway stops: its subscribers end with their own cursors;
            // the poll in flight is given up.
            let polled = tokio::select! {
                polled = self.poll() => polled,
                () = super::shutting_down(shutdown.clone()) => break,
            };
            let (shared, wait_next, delivered) = polled;
            let ended = shared.after.is_none();
            let _ = self.tx.send(Arc::new(shared));
            if ended {
                break;
            }
            wait = pace.next(wait, delivered);
            pause = if wait_next { wait } else { Duration::ZERO };
        }
        TailStats::sub(&self.hub.stats.groups);
    }

    /// One page: the message, whether to wait before the next (caught up,
    /// or a failed source), and whether it delivered logs.
    async fn poll(&mut self) -> (Shared, bool, bool) {
        self.at.send_replace(None);
        let engine = &self.hub.engine;
        let hold = match self.shared_poll && !self.partial {
            true => engine.window_in_progress(&self.cursor),
            false => None,
        };
        let request = LogsRequest {
            cursor: Some(self.cursor.clone()),
            limit: self.spec.limit,
            include_raw: self.spec.include_raw,
            partial: true,
            follow_to: self.spec.follow_to(hold),
            shared_poll: self.shared_poll,
            ..LogsRequest::default()
        };
        TailStats::add(&self.hub.stats.group_polls);
        let from = self.from;
        let (shared, wait, delivered) = match self.hub.engine.page(request, &self.spec.caller).await
        {
            Ok(page) => {
                let wait = page.caught_up != Some(false) || page.partial;
                self.partial = page.partial;
                let delivered = !page.logs.is_empty();
                let after = page.next_cursor.clone();
                let outcome = Ok(Arc::new(page));
                (
                    Shared {
                        from,
                        outcome,
                        after,
                    },
                    wait,
                    delivered,
                )
            }
            Err(error) => {
                self.partial = true;
                let outcome = Err((error.code().to_string(), error.to_string()));
                let after = Some(self.cursor.clone());
                (
                    Shared {
                        from,
                        outcome,
                        after,
                    },
                    true,
                    false,
                )
            }
        };
        if let Some(after) = &shared.after {
            self.cursor = after.clone();
            self.from = self.hub.engine.caught_up_at(after);
        }
        self.at.send_replace(self.from);
        (shared, wait, delivered)
    }
}
