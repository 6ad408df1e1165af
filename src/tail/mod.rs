//! Live tails (spec §8, issue 17 items 2–4): a poller per tail stream that
//! calls the engine with the stream's follow cursor and turns each page
//! into [`TailEvent`]s, which `/logs/tail` (SSE) sends as they come.
//!
//! Every event carries the follow cursor after it, so a client that
//! reconnects with it (on any replica with the same `cursor_secret`)
//! resumes exactly after what it received. The poller waits on a channel of
//! [`EVENT_BUFFER`] events: a subscriber that stops reading stops its
//! poller, and its memory stays bounded by that many pages.

mod limits;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

pub use limits::{TailLimits, TailPermit};

use crate::config::FollowConfig;
use crate::engine::query::LogsRequest;
use crate::engine::{Caller, Engine, Page, ReportStatus};

/// Events buffered for one subscriber before its poller waits.
pub const EVENT_BUFFER: usize = 4;

/// What a tail sends.
#[derive(Debug)]
pub enum TailEvent {
    /// The stream is open; `cursor` resumes it from here.
    Open { cursor: String },
    /// A batch of logs: a `/logs` page whose `next_cursor` resumes after it.
    Logs(Page),
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
pub struct TailSpec {
    pub caller: Caller,
    /// The follow cursor to start from ([`Engine::open_tail`]).
    pub cursor: String,
    pub sources: Vec<String>,
    /// Most logs per event.
    pub limit: usize,
    pub include_raw: bool,
}

/// Polls for one subscriber until it goes away or `max_duration` passes.
/// `_permit` holds the subscriber's place among the limits.
pub async fn run(
    engine: Arc<Engine>,
    settings: FollowConfig,
    spec: TailSpec,
    tx: mpsc::Sender<TailEvent>,
    _permit: TailPermit,
) {
    let ends_at = Instant::now() + settings.max_duration;
    let mut cursor = spec.cursor.clone();
    let mut failing: BTreeMap<String, bool> = BTreeMap::new();
    let mut wait = settings.poll_min;
    if !send(
        &tx,
        TailEvent::Open {
            cursor: cursor.clone(),
        },
        ends_at,
    )
    .await
    {
        return;
    }
    loop {
        let request = LogsRequest {
            cursor: Some(cursor.clone()),
            limit: spec.limit,
            include_raw: spec.include_raw,
            partial: true,
            ..LogsRequest::default()
        };
        let polled = match engine.page(request, &spec.caller).await {
            Ok(page) => page_events(page, &cursor, &mut failing),
            Err(error) => {
                let failure = (error.code().to_string(), error.to_string());
                let events = spec
                    .sources
                    .iter()
                    .filter_map(|s| status_change(&mut failing, s, Some(&failure), &cursor))
                    .collect();
                Polled {
                    events,
                    next: Some(cursor.clone()),
                    wait: true,
                    delivered: false,
                }
            }
        };
        let Polled {
            events,
            next,
            wait: idle,
            delivered,
        } = polled;
        for event in events {
            if !send(&tx, event, ends_at).await {
                return;
            }
        }
        let Some(next) = next else {
            let end = TailEvent::End {
                cursor: None,
                reason: "end",
            };
            send(&tx, end, ends_at).await;
            return;
        };
        cursor = next;
        if idle {
            if delivered {
                wait = settings.poll_min;
            }
            let sleep_until = (Instant::now() + wait).min(ends_at);
            tokio::select! {
                () = tokio::time::sleep_until(sleep_until) => {}
                () = tx.closed() => return,
            }
        }
        wait = next_wait(
            wait,
            settings.poll_min,
            settings.poll_max,
            delivered || !idle,
        );
        if Instant::now() >= ends_at {
            let end = TailEvent::End {
                cursor: Some(cursor),
                reason: "max_duration",
            };
            let _ = tx.try_send(end);
            return;
        }
    }
}

/// Sends one event, waiting for room until `ends_at`; false when the
/// subscriber is gone or never made room.
async fn send(tx: &mpsc::Sender<TailEvent>, event: TailEvent, ends_at: Instant) -> bool {
    matches!(
        tokio::time::timeout_at(ends_at, tx.send(event)).await,
        Ok(Ok(()))
    )
}

/// What one poll produced.
struct Polled {
    events: Vec<TailEvent>,
    /// The cursor after the poll; `None` when the follow ended.
    next: Option<String>,
    /// Wait before the next poll: caught up, or a failed source to wait for.
    wait: bool,
    /// Logs were delivered.
    delivered: bool,
}

/// The events of one page (its logs first, then status changes).
fn page_events(page: Page, cursor: &str, failing: &mut BTreeMap<String, bool>) -> Polled {
    let next = page.next_cursor.clone();
    let after = next.clone().unwrap_or_else(|| cursor.to_string());
    let mut events: Vec<TailEvent> = page
        .sources
        .iter()
        .filter_map(|(name, report)| {
            let failure = (report.status == ReportStatus::Error)
                .then(|| report.error.clone().unwrap_or_default());
            status_change(failing, name, failure.as_ref(), &after)
        })
        .collect();
    let wait = page.caught_up != Some(false) || page.partial;
    let delivered = !page.logs.is_empty();
    if delivered {
        events.insert(0, TailEvent::Logs(page));
    }
    Polled {
        events,
        next,
        wait,
        delivered,
    }
}

/// A status event when `source` changed between failing and answering.
fn status_change(
    failing: &mut BTreeMap<String, bool>,
    source: &str,
    failure: Option<&(String, String)>,
    cursor: &str,
) -> Option<TailEvent> {
    let now_failing = failure.is_some();
    let was_failing = failing
        .insert(source.to_string(), now_failing)
        .unwrap_or(false);
    (now_failing != was_failing).then(|| TailEvent::Status {
        source: source.to_string(),
        ok: !now_failing,
        error: failure.cloned(),
        cursor: cursor.to_string(),
    })
}

/// How long a caught-up tail waits, from `min` doubling to `max` while idle.
pub fn next_wait(current: Duration, min: Duration, max: Duration, delivered: bool) -> Duration {
    if delivered {
        min
    } else {
        (current * 2).clamp(min, max)
    }
}
