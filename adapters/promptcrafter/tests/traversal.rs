//! Exactly-once traversal against the simulator, both orders, under heavy
//! timestamp ties, with new and late logs written between fetches and the
//! position round-tripped through its serialised form each time.

#![cfg(feature = "sim")]

mod common;

use std::collections::HashSet;

use common::*;
use loggate_core::record::{cmp_in_order, sort_records};
use loggate_core::time::format_ms;
use loggate_core::{Filters, Key, Order, Position};
use loggate_promptcrafter::Quirks;
use serde_json::json;

/// Walks the whole traversal with `want` per fetch; between fetches writes
/// three new logs (after the pinned bound) and one late log stamped inside
/// the window. Returns (expected at the start, seen, late keys).
async fn traverse(
    setup: &Setup,
    order: Order,
    mut filters: Filters,
    want: usize,
) -> (Vec<Key>, Vec<Key>, HashSet<Key>) {
    let snapshot = setup.sim.snapshot();
    // The engine pins the traversal's upper bound when it serves page one.
    let pinned = snapshot.iter().map(|r| r.timestamp_ms).max().unwrap();
    filters.end = Some(pinned);
    let q = query(order, filters);
    let mut expected: Vec<_> = snapshot
        .into_iter()
        .filter(|r| q.filters.matches(r))
        .collect();
    sort_records(&mut expected, order);
    let prompt = q
        .filters
        .attrs
        .get("promptId")
        .cloned()
        .unwrap_or_else(|| setup.sim.prompt_ids()[0].clone());

    let mut seen = Vec::new();
    let mut late = HashSet::new();
    let mut position = Position::start();
    for round in 0.. {
        assert!(round < 10_000, "traversal does not end");
        let batch = fetch(&setup.adapter, &q, &position, want).await.unwrap();
        assert!(batch.records.len() <= want);
        for record in &batch.records {
            assert!(
                !position.covers(&record.key(), order),
                "{:?} was already covered",
                record.key()
            );
            assert!(batch.frontier.covers(&record.key(), order));
        }
        seen.extend(batch.records.iter().map(|r| r.key()));
        if batch.frontier.done {
            break;
        }
        let text = serde_json::to_string(&batch.frontier).unwrap();
        position = serde_json::from_str(&text).unwrap();

        setup.sim.insert_new(3);
        let late_ts = pinned - 3_600_000 * (round % 48);
        let late_id = format!("fa11{round:020x}");
        setup.sim.insert(json!({
            "_id": late_id, "promptId": prompt, "output": "late arrival", "modelUsed": "GPT-4o",
            "score": 9, "createdAt": format_ms(late_ts)
        }));
        late.insert(Key::new(late_ts, late_id));
    }
    (expected.iter().map(|r| r.key()).collect(), seen, late)
}

fn assert_exactly_once(order: Order, expected: &[Key], seen: &[Key], late: &HashSet<Key>) {
    assert!(
        seen.windows(2)
            .all(|w| cmp_in_order(&w[0], &w[1], order).is_lt()),
        "records repeat or go backwards"
    );
    let seen_set: HashSet<&Key> = seen.iter().collect();
    let missing: Vec<&Key> = expected.iter().filter(|k| !seen_set.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "missing {} records, first {:?}",
        missing.len(),
        missing.first()
    );
    let expected_set: HashSet<&Key> = expected.iter().collect();
    assert!(
        seen.iter()
            .all(|k| expected_set.contains(k) || late.contains(k)),
        "a record outside the traversal was returned"
    );
}

#[tokio::test]
async fn every_record_once_in_both_orders_under_ties_and_inserts() {
    for order in [Order::Desc, Order::Asc] {
        // One record per fetch is the hardest case for ties; a smaller data
        // set keeps its hundreds of full downloads quick.
        for (want, records) in [(1, 48), (7, 240), (50, 240)] {
            let mut sim_config = config(Quirks::AsBuilt, records);
            sim_config.spec.distinct_timestamps = Some(9);
            let setup = start(sim_config).await;
            let (expected, seen, late) = traverse(&setup, order, Filters::default(), want).await;
            assert_eq!(expected.len(), records);
            assert_exactly_once(order, &expected, &seen, &late);
        }
    }
}

#[tokio::test]
async fn filtered_traversals_are_exactly_once_too() {
    for order in [Order::Desc, Order::Asc] {
        let setup = start(config(Quirks::Documented, 300)).await;
        let prompt = setup.sim.prompt_ids()[2].clone();
        let (expected, seen, late) = traverse(&setup, order, prompt_filter(&prompt), 4).await;
        assert!(!expected.is_empty());
        assert_exactly_once(order, &expected, &seen, &late);

        let setup = start(config(Quirks::AsBuilt, 300)).await;
        let filters = Filters {
            q: Some("revenue".into()),
            ..Filters::default()
        };
        let (expected, seen, late) = traverse(&setup, order, filters, 3).await;
        assert!(!expected.is_empty());
        assert_exactly_once(order, &expected, &seen, &late);
    }
}

#[tokio::test]
async fn a_group_position_rereads_its_whole_tie_group() {
    let mut sim_config = config(Quirks::AsBuilt, 120);
    sim_config.spec.distinct_timestamps = Some(3);
    let setup = start(sim_config).await;
    let mut snapshot = setup.sim.snapshot();
    sort_records(&mut snapshot, Order::Asc);
    let middle = snapshot[60].timestamp_ms;
    let q = query(Order::Asc, Filters::default());
    let batch = fetch(&setup.adapter, &q, &Position::group(middle, None), 1000)
        .await
        .unwrap();
    let expected: Vec<Key> = snapshot
        .iter()
        .filter(|r| r.timestamp_ms >= middle)
        .map(|r| r.key())
        .collect();
    assert_eq!(
        batch.records.iter().map(|r| r.key()).collect::<Vec<_>>(),
        expected
    );
}
