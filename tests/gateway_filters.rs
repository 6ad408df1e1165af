//! Black-box: every filter of spec §3, alone and combined, over two
//! simulators of a provider with a `search_pushdown` switch equals the reference matcher applied to the raw data, and
//! `pushed`/`residual` report what happened.

mod common;

use common::fleet::{Kind, Spec};
use common::{assert_same_ids, enc, reference, Gateway};
use loggate::registry::Registry;
use loggate_core::sim::Served;
use loggate_core::time::format_ms;
use loggate_core::{Filters, Level, LogRecord, Order};

/// The provider under test: the last registered one whose sources take
/// `search_pushdown` (whether `q` is pushed down is the source's choice).
fn kind() -> Kind {
    let takers = Registry::builtin().kinds_taking("search_pushdown");
    Kind::each_provider()
        .into_iter()
        .rev()
        .find(|k| takers.contains(&k.provider()))
        .expect("a registered provider taking search_pushdown")
}

async fn start(
    search_pushdown: bool,
) -> (Gateway, Vec<(&'static str, Vec<LogRecord>)>, Vec<Served>) {
    let now = loggate_core::time::now_ms();
    let mut toml = String::new();
    let mut data = Vec::new();
    let mut served = Vec::new();
    for (i, name) in ["app", "billing"].into_iter().enumerate() {
        let spec = Spec {
            kind: kind(),
            seed: 40 + i as u64,
            records: 150,
            distinct_timestamps: 60,
            span_ms: 3_600_000,
        };
        let (sim, server, table) = common::serve_sim(spec, now).await;
        toml.push_str(&format!(
            "[sources.{name}]\n{table}search_pushdown = {search_pushdown}\n\
             rate_limit = {{ per_second = 100000, burst = 100000 }}\n",
        ));
        data.push((name, sim.snapshot()));
        served.push(server);
    }
    (Gateway::start(&toml).await, data, served)
}

/// Query strings with the filters they mean, built from values in the data.
fn cases(data: &[(&str, Vec<LogRecord>)]) -> Vec<(String, Filters)> {
    let all: Vec<&LogRecord> = data.iter().flat_map(|(_, r)| r.iter()).collect();
    let mut times: Vec<i64> = all.iter().map(|r| r.timestamp_ms).collect();
    times.sort();
    let (t1, t2) = (times[times.len() / 4], times[times.len() * 3 / 4]);
    let service = all
        .iter()
        .find_map(|r| r.service.clone())
        .expect("a service");
    let user = all
        .iter()
        .find_map(|r| r.user_id.clone())
        .expect("a user id");
    let word = all[0]
        .message
        .split_whitespace()
        .max_by_key(|w| w.len())
        .unwrap()
        .to_uppercase();
    let (attr_name, attr_value) = all
        .iter()
        .flat_map(|r| r.attributes.iter())
        .find(|(k, v)| v.is_string() && *k != "user_id")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .expect("a string attribute");
    let number_attr = all
        .iter()
        .flat_map(|r| r.attributes.iter())
        .find(|(_, v)| v.is_number())
        .map(|(k, v)| (k.clone(), v.to_string()));

    let f = Filters::default;
    let mut out = vec![
        (
            format!("start={}", format_ms(t1)),
            Filters {
                start: Some(t1),
                ..f()
            },
        ),
        (
            format!("end={}", format_ms(t2)),
            Filters {
                end: Some(t2),
                ..f()
            },
        ),
        (
            format!("start={}&end={}", format_ms(t1), format_ms(t2)),
            Filters {
                start: Some(t1),
                end: Some(t2),
                ..f()
            },
        ),
        (
            "level=ERROR".into(),
            Filters {
                level: Some([Level::Error].into_iter().collect()),
                ..f()
            },
        ),
        (
            "level=error,warn".into(),
            Filters {
                level: Some([Level::Error, Level::Warn].into_iter().collect()),
                ..f()
            },
        ),
        (
            "min_level=WARN".into(),
            Filters {
                min_level: Some(Level::Warn),
                ..f()
            },
        ),
        (
            "level=INFO,ERROR&min_level=warn".into(),
            Filters {
                level: Some([Level::Info, Level::Error].into_iter().collect()),
                min_level: Some(Level::Warn),
                ..f()
            },
        ),
        (
            format!("q={}", enc(&word)),
            Filters {
                q: Some(word.clone()),
                ..f()
            },
        ),
        (
            format!("service={}", enc(&service)),
            Filters {
                service: Some(service.clone()),
                ..f()
            },
        ),
        (
            format!("user_id={}", enc(&user)),
            Filters {
                user_id: Some(user.clone()),
                ..f()
            },
        ),
        (
            format!("attr.{attr_name}={}", enc(&attr_value)),
            Filters {
                attrs: [(attr_name.clone(), attr_value.clone())].into(),
                ..f()
            },
        ),
        (
            format!(
                "service={}&level=ERROR&start={}",
                enc(&service),
                format_ms(t1)
            ),
            Filters {
                service: Some(service.clone()),
                level: Some([Level::Error].into_iter().collect()),
                start: Some(t1),
                ..f()
            },
        ),
        (
            "q=no-such-text-anywhere".into(),
            Filters {
                q: Some("no-such-text-anywhere".into()),
                ..f()
            },
        ),
    ];
    if let Some((name, value)) = number_attr {
        out.push((
            format!("attr.{name}={value}"),
            Filters {
                attrs: [(name, value)].into(),
                ..f()
            },
        ));
    }
    out
}

#[tokio::test]
async fn every_filter_alone_and_combined_equals_the_reference() {
    let (gateway, data, _served) = start(true).await;
    for (query, filters) in cases(&data) {
        for order in [Order::Desc, Order::Asc] {
            let expected = reference(&data, &filters, order);
            let got = gateway
                .traverse(&format!("{query}&order={}", order.as_str()), 25, |_| {})
                .await;
            assert_same_ids(&got, &expected, &query);
        }
    }
}

#[tokio::test]
async fn q_matches_case_insensitively_also_without_search_pushdown() {
    let (gateway, data, _served) = start(false).await;
    let word = data[0].1[0]
        .message
        .split_whitespace()
        .max_by_key(|w| w.len())
        .unwrap()
        .to_lowercase();
    let filters = Filters {
        q: Some(word.clone()),
        ..Filters::default()
    };
    let expected = reference(&data, &filters, Order::Desc);
    assert!(!expected.is_empty());
    let got = gateway
        .traverse(&format!("q={}", enc(&word)), 50, |_| {})
        .await;
    assert_same_ids(&got, &expected, "q without pushdown");
    let (_, body) = gateway.get(&format!("/logs?q={}", enc(&word))).await;
    assert_eq!(body["sources"]["app"]["pushed"], serde_json::json!([]));
    assert_eq!(body["sources"]["app"]["residual"], serde_json::json!(["q"]));
}

#[tokio::test]
async fn pushed_and_residual_report_what_happened() {
    let (gateway, _data, _served) = start(true).await;
    let (status, body) = gateway
        .get("/logs?start=2020-01-01T00:00:00Z&level=ERROR&q=x&service=api&user_id=u&attr.ip_address=1")
        .await;
    assert_eq!(status, 200);
    let app = &body["sources"]["app"];
    assert_eq!(
        app["pushed"],
        serde_json::json!(["start", "level", "q", "service"])
    );
    assert_eq!(
        app["residual"],
        serde_json::json!(["user_id", "attr.ip_address"])
    );
    // Two levels cannot be pushed to an API that takes one.
    let (_, body) = gateway.get("/logs?level=ERROR,WARN").await;
    assert_eq!(
        body["sources"]["app"]["residual"],
        serde_json::json!(["level"])
    );
    for key in [
        "status",
        "returned",
        "scanned",
        "upstream_requests",
        "latency_ms",
    ] {
        assert!(!body["sources"]["app"][key].is_null(), "{key} missing");
    }
}
