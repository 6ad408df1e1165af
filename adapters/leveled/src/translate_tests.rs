//! Unit tests of the pure translations: the spec §3 mapping by example,
//! and property tests of the id and request-parameter invariants.

use super::*;
use loggate_core::query::LevelSet;
use proptest::prelude::*;
use serde_json::json;

fn documented_error_entry() -> Value {
    json!({
        "timestamp": "2023-10-27T10:35:15Z",
        "level": "ERROR",
        "service": "user-service",
        "message": "Failed to authenticate user: invalid credentials for user_id 12345",
        "details": {"user_id": 12345, "ip_address": "192.168.1.100"}
    })
}

#[test]
fn maps_the_documented_entry() {
    let record = map_entry(&documented_error_entry(), false).unwrap();
    assert_eq!(record.timestamp_ms, 1_698_402_915_000);
    assert_eq!(record.level, Level::Error);
    assert_eq!(record.service.as_deref(), Some("user-service"));
    assert_eq!(record.user_id.as_deref(), Some("12345"));
    assert_eq!(
        Value::Object(record.attributes.clone()),
        json!({"user_id": 12345, "ip_address": "192.168.1.100"})
    );
    assert_eq!(record.native_id.len(), 16);
    assert!(record.raw.is_none());
    assert_eq!(
        map_entry(&documented_error_entry(), true)
            .unwrap()
            .raw
            .map(|raw| raw.to_value()),
        Some(documented_error_entry())
    );
}

/// `include=raw` keeps the entry as the upstream wrote it (issue 13 item
/// 1: no tree): key order, a number's spelling and escapes included.
#[test]
fn raw_is_the_entrys_own_text() {
    let text = r#"{"timestamp":"2023-10-27T10:35:15Z","message":"caf\u00e9","level":"INFO","details":{"z":1.50,"a":1e2}}"#;
    let entry = RawValue::from_string(text.to_string()).unwrap();
    let record = map_raw(&entry, true).unwrap();
    assert_eq!(record.raw.as_ref().map(RawJson::get), Some(text));
    assert_eq!(record.message, "café");
    assert_eq!(
        serde_json::to_string(&record.raw).unwrap(),
        text,
        "serialised as the same text"
    );
    assert!(map_raw(&entry, false).unwrap().raw.is_none());
}

#[test]
fn unknown_levels_become_info_and_keep_the_original() {
    for (native, attr) in [
        (json!("NOTICE"), json!("NOTICE")),
        (json!("warn"), json!("warn")),
        (json!(3), json!(3)),
    ] {
        let mut entry = documented_error_entry();
        entry["level"] = native;
        entry["details"]["level"] = json!("from-details");
        let record = map_entry(&entry, false).unwrap();
        assert_eq!(record.level, Level::Info);
        assert_eq!(record.attributes["level"], attr);
    }
    let mut entry = documented_error_entry();
    entry.as_object_mut().unwrap().remove("level");
    let record = map_entry(&entry, false).unwrap();
    assert_eq!(record.level, Level::Info);
    assert!(!record.attributes.contains_key("level"));
}

#[test]
fn timestamps_with_or_without_fractions() {
    let mut entry = documented_error_entry();
    entry["timestamp"] = json!("2023-10-27T10:35:15.123456Z");
    assert_eq!(
        map_entry(&entry, false).unwrap().timestamp_ms,
        1_698_402_915_123
    );
    entry["timestamp"] = json!("yesterday");
    assert!(map_entry(&entry, false).is_err());
    entry["timestamp"] = json!(1_698_402_915_000_i64);
    assert!(map_entry(&entry, false).is_err());
    assert!(map_entry(&json!([1]), false).is_err());
}

#[test]
fn user_id_strings_stay_and_absent_details_give_nothing() {
    let mut entry = documented_error_entry();
    entry["details"]["user_id"] = json!("usr_81f2");
    assert_eq!(
        map_entry(&entry, false).unwrap().user_id.as_deref(),
        Some("usr_81f2")
    );
    entry["details"]["user_id"] = Value::Null;
    assert_eq!(map_entry(&entry, false).unwrap().user_id, None);
    entry.as_object_mut().unwrap().remove("details");
    entry.as_object_mut().unwrap().remove("service");
    let record = map_entry(&entry, false).unwrap();
    assert!(record.attributes.is_empty());
    assert_eq!(record.service, None);
}

