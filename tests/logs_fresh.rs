//! `/logs` over a window reaching now with the answer cache (spec §9;
//! README "Cache and request coalescing", fresh parts shared across
//! filters): a split window's fresh part is read once without filters and
//! each panel's filters are applied by the gateway, so panels with
//! different filters in one pin share that read; traversals still equal
//! the data, whether the shared page holds the whole fresh part or only
//! its newest records (the position handed to a filtered read).

mod common;

use common::fleet::{Fleet, Kind, Spec};
use common::{assert_same_ids, enc, reference};
use loggate_core::time::{format_ms, now_ms};
use loggate_core::{Filters, Level, LogRecord, Order};

const MINUTE: i64 = 60_000;

/// One pin and one fresh lifetime of a minute: every panel below falls in
/// one pin (the default `freshness_horizon` 10 m and `settled_grid` 5 m).
const ONE_MINUTE_PIN: &str = "[cache]\npin_rounding = \"60s\"\nfresh_ttl = \"60s\"";

/// A fleet of one source of `kind`: `records` over the `span_ms` before now.
async fn fleet(kind: Kind, records: usize, span_ms: i64, server: &str) -> Fleet {
    let spec = Spec {
        span_ms,
        ..Spec::new(kind, 83, records, records)
    };
    Fleet::start(&[spec], server, "").await
}

/// Panels that `anchor` matches, with filters on content: as sent, and as
/// the reference reads them.
fn panels(anchor: &LogRecord) -> Vec<(String, Filters)> {
    let piece: String = anchor.message.chars().take(3).collect();
    let level = anchor.level;
    let mut panels = vec![
        (
            format!("level={}", level.as_str()),
            Filters {
                level: Some([level].into_iter().collect()),
                ..Filters::default()
            },
        ),
        (
            format!("min_level={}", Level::Trace.as_str()),
            Filters {
                min_level: Some(Level::Trace),
                ..Filters::default()
            },
        ),
        (
            format!("q={}", enc(&piece)),
            Filters {
                q: Some(piece),
                ..Filters::default()
            },
        ),
    ];
    if let Some(service) = &anchor.service {
        panels.push((
            format!("service={}", enc(service)),
            Filters {
                service: Some(service.clone()),
                ..Filters::default()
            },
        ));
    }
    // "Newest N", no filter but time: its own read is the shared one.
    panels.push(("partial=true".into(), Filters::default()));
    panels
}

/// The newest record stamped in `[from, to]`.
fn newest_in(data: &[LogRecord], from: i64, to: i64) -> Option<&LogRecord> {
    data.iter()
        .filter(|r| (from..=to).contains(&r.timestamp_ms))
        .max_by_key(|r| r.timestamp_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_with_different_filters_share_the_fresh_part_of_a_page() {
    for kind in Kind::paged() {
        // 150 records over the hour: the fresh part (the last 10 to 15
        // minutes) fits in one upstream page.
        let fleet = fleet(kind, 150, 60 * MINUTE, ONE_MINUTE_PIN).await;
        let data = fleet.sim("s0").snapshot();
        let faults = fleet.sim("s0").faults();
        // What a provider learns once per process (Logto: whether its
        // time filter is honoured) is learnt before the panels, over a
        // settled window (no fresh part).
        let settled_end = enc(&format_ms(now_ms() - 30 * MINUTE));
        let (status, _) = fleet
            .gateway
            .get(&format!("/logs?limit=1&end={settled_end}"))
            .await;
        assert_eq!(status, 200);
        loop {
            let minute = now_ms().div_euclid(MINUTE);
            let pin = minute * MINUTE;
            // The newest record at or before the pin, inside the fresh
            // part `[G, pin]` (G is at least 10 minutes before the pin).
            let anchor = newest_in(&data, pin - 10 * MINUTE, pin)
                .expect("a record in the last 10 minutes")
                .clone();
            let start = format_ms(pin - 60 * MINUTE);
            let mut costs = Vec::new();
            for (query, filters) in panels(&anchor) {
                faults.forget_seen();
                let path = format!("/logs?{query}&start={}&limit=1", enc(&start));
                let (status, body) = fleet.gateway.get(&path).await;
                assert_eq!(status, 200, "{path}: {body}");
                costs.push((query, faults.seen_count()));
                let first = Filters {
                    end: Some(pin),
                    ..filters
                };
                let expected = reference(&[("s0", data.clone())], &first, Order::Desc);
                let got = body["logs"][0]["id"].as_str().map(str::to_string);
                assert_eq!(got.as_ref(), expected.first(), "{kind:?} {path}: {body}");
            }
            if now_ms().div_euclid(MINUTE) != minute {
                // A pin boundary passed between the panels: again.
                continue;
            }
            assert!(
                costs[0].1 >= 1,
                "{kind:?}: the first panel reads: {costs:?}"
            );
            let later: usize = costs[1..].iter().map(|(_, n)| n).sum();
            assert_eq!(
                later, 0,
                "{kind:?}: the later panels' pages come from the first one's fresh read: {costs:?}"
            );
            break;
        }
    }
}

/// Every panel's traversal, both orders, equals the data as of its pin.
async fn assert_traversals_equal_the_data(fleet: &Fleet, what: &str) {
    let data = fleet.sim("s0").snapshot();
    let anchor = data
        .iter()
        .max_by_key(|r| r.timestamp_ms)
        .expect("records")
        .clone();
    for (query, filters) in panels(&anchor) {
        for order in [Order::Desc, Order::Asc] {
            let start = now_ms() - 50 * MINUTE;
            let params = format!(
                "{query}&start={}&order={}",
                enc(&format_ms(start)),
                order.as_str()
            );
            let (got, pinned) = fleet.gateway.traverse_pinned(&params, 7, |_| {}).await;
            let expected = pinned.expected(&got, |pin| {
                let window = Filters {
                    start: Some(start),
                    end: Some(pin),
                    ..filters.clone()
                };
                reference(&[("s0", data.clone())], &window, order)
            });
            assert_same_ids(&got, &expected, &format!("{what} {params}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversals_through_shared_fresh_reads_equal_the_data() {
    for kind in Kind::paged() {
        // Sparse: the fresh part fits in one shared page.
        let sparse = fleet(kind, 150, 60 * MINUTE, "").await;
        assert_traversals_equal_the_data(&sparse, &format!("{kind:?} sparse")).await;
        // Dense: 400 records over the last 15 minutes, so the shared page
        // holds only the fresh part's newest records and hands its
        // frontier to the filtered read.
        let dense = fleet(kind, 400, 15 * MINUTE, "").await;
        assert_traversals_equal_the_data(&dense, &format!("{kind:?} dense")).await;
    }
}
