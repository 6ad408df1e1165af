//! The exact requests the adapter sends: path, parameters, headers, for
//! every pushed filter, with and without the time filter, and how
//! auto-detection of the time filter shows in them.

mod common;

use common::*;
use loggate_core::query::Filters;
use loggate_core::{Adapter, Key, Order, Position};
use loggate_logto::TimeFilter;

fn all_pushable(end: i64) -> Filters {
    Filters {
        start: Some(NOW - 1_000_000),
        end: Some(end),
        user_id: Some("u1".into()),
        attrs: [
            ("applicationId".to_string(), "app1".to_string()),
            ("key".to_string(), "RevokeToken".to_string()),
        ]
        .into(),
        ..Filters::default()
    }
}

#[tokio::test]
async fn first_page_without_filters_is_page_one_with_the_bearer_token() {
    let env = start(config(100, 50, true), Creds::Static, TimeFilter::On).await;
    fetch(
        env.adapter.as_ref(),
        &query(Filters::default(), Order::Desc),
        &Position::start(),
        50,
    )
    .await
    .unwrap();
    let seen = env.sim.faults().seen();
    // A second page only if the first ended inside a tie group.
    assert!(seen.len() <= 2);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/api/logs");
    assert_eq!(
        seen[0].query_pairs(),
        pairs(&[("page", "1"), ("page_size", "67")])
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer logto-demo-token")
    );
}

