//! Black-box: one gateway in front of all four provider simulators.
//! Mixed traversals (limit 1, 13 and 500, both orders, with filters) equal
//! the reference; Logto's client-credentials tokens expiring during a
//! traversal change nothing.

mod common;

use common::{assert_same_ids, reference, Gateway};
use loggate_core::sim::{serve_loopback, Served};
use loggate_core::time::{format_ms, now_ms};
use loggate_core::{Filters, Level, LogRecord, Order};

const UNLIMITED: &str = "rate_limit = { per_second = 100000, burst = 100000 }";

struct AllFour {
    gateway: Gateway,
    prompts: loggate_promptcrafter::sim::PromptCrafterSim,
    workflows: loggate_alloy::sim::AlloySim,
    auth: loggate_logto::sim::LogtoSim,
    app: loggate_leveled::sim::LeveledSim,
    _served: Vec<Served>,
}

impl AllFour {
    async fn start(records: usize, logto_honours_time_filter: bool) -> AllFour {
        let now = now_ms();
        let hour = 3_600_000;
        let distinct = Some(records / 4);

        let mut c = loggate_promptcrafter::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
            (records, hour, distinct, "pc-token".into());
        let prompts = loggate_promptcrafter::sim::PromptCrafterSim::new(c);
        let mut c = loggate_alloy::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
            (records, hour, distinct, "alloy-token".into());
        let workflows = loggate_alloy::sim::AlloySim::new(c);
        let mut c = loggate_logto::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.distinct_timestamps) = (records, hour, distinct);
        (c.client_id, c.client_secret) = ("cid".into(), "logto-client-secret".into());
        c.honours_time_filter = logto_honours_time_filter;
        let auth = loggate_logto::sim::LogtoSim::new(c);
        let mut c = loggate_leveled::sim::SimConfig::demo(now);
        (c.records, c.span_ms, c.distinct_timestamps, c.token) =
            (records, hour, distinct, "leveled-token".into());
        let app = loggate_leveled::sim::LeveledSim::new(c);

        let served = vec![
            serve_loopback(prompts.router()).await.unwrap(),
            serve_loopback(workflows.router()).await.unwrap(),
            serve_loopback(auth.router()).await.unwrap(),
            serve_loopback(app.router()).await.unwrap(),
        ];
        let toml = format!(
            "[sources.prompts]\nkind = \"promptcrafter\"\nbase_url = \"{}\"\ntoken = \"pc-token\"\n{UNLIMITED}\n\
             [sources.workflows]\nkind = \"alloy\"\nbase_url = \"{}\"\ntoken = \"alloy-token\"\n{UNLIMITED}\n\
             [sources.auth]\nkind = \"logto\"\nbase_url = \"{}\"\nclient_id = \"cid\"\nclient_secret = \"logto-client-secret\"\n{UNLIMITED}\n\
             [sources.app]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"leveled-token\"\n{UNLIMITED}\n",
            served[0].base_url(),
            served[1].base_url(),
            served[2].base_url(),
            served[3].base_url(),
        );
        AllFour {
            gateway: Gateway::start(&toml).await,
            prompts,
            workflows,
            auth,
            app,
            _served: served,
        }
    }

    fn snapshot(&self) -> Vec<(&'static str, Vec<LogRecord>)> {
        vec![
            ("prompts", self.prompts.snapshot()),
            ("workflows", self.workflows.snapshot()),
            ("auth", self.auth.snapshot()),
            ("app", self.app.snapshot()),
        ]
    }
}

fn middle_half(data: &[(&str, Vec<LogRecord>)]) -> (i64, i64) {
    let mut times: Vec<i64> = data
        .iter()
        .flat_map(|(_, r)| r.iter().map(|r| r.timestamp_ms))
        .collect();
    times.sort();
    (times[times.len() / 4], times[times.len() * 3 / 4])
}

#[tokio::test]
async fn mixed_traversals_over_all_four_providers_equal_the_reference() {
    let all = AllFour::start(60, true).await;
    let data = all.snapshot();
    let (t1, t2) = middle_half(&data);
    let queries: Vec<(String, Filters)> = vec![
        (String::new(), Filters::default()),
        (
            "level=ERROR".into(),
            Filters {
                level: Some([Level::Error].into_iter().collect()),
                ..Filters::default()
            },
        ),
        (
            format!("start={}&end={}", format_ms(t1), format_ms(t2)),
            Filters {
                start: Some(t1),
                end: Some(t2),
                ..Filters::default()
            },
        ),
        (
            "q=ION".into(),
            Filters {
                q: Some("ION".into()),
                ..Filters::default()
            },
        ),
    ];
    for (query, filters) in &queries {
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, filters, order);
            assert!(!expected.is_empty(), "{query} matches nothing");
            let per_source = |ids: &[String], source: &str| {
                ids.iter().filter(|id| id.starts_with(source)).count()
            };
            for source in ["prompts", "workflows", "auth", "app"] {
                assert!(
                    per_source(&expected, source) > 0 || !query.is_empty(),
                    "{source} has no data"
                );
            }
            for limit in [1, 13, 500] {
                if limit == 1 && !query.is_empty() {
                    continue; // limit 1 is run on the unfiltered query: it is the slowest
                }
                let q = format!("{query}&order={}", order.as_str());
                let got = all.gateway.traverse(&q, limit, |_| {}).await;
                assert_same_ids(&got, &expected, &format!("{q} limit {limit}"));
            }
        }
    }
}

#[tokio::test]
async fn inserts_into_every_provider_between_pages_are_not_part_of_the_traversal() {
    let all = AllFour::start(50, true).await;
    for order in [Order::Desc, Order::Asc] {
        let before = all.snapshot();
        let (got, pinned) = all
            .gateway
            .traverse_pinned(&format!("order={}", order.as_str()), 11, |page| {
                match page % 4 {
                    0 => all.prompts.insert_new(2),
                    1 => all.workflows.insert_new(2),
                    2 => all.auth.insert_new(2),
                    _ => all.app.insert_new(2),
                }
            })
            .await;
        let pinned = Filters {
            end: Some(pinned),
            ..Filters::default()
        };
        let expected = reference(&before, &pinned, order);
        assert_same_ids(&got, &expected, &format!("inserts, {order:?}"));
    }
}

#[tokio::test]
async fn logto_tokens_expiring_during_a_traversal_change_nothing() {
    for honours in [true, false] {
        let all = AllFour::start(40, honours).await;
        let expected = reference(&all.snapshot(), &Filters::default(), Order::Desc);
        let got = all
            .gateway
            .traverse("source=auth,app", 7, |page| {
                if page % 3 == 0 {
                    all.auth.expire_all_tokens();
                }
            })
            .await;
        let expected: Vec<String> = expected
            .into_iter()
            .filter(|id| id.starts_with("auth:") || id.starts_with("app:"))
            .collect();
        assert_same_ids(
            &got,
            &expected,
            &format!("expiring tokens, time filter honoured: {honours}"),
        );
        assert!(
            all.auth.issued_tokens() > 1,
            "tokens were fetched again after expiring"
        );
    }
}
