//! Engine tests over an in-memory adapter: the exactly-once traversal
//! invariant across sources, orders, limits, scan budgets, inserts between
//! pages and failing sources; cursor checks; partial results.

use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use loggate_core::record::sort_records;
use loggate_core::{
    Adapter, Batch, Capabilities, FetchRequest, Level, LogRecord, Order, Position, SourceError,
};
use proptest::prelude::*;

use super::query::{parse_logs_query, LogsRequest};
use super::*;

/// A keyset adapter over a vector; scans records in order and honours
/// `want` and `budget` exactly like a provider with a time filter.
struct MemoryAdapter {
    records: Mutex<Vec<LogRecord>>,
    fail_next: AtomicUsize,
    caps: Capabilities,
}

impl MemoryAdapter {
    fn new(records: Vec<LogRecord>) -> Arc<Self> {
        Arc::new(MemoryAdapter {
            records: Mutex::new(records),
            fail_next: AtomicUsize::new(0),
            caps: Capabilities::new(&["start", "end"]),
        })
    }
}

#[async_trait]
impl Adapter for MemoryAdapter {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn fetch(&self, request: FetchRequest<'_>) -> Result<Batch, SourceError> {
        if self.fail_next.load(AtomicOrdering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, AtomicOrdering::SeqCst);
            return Err(SourceError::Upstream {
                status: 500,
                message: "boom".into(),
                retry_after: None,
            });
        }
        let order = request.query.order;
        let mut all = self.records.lock().unwrap().clone();
        sort_records(&mut all, order);
        let mut batch = Batch::default();
        let mut last_scanned = None;
        let remaining: Vec<LogRecord> = all
            .into_iter()
            .filter(|r| request.query.filters.matches_time(r.timestamp_ms))
            .filter(|r| !request.position.covers(&r.key(), order))
            .collect();
        let total = remaining.len();
        for (i, record) in remaining.into_iter().enumerate() {
            if batch.records.len() >= request.want || batch.scanned >= request.budget {
                break;
            }
            batch.scanned += 1;
            last_scanned = Some(record.key());
            let exhausted = i + 1 == total;
            if request.query.filters.matches(&record) {
                batch.records.push(record);
            }
            if exhausted {
                batch.frontier = Position::finished();
                return Ok(batch);
            }
        }
        batch.frontier = match last_scanned {
            Some(key) => Position::after(key, None),
            None if total == 0 => Position::finished(),
            None => request.position.clone(),
        };
        Ok(batch)
    }
}

fn record(ts: i64, id: usize, level: Level) -> LogRecord {
    LogRecord {
        native_id: format!("{id:04}"),
        timestamp_ms: ts,
        level,
        message: format!("message {id}"),
        service: Some(if id.is_multiple_of(3) { "api" } else { "web" }.into()),
        user_id: None,
        attributes: Default::default(),
        raw: None,
    }
}

fn engine(sources: Vec<(&str, Arc<MemoryAdapter>)>, budget: usize) -> Engine {
    Engine::new(
        sources
            .into_iter()
            .map(|(name, adapter)| Source::new(name, adapter as Arc<dyn Adapter>))
            .collect(),
        CursorSigner::new(b"test-secret"),
        EngineSettings {
            request_timeout: Duration::from_secs(30),
            scan_budget: budget,
            max_queue_wait: Duration::from_secs(1),
            settle: Duration::ZERO,
            pin_rounding: Duration::from_millis(1),
            late_window: Duration::ZERO,
            late_ids: super::late::MAX_LATE_IDS,
            split: None,
            freshness_horizon: None,
        },
    )
}

/// Follows `next_cursor` to the end; returns (source, id) pairs in order.
async fn traverse(
    engine: &Engine,
    first: &str,
    limit: usize,
    between: impl Fn(usize),
) -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    let mut request = parse_logs_query(Some(&format!("{first}&limit={limit}"))).unwrap();
    for page_number in 0..100_000 {
        let page = match engine.page(request.clone(), &Caller::default()).await {
            Ok(page) => page,
            // Every source failed: a client tries the same page again.
            Err(EngineError::Upstream(_) | EngineError::UpstreamRetryAfter { .. }) => continue,
            Err(e) => panic!("unexpected error: {e}"),
        };
        assert!(page.logs.len() <= limit);
        out.extend(
            page.logs
                .iter()
                .map(|(s, _, r)| (s.to_string(), r.native_id.clone(), r.timestamp_ms)),
        );
        between(page_number);
        match page.next_cursor {
            Some(cursor) => {
                request = LogsRequest {
                    cursor: Some(cursor),
                    limit,
                    partial: true,
                    ..LogsRequest::default()
                }
            }
            None => return out,
        }
    }
    panic!("traversal did not finish");
}

