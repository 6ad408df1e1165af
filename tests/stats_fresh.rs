//! `/logs/stats` over a window reaching past now, with the answer cache
//! (spec §7 and §9; README "Counting and the cache"): the window is cut at
//! the settled boundary `S`, the settled part read with the filters, the
//! fresh part once for every filter (or again with the filters when it
//! holds more than a page), `auto` weighing an estimate from the settled
//! part's total. Counts still equal the data, and panels with different
//! filters share the fresh part's upstream request.

mod common;

use common::counts::{fleet_data, reference_counts, response_counts, SourceData};
use common::enc;
use common::fleet::{Fleet, Kind, Spec};
use loggate_core::time::{format_ms, now_ms};
use loggate_core::{Filters, Level};
use serde_json::Value;

const MINUTE: i64 = 60_000;

/// Every flavour of every provider, `records` each over the `span_ms`
/// before now.
async fn fleet(records: usize, span_ms: i64, server: &str) -> Fleet {
    let specs: Vec<Spec> = Kind::all()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec {
            span_ms,
            ..Spec::new(kind, 61 + i as u64, records, records / 2)
        })
        .collect();
    Fleet::start(&specs, server, "").await
}

/// Grafana's window over the last hour at a 1-minute step: `start` and
/// `end` aligned to the step, `end` the next step after now.
fn last_hour() -> (i64, i64, i64) {
    let now = now_ms();
    let floor = |t: i64| t.div_euclid(MINUTE) * MINUTE;
    (floor(now - 60 * MINUTE), floor(now) + MINUTE, MINUTE)
}

async fn stats(fleet: &Fleet, (start, end, interval): (i64, i64, i64), rest: &str) -> Value {
    let query = format!(
        "/logs/stats?start={}&end={}&interval={interval}ms{rest}",
        enc(&format_ms(start)),
        enc(&format_ms(end)),
    );
    let (status, body) = fleet.gateway.get(&query).await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

/// The panels' filters: as sent, and as the reference reads them.
fn panels(data: &[SourceData<'_>]) -> Vec<(String, Filters)> {
    let q: String = data[0].2[3].message.chars().take(3).collect();
    let levels = |set: &[Level]| Filters {
        level: Some(set.iter().copied().collect()),
        ..Filters::default()
    };
    vec![
        (String::new(), Filters::default()),
        ("&level=error".into(), levels(&[Level::Error])),
        (
            "&level=info,warn".into(),
            levels(&[Level::Info, Level::Warn]),
        ),
        (
            "&min_level=warn".into(),
            Filters {
                min_level: Some(Level::Warn),
                ..Filters::default()
            },
        ),
        (
            format!("&q={}", enc(&q)),
            Filters {
                q: Some(q),
                ..Filters::default()
            },
        ),
    ]
}

/// Every panel, grouping and method equals the data over `fleet`.
async fn assert_panels_equal_the_data(fleet: &Fleet, what: &str) {
    let data = fleet_data(fleet);
    for (query, filters) in panels(&data) {
        for by in ["", "&by=level", "&by=source,level"] {
            for method in ["auto", "scan"] {
                let w = last_hour();
                let rest = format!("{query}{by}&method={method}");
                let body = stats(fleet, w, &rest).await;
                let by_list: Vec<&str> = by
                    .trim_start_matches("&by=")
                    .split(',')
                    .filter(|g| !g.is_empty())
                    .collect();
                let expected = reference_counts(&data, &filters, w, &by_list);
                assert_eq!(body["complete"], true, "{what} {rest}: {body}");
                assert_eq!(response_counts(&body), expected, "{what} {rest}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_over_a_window_reaching_past_now_equal_the_data() {
    // Sparse: the fresh part (the last 10 to 11 minutes) fits in one
    // upstream page and is shared by the filters.
    let sparse = fleet(150, 60 * MINUTE, "").await;
    assert_panels_equal_the_data(&sparse, "sparse").await;
    // Dense: 400 records over the last 15 minutes, so the unfiltered fresh
    // part holds more than a page and is read again with the filters.
    let dense = fleet(400, 15 * MINUTE, "").await;
    assert_panels_equal_the_data(&dense, "dense").await;
    // A horizon as long as the window: nothing is settled, one part.
    let unsettled = fleet(150, 60 * MINUTE, "[cache]\nfreshness_horizon = \"1h\"").await;
    assert_panels_equal_the_data(&unsettled, "no settled part").await;
}

/// `(requests the simulator saw, the answer)` of one count.
async fn counted(fleet: &Fleet, w: (i64, i64, i64), rest: &str) -> (usize, Value) {
    let faults = fleet.sim("s0").faults();
    faults.forget_seen();
    let body = stats(fleet, w, rest).await;
    (faults.seen_count(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panels_with_different_filters_share_the_fresh_part() {
    // One source counting by totals, read by scans here; a pin and a fresh
    // lifetime of a minute, so that every count below falls in one pin.
    let specs = [Spec::new(Kind::COUNTS_TOTALS, 71, 150, 75)];
    let cache = "[cache]\npin_rounding = \"60s\"\nfresh_ttl = \"60s\"\nfreshness_horizon = \"10m\"";
    let fleet = Fleet::start(&specs, cache, "").await;
    let data = fleet_data(&fleet);
    let info = Filters {
        level: Some([Level::Info].into_iter().collect()),
        ..Filters::default()
    };
    loop {
        let minute = now_ms().div_euclid(MINUTE);
        let w = last_hour();
        // `S`: now − the horizon, rounded down to the minute.
        let settled = (minute - 10) * MINUTE;
        // A panel of errors reads the settled part with its filter and
        // the fresh part without.
        let (error_requests, _) = counted(&fleet, w, "&level=error&method=scan").await;
        // The info panel's settled part alone (a window ending at `S`):
        // the same native requests as its settled part below.
        let settled_w = (w.0, settled, w.2);
        let (settled_requests, _) = counted(&fleet, settled_w, "&level=info&method=scan").await;
        let (info_requests, body) = counted(&fleet, w, "&level=info&method=scan").await;
        if now_ms().div_euclid(MINUTE) != minute {
            // A pin boundary passed between the counts: again.
            continue;
        }
        assert!(error_requests >= 2, "a settled and a fresh read");
        assert!(settled_requests >= 1, "its own settled read");
        assert_eq!(
            info_requests, 0,
            "the settled part cached, the fresh part the error panel's: {body}"
        );
        assert_eq!(body["complete"], true, "{body}");
        let expected = reference_counts(&data, &info, w, &[]);
        assert_eq!(response_counts(&body), expected);
        break;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_in_a_later_pin_sees_the_logs_written_since() {
    // Pins a millisecond apart: the second count of each pair has a later
    // pin than every answer the first read, so none of them serves it.
    let fleet = fleet(150, 60 * MINUTE, "[cache]\npin_rounding = \"1ms\"").await;
    for method in ["auto", "scan"] {
        let w = last_hour();
        let rest = format!("&by=source&method={method}");
        let before = stats(&fleet, w, &rest).await;
        let expected = reference_counts(&fleet_data(&fleet), &Filters::default(), w, &["source"]);
        assert_eq!(response_counts(&before), expected, "{method}, before");
        for (_, _, sim) in &fleet.sims {
            sim.insert_copies(3, now_ms());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let after = stats(&fleet, w, &rest).await;
        let expected = reference_counts(&fleet_data(&fleet), &Filters::default(), w, &["source"]);
        assert_eq!(
            response_counts(&after),
            expected,
            "{method}, after the writes"
        );
        assert_eq!(after["complete"], true, "{after}");
    }
}
