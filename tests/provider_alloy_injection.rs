//! Hostile values reach an Alloy upstream as literal data (the checks:
//! `common/injection.rs`), and its `filters` JSON array holds only the
//! clauses the gateway meant: hostile values are never pushable there.

mod common;

use std::collections::BTreeSet;

use common::injection::{Setup, Wire};
use loggate_alloy::sim::{AlloySim, SimConfig};
use loggate_core::time::now_ms;
use serde_json::Value;

fn wire() -> Wire {
    Wire {
        paths: &["/logs"],
        unchecked_paths: &[],
        allowed: &["filters", "skip", "limit", "sortBy", "sortOrder"],
        pushed: &[],
        q_only_if_ascii_superset: false,
        check: check_filters,
    }
}

/// Alloy's `filters`: one JSON array of clause objects with exactly the
/// four documented keys, only the time bounds, and nothing carrying the
/// value.
fn check_filters(pairs: &[(String, String)], value: &str, what: &str) {
    let Some((_, filters)) = pairs.iter().find(|(n, _)| n == "filters") else {
        return;
    };
    let clauses: Vec<Value> = serde_json::from_str(filters)
        .unwrap_or_else(|e| panic!("{what}: filters is not a JSON array: {e}"));
    assert!(clauses.len() <= 2, "{what}: {} clauses", clauses.len());
    for clause in &clauses {
        let keys: BTreeSet<&str> = clause
            .as_object()
            .unwrap_or_else(|| panic!("{what}: clause not an object"))
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["columns", "operators", "userinput", "condition"]),
            "{what}"
        );
        assert_eq!(clause["columns"]["value"], "createdAt", "{what}");
        assert_ne!(clause["userinput"]["value"], value, "{what}");
    }
}

#[tokio::test]
async fn hostile_values_reach_alloy_as_literal_data() {
    let mut c = SimConfig::demo(now_ms());
    (c.spec.records, c.spec.token) = (30, "alloy-token".into());
    let sim = AlloySim::new(c);
    let table = "token = \"alloy-token\"\n";
    Setup::serve("alloy", &sim, table, wire())
        .await
        .run(false)
        .await;
}