#[test]
fn identical_entries_get_occurrence_suffixes() {
    let raw = vec![
        documented_error_entry(),
        documented_error_entry(),
        documented_error_entry(),
    ];
    let (records, bad) = map_entries(&raw, false);
    assert_eq!(bad, 0);
    let base = &records[0].native_id;
    assert_eq!(records[1].native_id, format!("{base}-2"));
    assert_eq!(records[2].native_id, format!("{base}-3"));
}

#[test]
fn equal_instants_in_other_spellings_hash_alike() {
    let mut other = documented_error_entry();
    other["timestamp"] = json!("2023-10-27T10:35:15.000Z");
    assert_eq!(
        map_entry(&other, false).unwrap().native_id,
        map_entry(&documented_error_entry(), false)
            .unwrap()
            .native_id
    );
}

#[test]
fn only_single_exact_levels_are_pushed() {
    let levels = |ls: &[Level]| Filters {
        level: Some(ls.iter().copied().collect::<LevelSet>()),
        ..Filters::default()
    };
    assert_eq!(pushed_level(&levels(&[Level::Error])), Some(Level::Error));
    assert_eq!(pushed_level(&levels(&[Level::Info])), None);
    assert_eq!(pushed_level(&levels(&[Level::Trace])), None);
    assert_eq!(pushed_level(&levels(&[Level::Error, Level::Fatal])), None);
    let min_fatal = Filters {
        min_level: Some(Level::Fatal),
        ..Filters::default()
    };
    assert_eq!(pushed_level(&min_fatal), Some(Level::Fatal));
    assert_eq!(pushed_names(&min_fatal, true), vec!["min_level"]);
}

