//! Unit tests of the mapping (spec §3 examples) and of the request
//! translation, with property tests of their invariants.

use super::*;
use loggate_core::query::LevelSet;
use loggate_core::testkit::raw_respelled;
use loggate_core::time::parse_rfc3339_ms;
use proptest::prelude::*;
use serde_json::value::RawValue;
use serde_json::{json, Value};

fn documented_log() -> Value {
    json!({
        "_id": "68110feaa81a0e507fbdd36a",
        "message": "executionError",
        "data": {"executionId": "68110fea7d181f356acd1bf1", "executionUuid": "35SnGU0DUSNP5L26fsmnq"},
        "startedAt": "2025-04-29T17:44:10.336Z",
        "completedAt": "2025-04-29T17:44:10.432Z",
        "createdAt": "2025-04-29T17:44:10.432Z",
        "customVersion": false,
        "workflowVersion": 1,
        "teamId": "63fcaa053522280b5357aeec",
        "forgeWorkflowId": "67ef017d8eaeb50b18e635a1",
        "workflowId": "67ef01ed8eaeb50b18e646ea",
        "userId": "67a21c7d10e1dee8d5ec3a3d",
        "user": {"email": "eduardo.souza@runalloy.com", "fullName": "Eduardo Souza"},
        "forgeWorkflow": {
            "name": "order_id example",
            "integrationId": {"_id": "67d8875977ce6522e517a382", "name": "Eduardo looper",
                "blockId": "MuK2Kk9lu0v8N86brS3x", "icon": "https://cdn.runalloy.com/icons/alloy-logo.png"}
        }
    })
}

/// The typed reading of a log's text and the `Value` reading agree, on
/// the record and on the reason a log is refused.
fn assert_same_mapping(text: &str) {
    let raw = RawValue::from_string(text.to_string()).unwrap();
    let value: Value = serde_json::from_str(text).unwrap();
    for include_raw in [false, true] {
        assert_eq!(
            raw_respelled(record_from_raw(&raw, include_raw)),
            raw_respelled(record_from_native(&value, include_raw)),
            "{text}"
        );
    }
}

#[test]
fn the_typed_reading_maps_as_the_value_reading_does() {
    let documented = documented_log();
    let mut texts = vec![documented.to_string()];
    let variants = [
        json!({"_id": {"$oid": "68110feaa81a0e507fbdd36a"}, "createdAt": "2025-04-29T17:44:10Z"}),
        json!({"_id": "a", "createdAt": "2025-04-29T17:44:10Z", "message": "executionStarted",
            "forgeWorkflow": {"name": 5, "integrationId": "67d8875977ce6522e517a382"},
            "data": [1], "workflowVersion": 1.50, "teamId": null, "startedAt": true,
            "userId": {"x": 1}}),
        json!({"_id": "a", "createdAt": "2025-04-29T17:44:10Z",
            "forgeWorkflow": {"integrationId": {"_id": null, "name": "n"}}, "data": "x"}),
        json!({"_id": "", "createdAt": "2025-04-29T17:44:10Z"}),
        json!({"_id": "a", "createdAt": 1_745_948_650_432_i64}),
        json!({"_id": 7, "createdAt": "2025-04-29T17:44:10Z"}),
        json!({"_id": {"$oid": 7}, "createdAt": "2025-04-29T17:44:10Z"}),
        json!([1]),
        json!("log"),
    ];
    texts.extend(variants.iter().map(Value::to_string));
    // Escapes, spacing, upstream number text and a repeated key (the last
    // one wins in a `Value`; the typed reading falls back to it).
    texts.extend([
        r#"{ "_id" : "a\u0062", "createdAt" : "2025-04-29T17:44:10.5Z", "message":"exec\"x" }"#
            .to_string(),
        r#"{"_id":"a","createdAt":"2025-04-29T17:44:10Z","workflowVersion":1e2,"teamId":-0.0}"#
            .to_string(),
        r#"{"_id":"a","_id":"b","createdAt":"2025-04-29T17:44:10Z"}"#.to_string(),
        r#"{"_id":"a","createdAt":"2025-04-29T17:44:10Z","data":{"executionId":"x","executionId":"y"}}"#
            .to_string(),
    ]);
    for text in &texts {
        assert_same_mapping(text);
    }
}

