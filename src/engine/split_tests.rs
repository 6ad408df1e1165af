use loggate_core::{Batch, Filters, Level, LogRecord};

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
    let handed = fresh.finish(done.into()).frontier;
    assert_eq!(handed, Position::group(G - 1, None));
    // A frontier past the boundary (with an offset hint of the fresh
    // request) hands over the same way: it says nothing of the settled
    // part, whose records it would otherwise pass.
    let past = Batch {
        frontier: Position::group(G - 5 * MIN, Some(40)),
        ..Batch::default()
    };
    assert_eq!(
        fresh.finish(past.into()).frontier,
        Position::group(G - 1, None)
    );
    let settled = GRID.segment(&q, &handed, 3, END + 20_000).unwrap();
    assert_eq!(
        (settled.query.filters.start, settled.query.filters.end),
        (Some(G - 90 * MIN), Some(G - 1))
    );
    // The hand-over goes on as it is: the same position (so the same
    // native request) on every refresh until the boundary moves.
    assert_eq!(settled.position, handed);
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
    let out = settled.finish(batch.into());
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
    let handed = settled.finish(
        Batch {
            frontier: Position::finished(),
            ..Batch::default()
        }
        .into(),
    );
    assert_eq!(handed.frontier, Position::group(G, None));
    let fresh = GRID.segment(&q, &handed.frontier, 100, END).unwrap();
    assert_eq!(fresh.query.filters.start, Some(G));
    assert_eq!(fresh.position, handed.frontier);
    // The fresh part's end is the source's end.
    assert!(fresh.finish(LazyBatch::default()).frontier == Position::default());
    let done = fresh.finish(
        Batch {
            frontier: Position::finished(),
            ..Batch::default()
        }
        .into(),
    );
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

/// How a model adapter ends a fetch that leaves records behind, as the
/// real ones do: cut inside a group (`After` the last key), or at whole
/// groups, the unfinished one left whole (`Group` of its timestamp:
/// leveled, Alloy), or past the last whole group (`Group` of the next
/// millisecond: Logto).
#[derive(Debug, Clone, Copy)]
enum Stops {
    Cut,
    AtOpenGroup,
    PastLastGroup,
}

/// A keyset adapter over `data`: the matching records of `query` after
/// `position`, at most `want` (more when one group exceeds it), with a
/// frontier of the kind `stops` says.
fn model_fetch(
    data: &[LogRecord],
    query: &SourceQuery,
    position: &Position,
    want: usize,
    stops: Stops,
) -> Batch {
    let mut rest: Vec<LogRecord> = data
        .iter()
        .filter(|r| query.filters.matches(r) && !position.covers_record(r, query.order))
        .cloned()
        .collect();
    loggate_core::record::sort_records(&mut rest, query.order);
    if rest.len() <= want {
        return Batch {
            records: rest,
            frontier: Position::finished(),
            ..Batch::default()
        };
    }
    let step = |ts: i64| match query.order {
        Order::Desc => ts - 1,
        Order::Asc => ts + 1,
    };
    let open_ts = rest[want].timestamp_ms;
    let whole = rest[..want]
        .iter()
        .filter(|r| r.timestamp_ms != open_ts)
        .count();
    let (records, frontier) = match stops {
        Stops::Cut => (
            rest[..want].to_vec(),
            Position::after(rest[want - 1].key(), None),
        ),
        Stops::AtOpenGroup if whole > 0 => (rest[..whole].to_vec(), Position::group(open_ts, None)),
        Stops::PastLastGroup if whole > 0 => {
            let last = rest[whole - 1].timestamp_ms;
            (rest[..whole].to_vec(), Position::group(step(last), None))
        }
        // One group larger than `want`: read whole.
        _ => {
            let group: Vec<LogRecord> = rest
                .iter()
                .filter(|r| r.timestamp_ms == open_ts)
                .cloned()
                .collect();
            let past = rest.iter().any(|r| r.timestamp_ms != open_ts);
            let frontier = if past {
                Position::group(step(open_ts), None)
            } else {
                Position::finished()
            };
            let mut records = rest[..want.min(rest.len())].to_vec();
            records.retain(|r| r.timestamp_ms != open_ts);
            records.extend(group);
            (records, frontier)
        }
    };
    Batch {
        records,
        frontier,
        ..Batch::default()
    }
}

