//! A subscriber's end (issue 17 item 4): its `end` event reaches a full
//! channel, and neither a client that never reads nor an engine page in
//! flight holds the gateway's shutdown. Conditions are awaited, never
//! timed (the timeouts below are hang guards, failing a broken build
//! instead of blocking it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use loggate_core::{
    Adapter, Batch, Capabilities, FetchRequest, Filters, Level, LogRecord, Position, SourceError,
};
use tokio::sync::Notify;

use super::*;
use crate::engine::query::LogsRequest;
use crate::engine::{CursorSigner, EngineSettings, Source};

/// Fails a test that would otherwise hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Ascending keyset reads over a fixed list; or, with `hang`, a fetch that
/// never answers (after saying it started).
struct ListAdapter {
    records: Vec<LogRecord>,
    hang: Option<Arc<Notify>>,
    caps: Capabilities,
}

#[async_trait]
impl Adapter for ListAdapter {
    fn kind(&self) -> &'static str {
        "list"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        if let Some(started) = &self.hang {
            started.notify_one();
            futures::future::pending::<()>().await;
        }
        let order = request.query.order;
        let rest: Vec<&LogRecord> = self
            .records
            .iter()
            .filter(|r| request.query.filters.matches_time(r.timestamp_ms))
            .filter(|r| !request.position.covers(&r.key(), order))
            .collect();
        let taken: Vec<LogRecord> = rest
            .iter()
            .take(request.want)
            .map(|r| (*r).clone())
            .collect();
        let frontier = match taken.last() {
            Some(last) if taken.len() < rest.len() => Position::after(last.key(), None),
            _ => Position::finished(),
        };
        Ok(Batch {
            scanned: taken.len(),
            records: taken,
            frontier,
            ..Batch::default()
        })
    }
}

fn hub(adapter: ListAdapter) -> Arc<TailHub> {
    let source = Source::new("s", Arc::new(adapter) as Arc<dyn Adapter>);
    let settings = EngineSettings {
        request_timeout: Duration::from_secs(3600),
        scan_budget: 10_000,
        max_queue_wait: Duration::from_secs(1),
        settle: Duration::ZERO,
        pin_rounding: Duration::from_millis(1),
        late_window: Duration::ZERO,
        late_ids: crate::engine::late::MAX_LATE_IDS,
        split: None,
        freshness_horizon: None,
    };
    let engine = Arc::new(Engine::new(
        vec![source],
        CursorSigner::new(b"tail-test"),
        settings,
    ));
    let follow = FollowConfig {
        settle: Duration::ZERO,
        poll_min: Duration::from_millis(5),
        poll_max: Duration::from_millis(10),
        max_duration: Duration::from_secs(3600),
        ..FollowConfig::default()
    };
    Arc::new(TailHub::new(engine, follow, Arc::default()))
}

/// `n` records of the last minute.
fn records(n: usize) -> Vec<LogRecord> {
    let now = loggate_core::time::now_ms();
    (0..n)
        .map(|i| LogRecord {
            native_id: format!("{i:04}"),
            timestamp_ms: now - 60_000 + i as i64,
            level: Level::Info,
            message: format!("message {i}"),
            service: None,
            user_id: None,
            attributes: Default::default(),
            raw: None,
        })
        .collect()
}

/// Starts a stream of the hub's source from a minute ago, `limit` logs
/// per event; its task and receiver.
fn start(hub: &Arc<TailHub>, limit: usize) -> (tokio::task::JoinHandle<()>, TailReceiver) {
    let caller = Caller::default();
    let request = LogsRequest {
        filters: Filters {
            start: Some(loggate_core::time::now_ms() - 120_000),
            ..Filters::default()
        },
        limit,
        partial: true,
        ..LogsRequest::default()
    };
    let opened = hub.engine.open_tail(&request, &caller).expect("a tail");
    let spec = TailSpec {
        caller,
        cursor: opened.cursor,
        sources: opened.sources,
        query_key: opened.query_key,
        limit,
        include_raw: false,
        delay: Duration::ZERO,
        slow: SlowPolicy::Close,
    };
    let permit = hub.limits.admit(None).expect("room for a stream");
    let (tx, rx) = channel(hub.stats.clone());
    (tokio::spawn(run(hub.clone(), spec, tx, permit)), rx)
}

