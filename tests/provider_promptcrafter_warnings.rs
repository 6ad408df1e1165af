//! Black-box, PromptCrafter (issue 11 item 12, spec §5 and §10): a log the
//! adapter cannot read (no `_id`) is counted in its source's `skipped` and
//! the page's top-level `warnings` names the source and the reason.

mod common;

use common::{warnings, Gateway};
use loggate_core::sim::serve_loopback;
use loggate_core::time::{format_ms, now_ms};
use serde_json::json;

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

#[tokio::test]
async fn an_unreadable_record_is_named_in_warnings() {
    use loggate_promptcrafter::sim::{PromptCrafterSim, SimConfig};
    let now = now_ms() - 1000;
    let mut config = SimConfig::demo(now);
    config.spec.records = 20;
    config.spec.token = "pc-token".into();
    let sim = PromptCrafterSim::new(config);
    sim.insert(json!({"createdAt": format_ms(now - 5000), "output": "no id"}));
    let served = serve_loopback(sim.router()).await.unwrap();
    let toml = format!(
        "[sources.prompts]\nkind = \"promptcrafter\"\ntoken = \"pc-token\"\nbase_url = \"{}\"\n{UNLIMITED}\n",
        served.base_url()
    );
    let gateway = Gateway::start(&toml).await;
    let (status, page) = gateway.get("/logs?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["partial"], false);
    assert_eq!(page["sources"]["prompts"]["skipped"], 1, "{page}");
    assert_eq!(page["logs"].as_array().unwrap().len(), 20);
    let warnings = warnings(&page);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let prefix = "prompts: skipped 1 upstream record that could not be read: ";
    assert!(warnings[0].starts_with(prefix), "{warnings:?}");
    assert!(
        warnings[0].len() > prefix.len() && !warnings[0].contains("gave no reason"),
        "the adapter's reason is named: {warnings:?}"
    );
}
