//! Black-box injection test: hostile values (`&`, `=`, `#`, NUL, `../`,
//! CRLF, `%2F`, unicode, JSON fragments, URLs) in `q`, `service`,
//! `user_id` and `attr.*` reach each simulator as literal data, never as
//! structure: the path stays the adapter's path, no parameter appears that
//! the adapter does not send, every pushed value decodes to exactly the
//! input, no header is injected, and Alloy's `filters` JSON array holds
//! only the clauses the gateway meant (hostile values are never pushable
//! there). Requests only ever go to the configured hosts.

mod common;

use std::collections::BTreeSet;

use common::Gateway;
use loggate_core::query::ascii_search_is_superset;
use loggate_core::sim::{serve_loopback, Faults, SeenRequest, Served};
use loggate_core::time::now_ms;
use serde_json::Value;

const HOSTILE: &[&str] = &[
    "a&b=c",
    "x=y",
    "frag#ment",
    "nul\0byte",
    "../../admin",
    "..%2F..%2Fadmin",
    "a/b",
    "%2F",
    "%00%2e%2e%2f",
    "line\r\nX-Injected: 1",
    "tab\there",
    "日本語 ünïcødé 🚀",
    "\"},{\"columns\":{\"value\":\"userId\"},\"operators\":{\"value\":\"equals\"},\"userinput\":{\"value\":\"x\"},\"condition\":{\"value\":\"AND\"}}",
    "]},{\"$where\":\"1\"}",
    "?page_size=1000&userId=evil",
    "@evil.example.com",
    "//evil.example.com/x",
    "http://evil.example.com/",
    " spaced value ",
    "+plus+",
    "\\u0000",
    "';--",
];

/// Gateway parameters carrying a hostile value, and the upstream parameter
/// each adapter puts it in when it pushes it.
const PARAMS: &[&str] = &[
    "q",
    "service",
    "user_id",
    "attr.key",
    "attr.applicationId",
    "attr.promptId",
    "attr.forgeWorkflowId",
    "attr.userAgent",
];

struct Sim {
    name: &'static str,
    faults: Faults,
    paths: &'static [&'static str],
    allowed: &'static [&'static str],
    /// gateway parameter -> upstream parameter that must carry it verbatim
    pushed: &'static [(&'static str, &'static str)],
}

struct Setup {
    gateway: Gateway,
    sims: Vec<Sim>,
    app: loggate_leveled::sim::LeveledSim,
    _served: Vec<Served>,
}

