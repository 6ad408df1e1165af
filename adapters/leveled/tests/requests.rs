//! The exact outgoing requests: path, headers and query parameters for
//! every pushed filter, in both orders and from resumed positions.
#![cfg(feature = "sim")]

mod common;

use common::{config, fetch_once, pairs, seen_queries, TOKEN};
use loggate_core::query::LevelSet;
use loggate_core::testkit::{pinned_query, reference, traverse, LARGE_BUDGET};
use loggate_core::time::{format_ms, format_ms_end};
use loggate_core::{Filters, Key, Level, Order, Position};
use serde_json::json;

fn levels(levels: &[Level]) -> Option<LevelSet> {
    Some(levels.iter().copied().collect())
}

#[tokio::test]
async fn every_pushed_filter_reaches_the_request() {
    let setup = common::start(config(1, 200, 50)).await;
    let start = 1_700_000_000_123;
    let end = 1_800_000_000_456;
    let filters = Filters {
        start: Some(start),
        end: Some(end),
        level: levels(&[Level::Error]),
        service: Some("user-service".into()),
        q: Some("Payment declined".into()),
        user_id: Some("12345".into()),
        ..Filters::default()
    };
    let query = pinned_query(filters.clone(), Order::Desc);
    let query = loggate_core::SourceQuery {
        filters: Filters {
            end: Some(end),
            ..query.filters
        },
        ..query
    };
    fetch_once(&*setup.adapter, &query, &Position::start(), 10)
        .await
        .unwrap();
    let seen = setup.sim.faults().seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/logs")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        request.query_pairs(),
        pairs(&[
            // `user_id` is applied by the adapter, not upstream: whole
            // pages, not `want + 1` (`Filters::has_residual`).
            ("limit", "100"),
            ("offset", "0"),
            ("startDate", "2023-11-14T22:13:20.123Z"),
            ("endDate", "2027-01-15T08:00:00.456999999Z"),
            ("level", "ERROR"),
            ("service", "user-service"),
            ("search", "Payment declined"),
        ])
    );
    assert_eq!(
        setup.adapter.pushed(&filters),
        vec!["start", "end", "level", "q", "service"]
    );
}

#[tokio::test]
async fn min_level_fatal_goes_out_as_level() {
    let setup = common::start(config(2, 100, 30)).await;
    let filters = Filters {
        min_level: Some(Level::Fatal),
        ..Filters::default()
    };
    let query = pinned_query(filters.clone(), Order::Desc);
    fetch_once(&*setup.adapter, &query, &Position::start(), 10)
        .await
        .unwrap();
    let sent = &seen_queries(setup.sim.faults())[0];
    assert!(
        sent.contains(&("level".to_string(), "FATAL".to_string())),
        "{sent:?}"
    );
    assert_eq!(setup.adapter.pushed(&filters), vec!["min_level"]);
}

#[tokio::test]
async fn levels_without_an_exact_native_value_stay_in_the_gateway() {
    let setup = common::start(config(3, 150, 40)).await;
    // An undocumented level maps to INFO: a native `level=INFO` would lose it.
    let notice = json!({"timestamp": format_ms(loggate_core::time::now_ms() - 5000),
        "level": "NOTICE", "service": "api-gateway", "message": "Configuration reloaded"});
    setup.sim.insert(notice);
    let cases = [
        Filters {
            level: levels(&[Level::Info]),
            ..Filters::default()
        },
        Filters {
            level: levels(&[Level::Trace]),
            ..Filters::default()
        },
        Filters {
            level: levels(&[Level::Warn, Level::Error]),
            ..Filters::default()
        },
        Filters {
            min_level: Some(Level::Warn),
            ..Filters::default()
        },
    ];
    for filters in cases {
        setup.sim.faults().forget_seen();
        let query = pinned_query(filters.clone(), Order::Desc);
        let got = traverse(&*setup.adapter, &query, 50, LARGE_BUDGET).await;
        assert_eq!(got, reference(&setup.sim.snapshot(), &query), "{filters:?}");
        for sent in seen_queries(setup.sim.faults()) {
            assert!(
                sent.iter().all(|(name, _)| name != "level"),
                "{filters:?}: {sent:?}"
            );
        }
        assert!(setup.adapter.pushed(&filters).is_empty(), "{filters:?}");
    }
    let info = pinned_query(
        Filters {
            level: levels(&[Level::Info]),
            ..Filters::default()
        },
        Order::Desc,
    );
    let got = traverse(&*setup.adapter, &info, 50, LARGE_BUDGET).await;
    assert!(got
        .iter()
        .any(|r| r.attributes.get("level") == Some(&json!("NOTICE"))));
}