fn reference(
    data: &[(&str, Vec<LogRecord>)],
    filters: &Filters,
    order: Order,
) -> Vec<(String, String, i64)> {
    let mut all: Vec<(String, LogRecord)> = data
        .iter()
        .flat_map(|(s, records)| {
            records
                .iter()
                .filter(|r| filters.matches(r))
                .map(move |r| (s.to_string(), r.clone()))
        })
        .collect();
    all.sort_by(|a, b| merge::cmp_global((&a.0, &a.1), (&b.0, &b.1), order));
    all.into_iter()
        .map(|(s, r)| (s, r.native_id, r.timestamp_ms))
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every matching record exactly once, in (timestamp, source, id)
    /// order, whatever the limit, budget, ties, inserts and failures.
    #[test]
    fn traversal_is_exactly_once_and_ordered(
        sizes in proptest::collection::vec(0usize..60, 1..4),
        spread in 1i64..12,
        limit in 1usize..25,
        budget in 1usize..40,
        asc in any::<bool>(),
        level_filter in any::<bool>(),
        inserts in any::<bool>(),
        fail_every in proptest::option::of(2usize..5),
    ) {
        let base = loggate_core::time::now_ms() - 86_400_000;
        let names = ["alpha", "beta", "gamma"];
        let data: Vec<(&str, Vec<LogRecord>)> = sizes.iter().enumerate().map(|(s, &n)| {
            let records = (0..n).map(|i| {
                let level = if (i * 7 + s) % 3 == 0 { Level::Error } else { Level::Info };
                record(base + ((i as i64 * 31 + s as i64) % spread), i, level)
            }).collect();
            (names[s], records)
        }).collect();
        let adapters: Vec<Arc<MemoryAdapter>> = data.iter().map(|(_, r)| MemoryAdapter::new(r.clone())).collect();
        let engine = engine(data.iter().map(|(n, _)| *n).zip(adapters.iter().cloned()).collect(), budget);
        let order = if asc { Order::Asc } else { Order::Desc };
        let mut query = format!("order={}", order.as_str());
        let mut filters = Filters::default();
        if level_filter {
            query.push_str("&level=ERROR");
            filters.level = Some([Level::Error].into_iter().collect());
        }
        let expected = reference(&data, &filters, order);
        let counter = AtomicUsize::new(0);
        let got = runtime().block_on(traverse(&engine, &query, limit, |page| {
            if inserts {
                let id = 10_000 + counter.fetch_add(1, AtomicOrdering::SeqCst);
                let late = record(loggate_core::time::now_ms() + 1000, id, Level::Error);
                adapters[page % adapters.len()].records.lock().unwrap().push(late);
            }
            if let Some(every) = fail_every {
                if page % every == 0 {
                    adapters[page % adapters.len()].fail_next.store(1, AtomicOrdering::SeqCst);
                }
            }
        }));
        let mut sorted_got = got.clone();
        let mut sorted_expected = expected.clone();
        sorted_got.sort();
        sorted_expected.sort();
        prop_assert_eq!(&sorted_got, &sorted_expected, "not exactly once");
        if fail_every.is_none() {
            prop_assert_eq!(got, expected, "out of order");
        }
    }
}

#[tokio::test]
async fn three_hundred_ties_across_pages_of_seven() {
    let base = loggate_core::time::now_ms() - 1000;
    let a: Vec<LogRecord> = (0..300).map(|i| record(base, i, Level::Info)).collect();
    let b: Vec<LogRecord> = (0..300).map(|i| record(base, i, Level::Warn)).collect();
    let data = vec![("a", a.clone()), ("b", b.clone())];
    let engine = engine(
        vec![("a", MemoryAdapter::new(a)), ("b", MemoryAdapter::new(b))],
        10_000,
    );
    for order in [Order::Desc, Order::Asc] {
        let got = traverse(&engine, &format!("order={}", order.as_str()), 7, |_| {}).await;
        assert_eq!(got, reference(&data, &Filters::default(), order));
    }
}

