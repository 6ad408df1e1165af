//! Logto's three generations of `start_time`/`end_time` (issue 11 item
//! 13): up to v1.39 ignored, v1.40–v1.41 exclusive (equal bounds `400`),
//! v1.42+ inclusive. The bounds go out widened by 1 ms, so the logs
//! exactly at `start` and `end` come back on every generation and equal
//! bounds are never sent; every `Link` header line is read.

mod common;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use common::*;
use loggate_core::query::Filters;
use loggate_core::sim::serve_loopback;
use loggate_core::{Adapter, Order, Position};
use loggate_logto::sim::{Generation, LogtoSim};
use loggate_logto::TimeFilter;
use serde_json::{json, Value};

fn row(id: &str, ts: i64) -> Value {
    json!({"tenantId": "default", "id": id, "key": "ExchangeTokenBy.RefreshToken",
           "payload": {"key": "ExchangeTokenBy.RefreshToken", "result": "Success"},
           "createdAt": ts})
}

/// 60 logs plus two at each of `start - 1`, `start`, `end`, `end + 1`.
async fn boundary_env(generation: Generation, time_filter: TimeFilter) -> (Env, i64, i64) {
    let env = start(
        config(60, 30, true).with_generation(generation),
        Creds::Static,
        time_filter,
    )
    .await;
    let (start_ms, end_ms) = (NOW - 2_000_000, NOW - 1_000_000);
    for (i, ts) in [start_ms - 1, start_ms, end_ms, end_ms + 1]
        .into_iter()
        .enumerate()
    {
        for copy in 0..2 {
            env.sim
                .insert(row(&format!("bound{i}{copy}00000000000000"), ts));
        }
    }
    (env, start_ms, end_ms)
}

#[tokio::test]
async fn logs_at_start_and_end_come_back_on_every_generation() {
    for generation in Generation::ALL {
        let modes: &[TimeFilter] = match generation {
            Generation::IgnoresTime => &[TimeFilter::Auto, TimeFilter::Off],
            _ => &[TimeFilter::Auto, TimeFilter::On],
        };
        for &time_filter in modes {
            let (env, start_ms, end_ms) = boundary_env(generation, time_filter).await;
            for order in [Order::Desc, Order::Asc] {
                for want in [1, 3, 50] {
                    let filters = Filters {
                        start: Some(start_ms),
                        end: Some(end_ms),
                        ..Filters::default()
                    };
                    let q = query(filters, order);
                    let got = traverse(env.adapter.as_ref(), &q, want, 10_000, |_| {}).await;
                    let label = format!("{generation:?} {time_filter:?} {order:?} {want}");
                    assert_eq!(keys(&got), expected(env.sim.snapshot(), &q), "{label}");
                    let at_bounds = got
                        .iter()
                        .filter(|r| r.timestamp_ms == start_ms || r.timestamp_ms == end_ms)
                        .count();
                    assert_eq!(at_bounds, 4, "{label}");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_one_millisecond_window_is_never_sent_as_equal_bounds() {
    for generation in [Generation::Exclusive, Generation::Inclusive] {
        let (env, start_ms, _) = boundary_env(generation, TimeFilter::On).await;
        let filters = Filters {
            start: Some(start_ms),
            end: Some(start_ms),
            ..Filters::default()
        };
        let batch = fetch(
            env.adapter.as_ref(),
            &query(filters, Order::Desc),
            &Position::start(),
            10,
        )
        .await
        .unwrap();
        assert_eq!(batch.records.len(), 2, "{generation:?}");
        assert!(batch.records.iter().all(|r| r.timestamp_ms == start_ms));
        let first = &log_requests(&env.sim)[0];
        assert_eq!(
            first[..2],
            pairs(&[
                ("start_time", &(start_ms - 1).to_string()),
                ("end_time", &(start_ms + 1).to_string()),
            ])[..]
        );
    }
}

#[tokio::test]
async fn the_exclusive_simulator_refuses_equal_bounds_and_keeps_only_the_inside() {
    let sim = LogtoSim::new(config(0, 1, true).with_generation(Generation::Exclusive));
    for (i, ts) in [99, 100, 101].into_iter().enumerate() {
        sim.insert(row(&format!("row{i}000000000000000000"), ts));
    }
    let served = serve_loopback(sim.router()).await.unwrap();
    let get = |query: &'static str| {
        let url = format!("{}/api/logs?{query}", served.base_url());
        async move {
            let response = reqwest::Client::new()
                .get(url)
                .header("Authorization", "Bearer logto-demo-token")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (status, body) = get("start_time=100&end_time=100").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("log.invalid_time_window"))
    );
    let (status, body) = get("start_time=99&end_time=101").await;
    assert_eq!(status, 200);
    let stamps: Vec<i64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["createdAt"].as_i64().unwrap())
        .collect();
    assert_eq!(stamps, vec![100]);
}

#[tokio::test]
async fn auto_detection_finds_the_filter_honoured_on_both_new_generations() {
    for generation in [Generation::Exclusive, Generation::Inclusive] {
        let (env, start_ms, end_ms) = boundary_env(generation, TimeFilter::Auto).await;
        let filters = Filters {
            start: Some(start_ms),
            end: Some(end_ms),
            ..Filters::default()
        };
        let q = query(filters.clone(), Order::Desc);
        traverse(env.adapter.as_ref(), &q, 50, 10_000, |_| {}).await;
        assert!(env.adapter.time_filter_in_use(), "{generation:?}");
        assert_eq!(env.adapter.pushed(&filters), vec!["start", "end"]);
    }
}

/// A server of 45 rows without `Total-Number` whose `rel="next"` comes
/// on a `Link` line of its own, after the `rel="first"` line.
async fn link_lines(headers: HeaderMap, uri: axum::http::Uri) -> axum::response::Response {
    let authorised = headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v == "Bearer logto-demo-token");
    assert!(authorised);
    let param = |name: &str| -> u64 {
        let prefix = format!("{name}=");
        uri.query()
            .unwrap_or("")
            .split('&')
            .find_map(|p| p.strip_prefix(prefix.as_str()))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    };
    let (page, size) = (param("page"), param("page_size"));
    let from = (page - 1) * size;
    let to = (from + size).min(45);
    let rows: Vec<Value> = (from..to)
        .map(|i| row(&format!("link{i:017}"), NOW - i as i64 * 1000))
        .collect();
    let mut response = axum::Json(rows).into_response();
    let out = response.headers_mut();
    let link = |page: u64, rel: &str| {
        HeaderValue::from_str(&format!(
            "<http://h/api/logs?page={page}&page_size={size}>; rel=\"{rel}\""
        ))
        .unwrap()
    };
    out.append(header::LINK, link(1, "first"));
    if to < 45 {
        out.append(header::LINK, link(page + 1, "next"));
    }
    response
}

#[tokio::test]
async fn every_link_header_line_is_read() {
    let router = axum::Router::new().route("/api/logs", axum::routing::get(link_lines));
    let served = serve_loopback(router).await.unwrap();
    let sim_config = config(0, 1, false);
    let adapter = adapter(
        &served.base_url(),
        &sim_config,
        Creds::Static,
        TimeFilter::Off,
    );
    let q = query(Filters::default(), Order::Desc);
    // Pages of 30 (want 20 plus a quarter and 5): the first is full and
    // only its second `Link` line says another follows.
    let got = traverse(&adapter, &q, 20, 10_000, |_| {}).await;
    assert_eq!(got.len(), 45);
}
