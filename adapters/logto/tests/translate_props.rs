//! Property tests of the pure translation: the row mapping (spec §3) and
//! the request parameters, over generated rows and filters.

use loggate_core::query::Filters;
use loggate_core::Level;
use loggate_logto::translate::{filter_params, pushed_names, to_record, NativeQuery};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const ALLOWED: [&str; 8] = [
    "key",
    "result",
    "applicationId",
    "sessionId",
    "ip",
    "userAgent",
    "error",
    "tenantId",
];

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9._ -]{0,12}")
}

prop_compose! {
    fn row()(id in "[0-9a-z]{21}", key in "[A-Za-z.]{1,30}", created in 0i64..4_000_000_000_000, frac in 0.0f64..1.0,
             result in prop_oneof![Just("Success"), Just("Error")], user in opt_text(), app in opt_text(),
             session in opt_text(), ip in opt_text(), ua in opt_text(), tenant in opt_text(),
             error in proptest::option::of(prop_oneof![Just(json!("invalid_grant")), Just(json!({"code": "x", "message": "y"}))]),
             extra in any::<bool>()) -> Value {
        let mut payload = Map::new();
        payload.insert("key".into(), json!(key));
        payload.insert("result".into(), json!(result));
        for (name, value) in [("userId", user), ("applicationId", app), ("sessionId", session), ("ip", ip), ("userAgent", ua)] {
            if let Some(v) = value { payload.insert(name.into(), json!(v)); }
        }
        if let Some(e) = error { payload.insert("error".into(), e); }
        if extra { payload.insert("params".into(), json!({"grant_type": "refresh_token"})); }
        let mut row = json!({"id": id, "key": key, "payload": payload, "createdAt": created as f64 + frac});
        if let Some(t) = tenant { row["tenantId"] = json!(t); }
        row
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mapping_follows_the_spec_table(raw in row(), include_raw in any::<bool>()) {
        let record = to_record(&raw, include_raw).unwrap();
        prop_assert_eq!(&record.native_id, raw["id"].as_str().unwrap());
        prop_assert_eq!(record.timestamp_ms, raw["createdAt"].as_f64().unwrap().trunc() as i64);
        prop_assert_eq!(record.level == Level::Error, raw["payload"]["result"] == "Error");
        prop_assert!(matches!(record.level, Level::Error | Level::Info));
        prop_assert_eq!(&record.message, raw["key"].as_str().unwrap());
        prop_assert_eq!(record.service, None);
        prop_assert_eq!(record.user_id.as_deref(), raw["payload"]["userId"].as_str());
        for (name, value) in &record.attributes {
            prop_assert!(ALLOWED.contains(&name.as_str()), "unexpected attribute {}", name);
            prop_assert!(!value.is_null());
        }
        for name in ALLOWED {
            let source = match name {
                "key" | "tenantId" => &raw[name],
                _ => &raw["payload"][name],
            };
            prop_assert_eq!(record.attributes.get(name), (!source.is_null()).then_some(source));
        }
        prop_assert_eq!(record.raw.is_some(), include_raw);
    }

    #[test]
    fn requests_push_only_set_filters_and_cap_the_page(
        user in opt_text(), app in opt_text(), key in opt_text(), ip in opt_text(),
        start in proptest::option::of(0i64..10_000), end in proptest::option::of(0i64..10_000),
        time in any::<bool>(), page in 1u64..1000, size in 1u64..5000,
    ) {
        let mut attrs = std::collections::BTreeMap::new();
        for (name, value) in [("applicationId", app), ("key", key), ("ip", ip)] {
            if let Some(v) = value { attrs.insert(name.to_string(), v); }
        }
        let filters = Filters { user_id: user, attrs, start, end, ..Filters::default() };
        let pushed = pushed_names(&filters, time);
        let names = filters.names();
        prop_assert!(pushed.iter().all(|p| names.contains(p)));
        prop_assert!(!pushed.iter().any(|p| p == "attr.ip"));
        prop_assert_eq!(pushed.iter().any(|p| p == "start"), time && start.is_some());
        let params = filter_params(&filters);
        prop_assert!(params.iter().all(|(_, v)| !v.is_empty()));
        let query = NativeQuery { filters: params.clone(), start_time: start, end_time: end };
        let pairs = query.pairs(page, size);
        let sent_size: u64 = pairs.last().unwrap().1.parse().unwrap();
        prop_assert!(sent_size <= 100 && sent_size == size.min(100));
        prop_assert_eq!(pairs.len(), params.len() + 2 + usize::from(start.is_some()) + usize::from(end.is_some()));
        if let (Some(s), Some(e)) = (start, end) {
            prop_assert!(!query.outside_window(s.max(e.min(s))) || s > e);
        }
    }
}
