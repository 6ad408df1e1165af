//! Hostile values reach a leveled upstream as literal data (the checks:
//! `common/injection.rs`): `q` as `search` only where its ASCII-folding
//! search cannot miss a match (spec §10), `service` as `service`; a record
//! per hostile value, carrying it as its service and in its message, comes
//! back for both.

mod common;

use common::injection::{no_check, Setup, Wire, HOSTILE};
use loggate_core::time::{format_ms, now_ms};
use loggate_leveled::sim::{LeveledSim, SimConfig};

fn wire() -> Wire {
    Wire {
        paths: &["/logs"],
        unchecked_paths: &[],
        allowed: &[
            "limit",
            "offset",
            "startDate",
            "endDate",
            "level",
            "service",
            "search",
        ],
        pushed: &[("q", "search"), ("service", "service")],
        q_only_if_ascii_superset: true,
        check: no_check,
    }
}

#[tokio::test]
async fn hostile_values_reach_leveled_as_literal_data() {
    let now = now_ms();
    let mut c = SimConfig::demo(now);
    c.spec.records = 30;
    let sim = LeveledSim::new(c);
    for (i, value) in HOSTILE.iter().enumerate() {
        sim.insert(serde_json::json!({
            "timestamp": format_ms(now - 1000 * (i as i64 + 1)),
            "level": "INFO",
            "service": value,
            "message": format!("<{value}>"),
            "details": {},
        }));
    }
    let table = format!("token = \"{}\"\n", sim.token());
    Setup::serve("leveled", &sim, &table, wire())
        .await
        .run(true)
        .await;
}
