//! The store's rules without HTTP: fetches are futures counted by the
//! test, time is tokio's paused clock (no test depends on timing).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;

use super::*;
use crate::error::SourceError;
use crate::http::UpstreamResponse;

const NOW: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

fn store() -> MemoryStore {
    MemoryStore::new(CacheSettings::default())
}

fn key(path: &str) -> CacheKey {
    let request = reqwest::Client::new()
        .get(format!("http://127.0.0.1:1{path}"))
        .build()
        .unwrap();
    CacheKey::of("src", &request, &[]).unwrap()
}

fn ok(body: &str) -> Result<UpstreamResponse, SourceError> {
    Ok(UpstreamResponse {
        status: 200,
        headers: HeaderMap::new(),
        body: body.as_bytes().to_vec(),
    })
}

/// A fetch that counts itself and answers `body` read at `read_ms`.
fn fetch<'a>(
    count: &'a AtomicUsize,
    read_ms: i64,
    outcome: Result<UpstreamResponse, SourceError>,
) -> FetchFuture<'a> {
    Box::pin(async move {
        count.fetch_add(1, Ordering::SeqCst);
        Fetched {
            outcome,
            read_ms,
            started: tokio::time::Instant::now(),
            queued: Duration::ZERO,
        }
    })
}

fn wants(window_end: i64) -> Wants {
    Wants {
        window_end,
        bypass: false,
    }
}

fn body(answer: &Answer) -> String {
    String::from_utf8(answer.outcome.as_ref().unwrap().body.clone()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn concurrent_identical_requests_are_sent_once_and_share_the_answer() {
    let store = Arc::new(store());
    let sent = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, sent, release) = (store.clone(), sent.clone(), release.clone());
        tasks.push(tokio::spawn(async move {
            let held = Box::pin(async {
                sent.fetch_add(1, Ordering::SeqCst);
                // Held until every request has arrived.
                release.notified().await;
                Fetched {
                    outcome: ok("shared"),
                    read_ms: NOW,
                    started: tokio::time::Instant::now(),
                    queued: Duration::ZERO,
                }
            });
            store.get_or_fetch(key("/logs"), wants(NOW), held).await
        }));
    }
    // Let every task reach the store, then let the one fetch answer.
    while sent.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    release.notify_waiters();
    let mut lookups = Vec::new();
    for task in tasks {
        let (answer, lookup) = task.await.unwrap();
        assert_eq!(body(&answer), "shared");
        lookups.push(lookup);
    }
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    assert_eq!(lookups.iter().filter(|l| **l == Lookup::Miss).count(), 1);
    assert_eq!(
        lookups.iter().filter(|l| **l == Lookup::Coalesced).count(),
        19
    );
}

