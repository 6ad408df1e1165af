//! `GET /logs/stats` (spec §7) over the real gateway and every provider's
//! simulator: counts equal a count of the simulators' data by hand for
//! every provider, both methods, filters and groupings; partial coverage
//! is reported, never extrapolated; bad requests are clear 400s.

mod common;

use common::counts::{bucket_count, fleet_data, reference_counts, response_counts, SourceData};
use common::enc;
use common::fleet::{Fleet, Kind, Spec};
use loggate_core::time::format_ms;
use loggate_core::Filters;
use serde_json::Value;

/// Every flavour of every provider, 150 records each over the last hour
/// with many ties.
async fn fleet(server: &str) -> Fleet {
    let specs: Vec<Spec> = Kind::all()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| Spec::new(kind, 15 + i as u64, 150, 60))
        .collect();
    Fleet::start(&specs, server, "").await
}

/// The window: the data's hour with room on both sides, cut into 7-minute
/// buckets (not aligned to anything but `start`).
fn window() -> (i64, i64, i64) {
    let now = loggate_core::time::now_ms();
    (now - 3_600_000 - 37_123, now + 1_000, 7 * 60_000)
}

async fn stats(fleet: &Fleet, window: (i64, i64, i64), rest: &str) -> (u16, Value) {
    let (start, end, interval) = window;
    let query = format!(
        "/logs/stats?start={}&end={}&interval={}ms{rest}",
        enc(&format_ms(start)),
        enc(&format_ms(end)),
        interval
    );
    fleet.gateway.get(&query).await
}