#[tokio::test]
async fn a_full_channel_still_delivers_its_end_after_its_events() {
    let stats = Arc::new(TailStats::default());
    let (tx, mut rx) = channel(stats.clone());
    for i in 0..EVENT_BUFFER {
        let open = TailEvent::Open {
            cursor: i.to_string(),
        };
        TailStats::add(&stats.buffered_events);
        tx.tx.try_send(open).expect("room");
    }
    tx.finish(TailEvent::End {
        cursor: Some("resume".into()),
        reason: "slow_subscriber",
    });
    drop(tx);
    for i in 0..EVENT_BUFFER {
        match rx.recv().await {
            Some(TailEvent::Open { cursor }) => assert_eq!(cursor, i.to_string()),
            other => panic!("event {i}: {other:?}"),
        }
    }
    match rx.recv().await {
        Some(TailEvent::End { cursor, reason }) => {
            assert_eq!(
                (cursor.as_deref(), reason),
                (Some("resume"), "slow_subscriber")
            );
        }
        other => panic!("the end: {other:?}"),
    }
    assert!(rx.recv().await.is_none());
    assert_eq!(stats.buffered_events.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_subscriber_that_never_reads_ends_on_shutdown_with_its_cursor() {
    let hub = hub(ListAdapter {
        records: records(50),
        hang: None,
        caps: Capabilities::new(&["start", "end"]),
    });
    let (task, mut rx) = start(&hub, 1);
    // The channel is full and one more event waits for room: the client
    // does not read.
    while hub.stats.buffered_events.load(Ordering::Relaxed) < EVENT_BUFFER as u64 + 1 {
        tokio::task::yield_now().await;
    }
    hub.shut_down();
    tokio::time::timeout(HANG_GUARD, hub.closed())
        .await
        .expect("the shutdown waited for a subscriber that never reads");
    task.await.unwrap();
    let mut last_cursor = None;
    for i in 0..EVENT_BUFFER {
        last_cursor = match rx.recv().await {
            Some(TailEvent::Open { cursor }) if i == 0 => Some(cursor),
            Some(TailEvent::Logs(page)) if i > 0 => page.next_cursor.clone(),
            other => panic!("event {i}: {other:?}"),
        };
    }
    match rx.recv().await {
        Some(TailEvent::End { cursor, reason }) => {
            assert_eq!(reason, "shutdown");
            assert_eq!(cursor, last_cursor, "resumes after the last event queued");
        }
        other => panic!("the end: {other:?}"),
    }
    assert!(rx.recv().await.is_none());
}

#[tokio::test]
async fn an_engine_page_in_flight_is_given_up_on_shutdown() {
    let started = Arc::new(Notify::new());
    let hub = hub(ListAdapter {
        records: Vec::new(),
        hang: Some(started.clone()),
        caps: Capabilities::new(&["start", "end"]),
    });
    let (task, mut rx) = start(&hub, 10);
    let Some(TailEvent::Open { cursor: opened }) = rx.recv().await else {
        panic!("the open event first");
    };
    started.notified().await;
    hub.shut_down();
    let ended = AtomicBool::new(false);
    tokio::time::timeout(HANG_GUARD, async {
        task.await.unwrap();
        ended.store(true, Ordering::Relaxed);
    })
    .await
    .expect("the shutdown waited for an upstream that never answers");
    assert!(ended.load(Ordering::Relaxed));
    match rx.recv().await {
        Some(TailEvent::End { cursor, reason }) => {
            assert_eq!(reason, "shutdown");
            assert_eq!(cursor.as_deref(), Some(opened.as_str()));
        }
        other => panic!("the end: {other:?}"),
    }
}