#[tokio::test]
async fn search_pushdown_can_be_turned_off() {
    let mut sensitive = config(4, 300, 80);
    sensitive.search_case_sensitive = true;
    let filters = Filters {
        q: Some("order".into()),
        ..Filters::default()
    };
    let query = pinned_query(filters.clone(), Order::Desc);

    let off = common::start_with_pushdown(sensitive.clone(), false).await;
    assert!(!off
        .adapter
        .capabilities()
        .pushdown
        .contains(&"q".to_string()));
    assert!(off.adapter.pushed(&filters).is_empty());
    let got = traverse(&*off.adapter, &query, 50, LARGE_BUDGET).await;
    let expected = reference(&off.sim.snapshot(), &query);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert!(seen_queries(off.sim.faults())
        .iter()
        .flatten()
        .all(|(name, _)| name != "search"));

    // Why the switch exists: a case-sensitive provider drops `Order ...`.
    let on = common::start_with_pushdown(sensitive, true).await;
    assert_eq!(on.adapter.pushed(&filters), vec!["q"]);
    let lossy = traverse(&*on.adapter, &query, 50, LARGE_BUDGET).await;
    assert!(lossy.len() < expected.len());
}

#[tokio::test]
async fn desc_resumes_with_end_date_at_the_position() {
    let setup = common::start(config(5, 100, 30)).await;
    let query = pinned_query(Filters::default(), Order::Desc);
    let end = query.filters.end.unwrap();
    let bound = end - 60_000;
    let position = Position::after(Key::new(bound, "ffff"), Some(40));
    fetch_once(&*setup.adapter, &query, &position, 5)
        .await
        .unwrap();
    let sent = &seen_queries(setup.sim.faults())[0];
    assert_eq!(
        sent,
        &pairs(&[
            ("limit", "10"),
            ("offset", "0"),
            ("endDate", &format_ms_end(bound))
        ])
    );

    // The client's own end wins when it is earlier than the position.
    setup.sim.faults().forget_seen();
    let mut earlier = query.clone();
    earlier.filters.end = Some(bound - 5);
    fetch_once(&*setup.adapter, &earlier, &position, 5)
        .await
        .unwrap();
    let sent = &seen_queries(setup.sim.faults())[0];
    assert_eq!(sent[2], ("endDate".to_string(), format_ms_end(bound - 5)));
}

#[tokio::test]
async fn asc_reads_the_last_page_of_the_window() {
    // 300 entries on distinct seconds, so the oldest page ends cleanly.
    let setup = common::start(config(6, 300, 1_000_000)).await;
    let total = setup.sim.snapshot().len();
    let query = pinned_query(
        Filters {
            start: Some(0),
            ..Filters::default()
        },
        Order::Asc,
    );
    let end = format_ms_end(query.filters.end.unwrap());
    let first = fetch_once(&*setup.adapter, &query, &Position::start(), 1)
        .await
        .unwrap();
    // A fetch of one record asks for ten (the smallest request).
    let tail = (total - 10).to_string();
    let start = format_ms(0);
    assert_eq!(
        seen_queries(setup.sim.faults()),
        vec![
            // The first answer only tells the window's total ...
            pairs(&[
                ("limit", "10"),
                ("offset", "0"),
                ("startDate", &start),
                ("endDate", &end)
            ]),
            // ... then its last page holds the oldest entries.
            pairs(&[
                ("limit", "10"),
                ("offset", &tail),
                ("startDate", &start),
                ("endDate", &end)
            ]),
        ]
    );
    let oldest = &first.records[0];
    assert_eq!(
        oldest.key(),
        reference(&setup.sim.snapshot(), &query)[0].key()
    );

    // The whole oldest group came back; the position starts after it and
    // carries the remaining total, so the next fetch needs one request.
    assert!(first
        .records
        .iter()
        .all(|r| r.timestamp_ms == oldest.timestamp_ms));
    assert_eq!(
        first.frontier,
        Position::group(
            oldest.timestamp_ms + 1,
            Some((total - first.records.len()) as u64)
        )
    );
    setup.sim.faults().forget_seen();
    fetch_once(&*setup.adapter, &query, &first.frontier, 1)
        .await
        .unwrap();
    let bound = format_ms(oldest.timestamp_ms + 1);
    let tail = (total - first.records.len() - 10).to_string();
    assert_eq!(
        seen_queries(setup.sim.faults()),
        vec![pairs(&[
            ("limit", "10"),
            ("offset", &tail),
            ("startDate", &bound),
            ("endDate", &end)
        ])]
    );
}

#[tokio::test]
async fn nothing_is_sent_when_nothing_can_match() {
    let setup = common::start(config(7, 50, 10)).await;
    let empty = Filters {
        level: levels(&[Level::Info]),
        min_level: Some(Level::Error),
        ..Filters::default()
    };
    for order in [Order::Desc, Order::Asc] {
        let batch = fetch_once(
            &*setup.adapter,
            &pinned_query(empty.clone(), order),
            &Position::start(),
            5,
        )
        .await
        .unwrap();
        assert!(batch.records.is_empty() && batch.frontier.done);
        let done = fetch_once(
            &*setup.adapter,
            &pinned_query(Filters::default(), order),
            &Position::finished(),
            5,
        )
        .await
        .unwrap();
        assert!(done.records.is_empty() && done.frontier.done);
    }
    assert_eq!(setup.sim.faults().seen_count(), 0);
}
