//! Black-box, PromptCrafter (issue 11 item 14): logs an unfiltered list
//! does not show are found per prompt; `list_mode` is checked.

mod common;

use common::{assert_same_ids, reference, source_toml, Gateway};
use loggate::config;
use loggate_core::sim::{serve_loopback, Served, SimSpec};
use loggate_core::{Filters, LogRecord, Order};

async fn promptcrafter(list_mode: Option<&str>) -> (Gateway, Vec<LogRecord>, Served) {
    use loggate_promptcrafter::{PromptCrafterSim, Quirks, SimConfig};
    let token = "promptcrafter-test-token";
    let sim = PromptCrafterSim::new(SimConfig {
        spec: SimSpec {
            token: token.into(),
            records: 80,
            now_ms: loggate_core::time::now_ms() - 60_000,
            ..SimConfig::default().spec
        },
        quirks: Quirks::AsBuilt,
        unfiltered_null_prompt: true,
    });
    let served = serve_loopback(sim.router()).await.unwrap();
    let extra = list_mode.map_or(String::new(), |m| format!("list_mode = \"{m}\""));
    let toml = source_toml("prompts", "promptcrafter", &served, token, &extra);
    (Gateway::start(&toml).await, sim.snapshot(), served)
}

#[tokio::test]
async fn promptcrafter_logs_reachable_only_per_prompt_are_found_by_default() {
    for mode in [None, Some("auto"), Some("per_prompt")] {
        let (gateway, snapshot, _served) = promptcrafter(mode).await;
        let data = [("prompts", snapshot)];
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, &Filters::default(), order);
            assert_eq!(expected.len(), 80);
            let got = gateway
                .traverse(&format!("order={}", order.as_str()), 30, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("{mode:?} {order:?}"));
        }
    }
    // `all` trusts the unfiltered list, as documented: nothing.
    let (gateway, _, _served) = promptcrafter(Some("all")).await;
    let (status, body) = gateway.get("/logs").await;
    assert_eq!((status, body["logs"].as_array().unwrap().len()), (200, 0));
}

#[test]
fn list_mode_is_checked_and_only_for_promptcrafter() {
    let toml = |kind: &str, mode: &str| {
        format!(
            "[sources.s]\nkind = \"{kind}\"\nbase_url = \"http://127.0.0.1:9\"\ntoken = \"t\"\nlist_mode = \"{mode}\"\n"
        )
    };
    assert!(config::load_str(&toml("promptcrafter", "per_prompt"), Vec::new()).is_ok());
    let problems = config::load_str(&toml("promptcrafter", "each"), Vec::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        problems.trim(),
        "sources.s.list_mode: unknown variant `each`, expected one of `auto`, `all`, `per_prompt`"
    );
    let problems = config::load_str(&toml("leveled", "auto"), Vec::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        problems.trim(),
        "sources.s.list_mode: only a source of kind promptcrafter takes this key"
    );
}