#[tokio::test]
async fn a_cursor_carries_the_query_and_rejects_changes() {
    let base = loggate_core::time::now_ms() - 1000;
    let records: Vec<LogRecord> = (0..20)
        .map(|i| record(base + i as i64, i, Level::Error))
        .collect();
    let engine = engine(vec![("a", MemoryAdapter::new(records))], 10_000);
    let first = engine
        .page(
            parse_logs_query(Some("level=error&limit=3&service=api")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    let with = |extra: &str| parse_logs_query(Some(&format!("cursor={cursor}{extra}"))).unwrap();
    // The same values, a changed limit and partial are fine.
    assert!(engine
        .page(
            with("&level=ERROR&limit=9&partial=false"),
            &Caller::default()
        )
        .await
        .is_ok());
    for (extra, param) in [
        ("&level=WARN", "level"),
        ("&q=x", "q"),
        ("&order=asc", "order"),
        ("&source=a,b", "source"),
        ("&attr.k=v", "attr.k"),
        ("&service=web", "service"),
        ("&start=2020-01-01T00:00:00Z", "start"),
    ] {
        let e = engine
            .page(with(extra), &Caller::default())
            .await
            .unwrap_err();
        assert_eq!(
            (e.code(), e.param()),
            ("cursor_mismatch", Some(param)),
            "{extra}"
        );
    }
    let mut altered = cursor.clone();
    altered.replace_range(5..6, if &cursor[5..6] == "A" { "B" } else { "A" });
    let e = engine
        .page(
            parse_logs_query(Some(&format!("cursor={altered}"))).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_cursor");
    let other_key = Caller {
        key: Some("someone".into()),
        allowed: None,
    };
    let e = engine.page(with(""), &other_key).await.unwrap_err();
    assert_eq!(e.code(), "invalid_cursor");
}

#[tokio::test]
async fn partial_failure_reports_the_source_and_all_failing_is_502() {
    let base = loggate_core::time::now_ms() - 1000;
    let a = MemoryAdapter::new(
        (0..5)
            .map(|i| record(base + i as i64, i, Level::Info))
            .collect(),
    );
    let b = MemoryAdapter::new(
        (0..5)
            .map(|i| record(base + i as i64, i, Level::Info))
            .collect(),
    );
    let engine = engine(vec![("a", a.clone()), ("b", b.clone())], 10_000);
    b.fail_next.store(1, AtomicOrdering::SeqCst);
    let page = engine
        .page(
            parse_logs_query(Some("limit=100")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap();
    assert!(page.partial);
    assert_eq!(page.logs.len(), 5);
    assert_eq!(
        page.sources["b"].error.as_ref().unwrap().0,
        "upstream_error"
    );
    assert!(
        page.next_cursor.is_some(),
        "the failed source must be resumed"
    );

    b.fail_next.store(1, AtomicOrdering::SeqCst);
    let e = engine
        .page(
            parse_logs_query(Some("limit=100&partial=false")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "upstream_error");

    a.fail_next.store(1, AtomicOrdering::SeqCst);
    b.fail_next.store(1, AtomicOrdering::SeqCst);
    let e = engine
        .page(
            parse_logs_query(Some("limit=100")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "upstream_error");
}

#[tokio::test]
async fn unknown_and_forbidden_sources_are_named() {
    let engine = engine(vec![("a", MemoryAdapter::new(vec![]))], 10);
    let e = engine
        .page(
            parse_logs_query(Some("source=zz")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap_err();
    assert_eq!((e.code(), e.param()), ("unknown_source", Some("source")));
    let scoped = Caller {
        key: Some("k".into()),
        allowed: Some(vec!["b".into()]),
    };
    let e = engine
        .page(parse_logs_query(Some("source=a")).unwrap(), &scoped)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    // Without `source`, a key gets exactly its own sources (here none of them).
    let page = engine
        .page(parse_logs_query(None).unwrap(), &scoped)
        .await
        .unwrap();
    assert!(page.sources.is_empty() && page.next_cursor.is_none());
}

#[tokio::test]
async fn pushed_and_residual_split_the_filters() {
    let engine = engine(vec![("a", MemoryAdapter::new(vec![]))], 10);
    let page = engine
        .page(
            parse_logs_query(Some("start=2020-01-01T00:00:00Z&q=x&level=info")).unwrap(),
            &Caller::default(),
        )
        .await
        .unwrap();
    let report = &page.sources["a"];
    assert_eq!(report.pushed, vec!["start"]);
    assert_eq!(report.residual, vec!["level", "q"]);
}