#[test]
fn maps_the_documented_example() {
    let record = record_from_native(&documented_log(), false).unwrap();
    assert_eq!(record.native_id, "68110feaa81a0e507fbdd36a");
    assert_eq!(record.timestamp_ms, 1_745_948_650_432);
    assert_eq!(record.level, Level::Error);
    assert_eq!(record.message, "executionError");
    assert_eq!(record.service.as_deref(), Some("order_id example"));
    assert_eq!(record.user_id.as_deref(), Some("67a21c7d10e1dee8d5ec3a3d"));
    assert_eq!(
        Value::Object(record.attributes),
        json!({
            "workflowId": "67ef01ed8eaeb50b18e646ea",
            "forgeWorkflowId": "67ef017d8eaeb50b18e635a1",
            "executionId": "68110fea7d181f356acd1bf1",
            "executionUuid": "35SnGU0DUSNP5L26fsmnq",
            "workflowVersion": 1,
            "startedAt": "2025-04-29T17:44:10.336Z",
            "completedAt": "2025-04-29T17:44:10.432Z",
            "teamId": "63fcaa053522280b5357aeec",
            "integrationId": "67d8875977ce6522e517a382",
            "integrationName": "Eduardo looper"
        })
    );
    assert!(record.raw.is_none());
    let with_raw = record_from_native(&documented_log(), true).unwrap();
    assert_eq!(
        with_raw.raw.map(|raw| raw.to_value()),
        Some(documented_log())
    );
}

#[test]
fn started_logs_are_info_without_completed_at() {
    let mut raw = documented_log();
    raw["message"] = json!("executionStarted");
    raw.as_object_mut().unwrap().remove("completedAt");
    raw["userId"] = Value::Null;
    let record = record_from_native(&raw, false).unwrap();
    assert_eq!(record.level, Level::Info);
    assert!(!record.attributes.contains_key("completedAt"));
    assert_eq!(record.user_id, None);
}

#[test]
fn logs_without_id_or_time_are_refused() {
    let mut raw = documented_log();
    raw.as_object_mut().unwrap().remove("_id");
    assert!(record_from_native(&raw, false).is_err());
    let mut raw = documented_log();
    raw["createdAt"] = json!("yesterday");
    assert!(record_from_native(&raw, false)
        .unwrap_err()
        .contains("createdAt"));
    assert!(record_from_native(&json!([1]), false).is_err());
}

#[test]
fn levels_push_only_what_alloy_can_tell_apart() {
    let with_levels = |levels: &[Level]| Filters {
        level: Some(levels.iter().copied().collect()),
        ..Filters::default()
    };
    let errors = plan(&with_levels(&[Level::Error, Level::Fatal]), true);
    assert_eq!(
        errors.clauses,
        vec![FilterClause::new(
            Column::Message,
            Operator::Equals,
            ERROR_MESSAGE
        )]
    );
    assert_eq!(errors.pushed, vec!["level"]);
    let infos = plan(&with_levels(&[Level::Info, Level::Debug]), true);
    assert_eq!(
        infos.clauses,
        vec![FilterClause::new(
            Column::Message,
            Operator::NotEquals,
            ERROR_MESSAGE
        )]
    );
    let both = plan(&with_levels(&[Level::Info, Level::Error]), true);
    assert!(both.clauses.is_empty() && both.pushed.is_empty() && !both.unsatisfiable);
    let neither = plan(&with_levels(&[Level::Warn]), true);
    assert!(neither.unsatisfiable);
    let min = plan(
        &Filters {
            min_level: Some(Level::Warn),
            ..Filters::default()
        },
        true,
    );
    assert_eq!(min.pushed, vec!["min_level"]);
}

#[test]
fn search_is_respelled_as_the_documented_messages_spell_it() {
    assert_eq!(search_needle("ERROR").as_deref(), Some("Error"));
    assert_eq!(search_needle("execution").as_deref(), Some("execution"));
    assert_eq!(
        search_needle("EXECUTIONFIN").as_deref(),
        Some("executionFin")
    );
    // `s` is `S` in executionStarted but `s` in executionFinished.
    assert_eq!(search_needle("s"), None);
    assert_eq!(search_needle("timeout"), None);
    assert_eq!(search_needle("érror"), None);
    let filters = Filters {
        q: Some("error".into()),
        ..Filters::default()
    };
    assert_eq!(plan(&filters, true).pushed, vec!["q"]);
    assert!(plan(&filters, false).pushed.is_empty());
}

#[test]
fn id_columns_take_only_object_ids() {
    let filters = Filters {
        user_id: Some("bob".into()),
        attrs: [
            (
                "executionId".to_string(),
                "68110fea7d181f356acd1bf1".to_string(),
            ),
            ("workflowVersion".to_string(), "02".to_string()),
            (
                "workflowId".to_string(),
                "67ef01ed8eaeb50b18e646ea".to_string(),
            ),
        ]
        .into(),
        ..Filters::default()
    };
    let plan = plan(&filters, true);
    assert_eq!(plan.pushed, vec!["attr.executionId"]);
    assert_eq!(
        plan.clauses,
        vec![FilterClause::new(
            Column::ExecutionId,
            Operator::Equals,
            "68110fea7d181f356acd1bf1"
        )]
    );
}

