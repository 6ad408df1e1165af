//! Black-box: the gateway in front of upstreams that behave like the real
//! services (issue 11 items 5, 13, 14, 15): identical records filling more
//! than one upstream page, Logto's three time-filter generations,
//! PromptCrafter's empty unfiltered list, Alloy's silently clamped limit.

mod common;

use common::{assert_same_ids, reference, Gateway};
use loggate::config;
use loggate_core::sim::{serve_loopback, Served};
use loggate_core::time::parse_rfc3339_ms;
use loggate_core::{Filters, LogRecord, Order};
use serde_json::json;

const FAST: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

/// One source `name` of `kind` at `served` with `extra` keys.
fn source(name: &str, kind: &str, served: &Served, token: &str, extra: &str) -> String {
    format!(
        "[sources.{name}]\nkind = \"{kind}\"\nbase_url = \"{}\"\ntoken = \"{token}\"\n{FAST}\n{extra}\n",
        served.base_url()
    )
}

fn orders() -> [Order; 2] {
    [Order::Desc, Order::Asc]
}

/// Issue 11 item 5: 101 (or more) copies of one health-check line, one
/// older and one newer log, behind a leveled upstream.
async fn healthz(copies: usize) -> (Gateway, loggate_leveled::LeveledSim, Served) {
    let mut config = loggate_leveled::SimConfig::demo(0);
    config.records = 0;
    let sim = loggate_leveled::LeveledSim::new(config);
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:00Z", "level": "INFO", "service": "lb",
                      "message": "older"}),
    );
    let at = parse_rfc3339_ms("2024-06-03T10:00:01Z").unwrap();
    sim.insert_copies(copies, at);
    sim.insert(
        json!({"timestamp": "2024-06-03T10:00:02Z", "level": "INFO", "service": "lb",
                      "message": "newer"}),
    );
    let served = serve_loopback(sim.router()).await.unwrap();
    let toml = source("app", "leveled", &served, &sim.token(), "");
    (Gateway::start(&toml).await, sim, served)
}

#[tokio::test]
async fn identical_records_over_more_than_one_upstream_page_come_back_each_once() {
    let (gateway, sim, _served) = healthz(101).await;
    let (status, body) = gateway.get("/logs?limit=50").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["logs"].as_array().unwrap().len(), 50);
    assert_eq!(body["logs"][0]["message"], "newer");
    assert_eq!(body["logs"][1]["message"], "GET /healthz 200");
    assert_eq!(body["partial"], false);
    sim.faults().forget_seen();
    let data = [("app", sim.snapshot())];
    for order in orders() {
        let expected = reference(&data, &Filters::default(), order);
        assert_eq!(expected.len(), 103);
        for limit in [50, 7, 1000] {
            let got = gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("{order:?} limit {limit}"));
        }
    }
    // Bounded: each page reads the group in two passes of two requests.
    let requests = sim.faults().seen_count();
    assert!(requests <= 400, "{requests} upstream requests");
}

#[tokio::test]
async fn a_larger_group_of_identical_records_in_both_orders() {
    let (gateway, sim, _served) = healthz(250).await;
    let data = [("app", sim.snapshot())];
    for order in orders() {
        let expected = reference(&data, &Filters::default(), order);
        assert_eq!(expected.len(), 252);
        for limit in [100, 33] {
            let got = gateway
                .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                .await;
            assert_same_ids(&got, &expected, &format!("{order:?} limit {limit}"));
        }
    }
}

