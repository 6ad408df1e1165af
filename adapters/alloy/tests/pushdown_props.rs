//! Property tests of pushdown: the native request never loses a record the
//! reference matcher accepts (whatever `contains` does with case), and a
//! traversal with random filters returns exactly the reference.
#![cfg(feature = "sim")]

mod common;

use common::*;
use loggate_alloy::sim::filter::{clause_matches, parse_filters};
use loggate_alloy::translate::{self, record_from_native};
use loggate_alloy::{AlloyAdapter, AlloySim};
use loggate_core::{Filters, Level, Order};
use proptest::prelude::*;
use serde_json::Value;

fn data() -> Vec<Value> {
    AlloySim::new(config(21, 150, Some(40))).raw_records()
}

/// Filters built from values that occur in `logs` (or not), by index.
fn arb_filters() -> impl Strategy<Value = (Filters, [usize; 6])> {
    (
        proptest::option::of(0usize..150),
        proptest::option::of(0usize..150),
        proptest::option::of(proptest::sample::subsequence(Level::ALL.to_vec(), 0..=3)),
        proptest::option::of(proptest::sample::select(vec![
            "error", "EXEC", "Started", "fin", "s", "x",
        ])),
        any::<[usize; 6]>(),
    )
        .prop_map(|(start, end, levels, q, picks)| {
            let filters = Filters {
                start: start.map(|i| i as i64),
                end: end.map(|i| i as i64),
                level: levels.map(|l| l.into_iter().collect()),
                q: q.map(str::to_string),
                ..Filters::default()
            };
            (filters, picks)
        })
}

/// Resolves the index placeholders against `logs`.
fn concrete(mut filters: Filters, picks: [usize; 6], logs: &[Value]) -> Filters {
    let records: Vec<_> = logs
        .iter()
        .filter_map(|l| record_from_native(l, false).ok())
        .collect();
    let mut stamps: Vec<i64> = records.iter().map(|r| r.timestamp_ms).collect();
    stamps.sort();
    let at = |i: i64| stamps[(i as usize) % stamps.len()];
    filters.start = filters.start.map(at);
    filters.end = filters.end.map(at);
    let pick = |n: usize| &records[picks[n] % records.len()];
    if picks[0] % 3 == 1 {
        filters.user_id = pick(0).user_id.clone();
    }
    for (n, name) in [
        (1, "forgeWorkflowId"),
        (2, "executionId"),
        (3, "integrationId"),
        (4, "workflowVersion"),
    ] {
        if picks[n] % 4 == 1 {
            let value = &pick(n).attributes[name];
            let text = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_string);
            filters.attrs.insert(name.to_string(), text);
        }
    }
    if picks[5] % 5 == 1 {
        filters.min_level = Some(Level::Warn);
    }
    filters
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pushed_clauses_never_lose_a_match((filters, picks) in arb_filters(), order_desc in any::<bool>()) {
        let logs = data();
        let filters = concrete(filters, picks, &logs);
        let order = if order_desc { Order::Desc } else { Order::Asc };
        let plan = translate::plan(&filters, true);
        let Some(window) = translate::window(&filters, None, order) else { return Ok(()) };
        let pairs = translate::page_query(&plan, order, window, 0, 100);
        let clauses = match pairs.iter().find(|(n, _)| *n == "filters") {
            Some((_, text)) => parse_filters(text).unwrap(),
            None => Vec::new(),
        };
        for log in &logs {
            let record = record_from_native(log, false).unwrap();
            if plan.unsatisfiable {
                prop_assert!(!filters.matches(&record));
                continue;
            }
            if filters.matches(&record) {
                for case_sensitive in [true, false] {
                    prop_assert!(clauses.iter().all(|c| clause_matches(c, log, case_sensitive)),
                        "{:?} lost by {:?}", record, pairs);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn traversals_with_random_filters_return_the_reference(
        (filters, picks) in arb_filters(),
        order_desc in any::<bool>(),
        want in 1usize..40,
        page_limit in 3usize..30,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let setup = setup(config(21, 150, Some(40))).await;
            let filters = concrete(filters, picks, &setup.sim.raw_records());
            let order = if order_desc { Order::Desc } else { Order::Asc };
            let adapter = AlloyAdapter::new(settings(&setup.served.base_url(), TOKEN)).with_page_limit(page_limit);
            let query = pinned(filters, order);
            let got = traverse(&adapter, &query, want, 10_000, || {}).await;
            assert_eq!(got, expected(&setup.sim.snapshot(), &query), "{query:?}");
        });
    }
}