async fn start() -> Setup {
    let now = now_ms();
    let mut c = loggate_leveled::sim::SimConfig::demo(now);
    c.records = 30;
    let app = loggate_leveled::sim::LeveledSim::new(c);
    let mut c = loggate_promptcrafter::sim::SimConfig::demo(now);
    (c.records, c.token) = (30, "pc-token".into());
    let prompts = loggate_promptcrafter::sim::PromptCrafterSim::new(c);
    let mut c = loggate_alloy::sim::SimConfig::demo(now);
    (c.records, c.token) = (30, "alloy-token".into());
    let workflows = loggate_alloy::sim::AlloySim::new(c);
    let mut c = loggate_logto::sim::SimConfig::demo(now);
    c.records = 30;
    let auth = loggate_logto::sim::LogtoSim::new(c.clone());
    let served = vec![
        serve_loopback(app.router()).await.unwrap(),
        serve_loopback(prompts.router()).await.unwrap(),
        serve_loopback(workflows.router()).await.unwrap(),
        serve_loopback(auth.router()).await.unwrap(),
    ];
    let unlimited = "rate_limit = { per_second = 100000, burst = 100000 }";
    let toml = format!(
        "[sources.app]\nkind = \"leveled\"\nbase_url = \"{}\"\ntoken = \"{}\"\n{unlimited}\n\
         [sources.prompts]\nkind = \"promptcrafter\"\nbase_url = \"{}\"\ntoken = \"pc-token\"\n{unlimited}\n\
         [sources.workflows]\nkind = \"alloy\"\nbase_url = \"{}\"\ntoken = \"alloy-token\"\n{unlimited}\n\
         [sources.auth]\nkind = \"logto\"\nbase_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n{unlimited}\n",
        served[0].base_url(),
        app.token(),
        served[1].base_url(),
        served[2].base_url(),
        served[3].base_url(),
        c.client_id,
        c.client_secret,
    );
    let sims = vec![
        Sim {
            name: "leveled",
            faults: app.faults().clone(),
            paths: &["/logs"],
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
        },
        Sim {
            name: "promptcrafter",
            faults: prompts.faults().clone(),
            paths: &["/logs"],
            allowed: &["promptId"],
            pushed: &[],
        },
        Sim {
            name: "alloy",
            faults: workflows.faults().clone(),
            paths: &["/logs"],
            allowed: &["filters", "skip", "limit", "sortBy", "sortOrder"],
            pushed: &[],
        },
        Sim {
            name: "logto",
            faults: auth.faults().clone(),
            paths: &["/api/logs", "/oidc/token"],
            allowed: &[
                "userId",
                "applicationId",
                "logKey",
                "start_time",
                "end_time",
                "page",
                "page_size",
            ],
            pushed: &[
                ("user_id", "userId"),
                ("attr.applicationId", "applicationId"),
                ("attr.key", "logKey"),
            ],
        },
    ];
    Setup {
        gateway: Gateway::start(&toml).await,
        sims,
        app,
        _served: served,
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Every check on one request a simulator received.
fn check_request(sim: &Sim, request: &SeenRequest, param: &str, value: &str) {
    let what = format!(
        "{} got {} {}?{} for {param}={value:?}",
        sim.name, request.method, request.path, request.query
    );
    assert!(
        sim.paths.contains(&request.path.as_str()),
        "{what}: unexpected path"
    );
    assert!(
        request.header("x-injected").is_none(),
        "{what}: injected header"
    );
    if request.path == "/oidc/token" {
        return;
    }
    let pairs = request.query_pairs();
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "{what}: a repeated parameter");
    for name in &names {
        assert!(
            sim.allowed.contains(name),
            "{what}: unexpected parameter {name:?}"
        );
    }
    // A hostile value pushed anywhere must be in the expected parameter,
    // decoded back to exactly the input.
    for (gateway_param, upstream_param) in sim.pushed {
        let sent = pairs.iter().find(|(n, _)| n == upstream_param);
        if *gateway_param == param {
            // Spec §10: leveled's ASCII-folding search gets `q` only where
            // it cannot miss a match; otherwise `q` must not be sent at all.
            if param == "q" && sim.name == "leveled" && !ascii_search_is_superset(value) {
                assert!(
                    sent.is_none(),
                    "{what}: a q the search could miss was pushed"
                );
                continue;
            }
            let (_, sent) = sent.unwrap_or_else(|| panic!("{what}: {upstream_param} not pushed"));
            assert_eq!(sent, value, "{what}: value altered");
        }
    }
    for (name, sent) in &pairs {
        let expected_carrier = sim.pushed.iter().any(|(g, u)| *g == param && u == name);
        if sent.contains(value) && !expected_carrier {
            panic!("{what}: the value leaked into {name:?}");
        }
    }
    if sim.name == "alloy" {
        check_alloy_filters(&pairs, value, &what);
    }
}

/// Alloy's `filters`: one JSON array of clause objects with exactly the
/// four documented keys, only the time bounds (hostile values are never
/// pushable to Alloy), and nothing carrying the value.
fn check_alloy_filters(pairs: &[(String, String)], value: &str, what: &str) {
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
async fn hostile_values_reach_every_upstream_as_literal_data() {
    let setup = start().await;
    // One leveled record per hostile value, carrying it as its service and
    // inside its message: pushed down literally, each must come back.
    let now = now_ms();
    for (i, value) in HOSTILE.iter().enumerate() {
        setup.app.insert(serde_json::json!({
            "timestamp": loggate_core::time::format_ms(now - 1000 * (i as i64 + 1)),
            "level": "INFO",
            "service": value,
            "message": format!("<{value}>"),
            "details": {},
        }));
    }
    // Warm up (Logto's token) so the checks below see only /logs traffic
    // plus whatever refreshes happen.
    let (status, body) = setup.gateway.get("/logs?limit=1").await;
    assert_eq!(status, 200, "{body}");
    let mut checked = 0;
    for value in HOSTILE {
        for param in PARAMS {
            if *param == "q" && value.chars().count() > 256 {
                continue;
            }
            for sim in &setup.sims {
                sim.faults.forget_seen();
            }
            let path = format!("/logs?{param}={}&limit=50", encode(value));
            let (status, body) = setup.gateway.get(&path).await;
            assert_eq!(status, 200, "{param}={value:?}: {body}");
            assert_eq!(body["partial"], false, "{param}={value:?}: {body}");
            let found = body["logs"].as_array().unwrap().iter().any(|log| {
                log["source"] == "app"
                    && log["service"] == *value
                    && log["message"] == format!("<{value}>")
            });
            if matches!(*param, "q" | "service") {
                assert!(
                    found,
                    "{param}={value:?}: the inserted record is missing: {body}"
                );
            }
            // Every match really carries the value (the gateway applies
            // every filter again).
            for log in body["logs"].as_array().unwrap() {
                let field = match *param {
                    "q" => continue,
                    "service" => &log["service"],
                    "user_id" => &log["user_id"],
                    attr => &log["attributes"][attr.trim_start_matches("attr.")],
                };
                assert_eq!(field, *value, "{param}={value:?}: {log}");
            }
            for sim in &setup.sims {
                let seen = sim.faults.seen();
                assert!(!seen.is_empty(), "{} was not asked", sim.name);
                for request in &seen {
                    check_request(sim, request, param, value);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= HOSTILE.len() * PARAMS.len() * 4);
}

#[tokio::test]
async fn hostile_attribute_names_and_encodings_are_refused_or_literal() {
    let setup = start().await;
    // Attribute names are restricted; anything structural is a 400.
    for name in [
        "a&b", "a=b", "a#b", "../x", "a%00", "a\r\nb", "a/b", "a b", "{\"x\"",
    ] {
        let (status, body) = setup
            .gateway
            .get(&format!("/logs?attr.{}=v", encode(name)))
            .await;
        assert_eq!(status, 400, "{name:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter", "{body}");
    }
    // Invalid percent-encoding stays literal, never structure. (Bytes that
    // are not UTF-8 once decoded, such as `q=%C3%28` or `service=%FF%FE`,
    // are refused: see `invalid_utf8_is_refused_before_any_upstream`.)
    for raw in ["q=%ZZ", "q=%", "q=a%26b%3Dc"] {
        for sim in &setup.sims {
            sim.faults.forget_seen();
        }
        let (status, body) = setup.gateway.get(&format!("/logs?{raw}&limit=3")).await;
        assert_eq!(status, 200, "{raw}: {body}");
        for sim in &setup.sims {
            for request in sim.faults.seen() {
                assert!(
                    sim.paths.contains(&request.path.as_str()),
                    "{raw}: {request:?}"
                );
            }
        }
    }
}

/// Bytes that are not UTF-8 once percent-decoded are refused with `400
/// invalid_parameter` naming the parameter, before any upstream is asked:
/// nothing reaches a provider with replacement characters in it.
#[tokio::test]
async fn invalid_utf8_is_refused_before_any_upstream() {
    let s = start().await;
    for sim in &s.sims {
        sim.faults.forget_seen();
    }
    for param in [
        "q",
        "service",
        "user_id",
        "attr.promptId",
        "source",
        "level",
        "min_level",
        "cursor",
        "start",
        "order",
    ] {
        for bad in [
            "%FF%FE%C3",
            "ok%C3",
            "%ED%A0%80",
            "a%80b",
            "%C3%28",
            "%FF%FE",
        ] {
            let (status, body) = s.gateway.get(&format!("/logs?{param}={bad}")).await;
            assert_eq!(status, 400, "{param}={bad}: {body}");
            assert_eq!(body["error"]["code"], "invalid_parameter", "{body}");
            assert_eq!(body["error"]["param"], param, "{body}");
        }
    }
    for sim in &s.sims {
        assert_eq!(sim.faults.seen_count(), 0, "{} was asked", sim.name);
    }
    // Well-formed UTF-8, percent-encoded, still goes through.
    let (status, body) = s.gateway.get("/logs?q=%C3%A9t%C3%A9").await;
    assert_eq!(status, 200, "{body}");
}