/// Asserts the answer equals the reference, completely covered.
fn assert_counts(body: &Value, expected: &common::counts::Counts, what: &str) {
    assert_eq!(body["complete"], true, "{what}: {body}");
    assert_eq!(&response_counts(body), expected, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_equal_the_reference_for_every_provider_filter_and_grouping() {
    let fleet = fleet("").await;
    let data = fleet_data(&fleet);
    let w = window();
    // Filter values taken from the data, so that they select something.
    let records: Vec<&loggate_core::LogRecord> = data.iter().flat_map(|d| &d.2).collect();
    let service = records.iter().find_map(|r| r.service.clone()).unwrap();
    let user = records.iter().find_map(|r| r.user_id.clone()).unwrap();
    let key = records
        .iter()
        .find_map(|r| {
            r.attributes
                .get("key")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap();
    let q: String = records[3].message.chars().take(3).collect();
    let filters: Vec<(String, Filters)> = vec![
        (String::new(), Filters::default()),
        (
            "&level=error".into(),
            filters_of(|f| f.level = Some([loggate_core::Level::Error].into_iter().collect())),
        ),
        (
            "&min_level=warn".into(),
            filters_of(|f| f.min_level = Some(loggate_core::Level::Warn)),
        ),
        (
            "&level=info,error".into(),
            filters_of(|f| {
                f.level = Some(
                    [loggate_core::Level::Info, loggate_core::Level::Error]
                        .into_iter()
                        .collect(),
                )
            }),
        ),
        (
            format!("&service={}", enc(&service)),
            filters_of(|f| f.service = Some(service.clone())),
        ),
        (
            format!("&user_id={}", enc(&user)),
            filters_of(|f| f.user_id = Some(user.clone())),
        ),
        (
            format!("&attr.key={}", enc(&key)),
            filters_of(|f| {
                f.attrs.insert("key".into(), key.clone());
            }),
        ),
        (
            format!("&q={}", enc(&q)),
            filters_of(|f| f.q = Some(q.clone())),
        ),
    ];
    let groupings = [
        "",
        "level",
        "source",
        "service",
        "provider",
        "source,level",
        "level,service",
    ];
    for (query, filters) in &filters {
        for by in groupings {
            let by_list: Vec<&str> = by.split(',').filter(|g| !g.is_empty()).collect();
            let expected = reference_counts(&data, filters, w, &by_list);
            for method in ["auto", "scan"] {
                let rest = format!("{query}&by={by}&method={method}");
                let rest = if by.is_empty() {
                    format!("{query}&method={method}")
                } else {
                    rest
                };
                let (status, body) = stats(&fleet, w, &rest).await;
                assert_eq!(status, 200, "{rest}: {body}");
                assert_counts(&body, &expected, &rest);
            }
        }
    }
}

fn filters_of(set: impl FnOnce(&mut Filters)) -> Filters {
    let mut f = Filters::default();
    set(&mut f);
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushdown_costs_one_request_per_bucket_and_group_and_equals_a_scan() {
    let fleet = fleet("").await;
    let data = fleet_data(&fleet);
    let w = window();
    let n = bucket_count(w.0, w.1, w.2) as u64;
    // The sources whose totals count the window exactly.
    let countable: Vec<&str> = fleet
        .sims
        .iter()
        .filter(|(_, kind, _)| Kind::counting_exactly().contains(kind))
        .map(|(name, _, _)| name.as_str())
        .collect();
    assert_eq!(countable.len(), 4);
    for name in &countable {
        let mine: Vec<SourceData<'_>> = data.iter().filter(|d| d.0 == *name).cloned().collect();
        let expected = reference_counts(&mine, &Filters::default(), w, &["source"]);
        let (status, body) = stats(
            &fleet,
            w,
            &format!("&source={name}&by=source&method=pushdown"),
        )
        .await;
        assert_eq!(status, 200, "{name}: {body}");
        assert_counts(&body, &expected, name);
        let report = &body["sources"][name];
        assert_eq!(report["method"], "pushdown", "{name}: {body}");
        assert_eq!(report["exact"], true);
        // One whole-window total, then one per bucket (the Logto flavours
        // learn once how their server reads the bounds: one or two more).
        let requests = report["upstream_requests"].as_u64().unwrap();
        assert!(
            (1 + n..=3 + n).contains(&requests),
            "{name}: {requests} requests for {n} buckets"
        );
        assert_eq!(report["covered"]["to"], format_ms(w.1));
        // The same counts by scanning.
        let (_, scanned) = stats(&fleet, w, &format!("&source={name}&by=source&method=scan")).await;
        assert_eq!(scanned["sources"][name]["method"], "scan");
        assert_counts(&scanned, &expected, name);
    }
    // One pushes the level grouping too (ERROR or not is its message).
    let by_level = fleet
        .sims
        .iter()
        .find(|s| s.1 == Kind::COUNTS_LEVELS)
        .unwrap()
        .0
        .as_str();
    let mine: Vec<SourceData<'_>> = data.iter().filter(|d| d.0 == by_level).cloned().collect();
    let (status, body) = stats(
        &fleet,
        w,
        &format!("&source={by_level}&by=level&method=pushdown"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_counts(
        &body,
        &reference_counts(&mine, &Filters::default(), w, &["level"]),
        "by level",
    );
    // A source that cannot count a grouping from totals says so.
    let prompts = fleet
        .sims
        .iter()
        .find(|s| s.1 == Kind::SCAN_ONLY)
        .unwrap()
        .0
        .as_str();
    let (status, body) = stats(&fleet, w, &format!("&source={prompts}&method=pushdown")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "method");
    // An empty filtered window costs the one total.
    let (_, body) = stats(
        &fleet,
        w,
        &format!(
            "&source={by_level}&method=pushdown&user_id={}",
            "a".repeat(24)
        ),
    )
    .await;
    assert_eq!(body["sources"][by_level]["upstream_requests"], 1, "{body}");
    assert_eq!(
        body["series"][0]["points"].as_array().unwrap().len() as u64,
        n
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_out_of_budget_reports_what_it_covered_and_no_more() {
    // scan_budget 5 → counting scans at most 50 records per source.
    let specs = [Spec::new(Kind::SCAN_ONLY, 3, 120, 120)];
    let fleet = Fleet::start(&specs, "scan_budget = 5", "").await;
    let data = fleet_data(&fleet);
    let w = window();
    let (status, body) = stats(&fleet, w, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], false, "{body}");
    let report = &body["sources"]["s0"];
    assert!(
        report["reason"].as_str().unwrap().contains("scan budget"),
        "{body}"
    );
    let to = report["covered"]["to"].as_str().unwrap();
    assert!(to < format_ms(w.1).as_str(), "{body}");
    let points = body["series"][0]["points"].as_array().unwrap();
    assert!(points.len() < bucket_count(w.0, w.1, w.2), "{body}");
    // The points given are exact, and end where coverage ends.
    let expected = &reference_counts(&data, &Filters::default(), w, &[])[""];
    for (i, p) in points.iter().enumerate() {
        assert_eq!(p[1].as_u64().unwrap(), expected[i], "bucket {i}");
    }
    if let Some(last) = points.last() {
        let last_start = loggate_core::time::parse_rfc3339_ms(last[0].as_str().unwrap()).unwrap();
        assert!(format_ms(last_start + w.2).as_str() <= to, "{body}");
    }
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("s0: counted"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_hold_while_records_arrive_during_the_count() {
    let specs = [
        Spec::new(Kind::COUNTS_TOTALS, 5, 300, 90),
        Spec::new(Kind::COUNTS_LEVELS, 6, 300, 90),
        Spec::new(Kind::EXCLUSIVE_BOUNDS, 7, 300, 90),
        Spec::new(Kind::SCAN_ONLY, 8, 300, 90),
    ];
    let fleet = Fleet::start(&specs, "", "").await;
    let data = fleet_data(&fleet);
    let (start, _, interval) = window();
    // The window ends before anything inserted from now on.
    let end = loggate_core::time::now_ms() - 1;
    let w = (start, end, interval);
    let expected = reference_counts(&data, &Filters::default(), w, &["source", "level"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sims: Vec<_> = fleet.sims.iter().map(|s| s.2.clone()).collect();
    let inserter = {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for sim in &sims {
                    sim.insert_new(3);
                }
                tokio::task::yield_now().await;
            }
        })
    };
    for method in ["auto", "scan"] {
        let (status, body) = stats(&fleet, w, &format!("&by=source,level&method={method}")).await;
        assert_eq!(status, 200, "{body}");
        assert_counts(&body, &expected, method);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    inserter.await.unwrap();
}

#[tokio::test]
async fn bad_requests_are_clear_400s_naming_the_parameter() {
    let fleet = Fleet::start(&[Spec::new(Kind::COUNTS_LEVELS, 1, 10, 5)], "", "").await;
    let cases: [(&str, &str, &str); 8] = [
        ("/logs/stats?end=2025-01-01T00:00:00Z&interval=1m", "start", "required"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&interval=1m", "end", "required"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z", "interval", "required"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=1m", "interval", "more than 1000"),
        ("/logs/stats?start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z&interval=1h", "end", "after start"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=1h&by=host", "by", "expected up to two"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=1h&order=asc", "order", "unknown parameter"),
        ("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z&interval=1h&source=nope", "source", "no source named"),
    ];
    for (query, param, message) in cases {
        let (status, body) = fleet.gateway.get(query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
        let text = body["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{query}: {text}");
    }
    // Pushdown over more than the per-source request budget is refused
    // up front: 1000 buckets x 6 levels.
    let (status, body) = fleet
        .gateway
        .get("/logs/stats?start=2025-01-01T00:00:00Z&end=2025-01-01T16:40:00Z&interval=1m&by=level&method=pushdown")
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget"),
        "{body}"
    );
}
