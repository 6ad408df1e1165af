use super::*;
use crate::logql::labels::LineMode;
use crate::logql::metric::metric_query;
use crate::logql::parse;
use crate::logql::plan::{plan_log_expr, SourceInfo};

const MIN: Nanos = 60_000 * MS;

fn readable() -> Vec<SourceInfo> {
    ["app", "auth"]
        .into_iter()
        .map(|name| SourceInfo {
            name: name.into(),
            provider: "kind_a",
        })
        .collect()
}

/// The counting plan of `text` at `first + k * step`, `k < n`.
fn plan_of(text: &str, times: (Nanos, Nanos, usize)) -> Option<CountPlan> {
    let expr = parse(text).unwrap();
    let query = metric_query(text, &expr).unwrap().unwrap();
    let plan = plan_log_expr(text, query.log, &readable(), LineMode::Message).unwrap();
    count_plan(&plan, &query, times)
}

#[test]
fn grafana_volume_and_alert_queries_are_counted() {
    let volume =
        r#"sum by (level, detected_level) (count_over_time({source="app"} | drop __error__ [5m]))"#;
    let p = plan_of(volume, (100 * 5 * MIN, 5 * MIN, 12)).expect("counted");
    assert_eq!(p.request.by, vec![GroupBy::Level]);
    assert_eq!(
        p.labels,
        vec![(GroupBy::Level, vec!["detected_level", "level"])]
    );
    assert_eq!(p.request.buckets.interval_ms, 300_000);
    assert_eq!(
        p.request.buckets.start,
        99 * 300_000,
        "first window opens a range before"
    );
    assert_eq!(p.request.buckets.end, 111 * 300_000);
    assert_eq!((p.per_step, p.per_window), (1, 1));
    assert_eq!(p.request.sources, Some(vec!["app".to_string()]));

    let older = r#"sum by (level) (count_over_time({source=~"app|auth"}[1m]))"#;
    let p = plan_of(older, (0, MIN, 3)).expect("counted");
    assert_eq!(p.labels, vec![(GroupBy::Level, vec!["level"])]);

    let alert = r#"sum(count_over_time({source="app", level="error"}[5m]))"#;
    let t = 1_700_000_123_456 * MS;
    let p = plan_of(alert, (t, 0, 1)).expect("counted");
    assert!(p.request.by.is_empty());
    assert_eq!(p.request.buckets.start, 1_700_000_123_456 - 300_000);
    assert_eq!(p.request.buckets.len(), 1);
    assert_eq!((p.per_step, p.per_window), (0, 1));
    assert!(p.request.filters.level.is_some());
}

#[test]
fn bucket_bounds_do_not_depend_on_the_query_start() {
    // Two refreshes of a dashboard one step apart: every bucket of the
    // overlap is the same bucket (same bounds, so the same native request).
    let q = r#"sum by (level) (count_over_time({source="app"}[5m]))"#;
    let a = plan_of(q, (1_000 * 5 * MIN, 5 * MIN, 288)).unwrap();
    let b = plan_of(q, (1_001 * 5 * MIN, 5 * MIN, 288)).unwrap();
    let bounds = |p: &CountPlan| -> Vec<(i64, i64)> {
        let buckets = p.request.buckets;
        (0..buckets.len()).map(|i| buckets.bounds(i)).collect()
    };
    let (a, b) = (bounds(&a), bounds(&b));
    assert_eq!(a[1..], b[..b.len() - 1]);
}

#[test]
fn overlapping_windows_and_offsets_use_narrower_buckets() {
    let q = r#"sum by (source) (rate({provider="kind_a"}[10m] offset 1h))"#;
    let p = plan_of(q, (600 * MIN, 4 * MIN, 5)).expect("counted");
    assert_eq!(
        p.request.buckets.interval_ms,
        2 * 60_000,
        "gcd of 4m and 10m"
    );
    assert_eq!((p.per_step, p.per_window), (2, 5));
    assert_eq!(p.request.buckets.start, (600 - 60 - 10) * 60_000);
    assert_eq!(p.request.buckets.end, (600 + 16 - 60) * 60_000);
    assert!(p.per_second);
}

#[test]
fn what_cannot_be_counted_exactly_is_left_to_reading_entries() {
    let times = (0, MIN, 10);
    for q in [
        r#"count_over_time({source="app"}[1m])"#,
        r#"sum by (service_name) (count_over_time({source="app"}[1m]))"#,
        r#"count by (level) (count_over_time({source="app"}[1m]))"#,
        r#"sum(bytes_over_time({source="app"}[1m]))"#,
        r#"sum(count_over_time({source="app"} |= "x" [1m]))"#,
        r#"sum(count_over_time({source="app"} | attr_k="v" [1m]))"#,
        r#"sum(count_over_time({source="app"} | level="error" or level="warn" [1m]))"#,
        r#"sum(count_over_time({source="nope"}[1m]))"#,
    ] {
        assert_eq!(plan_of(q, times), None, "{q}");
    }
    // Pushed exactly: level and user_id filters, error filters, parsers.
    let q = r#"sum(count_over_time({source="app"} | json | __error__="" | user_id="u1" | level!="debug" [1m]))"#;
    assert!(plan_of(q, times).is_some());
    // More than MAX_BUCKETS buckets, or times off the millisecond.
    let q = r#"sum(count_over_time({source="app"}[1m]))"#;
    assert_eq!(plan_of(q, (0, MIN, MAX_BUCKETS + 1)), None);
    assert_eq!(plan_of(q, (1, MIN, 3)), None);
}
