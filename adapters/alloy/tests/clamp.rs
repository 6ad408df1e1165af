//! Alloy may lower `limit` silently (a sibling endpoint caps it at 30):
//! a short page is not the end while `totalItems` says more remain, and
//! `x-api-version: 2025-09` goes out on every request (issue 11 item 15).
//! Also tie groups of identical logs larger than a page (item 5).
#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_alloy::SimConfig;
use loggate_core::{Filters, Order};

const ORDERS: [Order; 2] = [Order::Desc, Order::Asc];

fn clamped(reports_page_size: bool) -> SimConfig {
    SimConfig {
        clamp_limit: Some(30),
        clamp_reports_page_size: reports_page_size,
        ..config(31, 250, Some(120))
    }
}

#[tokio::test]
async fn a_silently_clamped_limit_does_not_end_the_traversal() {
    for reports_page_size in [false, true] {
        let setup = setup(clamped(reports_page_size)).await;
        for order in ORDERS {
            for want in [7, 50, 1000] {
                setup.sim.faults().forget_seen();
                let query = pinned(Filters::default(), order);
                let got = traverse(&setup.adapter, &query, want, 10_000, || {}).await;
                let label = format!("pageSize reported {reports_page_size}, {order:?} {want}");
                assert_eq!(got.len(), 250, "{label}");
                assert_eq!(got, expected(&setup.sim.snapshot(), &query), "{label}");
                let seen = setup.sim.faults().seen();
                assert!(seen.len() >= 250 / 30, "{label}: {} requests", seen.len());
                // Sized to the fetch (issue 13): `want + 1`, 10 to 100.
                let sized = (want + 1).clamp(10, 100);
                let limits: Vec<usize> = seen
                    .iter()
                    .map(|r| param(r, "limit").unwrap().parse().unwrap())
                    .collect();
                assert_eq!(limits[0], sized, "{label}");
                for (request, limit) in seen.iter().zip(&limits) {
                    assert_eq!(request.header("x-api-version"), Some("2025-09"));
                    assert!((10..=sized).contains(limit), "{label}: limit {limit}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_first_short_page_is_followed_by_the_next_window() {
    let setup = setup(clamped(false)).await;
    let query = pinned(Filters::default(), Order::Desc);
    let batch = fetch(
        &setup.adapter,
        &query,
        &loggate_core::Position::start(),
        1000,
        10_000,
    )
    .await
    .unwrap();
    // 30 logs came back for a limit of 100 with totalItems 250: the
    // adapter asked again, bounded by the oldest createdAt it saw.
    let seen = setup.sim.faults().seen();
    assert!(seen.len() >= 2, "{} requests", seen.len());
    assert_eq!(param(&seen[0], "skip").as_deref(), Some("0"));
    assert_eq!(param(&seen[1], "skip").as_deref(), Some("0"));
    assert_ne!(filters_of(&seen[0]), filters_of(&seen[1]));
    assert!(batch.records.len() > 30);
}

#[tokio::test]
async fn identical_logs_over_several_pages_are_each_returned_once() {
    for (copies, clamp) in [(101, None), (250, None), (101, Some(30))] {
        let sim_config = SimConfig {
            clamp_limit: clamp,
            ..config(32, 40, Some(30))
        };
        let setup = setup(sim_config).await;
        let at = NOW - 3_600_000;
        setup.sim.insert_copies(copies, at);
        for order in ORDERS {
            for want in [1, 50, 1000] {
                let query = pinned(Filters::default(), order);
                let got = traverse(&setup.adapter, &query, want, 10_000, || {}).await;
                let label = format!("{copies} copies, clamp {clamp:?}, {order:?} {want}");
                assert_eq!(got, expected(&setup.sim.snapshot(), &query), "{label}");
                assert_eq!(got.iter().filter(|r| r.timestamp_ms == at).count(), copies);
            }
        }
    }
}