/// Logs at exactly `start` and `end` (and 1 ms outside) on a Logto server
/// of each generation.
#[tokio::test]
async fn logto_bounds_are_right_on_all_three_generations() {
    use loggate_logto::sim::{Generation, LogtoSim, SimConfig};
    let now = loggate_core::time::now_ms() - 60_000;
    for generation in Generation::ALL {
        let mut config = SimConfig::demo(now).with_generation(generation);
        config.records = 40;
        config.span_ms = 3_600_000;
        let sim = LogtoSim::new(config);
        let (start, end) = (now - 2_000_000, now - 1_000_000);
        for (i, ts) in [start - 1, start, end, end + 1].into_iter().enumerate() {
            sim.insert(
                json!({"tenantId": "default", "id": format!("edge{i}0000000000000000"),
                "key": "ExchangeTokenBy.RefreshToken",
                "payload": {"key": "ExchangeTokenBy.RefreshToken", "result": "Success"},
                "createdAt": ts}),
            );
        }
        let served = serve_loopback(sim.router()).await.unwrap();
        let gateway =
            Gateway::start(&source("auth", "logto", &served, "logto-demo-token", "")).await;
        let filters = Filters {
            start: Some(start),
            end: Some(end),
            ..Filters::default()
        };
        let data = [("auth", sim.snapshot())];
        let window = format!(
            "start={}&end={}",
            loggate_core::time::format_ms(start),
            loggate_core::time::format_ms(end)
        );
        for order in orders() {
            let expected = reference(&data, &filters, order);
            assert!(expected.iter().any(|id| id.starts_with("auth:edge1")));
            assert!(expected.iter().any(|id| id.starts_with("auth:edge2")));
            for limit in [1, 50] {
                let query = format!("{window}&order={}", order.as_str());
                let got = gateway.traverse(&query, limit, |_| {}).await;
                assert_same_ids(
                    &got,
                    &expected,
                    &format!("{generation:?} {order:?} {limit}"),
                );
            }
        }
        // Equal bounds are never sent: a v1.40 server would answer 400.
        let instant = loggate_core::time::format_ms(start);
        let (status, body) = gateway
            .get(&format!("/logs?start={instant}&end={instant}"))
            .await;
        assert_eq!(status, 200, "{generation:?}: {body}");
        assert_eq!(body["logs"].as_array().unwrap().len(), 1, "{generation:?}");
        assert_eq!(body["logs"][0]["id"], "auth:edge10000000000000000");
    }
}

async fn promptcrafter(list_mode: Option<&str>) -> (Gateway, Vec<LogRecord>, Served) {
    use loggate_promptcrafter::{PromptCrafterSim, Quirks, SimConfig};
    let token = "promptcrafter-test-token";
    let sim = PromptCrafterSim::new(SimConfig {
        token: token.into(),
        records: 80,
        now_ms: loggate_core::time::now_ms() - 60_000,
        quirks: Quirks::AsBuilt,
        unfiltered_null_prompt: true,
        ..SimConfig::default()
    });
    let served = serve_loopback(sim.router()).await.unwrap();
    let extra = list_mode.map_or(String::new(), |m| format!("list_mode = \"{m}\""));
    let toml = source("prompts", "promptcrafter", &served, token, &extra);
    (Gateway::start(&toml).await, sim.snapshot(), served)
}

#[tokio::test]
async fn promptcrafter_logs_reachable_only_per_prompt_are_found_by_default() {
    for mode in [None, Some("auto"), Some("per_prompt")] {
        let (gateway, snapshot, _served) = promptcrafter(mode).await;
        let data = [("prompts", snapshot)];
        for order in orders() {
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

#[tokio::test]
async fn alloy_short_pages_from_a_silently_clamped_limit_are_not_the_end() {
    use loggate_alloy::{AlloySim, SimConfig};
    for reports_page_size in [false, true] {
        let now = loggate_core::time::now_ms() - 60_000;
        let sim = AlloySim::new(SimConfig {
            records: 200,
            span_ms: 3_600_000,
            distinct_timestamps: Some(150),
            clamp_limit: Some(30),
            clamp_reports_page_size: reports_page_size,
            ..SimConfig::demo(now)
        });
        let served = serve_loopback(sim.router()).await.unwrap();
        let gateway =
            Gateway::start(&source("flows", "alloy", &served, "alloy-demo-key", "")).await;
        let data = [("flows", sim.snapshot())];
        for order in orders() {
            let expected = reference(&data, &Filters::default(), order);
            assert_eq!(expected.len(), 200);
            for limit in [100, 45] {
                let got = gateway
                    .traverse(&format!("order={}", order.as_str()), limit, |_| {})
                    .await;
                assert_same_ids(
                    &got,
                    &expected,
                    &format!("{reports_page_size} {order:?} {limit}"),
                );
            }
        }
        let seen = sim.faults().seen();
        assert!(seen
            .iter()
            .all(|r| r.header("x-api-version") == Some("2025-09")));
    }
}