#[tokio::test(start_paused = true)]
async fn a_settled_window_is_kept_long_a_fresh_one_briefly() {
    let store = store();
    let sent = AtomicUsize::new(0);
    let settled = wants(NOW - 11 * MINUTE);
    let fresh = wants(NOW - 1000);
    let (_, first) = store
        .get_or_fetch(key("/old"), settled, fetch(&sent, NOW, ok("old")))
        .await;
    let (_, first_fresh) = store
        .get_or_fetch(key("/new"), fresh, fetch(&sent, NOW, ok("new")))
        .await;
    assert_eq!((first, first_fresh), (Lookup::Miss, Lookup::Miss));
    tokio::time::advance(Duration::from_secs(4)).await;
    let (_, old) = store
        .get_or_fetch(key("/old"), settled, fetch(&sent, NOW, ok("x")))
        .await;
    let (_, new) = store
        .get_or_fetch(key("/new"), fresh, fetch(&sent, NOW, ok("x")))
        .await;
    assert_eq!((old, new), (Lookup::Hit, Lookup::Hit));
    // Past fresh_ttl (5 s): the fresh window is read again, the settled
    // one is still served until settled_ttl (1 h).
    tokio::time::advance(Duration::from_secs(2)).await;
    let (_, old) = store
        .get_or_fetch(key("/old"), settled, fetch(&sent, NOW, ok("x")))
        .await;
    let (answer, new) = store
        .get_or_fetch(key("/new"), fresh, fetch(&sent, NOW + 6000, ok("newer")))
        .await;
    assert_eq!((old, new), (Lookup::Hit, Lookup::Miss));
    assert_eq!(body(&answer), "newer");
    tokio::time::advance(Duration::from_secs(3600)).await;
    let (_, old) = store
        .get_or_fetch(key("/old"), settled, fetch(&sent, NOW, ok("x")))
        .await;
    assert_eq!(old, Lookup::Miss);
    assert_eq!(sent.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn an_answer_read_before_the_window_ended_never_serves_it() {
    let store = store();
    let sent = AtomicUsize::new(0);
    store
        .get_or_fetch(
            key("/all"),
            wants(NOW - 5000),
            fetch(&sent, NOW - 2000, ok("a")),
        )
        .await;
    // Same native request (a whole-log provider), a later pinned end: the
    // stored read may miss logs stamped between the two instants.
    let (answer, lookup) = store
        .get_or_fetch(key("/all"), wants(NOW), fetch(&sent, NOW + 10, ok("b")))
        .await;
    assert_eq!(lookup, Lookup::Miss);
    assert_eq!(body(&answer), "b");
    // An earlier end is covered by the newer read.
    let (_, lookup) = store
        .get_or_fetch(key("/all"), wants(NOW - 5000), fetch(&sent, NOW, ok("c")))
        .await;
    assert_eq!(lookup, Lookup::Hit);
}

#[tokio::test(start_paused = true)]
async fn bypass_uses_no_stored_answer_and_stores_its_own() {
    let store = store();
    let sent = AtomicUsize::new(0);
    let settled = wants(NOW - 20 * MINUTE);
    let bypass = Wants {
        bypass: true,
        ..settled
    };
    store
        .get_or_fetch(key("/k"), settled, fetch(&sent, NOW, ok("one")))
        .await;
    let (answer, lookup) = store
        .get_or_fetch(key("/k"), bypass, fetch(&sent, NOW, ok("two")))
        .await;
    assert_eq!((lookup, body(&answer).as_str()), (Lookup::Miss, "two"));
    let (answer, lookup) = store
        .get_or_fetch(key("/k"), settled, fetch(&sent, NOW, ok("three")))
        .await;
    assert_eq!((lookup, body(&answer).as_str()), (Lookup::Hit, "two"));
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}

/// Issue 16: `Cache-Control: no-cache` skips stored answers, yet a bypass
/// arriving while an identical request is in flight joins it (the answer
/// is read after the request arrived, so it is as new as its own would be).
#[tokio::test(start_paused = true)]
async fn a_bypass_joins_an_identical_request_in_flight() {
    let store = Arc::new(store());
    let sent = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Notify::new());
    let first = {
        let (store, sent, release) = (store.clone(), sent.clone(), release.clone());
        tokio::spawn(async move {
            let held = Box::pin(async move {
                sent.fetch_add(1, Ordering::SeqCst);
                release.notified().await;
                Fetched {
                    outcome: ok("in flight"),
                    read_ms: NOW,
                    started: tokio::time::Instant::now(),
                    queued: Duration::ZERO,
                }
            });
            store.get_or_fetch(key("/logs"), wants(NOW), held).await
        })
    };
    while sent.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let bypass = Wants {
        bypass: true,
        ..wants(NOW)
    };
    let second = {
        let (store, sent) = (store.clone(), sent.clone());
        tokio::spawn(async move {
            let own = Box::pin(async move {
                sent.fetch_add(1, Ordering::SeqCst);
                Fetched {
                    outcome: ok("its own"),
                    read_ms: NOW,
                    started: tokio::time::Instant::now(),
                    queued: Duration::ZERO,
                }
            });
            store.get_or_fetch(key("/logs"), bypass, own).await
        })
    };
    // Let the bypass reach the store and wait on the fetch in flight.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    release.notify_waiters();
    let (answer, lookup) = second.await.unwrap();
    assert_eq!(
        (body(&answer).as_str(), lookup),
        ("in flight", Lookup::Coalesced)
    );
    assert_eq!(first.await.unwrap().1, Lookup::Miss);
    assert_eq!(sent.load(Ordering::SeqCst), 1);
    // Once answered, a bypass does not take the stored answer.
    let (answer, lookup) = store
        .get_or_fetch(key("/logs"), bypass, fetch(&sent, NOW, ok("again")))
        .await;
    assert_eq!((body(&answer).as_str(), lookup), ("again", Lookup::Miss));
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_429_holds_its_whole_source_until_its_retry_after() {
    let store = store();
    let sent = AtomicUsize::new(0);
    let limited = Err(SourceError::RateLimited {
        message: "slow down".into(),
        retry_after: Some(Duration::from_secs(30)),
    });
    let (answer, lookup) = store
        .get_or_fetch(key("/k"), wants(NOW), fetch(&sent, NOW, limited))
        .await;
    assert_eq!(lookup, Lookup::Miss);
    // The 429 itself is not stored as an answer: the source is held.
    store
        .hold("src", "slow down", Duration::from_secs(30))
        .await;
    assert!(answer.result().is_err());
    assert!(store.get(&key("/k"), &wants(NOW)).await.is_none());
    tokio::time::advance(Duration::from_secs(20)).await;
    match store.held("src").await {
        Some(SourceError::RateLimited {
            message,
            retry_after,
        }) => {
            assert_eq!(message, "slow down");
            assert_eq!(retry_after, Some(Duration::from_secs(10)));
        }
        other => panic!("expected the held 429, got {other:?}"),
    }
    assert!(store.held("other").await.is_none(), "only its own source");
    // A shorter Retry-After does not shorten the hold.
    store.hold("src", "again", Duration::from_secs(1)).await;
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(store.held("src").await.is_some());
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(store.held("src").await.is_none());
}

#[tokio::test(start_paused = true)]
async fn other_failures_are_not_kept() {
    let store = store();
    let sent = AtomicUsize::new(0);
    let failed = Err(SourceError::Network("reset".into()));
    store
        .get_or_fetch(
            key("/k"),
            wants(NOW - 20 * MINUTE),
            fetch(&sent, NOW, failed),
        )
        .await;
    let (_, lookup) = store
        .get_or_fetch(
            key("/k"),
            wants(NOW - 20 * MINUTE),
            fetch(&sent, NOW, ok("x")),
        )
        .await;
    assert_eq!(lookup, Lookup::Miss);
    assert_eq!(sent.load(Ordering::SeqCst), 2);
}

#[test]
fn a_key_holds_no_secret_and_ignores_credentials() {
    let client = reqwest::Client::new();
    let request = |token: &str, query: &str| {
        client
            .get(format!("http://127.0.0.1:1/logs?{query}"))
            .bearer_auth(token)
            .header("x-api-version", "2")
            .build()
            .unwrap()
    };
    let a = CacheKey::of("s", &request("t1", "key=sekret&n=1"), &["sekret"]).unwrap();
    // Another token (refreshed), the secret in the URL cut out: same key.
    let b = CacheKey::of("s", &request("t2", "key=other&n=1"), &["other"]).unwrap();
    assert_eq!(a, b);
    let c = CacheKey::of("s", &request("t1", "key=sekret&n=2"), &["sekret"]).unwrap();
    let d = CacheKey::of("t", &request("t1", "key=sekret&n=1"), &["sekret"]).unwrap();
    assert_ne!(a, c);
    assert_ne!(a, d);
    assert!(!format!("{a:?}").contains("sekret"));
    let post = client.post("http://127.0.0.1:1/token").build().unwrap();
    assert!(CacheKey::of("s", &post, &[]).is_none());
}

#[tokio::test]
async fn the_store_stays_under_its_byte_bound() {
    let store = MemoryStore::new(CacheSettings {
        max_bytes: 64 * 1024,
        ..CacheSettings::default()
    });
    let sent = AtomicUsize::new(0);
    let big = "x".repeat(4000);
    for i in 0..200 {
        store
            .get_or_fetch(
                key(&format!("/p{i}")),
                wants(NOW - 20 * MINUTE),
                fetch(&sent, NOW, ok(&big)),
            )
            .await;
    }
    let size = store.weighted_size().await;
    assert!(size <= 64 * 1024, "{size} bytes held");
    assert!(size >= 4000, "nothing kept: {size}");
}