#[tokio::test]
async fn every_pushable_filter_is_sent_with_the_time_filter_on() {
    let env = start(config(100, 50, true), Creds::Static, TimeFilter::On).await;
    let filters = all_pushable(NOW);
    let batch = fetch(
        env.adapter.as_ref(),
        &query(filters.clone(), Order::Desc),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    assert!(batch.frontier.done);
    let expected = pairs(&[
        ("userId", "u1"),
        ("applicationId", "app1"),
        ("logKey", "RevokeToken"),
        // Widened by 1 ms: right on exclusive (v1.40–v1.41) and inclusive
        // (v1.42+) servers.
        ("start_time", &(NOW - 1_000_000 - 1).to_string()),
        ("end_time", &(NOW + 1).to_string()),
        ("page", "1"),
        ("page_size", "20"),
    ]);
    assert_eq!(log_requests(&env.sim), vec![expected]);
    assert_eq!(
        env.adapter.pushed(&filters),
        vec!["start", "end", "user_id", "attr.applicationId", "attr.key"]
    );
}

#[tokio::test]
async fn time_filter_off_sends_no_time_bounds_and_reports_none() {
    let env = start(config(100, 50, true), Creds::Static, TimeFilter::Off).await;
    let filters = all_pushable(NOW);
    fetch(
        env.adapter.as_ref(),
        &query(filters.clone(), Order::Desc),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    let expected = pairs(&[
        ("userId", "u1"),
        ("applicationId", "app1"),
        ("logKey", "RevokeToken"),
        ("page", "1"),
        ("page_size", "20"),
    ]);
    assert_eq!(log_requests(&env.sim), vec![expected]);
    assert_eq!(
        env.adapter.pushed(&filters),
        vec!["user_id", "attr.applicationId", "attr.key"]
    );
}

#[tokio::test]
async fn residual_filters_read_full_pages_and_empty_values_are_not_sent() {
    let env = start(config(30, 10, true), Creds::Static, TimeFilter::On).await;
    let filters = Filters {
        user_id: Some(String::new()),
        q: Some("token".into()),
        ..Filters::default()
    };
    fetch(
        env.adapter.as_ref(),
        &query(filters.clone(), Order::Desc),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        log_requests(&env.sim),
        vec![pairs(&[("page", "1"), ("page_size", "100")])]
    );
    assert!(env.adapter.pushed(&filters).is_empty());
}

#[tokio::test]
async fn desc_resumes_with_end_time_at_the_position_bound() {
    let env = start(config(100, 50, true), Creds::Static, TimeFilter::On).await;
    let position = Position::after(Key::new(NOW - 5_000, "zzz"), None);
    let filters = Filters {
        end: Some(NOW),
        ..Filters::default()
    };
    fetch(
        env.adapter.as_ref(),
        &query(filters, Order::Desc),
        &position,
        30,
    )
    .await
    .unwrap();
    let first = &log_requests(&env.sim)[0];
    assert_eq!(
        first,
        &pairs(&[
            ("end_time", &(NOW - 5_000 + 1).to_string()),
            ("page", "1"),
            ("page_size", "42")
        ])
    );
}

#[tokio::test]
async fn asc_reads_the_last_page_of_the_window_from_the_total() {
    let env = start(config(400, 400, true), Creds::Static, TimeFilter::On).await;
    let filters = Filters {
        start: Some(NOW - 3_600_000),
        end: Some(NOW),
        ..Filters::default()
    };
    let q = query(filters, Order::Asc);
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 30)
        .await
        .unwrap();
    let requests = log_requests(&env.sim);
    let window = [
        ("start_time", (NOW - 3_600_000 - 1).to_string()),
        ("end_time", (NOW + 1).to_string()),
    ];
    // No hint yet: page one tells the total, then the last page (400 rows:
    // 400 - 1 = 399 = 4 * 99 + 3, so page 5 of 99 would hold 3 rows; the
    // adapter picks the size that reaches furthest back).
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(
        requests[0][..2],
        window
            .iter()
            .map(|(a, b)| (a.to_string(), b.clone()))
            .collect::<Vec<_>>()[..]
    );
    assert_eq!(
        requests[0][2..],
        pairs(&[("page", "1"), ("page_size", "42")])[..]
    );
    let (page, size) = loggate_logto::window::page_containing(399);
    assert_eq!(
        requests[1][2..],
        pairs(&[
            ("page", &page.to_string()),
            ("page_size", &size.to_string())
        ])[..]
    );
    // The next fetch carries the window's total in its hint: one request.
    env.sim.faults().forget_seen();
    fetch(env.adapter.as_ref(), &q, &batch.frontier, 30)
        .await
        .unwrap();
    assert_eq!(log_requests(&env.sim).len(), 1);
}

#[tokio::test]
async fn page_size_never_exceeds_one_hundred() {
    for honours in [true, false] {
        for order in [Order::Desc, Order::Asc] {
            let env = start(config(700, 5, honours), Creds::Static, TimeFilter::Auto).await;
            let q = query(
                Filters {
                    end: Some(NOW),
                    ..Filters::default()
                },
                order,
            );
            traverse(env.adapter.as_ref(), &q, 1000, 10_000, |_| {}).await;
            for request in log_requests(&env.sim) {
                let size: u64 = request
                    .iter()
                    .find(|(n, _)| n == "page_size")
                    .unwrap()
                    .1
                    .parse()
                    .unwrap();
                let page: u64 = request
                    .iter()
                    .find(|(n, _)| n == "page")
                    .unwrap()
                    .1
                    .parse()
                    .unwrap();
                assert!((1..=100).contains(&size) && page >= 1, "{request:?}");
            }
        }
    }
}

#[tokio::test]
async fn auto_detection_probes_once_on_a_new_server() {
    let env = start(config(200, 100, true), Creds::Static, TimeFilter::Auto).await;
    let filters = Filters {
        end: Some(NOW),
        ..Filters::default()
    };
    assert_eq!(
        env.adapter.pushed(&filters),
        Vec::<String>::new(),
        "unknown yet: not reported"
    );
    let q = query(filters.clone(), Order::Desc);
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 10)
        .await
        .unwrap();
    let requests = log_requests(&env.sim);
    assert_eq!(requests.len(), 2, "{requests:?}");
    let newest = batch.records[0].timestamp_ms;
    assert_eq!(
        requests[1],
        pairs(&[
            ("end_time", &(newest - 1).to_string()),
            ("page", "1"),
            ("page_size", "1")
        ])
    );
    assert_eq!(env.adapter.pushed(&filters), vec!["end"]);
    env.sim.faults().forget_seen();
    fetch(env.adapter.as_ref(), &q, &batch.frontier, 10)
        .await
        .unwrap();
    let requests = log_requests(&env.sim);
    assert_eq!(requests.len(), 1);
    assert!(requests[0].iter().any(|(n, _)| n == "end_time"));
}

