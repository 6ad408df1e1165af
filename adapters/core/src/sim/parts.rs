//! The steps of [`Simulator`](super::Simulator) methods that every
//! provider's simulator takes alike: a planted record's fresh native id and
//! nested attribute (`planted`), the times of a list answer
//! (`answer_times`).

use serde_json::{Map, Value};

/// Sets `raw[object][key]` to `value`, making `raw[object]` an empty
/// object first when it is absent or not an object.
pub fn set_nested(raw: &mut Value, object: &str, key: &str, value: impl Into<Value>) {
    if !raw.get(object).is_some_and(Value::is_object) {
        raw[object] = Value::Object(Map::new());
    }
    raw[object][key] = value.into();
}

/// A MongoDB ObjectId's form (24 lowercase hex digits) no generator makes,
/// unique for `n`: the native id of planted record `n` of a provider
/// whose ids are ObjectIds.
pub fn planted_object_id(n: usize) -> Value {
    Value::from(format!("{:024x}", 0xfeed_0000_0000u64 + n as u64))
}

/// The time of every record of the JSON array at `pointer` in `body` (a
/// JSON pointer; `""`: the body is the array), each read by `time`
/// (records without one left out); `None` when there is no array there.
/// What a provider's [`Simulator::answer_times`](super::Simulator::answer_times)
/// returns.
pub fn answer_times_at(
    body: &Value,
    pointer: &str,
    time: impl Fn(&Value) -> Option<i64>,
) -> Option<Vec<i64>> {
    let records = body.pointer(pointer)?.as_array()?;
    Some(records.iter().filter_map(time).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_nested_replaces_a_non_object_and_keeps_an_object() {
        let mut raw = json!({"data": "text", "meta": {"a": 1}});
        set_nested(&mut raw, "data", "k", "v");
        set_nested(&mut raw, "meta", "b", 2);
        set_nested(&mut raw, "new", "c", true);
        assert_eq!(
            raw,
            json!({"data": {"k": "v"}, "meta": {"a": 1, "b": 2}, "new": {"c": true}})
        );
    }

    #[test]
    fn answer_times_read_the_list_at_the_pointer() {
        let time = |r: &Value| r.get("t")?.as_i64();
        let body = json!({"data": {"logs": [{"t": 1}, {"x": 0}, {"t": 3}]}});
        assert_eq!(answer_times_at(&body, "/data/logs", time), Some(vec![1, 3]));
        assert_eq!(answer_times_at(&json!([{"t": 2}]), "", time), Some(vec![2]));
        assert_eq!(answer_times_at(&json!({"error": "x"}), "", time), None);
        assert_eq!(answer_times_at(&body, "/data/none", time), None);
    }

    #[test]
    fn planted_object_ids_are_object_ids_and_distinct() {
        let (a, b) = (planted_object_id(0), planted_object_id(1));
        assert_ne!(a, b);
        let a = a.as_str().unwrap();
        assert_eq!(a.len(), 24);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
