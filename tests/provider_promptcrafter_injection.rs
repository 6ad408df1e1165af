//! Hostile values reach a PromptCrafter upstream as literal data (the
//! checks: `common/injection.rs`): nothing is pushed but `promptId`.

mod common;

use common::injection::{no_check, Setup, Wire};
use loggate_core::sim::{serve_loopback, Served};
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

async fn start() -> (Setup, Served) {
    let mut c = SimConfig::demo(now_ms());
    (c.records, c.token) = (30, "pc-token".into());
    let sim = PromptCrafterSim::new(c);
    let served = serve_loopback(sim.router()).await.unwrap();
    let table = "token = \"pc-token\"\n";
    let setup = Setup::start(
        "promptcrafter",
        &served.base_url(),
        table,
        sim.faults().clone(),
        wire(),
    )
    .await;
    (setup, served)
}

#[tokio::test]
async fn hostile_values_reach_promptcrafter_as_literal_data() {
    let (setup, _served) = start().await;
    setup.hostile_values(false).await;
}

#[tokio::test]
async fn bad_encodings_stay_literal_at_promptcrafter() {
    let (setup, _served) = start().await;
    setup.bad_encodings_stay_literal().await;
}