#[tokio::test]
async fn auto_detection_falls_back_to_offsets_on_an_old_server() {
    let env = start(config(200, 100, false), Creds::Static, TimeFilter::Auto).await;
    let filters = Filters {
        end: Some(NOW),
        ..Filters::default()
    };
    let q = query(filters.clone(), Order::Desc);
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 10)
        .await
        .unwrap();
    let requests = log_requests(&env.sim);
    // The window, the probe that the old server answers with a newer row,
    // then offset paging without time bounds.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(requests[2], pairs(&[("page", "1"), ("page_size", "20")]));
    assert!(env.adapter.pushed(&filters).is_empty());
    env.sim.faults().forget_seen();
    fetch(env.adapter.as_ref(), &q, &batch.frontier, 10)
        .await
        .unwrap();
    for request in log_requests(&env.sim) {
        assert!(
            !request
                .iter()
                .any(|(n, _)| n == "end_time" || n == "start_time"),
            "{request:?}"
        );
    }
}

#[tokio::test]
async fn auto_detection_sees_rows_outside_the_window_without_a_probe() {
    let env = start(config(200, 100, false), Creds::Static, TimeFilter::Auto).await;
    let filters = Filters {
        end: Some(NOW - 1_800_000),
        ..Filters::default()
    };
    fetch(
        env.adapter.as_ref(),
        &query(filters.clone(), Order::Desc),
        &Position::start(),
        10,
    )
    .await
    .unwrap();
    let requests = log_requests(&env.sim);
    // Rows newer than end_time came back: no probe, straight to offsets
    // (which must scan past the newer rows on such a server).
    assert_eq!(requests[1], pairs(&[("page", "1"), ("page_size", "20")]));
    assert!(
        requests[1..]
            .iter()
            .flatten()
            .all(|(n, _)| n == "page" || n == "page_size"),
        "{requests:?}"
    );
}

#[tokio::test]
async fn forced_time_filter_on_an_old_server_fails_loudly() {
    let env = start(config(200, 100, false), Creds::Static, TimeFilter::On).await;
    let filters = Filters {
        end: Some(NOW - 1_800_000),
        ..Filters::default()
    };
    let error = fetch(
        env.adapter.as_ref(),
        &query(filters, Order::Desc),
        &Position::start(),
        10,
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("ignores start_time/end_time"),
        "{error}"
    );
}

#[tokio::test]
async fn asc_without_the_time_filter_pages_backwards_from_the_total() {
    let env = start(config(400, 400, false), Creds::Static, TimeFilter::Off).await;
    let q = query(
        Filters {
            end: Some(NOW),
            ..Filters::default()
        },
        Order::Asc,
    );
    let batch = fetch(env.adapter.as_ref(), &q, &Position::start(), 30)
        .await
        .unwrap();
    let (page, size) = loggate_logto::window::page_containing(399);
    let requests = log_requests(&env.sim);
    assert_eq!(
        requests,
        vec![
            pairs(&[("page", "1"), ("page_size", "42")]),
            pairs(&[
                ("page", &page.to_string()),
                ("page_size", &size.to_string())
            ])
        ]
    );
    // The hint carries the total: the next fetch needs one request.
    env.sim.faults().forget_seen();
    let next = fetch(env.adapter.as_ref(), &q, &batch.frontier, 30)
        .await
        .unwrap();
    assert_eq!(log_requests(&env.sim).len(), 1);
    assert!(next.records[0].timestamp_ms >= batch.records.last().unwrap().timestamp_ms);
}
