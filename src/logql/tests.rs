use loggate_core::{Level, LogRecord};
use serde_json::Value;

use super::labels::{EntryView, LineMode};
use super::plan::{plan_log_query, LogPlan, SourceInfo};
use super::*;

fn sources() -> Vec<SourceInfo> {
    [
        ("app", "kind_a"),
        ("auth", "kind_b"),
        ("billing", "kind_a"),
        ("prompts", "kind_c"),
        ("workflows", "kind_d"),
    ]
    .into_iter()
    .map(|(name, provider)| SourceInfo {
        name: name.into(),
        provider,
    })
    .collect()
}

/// What loggate makes of a query: served, or the kind of error.
fn classify(query: &str) -> Result<(), LogqlError> {
    let expr = parse(query)?;
    if eval_constant(query, &expr)?.is_some() {
        return Ok(());
    }
    if let Some(metric) = crate::logql::metric::metric_query(query, &expr)? {
        return crate::logql::plan::plan_log_expr(query, metric.log, &sources(), LineMode::Message)
            .map(|_| ());
    }
    plan_log_query(query, &expr, &sources(), LineMode::Message).map(|_| ())
}

fn plan(query: &str) -> LogPlan {
    let expr = parse(query).unwrap();
    plan_log_query(query, &expr, &sources(), LineMode::Message).unwrap()
}

#[test]
fn the_corpus_is_classified_as_written() {
    let corpus = include_str!("../../tests/loki_corpus.txt");
    let mut checked = 0;
    for line in corpus.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (kind, query) = line.split_once('\t').expect("KIND<TAB>QUERY");
        let got = match classify(query) {
            Ok(()) => "ok",
            Err(e) => match e.kind {
                ErrorKind::Syntax => "syntax",
                ErrorKind::Unsupported => "unsupported",
                ErrorKind::Invalid => "invalid",
            },
        };
        assert_eq!(got, kind, "{query:?}: {:?}", classify(query));
        checked += 1;
    }
    assert!(checked > 60, "corpus too small: {checked}");
}

#[test]
fn errors_name_line_and_column() {
    let e = classify("{source=\"app\"} | unknownstage").unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse error at line 1, col 30: syntax error: unexpected end of input, expecting \"=\", \"!=\", \"=~\" or \"!~\""
    );
    let e = classify("{source=\"app\"}\n | line_format \"x\"").unwrap_err();
    assert_eq!((e.line, e.col), (2, 4));
    assert!(e.message.contains("line_format"), "{e}");
    let e = classify("{source=~\"(\"}").unwrap_err();
    assert_eq!(e.col, 10, "{e}");
    assert!(e.message.starts_with("error parsing regexp"), "{e}");
    let e = classify("quantile_over_time(0.5, {source=\"app\"} | unwrap x [5m])").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
}

#[test]
fn costly_regexes_are_refused_by_size() {
    let e = classify("{source=~\"(((a{100}){100}){100})\"}").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("too large"), "{e}");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let query = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(classify(&query).unwrap_err().kind, ErrorKind::Invalid);
}

#[test]
fn vector_one_plus_vector_one_is_two() {
    let q = "vector(1)+vector(1)";
    assert_eq!(
        eval_constant(q, &parse(q).unwrap()).unwrap(),
        Some(Constant::Vector(Some(2.0)))
    );
    let q = "2 ^ 3 ^ 2";
    assert_eq!(
        eval_constant(q, &parse(q).unwrap()).unwrap(),
        Some(Constant::Scalar(512.0))
    );
    let q = "1 + 2 * 3 - -1";
    assert_eq!(
        eval_constant(q, &parse(q).unwrap()).unwrap(),
        Some(Constant::Scalar(8.0))
    );
}

#[test]
fn selectors_choose_sources_and_levels() {
    let p = plan("{provider=\"kind_a\", level!~\"info|debug|trace\"}");
    assert_eq!(p.sources, vec!["app", "billing"]);
    let levels: Vec<Level> = p.filters.level.unwrap().iter().collect();
    assert_eq!(levels, vec![Level::Warn, Level::Error, Level::Fatal]);
    let p = plan("{source=~\"a.*\", source!=\"auth\"}");
    assert_eq!(p.sources, vec!["app"]);
    assert!(plan("{source=\"nope\"}").sources.is_empty());
    // Loki label values are lower case: `ERROR` selects nothing.
    assert!(plan("{level=\"ERROR\"}").filters.level.unwrap().is_empty());
}

