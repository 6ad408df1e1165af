//! Unit tests of the late-window bookkeeping (no I/O).

use super::*;
use crate::engine::CursorSigner;
use loggate_core::{Filters, Key, Order};

fn state(sources: &[&str], bound: i64) -> CursorState {
    CursorState {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        filters: Filters::default(),
        order: Order::Asc,
        pinned_end: bound,
        key: None,
        positions: sources
            .iter()
            .map(|s| (s.to_string(), Position::finished()))
            .collect(),
        follow: true,
        served: BTreeMap::new(),
        late: BTreeMap::new(),
        terminal: false,
    }
}

fn rec(ts: i64, id: &str) -> LogRecord {
    LogRecord {
        native_id: id.into(),
        timestamp_ms: ts,
        level: loggate_core::Level::Info,
        message: String::new(),
        service: None,
        user_id: None,
        attributes: Default::default(),
        raw: None,
    }
}

#[test]
fn packed_ids_round_trip_through_the_cursor() {
    let mut s = state(&["a"], 1_700_000_000_000);
    s.late.insert(
        "a".into(),
        Delivered {
            floor: 1_699_999_990_000,
            reread_end: i64::MIN,
            ids: vec![
                (1_699_999_990_000, 1),
                (1_699_999_990_000, u64::MAX),
                (1_700_000_000_000, 7),
            ],
        },
    );
    let signer = CursorSigner::new(b"secret");
    assert_eq!(signer.decode(&signer.encode(&s)).unwrap(), s);
}

#[test]
fn the_window_off_restarts_after_the_bound_and_keeps_nothing() {
    let mut late = BTreeMap::new();
    assert_eq!(restart(&mut late, "a", 100, 0), Position::group(101, None));
    assert!(late.is_empty());
    let mut s = state(&["a"], 100);
    s.late.insert("a".into(), Delivered::default());
    prepare(&mut s, 0);
    assert!(s.late.is_empty());
}

#[test]
fn a_restart_rereads_the_window_but_never_before_its_floor() {
    let mut late = BTreeMap::new();
    // No set yet (a cursor from before the window was on): nothing re-read.
    assert_eq!(
        restart(&mut late, "a", 1000, 300),
        Position::group(1001, None)
    );
    late.get_mut("a").unwrap().floor = 500;
    assert_eq!(
        restart(&mut late, "a", 1000, 300),
        Position::group(701, None)
    );
    late.get_mut("a").unwrap().floor = 900;
    assert_eq!(
        restart(&mut late, "a", 1000, 300),
        Position::group(900, None)
    );
    assert_eq!(late["a"].reread_end, 1000);
}

#[test]
fn delivered_ids_are_kept_for_the_window_and_pruned_after() {
    let mut s = state(&["a"], 1000);
    prepare(&mut s, 300);
    s.late.get_mut("a").unwrap().floor = 0;
    let records = [rec(600, "x"), rec(800, "y"), rec(1000, "z")];
    let warnings = record(&mut s, records.iter().map(|r| ("a", r)), 300, 256);
    assert!(warnings.is_empty());
    // Kept: stamped at or after 1000 + 1 − 300 = 701.
    let set = &s.late["a"];
    assert_eq!(set.floor, 701);
    assert_eq!(set.ids, {
        let mut ids = vec![(800, digest("y")), (1000, digest("z"))];
        ids.sort_unstable();
        ids
    });
}

#[test]
fn a_full_set_shrinks_the_window_with_a_warning() {
    let mut s = state(&["a", "b"], 1000);
    prepare(&mut s, 1000);
    for set in s.late.values_mut() {
        set.floor = 0;
    }
    let records: Vec<LogRecord> = (0..10).map(|i| rec(900 + i, &format!("r{i}"))).collect();
    // Share: 8 ids over 2 sources = 4 each.
    let warnings = record(&mut s, records.iter().map(|r| ("a", r)), 1000, 8);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .1
            .starts_with("a: late_window: more than 4 records"),
        "{}",
        warnings[0].1
    );
    assert_eq!(warnings[0].0, "a");
    assert_eq!(s.late["a"].ids.len(), 4);
    assert_eq!(s.late["a"].floor, 906);
    assert!(s.late["b"].ids.is_empty());
}

#[test]
fn a_source_still_rereading_moves_past_what_its_set_forgot() {
    let mut s = state(&["a"], 2000);
    s.positions
        .insert("a".into(), Position::after(Key::new(950, "k"), None));
    s.late.insert(
        "a".into(),
        Delivered {
            floor: 900,
            reread_end: 1000,
            ids: (0..6).map(|i| (950 + i, i as u64)).collect(),
        },
    );
    let warnings = record(&mut s, std::iter::empty(), 1500, 2);
    assert_eq!(warnings.len(), 1);
    let floor = s.late["a"].floor;
    assert_eq!(floor, 954);
    // The pass would have re-read 950..954 whose ids are forgotten: it
    // resumes at the floor instead.
    assert_eq!(s.positions["a"], Position::group(954, None));
}

#[test]
fn a_new_pass_past_the_reread_keeps_its_position() {
    let mut s = state(&["a"], 2000);
    s.positions
        .insert("a".into(), Position::after(Key::new(1500, "k"), None));
    s.late.insert(
        "a".into(),
        Delivered {
            floor: 900,
            reread_end: 1000,
            ids: (0..6).map(|i| (1495 + i, i as u64)).collect(),
        },
    );
    record(&mut s, std::iter::empty(), 1500, 2);
    assert_eq!(s.positions["a"], Position::after(Key::new(1500, "k"), None));
}

#[test]
fn a_cursor_with_a_full_set_fits_the_query_string() {
    let sources = ["app", "auth", "billing", "prompts", "workflows"];
    let mut s = state(&sources, 1_800_000_000_000);
    prepare(&mut s, 3_600_000);
    let share = MAX_LATE_IDS / sources.len();
    for (n, set) in s.late.values_mut().enumerate() {
        set.floor = 0;
        // Up to an hour apart: 3-byte varints.
        set.ids = (0..share)
            .map(|i| (1_796_400_000_000 + i as i64 * 14_000, (n * 1000 + i) as u64))
            .collect();
    }
    let text = CursorSigner::new(b"secret").encode(&s);
    assert!(
        text.len() + "cursor=&limit=1000".len() < crate::http::limits::MAX_QUERY_BYTES,
        "a full cursor is {} characters",
        text.len()
    );
}