fn arb_filters() -> impl Strategy<Value = Filters> {
    (
        proptest::option::of(0i64..4_000_000_000_000),
        proptest::option::of(0i64..4_000_000_000_000),
        proptest::option::of(0u8..64),
        proptest::option::of(0usize..6),
        proptest::option::of("[a-zA-Z ]{1,12}"),
        proptest::option::of("[a-z-]{1,12}"),
        proptest::option::of("[0-9]{1,5}"),
    )
        .prop_map(|(start, end, mask, min, q, service, user_id)| Filters {
            start,
            end,
            level: mask.map(|m| {
                Level::ALL
                    .into_iter()
                    .filter(|l| m & (1 << *l as u8) != 0)
                    .collect()
            }),
            min_level: min.map(|i| Level::ALL[i]),
            q,
            service,
            user_id,
            ..Filters::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn request_params_reflect_exactly_the_pushed_filters(
        filters in arb_filters(),
        search in any::<bool>(),
        offset in 0u64..100_000,
        limit in 0u64..1000,
    ) {
        let window = Window { start: filters.start, end: filters.end };
        let params = request_params(&filters, window, offset, limit, search);
        let get = |name: &str| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        let pushed = pushed_names(&filters, search);
        let limit_sent: u64 = get("limit").unwrap().parse().unwrap();
        prop_assert!((1..=PAGE_LIMIT).contains(&limit_sent));
        prop_assert_eq!(get("offset"), Some(offset.to_string()));
        prop_assert_eq!(get("startDate").and_then(|d| parse_rfc3339_ms(&d)), filters.start);
        prop_assert_eq!(get("endDate").and_then(|d| parse_rfc3339_ms(&d)), filters.end);
        prop_assert_eq!(get("service"), filters.service.clone());
        let safe_q = filters.q.as_deref().is_some_and(loggate_core::query::ascii_search_is_superset);
        prop_assert_eq!(get("search").is_some(), search && safe_q);
        prop_assert_eq!(get("search").is_some(), pushed.iter().any(|n| n == "q"));
        prop_assert_eq!(get("search"), filters.q.clone().filter(|_| search && safe_q));
        prop_assert_eq!(get("level").is_some(), pushed.iter().any(|n| n == "level" || n == "min_level"));
        if let Some(level) = get("level") {
            // The native value selects exactly the levels the query allows.
            let allowed = filters.levels().unwrap();
            prop_assert_eq!(allowed.single().map(|l| l.as_str().to_string()), Some(level));
        }
        prop_assert!(pushed.iter().all(|n| filters.names().contains(n)));
        prop_assert!(!pushed.iter().any(|n| n == "user_id"));
    }

    #[test]
    fn ids_ignore_key_order_and_attributes_keep_every_detail(
        details in proptest::collection::btree_map("[a-z_]{1,8}", "[a-z0-9]{0,6}", 0..6),
        seconds in 0i64..4_000_000_000,
    ) {
        let forward: Map<String, Value> = details.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let mut entry = json!({
            "timestamp": format_ms(seconds * 1000),
            "level": "WARN", "service": "s", "message": "m", "details": forward,
        });
        let first = map_entry(&entry, false).unwrap();
        let reversed: Map<String, Value> = details.iter().rev().map(|(k, v)| (k.clone(), json!(v))).collect();
        entry["details"] = Value::Object(reversed);
        let second = map_entry(&entry, false).unwrap();
        prop_assert_eq!(&first.native_id, &second.native_id);
        prop_assert_eq!(first.attributes.len(), details.len());
        prop_assert_eq!(first.timestamp_ms, seconds * 1000);
        entry["message"] = json!("other");
        prop_assert_ne!(map_entry(&entry, false).unwrap().native_id, first.native_id);
    }
}

/// The definition `content_hash` must keep (ids must not change): the
/// compact text of a `Value` built from sorted copies of the fields.
fn content_hash_by_value(timestamp_ms: i64, object: &Map<String, Value>) -> String {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut sorted = Map::new();
                for key in keys {
                    sorted.insert(key.clone(), canonical(&map[key]));
                }
                Value::Object(sorted)
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let field = |name: &str| object.get(name).map(canonical).unwrap_or(Value::Null);
    let content = json!([
        timestamp_ms,
        field("level"),
        field("service"),
        field("message"),
        field("details"),
    ]);
    let digest = Sha256::digest(content.to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z\\\"\u{e9}\u{1}\n ]{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z_\"]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn content_hash_of_the_documented_entry_is_unchanged() {
    let entry = documented_error_entry();
    let object = entry.as_object().unwrap();
    assert_eq!(
        content_hash(1_698_402_915_000, object),
        content_hash_by_value(1_698_402_915_000, object)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn content_hash_equals_hashing_the_canonical_value(
        ts in any::<i64>(),
        fields in proptest::collection::btree_map(
            prop_oneof![Just("level"), Just("service"), Just("message"), Just("details"), Just("other")],
            json_value(),
            0..5,
        ),
    ) {
        let object: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        prop_assert_eq!(content_hash(ts, &object), content_hash_by_value(ts, &object));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The typed decoding (issue 13) keeps every id: `map_raw` hashes the
    /// borrowed fields to what `content_hash` gives for the `Value` entry,
    /// and keeps every detail.
    #[test]
    fn typed_decoding_keeps_the_content_hash(
        seconds in 0i64..4_000_000_000,
        fields in proptest::collection::btree_map(
            prop_oneof![Just("level"), Just("service"), Just("message"), Just("details"), Just("other")],
            json_value(),
            0..5,
        ),
    ) {
        let mut object: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        object.insert("timestamp".into(), json!(format_ms(seconds * 1000)));
        let record = map_entry(&Value::Object(object.clone()), false).unwrap();
        prop_assert_eq!(&record.native_id, &content_hash(seconds * 1000, &object));
        if let Some(Value::Object(details)) = object.get("details") {
            for (key, value) in details {
                if key != "level" {
                    prop_assert_eq!(record.attributes.get(key), Some(value));
                }
            }
        }
    }
}

#[test]
fn escaped_spellings_of_one_entry_hash_alike_and_raw_is_kept_only_when_asked() {
    let plain = r#"{"timestamp":"2023-10-27T10:35:15Z","level":"ERROR","service":"caf\u00e9","message":"a/b","details":{"n":1.50}}"#;
    let escaped = r#"{"timestamp":"2023-10-27T10:35:15Z","level":"ERROR","service":"café","message":"a\/b","details":{"n":1.50}}"#;
    let raw = |text: &str| RawValue::from_string(text.to_string()).unwrap();
    let (a, b) = (
        map_raw(&raw(plain), false).unwrap(),
        map_raw(&raw(escaped), true).unwrap(),
    );
    assert_eq!(a.native_id, b.native_id);
    assert_eq!(a.service.as_deref(), Some("café"));
    assert_eq!(a.message, "a/b");
    assert!(a.raw.is_none());
    // The raw number text is kept (`arbitrary_precision`).
    assert_eq!(b.attributes["n"].to_string(), "1.50");
    assert_eq!(
        b.raw.unwrap().to_value()["details"]["n"].to_string(),
        "1.50"
    );
    assert!(map_raw(&raw("[1]"), false).is_err());
}
