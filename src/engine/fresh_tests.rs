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

fn plan_of(query: &SourceQuery, position: &Position, want: usize) -> FreshRead {
    plan(query, position, want, 10_000, &FreshSharing::default(), 0)
}

#[test]
fn a_filtered_fetch_reads_the_same_window_without_content_filters() {
    let q = warn_query(Order::Asc);
    let FreshRead::Shared(shared) = plan_of(&q, &Position::group(150, None), 5) else {
        panic!("a content filter: the shared read");
    };
    assert_eq!(shared.filters.start, Some(100));
    assert_eq!(shared.filters.end, Some(200));
    assert!(!shared.filters.constrains_content());
    assert_eq!(shared.order, Order::Asc);
    assert!(shared.include_raw);
    // Paused, or too little budget for a page: its own read.
    let paused = FreshSharing::default();
    paused.pause(0);
    assert_eq!(
        plan(&q, &Position::start(), 5, 10_000, &paused, 1),
        FreshRead::Own
    );
    let low = SHARED_FRESH_WANT - 1;
    let sharing = FreshSharing::default();
    assert_eq!(
        plan(&q, &Position::start(), 5, low, &sharing, 0),
        FreshRead::Own
    );
}

#[test]
fn a_time_only_fetch_starting_the_window_sends_the_shared_request_itself() {
    let mut q = warn_query(Order::Desc);
    q.filters.min_level = None;
    let widened = FreshRead::Widened {
        position: Position::start(),
        want: SHARED_FRESH_WANT,
    };
    // `desc` starts at the window's end: nothing at or after it is done.
    for from in [
        Position::start(),
        Position::group(200, Some(3)),
        Position::after(Key::new(201, "a"), None),
    ] {
        assert_eq!(plan_of(&q, &from, 7), widened, "{from:?}");
    }
    for inside in [
        Position::group(199, None),
        Position::after(Key::new(200, "a"), None),
    ] {
        assert_eq!(plan_of(&q, &inside, 7), FreshRead::Own, "{inside:?}");
    }
    // `asc` starts at the window's start: the hand-over `Group(G)`.
    q.order = Order::Asc;
    for from in [
        Position::group(100, None),
        Position::after(Key::new(99, "z"), None),
    ] {
        assert_eq!(plan_of(&q, &from, 7), widened, "{from:?}");
    }
    for inside in [
        Position::group(101, None),
        Position::after(Key::new(100, "a"), None),
    ] {
        assert_eq!(plan_of(&q, &inside, 7), FreshRead::Own, "{inside:?}");
    }
    // A larger fetch keeps its size.
    let FreshRead::Widened { want, .. } = plan_of(&q, &Position::start(), 500) else {
        panic!("widened");
    };
    assert_eq!(want, 500);
    assert_eq!(plan_of(&q, &Position::finished(), 7), FreshRead::Own);
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