#[test]
fn the_window_is_widened_by_a_millisecond_and_tightened_by_the_bound() {
    let filters = Filters {
        start: Some(1_000),
        end: Some(5_000),
        ..Filters::default()
    };
    assert_eq!(
        window(&filters, Some(3_000), Order::Desc),
        Some((Some(1_000), Some(3_000)))
    );
    assert_eq!(
        window(&filters, Some(3_000), Order::Asc),
        Some((Some(3_000), Some(5_000)))
    );
    assert_eq!(window(&filters, Some(9_000), Order::Asc), None);
    let clauses = time_clauses(Some(1_000), Some(3_000));
    assert_eq!(
        clauses[0],
        FilterClause::new(
            Column::CreatedAt,
            Operator::GreaterThan,
            "1970-01-01T00:00:00.999999999Z"
        )
    );
    assert_eq!(
        clauses[1],
        FilterClause::new(
            Column::CreatedAt,
            Operator::LessThan,
            "1970-01-01T00:00:03.001Z"
        )
    );
    assert!(time_clauses(Some(i64::MIN), Some(i64::MAX)).is_empty());
}

fn arb_filters() -> impl Strategy<Value = Filters> {
    let id = prop_oneof![
        Just("67a21c7d10e1dee8d5ec3a3d".to_string()),
        "[a-z]{1,5}",
        "[0-9a-f]{24}"
    ];
    (
        proptest::option::of(-100_000i64..100_000),
        proptest::option::of(-100_000i64..100_000),
        proptest::option::of(0u8..64),
        proptest::option::of(proptest::sample::select(Level::ALL.to_vec())),
        proptest::option::of("[a-zA-Z ]{1,6}"),
        proptest::option::of(id.clone()),
        proptest::option::of(id),
        proptest::option::of("-?[0-9]{1,3}"),
    )
        .prop_map(
            |(start, end, mask, min_level, q, user_id, execution, version)| {
                let level = mask.map(|m| {
                    Level::ALL
                        .iter()
                        .copied()
                        .filter(|l| m & (1 << (*l as u8)) != 0)
                        .collect::<LevelSet>()
                });
                let mut attrs = std::collections::BTreeMap::new();
                if let Some(e) = execution {
                    attrs.insert("executionId".to_string(), e);
                }
                if let Some(v) = version {
                    attrs.insert("workflowVersion".to_string(), v);
                }
                Filters {
                    start,
                    end,
                    level,
                    min_level,
                    q,
                    service: None,
                    user_id,
                    attrs,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pushed_names_are_set_and_capable(filters in arb_filters(), search in any::<bool>()) {
        let plan = plan(&filters, search);
        let names = filters.names();
        for name in &plan.pushed {
            prop_assert!(names.contains(name));
            prop_assert!(PUSHDOWN.contains(&name.as_str()));
        }
        prop_assert_eq!(plan.pushed.contains(&"q".to_string()), search && filters.q.as_deref().and_then(search_needle).is_some());
    }

    #[test]
    fn needles_keep_every_documented_match(q in "[a-zA-Z]{1,8}") {
        if let Some(needle) = search_needle(&q) {
            prop_assert!(needle.eq_ignore_ascii_case(&q));
            for message in KNOWN_MESSAGES {
                if contains_case_insensitive(message, &q) {
                    prop_assert!(message.contains(needle.as_str()));
                }
            }
        }
    }

    #[test]
    fn time_clauses_select_exactly_the_inclusive_window(low in -1_000_000i64..1_000_000, len in 0i64..5_000, t in -1_100_000i64..1_100_000) {
        let high = low + len;
        let clauses = time_clauses(Some(low), Some(high));
        let after = parse_rfc3339_ms(&clauses[0].userinput.value).unwrap();
        let before = parse_rfc3339_ms(&clauses[1].userinput.value).unwrap();
        prop_assert_eq!(t > after && t < before, t >= low && t <= high);
    }

    #[test]
    fn mapping_never_invents_nulls(version in proptest::option::of(0i64..9), completed in any::<bool>(), message in proptest::sample::select(KNOWN_MESSAGES.to_vec())) {
        let mut raw = documented_log();
        raw["message"] = json!(message);
        match version {
            Some(v) => raw["workflowVersion"] = json!(v),
            None => raw["workflowVersion"] = Value::Null,
        }
        if !completed {
            raw.as_object_mut().unwrap().remove("completedAt");
        }
        let record = record_from_native(&raw, false).unwrap();
        prop_assert!(record.attributes.values().all(|v| !v.is_null()));
        prop_assert_eq!(record.attributes.contains_key("workflowVersion"), version.is_some());
        prop_assert_eq!(record.attributes.contains_key("completedAt"), completed);
        prop_assert_eq!(record.level == Level::Error, message == ERROR_MESSAGE);
    }
}