#[test]
fn pushdown_is_exact_or_absent() {
    let p = plan("{service_name=\"checkout\"} |= \"Time\" |= \"out\" | user_id=\"u1\", attr_promptId=\"p\", attr_a_b=\"{x\"");
    assert_eq!(p.filters.service.as_deref(), Some("checkout"));
    assert_eq!(p.filters.q.as_deref(), Some("Time"));
    assert_eq!(p.filters.user_id.as_deref(), Some("u1"));
    assert_eq!(p.filters.attrs.len(), 1, "{:?}", p.filters.attrs);
    // A source's name as service_name also means "no service": not pushed.
    assert_eq!(plan("{service_name=\"app\"}").filters.service, None);
    // `or` groups and alternatives are evaluated by the gateway alone.
    let p = plan("{source=\"app\"} |= \"a\" or \"b\" | user_id=\"a\" or user_id=\"b\"");
    assert_eq!((p.filters.q, p.filters.user_id), (None, None));
}

fn record(level: Level, message: &str, service: Option<&str>) -> LogRecord {
    LogRecord {
        native_id: "n1".into(),
        timestamp_ms: 1,
        level,
        message: message.into(),
        service: service.map(str::to_string),
        user_id: Some("u1".into()),
        attributes: [("promptId".to_string(), Value::from("p1"))]
            .into_iter()
            .collect(),
        raw: None,
    }
}

#[test]
fn residual_is_case_sensitive_and_exact() {
    let check = |query: &str, r: &LogRecord| {
        let p = plan(query);
        let view = EntryView {
            source: "app",
            provider: "kind_a",
            record: r,
            line: &r.message,
        };
        p.residual.matches(&view)
    };
    let r = record(Level::Error, "Request timeout", None);
    assert!(check("{source=\"app\"} |= \"timeout\"", &r));
    assert!(!check("{source=\"app\"} |= \"Timeout\"", &r));
    assert!(
        check("{source=\"app\"} |~ \"time\"", &r),
        "line regex unanchored"
    );
    assert!(
        !check("{source=\"app\"} | user_id=~\"u\"", &r),
        "label regex anchored"
    );
    assert!(check("{service_name=\"app\"}", &r));
    assert!(check(
        "{source=\"app\"} | attr_promptId=\"p1\" | __error__=\"\"",
        &r
    ));
    assert!(check("{source=\"app\"} | nothing=\"\"", &r));
    assert!(check(
        "{source=\"app\"} | user_id=\"x\" or level=\"error\"",
        &r
    ));
    assert!(!check(
        "{source=\"app\"} | user_id=\"x\", level=\"error\"",
        &r
    ));
    assert!(check("{source=\"app\"} |= \"x\" or \"Req\"", &r));
    assert!(!check("{source=\"app\"} != \"x\" or \"Req\"", &r));
}

#[test]
fn durations_read_like_prometheus() {
    assert_eq!(duration_ms("1h30m"), Some(5_400_000));
    assert_eq!(duration_ms("500ms"), Some(500));
    assert_eq!(duration_ms("2d"), Some(172_800_000));
    assert_eq!(duration_ms("5x"), None);
    assert_eq!(duration_ms("0s"), None);
}

#[test]
fn a_duration_over_its_bound_is_told_from_a_malformed_one() {
    use super::duration_over_bound;
    assert!(duration_over_bound("99999999999999999999h"));
    assert!(duration_over_bound("1h99999999999999999ms"));
    assert!(duration_over_bound("31710y"));
    assert!(!duration_over_bound("31709y"));
    assert!(!duration_over_bound("1h30m"));
    assert!(!duration_over_bound("99999999999999999999x"));
    assert!(!duration_over_bound("-99999999999999999999h"));
    assert!(!duration_over_bound(""));
}