/// Every fetch of a split traversal of `query` with `want` records a
/// fetch, as the engine runs it: the segment's batch from `read`, its
/// `finish`, the records the position covers dropped, the frontier next.
fn traverse(
    query: &SourceQuery,
    want: usize,
    mut read: impl FnMut(&Segment) -> Batch,
) -> Vec<String> {
    let mut position = Position::start();
    let mut out = Vec::new();
    for _ in 0..400 {
        if position.done {
            return out;
        }
        let segment = GRID
            .segment(query, &position, want, END)
            .expect("a split window");
        let batch = segment
            .finish(read(&segment).into())
            .force(|reason| panic!("a model record is mapped: {reason}"));
        out.extend(
            batch
                .records
                .iter()
                .filter(|r| query.filters.matches(r) && !position.covers_record(r, query.order))
                .map(|r| r.native_id.clone()),
        );
        position = batch.frontier;
    }
    panic!("the traversal did not end: {out:?}");
}

/// [`traverse`] over `data` through a model adapter stopping as `stops`
/// says.
fn split_traversal(
    data: &[LogRecord],
    query: &SourceQuery,
    want: usize,
    stops: Stops,
) -> Vec<String> {
    traverse(query, want, |s| {
        model_fetch(data, &s.query, &s.position, s.want, stops)
    })
}

/// Exactly once across the boundary, whatever the fetch size and however
/// an adapter stops: tie groups at `G − 2`, `G − 1`, `G`, `G + 1` and
/// `G + 2`, in both orders, with and without a start off the grid. (The
/// remapping of a hand-over to `Start` failed this: a `desc` fresh part
/// stopped at the group at `G`, or an `asc` settled part at `G − 1`, was
/// read again from its top.)
#[test]
fn split_traversals_read_every_record_once_however_the_adapter_stops() {
    let stamps = [
        G - 90 * MIN + 3,
        G - 90 * MIN + 7,
        G - 30 * MIN,
        G - 2,
        G - 2,
        G - 1,
        G - 1,
        G - 1,
        G,
        G,
        G,
        G + 1,
        G + 1,
        G + 2,
        G + 2,
        G + 2,
        G + 5 * MIN,
        END - 1,
        END,
        END,
    ];
    let data: Vec<LogRecord> = stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| LogRecord {
            native_id: format!("{i:02}"),
            ..record(*ts)
        })
        .collect();
    for order in [Order::Desc, Order::Asc] {
        for start in [None, Some(G - 90 * MIN + 7)] {
            let q = query(start, order);
            let mut expected: Vec<LogRecord> = data
                .iter()
                .filter(|r| q.filters.matches(r))
                .cloned()
                .collect();
            loggate_core::record::sort_records(&mut expected, order);
            let expected: Vec<String> = expected.into_iter().map(|r| r.native_id).collect();
            for stops in [Stops::Cut, Stops::AtOpenGroup, Stops::PastLastGroup] {
                for want in 1..=12 {
                    let got = split_traversal(&data, &q, want, stops);
                    assert_eq!(
                        got, expected,
                        "{order:?} start {start:?} {stops:?} want {want}"
                    );
                }
            }
        }
    }
}

/// [`split_traversal`] with the fresh part read as the engine plans it
/// ([`crate::engine::fresh::plan`]): with content filters, one unfiltered
/// read of `shared_want` records from the window's start, served with the
/// filters, else the filtered read; without, its own query from the start
/// for at least `shared_want`. Also how many fetches the shared read
/// served.
fn shared_traversal(
    data: &[LogRecord],
    query: &SourceQuery,
    want: usize,
    shared_want: usize,
    stops: Stops,
) -> (Vec<String>, usize) {
    use crate::engine::fresh::{self, FreshRead};
    let mut served = 0;
    let out = traverse(query, want, |s| {
        let plan = if s.fresh {
            let always = fresh::FreshSharing::default();
            fresh::plan(&s.query, &s.position, s.want, usize::MAX, &always, 0)
        } else {
            FreshRead::Own
        };
        match plan {
            FreshRead::Shared(sq) => {
                let page = model_fetch(data, &sq, &Position::start(), shared_want, stops);
                let answer = fresh::serve(&s.query, &s.position, page);
                served += usize::from(answer.is_some());
                answer.unwrap_or_else(|| model_fetch(data, &s.query, &s.position, s.want, stops))
            }
            FreshRead::Widened { position, .. } => {
                served += 1;
                model_fetch(data, &s.query, &position, s.want.max(shared_want), stops)
            }
            FreshRead::Own => model_fetch(data, &s.query, &s.position, s.want, stops),
        }
    });
    (out, served)
}

