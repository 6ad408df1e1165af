//! Hostile values reach a PromptCrafter upstream as literal data (the
//! checks: `common/injection.rs`): nothing is pushed but `promptId`.

mod common;

use common::injection::{no_check, Setup, Wire};
use loggate_core::time::now_ms;
use loggate_promptcrafter::sim::{PromptCrafterSim, SimConfig};

fn wire() -> Wire {
    Wire {
        paths: &["/logs"],
        unchecked_paths: &[],
        allowed: &["promptId"],
        pushed: &[],
        q_only_if_ascii_superset: false,
        check: no_check,
    }
}

#[tokio::test]
async fn hostile_values_reach_promptcrafter_as_literal_data() {
    let mut c = SimConfig::demo(now_ms());
    (c.spec.records, c.spec.token) = (30, "pc-token".into());
    let sim = PromptCrafterSim::new(c);
    let table = "token = \"pc-token\"\n";
    Setup::serve("promptcrafter", &sim, table, wire())
        .await
        .run(false)
        .await;
}
