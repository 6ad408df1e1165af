use loggate_core::{Key, Level, LogRecord, Order};

use super::*;

fn record(id: &str, ts: i64, level: Level) -> LogRecord {
    LogRecord {
        native_id: id.into(),
        timestamp_ms: ts,
        level,
        message: String::new(),
        service: None,
        user_id: None,
        attributes: Default::default(),
        raw: None,
    }
}

fn warn_query(order: Order) -> SourceQuery {
    SourceQuery {
        filters: Filters {
            start: Some(100),
            end: Some(200),
            min_level: Some(Level::Warn),
            ..Filters::default()
        },
        order,
        include_raw: true,
    }
}

/// A shared page, `desc`: 190 warn, 180 info, 170 warn (`a`), 170 warn (`b`).
fn page(frontier: Position) -> Batch {
    Batch {
        records: vec![
            record("z", 190, Level::Warn),
            record("y", 180, Level::Info),
            record("b", 170, Level::Warn),
            record("a", 170, Level::Warn),
        ],
        frontier,
        scanned: 4,
        skipped: 0,
    }
}

fn ids(batch: &Batch) -> Vec<&str> {
    batch.records.iter().map(|r| r.native_id.as_str()).collect()
}

#[test]
fn the_shared_query_reads_the_same_window_without_content_filters() {
    let q = warn_query(Order::Asc);
    let shared = shared_query(&q).expect("a content filter");
    assert_eq!(shared.filters.start, Some(100));
    assert_eq!(shared.filters.end, Some(200));
    assert!(!shared.filters.constrains_content());
    assert_eq!(shared.order, Order::Asc);
    assert!(shared.include_raw);
    // Only time: the fetch's own request is already the shared one.
    let timed = SourceQuery {
        filters: Filters {
            start: Some(1),
            ..Filters::default()
        },
        ..q
    };
    assert_eq!(shared_query(&timed), None);
}

#[test]
fn a_whole_shared_page_serves_the_matching_records_after_the_position() {
    let q = warn_query(Order::Desc);
    let served = serve(&q, &Position::start(), page(Position::finished())).unwrap();
    assert_eq!(ids(&served), ["z", "b", "a"]);
    assert!(served.frontier.done);
    assert_eq!(served.scanned, 4);
    // From a position inside it: only what the position does not cover.
    let from = Position::after(Key::new(170, "b"), Some(7));
    let served = serve(&q, &from, page(Position::finished())).unwrap();
    assert_eq!(ids(&served), ["a"]);
    assert!(finished(&served, 50));
}

#[test]
fn a_partial_shared_page_hands_its_keyset_frontier_over_without_its_hint() {
    let q = warn_query(Order::Desc);
    let served = serve(&q, &Position::start(), page(Position::group(165, Some(4)))).unwrap();
    assert_eq!(ids(&served), ["z", "b", "a"]);
    assert_eq!(served.frontier, Position::group(165, None));
    assert!(!finished(&served, 4));
    assert!(finished(&served, 3));
    let after = Position::after(Key::new(170, "a"), Some(4));
    let served = serve(&q, &Position::start(), page(after)).unwrap();
    assert_eq!(served.frontier, Position::after(Key::new(170, "a"), None));
}

#[test]
fn a_shared_page_that_cannot_answer_is_not_used() {
    let q = warn_query(Order::Desc);
    // A position at or past the frontier's timestamp: nothing new.
    for from in [
        Position::group(165, None),
        Position::group(160, None),
        Position::after(Key::new(165, "q"), None),
    ] {
        assert!(serve(&q, &from, page(Position::group(165, None))).is_none());
    }
    // A frontier that is no keyset bound (an offset alone).
    let offset_only = Position {
        hint: Some(4),
        ..Position::start()
    };
    assert!(serve(&q, &Position::start(), page(offset_only)).is_none());
    // Records it could not read: whether they match is unknown.
    let mut skipped = page(Position::finished());
    skipped.skipped = 1;
    assert!(serve(&q, &Position::start(), skipped).is_none());
    // A finished position.
    assert!(serve(&q, &Position::finished(), page(Position::finished())).is_none());
}

#[test]
fn sharing_pauses_after_a_fetch_it_did_not_finish() {
    let sharing = FreshSharing::default();
    assert!(sharing.active(1_000));
    sharing.pause(1_000);
    assert!(!sharing.active(1_000 + PAUSE_AFTER_UNSERVED_MS - 1));
    assert!(sharing.active(1_000 + PAUSE_AFTER_UNSERVED_MS));
    // A later pause extends it, an earlier one does not shorten it.
    sharing.pause(5_000);
    sharing.pause(2_000);
    assert!(!sharing.active(5_000 + PAUSE_AFTER_UNSERVED_MS - 1));
}