/// Records at `stamps`, every third `warn`, every second with `x` in its
/// message.
fn varied(stamps: &[i64]) -> Vec<LogRecord> {
    stamps
        .iter()
        .enumerate()
        .map(|(i, ts)| LogRecord {
            native_id: format!("{i:02}"),
            level: if i % 3 == 0 { Level::Warn } else { Level::Info },
            message: if i % 2 == 0 { "x".into() } else { "y".into() },
            ..record(*ts)
        })
        .collect()
}

fn expected(data: &[LogRecord], q: &SourceQuery) -> Vec<String> {
    let mut expected: Vec<LogRecord> = data
        .iter()
        .filter(|r| q.filters.matches(r))
        .cloned()
        .collect();
    loggate_core::record::sort_records(&mut expected, q.order);
    expected.into_iter().map(|r| r.native_id).collect()
}

/// A fresh part read once without filters and filtered here gives every
/// record once, whatever the shared page's size (smaller than the fresh
/// part: the position is handed to the filtered read), the fetch size and
/// however the adapter stops; a shared page holding the whole fresh part
/// serves the fresh fetches.
#[test]
fn shared_fresh_reads_give_every_matching_record_once() {
    let stamps = [
        G - 30 * MIN,
        G - 1,
        G,
        G,
        G + 1,
        G + 1,
        G + 1,
        G + 2,
        G + 5 * MIN,
        G + 5 * MIN,
        END - 1,
        END,
        END,
    ];
    let data = varied(&stamps);
    let fresh_len = stamps.iter().filter(|ts| **ts >= G).count();
    for order in [Order::Desc, Order::Asc] {
        for filters in [
            Filters::default(),
            Filters {
                min_level: Some(Level::Warn),
                ..Filters::default()
            },
            Filters {
                q: Some("x".into()),
                ..Filters::default()
            },
        ] {
            let q = SourceQuery {
                filters: Filters {
                    start: Some(G - 90 * MIN),
                    end: Some(END),
                    ..filters
                },
                ..query(None, order)
            };
            let expected = expected(&data, &q);
            for stops in [Stops::Cut, Stops::AtOpenGroup, Stops::PastLastGroup] {
                for want in 1..=8 {
                    for shared_want in 1..=fresh_len + 1 {
                        let (got, served) = shared_traversal(&data, &q, want, shared_want, stops);
                        let case = format!("{order:?} {stops:?} want {want} shared {shared_want}");
                        assert_eq!(got, expected, "{case}");
                        if shared_want >= fresh_len {
                            assert!(served > 0, "the whole fresh part served nothing: {case}");
                        }
                    }
                }
            }
        }
    }
}

proptest::proptest! {
    /// The same over random stamps and levels around the boundary.
    #[test]
    fn shared_fresh_traversals_equal_the_reference(
        offsets in proptest::collection::vec(-3i64..=12, 0..24),
        want in 1usize..=6,
        shared_want in 1usize..=30,
        asc: bool,
        stops in 0u8..3,
    ) {
        let stamps: Vec<i64> = offsets
            .iter()
            .map(|o| if *o > 9 { END - (*o - 10) } else { G + o })
            .collect();
        let data = varied(&stamps);
        let order = if asc { Order::Asc } else { Order::Desc };
        let q = SourceQuery {
            filters: Filters {
                start: Some(G - 5),
                end: Some(END),
                min_level: Some(Level::Warn),
                ..Filters::default()
            },
            ..query(None, order)
        };
        let stops = [Stops::Cut, Stops::AtOpenGroup, Stops::PastLastGroup][usize::from(stops)];
        let (got, _) = shared_traversal(&data, &q, want, shared_want, stops);
        proptest::prop_assert_eq!(got, expected(&data, &q));
    }
}
