use loggate_core::{Filters, Level, LogRecord};

use super::*;

const MIN: i64 = 60_000;
/// A grid instant: the boundary of a query ending at `END` is `G`.
const G: i64 = 1_000 * MIN;
const END: i64 = G + 10 * MIN + 30_000;
const GRID: SplitGrid = SplitGrid {
    grid_ms: MIN,
    horizon_ms: 10 * MIN,
};

fn query(start: Option<i64>, order: Order) -> SourceQuery {
    SourceQuery {
        filters: Filters {
            start,
            end: Some(END),
            ..Filters::default()
        },
        order,
        include_raw: false,
    }
}

fn record(ts: i64) -> LogRecord {
    LogRecord {
        native_id: ts.to_string(),
        timestamp_ms: ts,
        level: Level::Info,
        message: String::new(),
        service: None,
        user_id: None,
        attributes: Default::default(),
        raw: None,
    }
}

#[test]
fn desc_reads_the_fresh_part_then_hands_over_to_the_settled_one() {
    let q = query(Some(G - 90 * MIN + 7), Order::Desc);
    let fresh = GRID.segment(&q, &Position::start(), 10, END).unwrap();
    assert_eq!(
        (fresh.query.filters.start, fresh.query.filters.end),
        (Some(G), Some(END))
    );
    assert_eq!(fresh.window_end, END);
    let done = Batch {
        frontier: Position::finished(),
        ..Batch::default()
    };
    let handed = fresh.finish(done).frontier;
    assert_eq!(handed, Position::group(G - 1, None));
    // A frontier past the boundary (with an offset hint of the fresh
    // request) hands over the same way: it says nothing of the settled
    // part, whose records it would otherwise pass.
    let past = Batch {
        frontier: Position::group(G - 5 * MIN, Some(40)),
        ..Batch::default()
    };
    assert_eq!(fresh.finish(past).frontier, Position::group(G - 1, None));
    // The hand-over marker starts the settled part from its start: the
    // same native request on every refresh until the boundary moves.
    let settled = GRID.segment(&q, &handed, 3, END + 20_000).unwrap();
    assert_eq!(
        (settled.query.filters.start, settled.query.filters.end),
        (Some(G - 90 * MIN), Some(G - 1))
    );
    assert_eq!(settled.position, Position::start());
    assert_eq!((settled.window_end, settled.want), (G - 1, 16));
    assert_eq!(settled.drop_before, Some(G - 90 * MIN + 7));
    // Records before the real start are dropped, and the source ends there.
    let batch = Batch {
        records: vec![
            record(G - 5),
            record(G - 90 * MIN + 7),
            record(G - 90 * MIN + 3),
        ],
        frontier: Position::group(G - 90 * MIN + 3, None),
        ..Batch::default()
    };
    let out = settled.finish(batch);
    assert_eq!(out.records.len(), 2);
    assert!(out.frontier.done);
}

#[test]
fn asc_reads_the_settled_part_then_the_fresh_one() {
    let q = query(None, Order::Asc);
    let settled = GRID.segment(&q, &Position::start(), 100, END).unwrap();
    assert_eq!(
        (settled.query.filters.start, settled.query.filters.end),
        (None, Some(G - 1))
    );
    assert_eq!((settled.drop_before, settled.want), (None, 128));
    let handed = settled.finish(Batch {
        frontier: Position::finished(),
        ..Batch::default()
    });
    assert_eq!(handed.frontier, Position::group(G, None));
    let fresh = GRID.segment(&q, &handed.frontier, 100, END).unwrap();
    assert_eq!(fresh.query.filters.start, Some(G));
    assert_eq!(fresh.position, Position::start());
    // The fresh part's end is the source's end.
    assert!(fresh.finish(Batch::default()).frontier == Position::default());
    let done = fresh.finish(Batch {
        frontier: Position::finished(),
        ..Batch::default()
    });
    assert!(done.frontier.done);
}

#[test]
fn a_position_continues_in_the_part_holding_its_timestamp() {
    let q = query(None, Order::Desc);
    let key = |ts: i64| Position::after(record(ts).key(), Some(4));
    let in_fresh = GRID.segment(&q, &key(G), 5, END).unwrap();
    assert_eq!(in_fresh.query.filters.start, Some(G));
    assert_eq!(in_fresh.position, key(G));
    let in_settled = GRID.segment(&q, &key(G - 1), 5, END).unwrap();
    assert_eq!(in_settled.query.filters.end, Some(G - 1));
    assert_eq!(in_settled.position, key(G - 1));
}

#[test]
fn wholly_fresh_or_wholly_settled_windows_are_not_split() {
    let start = Position::start();
    assert_eq!(
        GRID.segment(&query(Some(G), Order::Desc), &start, 5, END),
        None
    );
    let settled_long_ago = END + 11 * MIN;
    assert_eq!(
        GRID.segment(&query(None, Order::Desc), &start, 5, settled_long_ago),
        None
    );
    let mut open = query(None, Order::Desc);
    open.filters.end = None;
    assert_eq!(GRID.segment(&open, &start, 5, END), None);
}
