use super::*;

#[test]
fn buckets_are_half_open_and_aligned_to_start() {
    let b = Buckets {
        start: 1_000,
        end: 1_250,
        interval_ms: 100,
    };
    assert_eq!(b.len(), 3);
    assert_eq!(b.bounds(0), (1_000, 1_100));
    assert_eq!(b.bounds(2), (1_200, 1_250), "the last bucket ends at end");
    assert_eq!(b.index(999), None);
    assert_eq!(b.index(1_000), Some(0));
    assert_eq!(b.index(1_099), Some(0));
    assert_eq!(b.index(1_100), Some(1));
    assert_eq!(b.index(1_249), Some(2));
    assert_eq!(b.index(1_250), None, "end is exclusive");
    assert_eq!(b.covered_before(1_000), 0);
    assert_eq!(b.covered_before(1_199), 1);
    assert_eq!(b.covered_before(1_200), 2);
    assert_eq!(b.covered_before(1_250), 3);
}

#[test]
fn the_request_is_parsed_strictly() {
    let ok = parse_stats_query(Some(
        "start=2025-01-01T00:00:00Z&end=2025-01-01T01:00:00Z&interval=5m&by=source,level&level=error",
    ))
    .unwrap();
    assert_eq!(ok.buckets.len(), 12);
    assert_eq!(ok.by, vec![GroupBy::Source, GroupBy::Level]);
    assert!(ok.filters.level.is_some());
    let err = |q: &str| parse_stats_query(Some(q)).unwrap_err();
    let base = "start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z";
    assert_eq!(
        err("end=2025-01-01T00:00:00Z&interval=1m").param(),
        Some("start")
    );
    assert_eq!(
        err(&format!("{base}&interval=1s")).param(),
        Some("interval")
    );
    assert!(err(&format!("{base}&interval=1s"))
        .to_string()
        .contains("86400 buckets"));
    assert_eq!(
        err(&format!("{base}&interval=1h&by=level,source,service")).param(),
        Some("by")
    );
    assert_eq!(
        err(&format!("{base}&interval=1h&by=host")).param(),
        Some("by")
    );
    assert_eq!(
        err(&format!("{base}&interval=1h&limit=5")).code(),
        "unknown_parameter"
    );
    assert!(err(&format!("{base}&interval=1h&limit=5"))
        .to_string()
        .contains("interval"));
    assert_eq!(
        err("start=2025-01-01T00:00:00Z&end=2025-01-01T00:00:00Z&interval=1m").param(),
        Some("end")
    );
    assert_eq!(
        err(&format!("{base}&interval=1h&method=fast")).param(),
        Some("method")
    );
    // Fixed words are lower case, and a refusal says so; a long value is
    // cut in the message.
    let base_1h = format!("{base}&interval=1h");
    let message = err(&format!("{base_1h}&method=SCAN")).to_string();
    assert!(message.contains("(in lower case"), "{message}");
    let message = err(&format!("{base_1h}&by=Level")).to_string();
    assert!(message.contains("(in lower case)"), "{message}");
    let long = "x".repeat(500);
    let message = err(&format!("{base_1h}&by={long}")).to_string();
    assert!(message.len() < 200, "{message}");
    // Exactly 1,000 buckets pass.
    assert!(parse_stats_query(Some(
        "start=2025-01-01T00:00:00Z&end=2025-01-01T16:40:00Z&interval=1m"
    ))
    .is_ok());
}
