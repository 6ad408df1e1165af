//! Fuzz: random LogQL-like strings never panic the parser and planner, and
//! through HTTP every answer to `query_range`, `query`, `labels` and
//! `series` is `200` or `400`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::Gateway;
use loggate::logql::labels::LineMode;
use loggate::logql::plan::{plan_log_query, SourceInfo};
use loggate::logql::{eval_constant, parse, ErrorKind};
use loggate_core::sim::Served;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const FRAGMENTS: [&str; 48] = [
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    "!=",
    "=~",
    "!~",
    "|=",
    "|~",
    "|>",
    "!>",
    "|",
    "source",
    "level",
    "service_name",
    "user_id",
    "attr_x",
    "json",
    "logfmt",
    "drop",
    "__error__",
    "line_format",
    "count_over_time",
    "sum",
    "by",
    "without",
    "vector",
    "or",
    "and",
    "offset",
    "bool",
    "+",
    "-",
    "*",
    "/",
    "^",
    ">",
    "\"app\"",
    "\".*\"",
    "\"(\"",
    "`raw`",
    "5m",
    "1",
    " ",
];

fn logql_like() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(&FRAGMENTS[..]), 0..24)
            .prop_map(|parts| parts.concat()),
        "\\PC{0,64}",
        prop::collection::vec(prop::sample::select(&FRAGMENTS[..]), 0..12)
            .prop_map(|parts| { format!("{{source=\"app\"}} {}", parts.join(" ")) }),
        valid_query(),
    ]
}

const MATCHERS: [&str; 8] = [
    "level=\"error\"",
    "level!~\"debug|info\"",
    "provider=~\"lev.*\"",
    "service_name!=\"x\"",
    "source!=\"billing\"",
    "detected_level=~\".+\"",
    "nope=\"\"",
    "provider!~\"splunk\"",
];
const STAGES: [&str; 10] = [
    "|= \"e\"",
    "!= \"x\"",
    "|~ \"[a-z]+\"",
    "| json",
    "| logfmt",
    "| drop __error__",
    "| user_id=~\".*\"",
    "| level=\"info\" or level=\"error\"",
    "| attr_x!=\"y\"",
    "|= \"a\" or \"b\"",
];

/// Queries built from served constructs: mostly `200`.
fn valid_query() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(&MATCHERS[..]), 0..3),
        prop::collection::vec(prop::sample::select(&STAGES[..]), 0..4),
    )
        .prop_map(|(matchers, stages)| {
            let mut all = vec!["source=\"app\""];
            all.extend(matchers);
            format!("{{{}}} {}", all.join(", "), stages.join(" "))
        })
}

fn sources() -> Vec<SourceInfo> {
    vec![SourceInfo {
        name: "app".into(),
        provider: common::stand_in_kind(),
    }]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_and_planner_never_panic(query in logql_like()) {
        if let Ok(expr) = parse(&query) {
            let _ = eval_constant(&query, &expr);
            let _ = plan_log_query(&query, &expr, &sources(), LineMode::Message);
        } else {
            let e = parse(&query).unwrap_err();
            prop_assert!(e.to_string().starts_with("parse error at line "));
        }
    }
}

struct Setup {
    gateway: Gateway,
    _served: Served,
}

async fn start() -> Setup {
    let spec = common::fleet::Spec {
        span_ms: 3_600_000,
        ..common::stand_in_spec(50, 0x01e7_e1ed)
    };
    let (_, served, table) = common::serve_sim(spec, loggate_core::time::now_ms()).await;
    let toml =
        format!("[sources.app]\n{table}rate_limit = {{ per_second = 100000, burst = 100000 }}\n",);
    Setup {
        gateway: Gateway::start(&toml).await,
        _served: served,
    }
}

#[test]
fn every_http_answer_is_200_or_400() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let setup = runtime.block_on(start());
    let g = &setup.gateway;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    let (ok, bad) = (AtomicUsize::new(0), AtomicUsize::new(0));
    runner
        .run(&logql_like(), |query| {
            let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
            for path in [
                format!("/loki/api/v1/query_range?query={encoded}&since=1h&limit=20"),
                format!("/loki/api/v1/query?query={encoded}"),
                format!("/loki/api/v1/labels?query={encoded}"),
                format!("/loki/api/v1/series?match%5B%5D={encoded}"),
            ] {
                let status = runtime.block_on(async {
                    g.client
                        .get(g.url(&path))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                });
                prop_assert!(status == 200 || status == 400, "{path}: {status}");
                let counter = if status == 200 { &ok } else { &bad };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
        .unwrap();
    // Both kinds of answer were exercised.
    let (ok, bad) = (ok.into_inner(), bad.into_inner());
    assert!(ok > 50 && bad > 50, "200s: {ok}, 400s: {bad}");
}

/// With `LOKI_SYNTAX_DUMP=FILE`, writes 3,000 random strings to FILE as
/// corpus lines: `syntax<TAB>query` for those loggate rejects as syntax
/// errors, `parses<TAB>query` for the others (served, unsupported or with a
/// bad value), for `tests/clients/lezer_corpus.js` to check that Grafana's
/// grammar agrees on every one (run by `.ci/run`).
#[test]
fn dump_syntax_errors_for_the_grammar_check() {
    let Ok(path) = std::env::var("LOKI_SYNTAX_DUMP") else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = logql_like();
    let mut lines = Vec::new();
    while lines.len() < 3000 {
        let query = strategy.new_tree(&mut runner).unwrap().current();
        if query.contains(['\n', '\t', '\r']) {
            continue;
        }
        let syntax = matches!(parse(&query), Err(e) if e.kind == ErrorKind::Syntax);
        let kind = if syntax { "syntax" } else { "parses" };
        lines.push(format!("{kind}\t{query}"));
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}
