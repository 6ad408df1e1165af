//! Reading and writing what travels on the wire, shared by every adapter
//! (spec §10): `null` lists, byte-order marks, and query strings encoded
//! per RFC 3986.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;
use url::Url;

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`)
/// is percent-encoded in a query name or value: a space is `%20`, never
/// `+` (which an upstream that decodes strictly reads as a plus sign), and
/// `&`, `=`, `+`, `#` and `%` cannot end or corrupt a value.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A JSON value read as [`Value`] would read it (every string's escapes
/// decoded, numbers parsed, the parser's recursion limit applied) without
/// building it: `serde_json::from_str::<ValueChecked>(text)` fails where
/// `from_str::<Value>(text)` would. Lazy mapping ([`crate::lazy`]) checks
/// an entry's fields with it when reading and builds them only for the
/// records emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueChecked;

impl<'de> Deserialize<'de> for ValueChecked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> serde::de::Visitor<'de> for CheckVisitor {
    type Value = ValueChecked;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_str<E>(self, _: &str) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_unit<E>(self) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_none<E>(self) -> Result<ValueChecked, E> {
        Ok(ValueChecked)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<ValueChecked, D::Error> {
        ValueChecked::deserialize(d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<ValueChecked, A::Error> {
        while seq.next_element::<ValueChecked>()?.is_some() {}
        Ok(ValueChecked)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ValueChecked, A::Error> {
        while map.next_key::<ValueChecked>()?.is_some() {
            map.next_value::<ValueChecked>()?;
        }
        Ok(ValueChecked)
    }
}

/// `value` encoded as one query component (RFC 3986 §2, UTF-8 octets).
pub fn encode_query_component(value: &str) -> String {
    utf8_percent_encode(value, QUERY_COMPONENT).to_string()
}

/// `url` with `pairs` appended to its query as `name=value`, both sides
/// encoded by [`encode_query_component`]. A query the URL already has
/// (from the configured `base_url`) is kept in front.
pub fn with_query<K, V>(mut url: Url, pairs: impl IntoIterator<Item = (K, V)>) -> Url
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut query = url.query().unwrap_or_default().to_string();
    for (name, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&encode_query_component(name.as_ref()));
        query.push('=');
        query.push_str(&encode_query_component(value.as_ref()));
    }
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    url
}

/// `body` without a leading UTF-8 byte-order mark.
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Serde `deserialize_with` for a list field an upstream may send as
/// `null`: `null` is the empty list (spec §10). A missing field still
/// fails unless the field also has `#[serde(default)]`.
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// The string a borrowed JSON value is: borrowed when it has no escapes,
/// `None` when it is not a string (issue 13: typed decoding reads fields
/// as [`RawValue`]s and turns only those it maps into text).
pub fn raw_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    json_str(raw.get())
}

/// [`raw_str`] of a JSON value's text already known to be valid JSON (a
/// field read as a [`RawValue`] and kept as its `&str`): the string it is,
/// borrowed when it has no escapes, `None` when it is not a string.
pub fn json_str(text: &str) -> Option<Cow<'_, str>> {
    if !text.starts_with('"') {
        return None;
    }
    // Valid JSON without a backslash has no escape to undo.
    if text.len() >= 2 && text.ends_with('"') && !text.as_bytes().contains(&b'\\') {
        return Some(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    match serde_json::from_str::<&str>(text) {
        Ok(borrowed) => Some(Cow::Borrowed(borrowed)),
        Err(_) => serde_json::from_str::<String>(text).ok().map(Cow::Owned),
    }
}

/// A borrowed JSON value as a [`Value`] when it is a string, number or
/// boolean (numbers keep their upstream text, spec §10); `None` for
/// `null`, objects and arrays.
pub fn raw_scalar(raw: &RawValue) -> Option<Value> {
    match raw.get().as_bytes().first()? {
        b'"' => raw_str(raw).map(|text| Value::String(text.into_owned())),
        b't' | b'f' | b'-' | b'0'..=b'9' => serde_json::from_str(raw.get()).ok(),
        _ => None,
    }
}

/// The items of a body that is a JSON array, or none for `null` (spec
/// §10), each as its raw text borrowed from the body; `None` when the body
/// is anything else.
pub fn raw_items(body: &RawValue) -> Option<Vec<&RawValue>> {
    match body.get().as_bytes().first()? {
        b'n' => Some(Vec::new()),
        b'[' => serde_json::from_str(body.get()).ok(),
        _ => None,
    }
}

/// Deserialises an object field read as a [`RawValue`] into `T` when it
/// is an object, `T::default()` when it is absent or of another type (as
/// a path lookup on a `Value` would find nothing there). `Err` when the
/// object does not fit `T` (a field repeated, say): the caller then falls
/// back to reading the whole entry as a `Value`.
pub fn raw_object<'a, T>(raw: Option<&'a RawValue>) -> Result<T, serde_json::Error>
where
    T: Deserialize<'a> + Default,
{
    match raw {
        Some(raw) if raw.get().starts_with('{') => serde_json::from_str(raw.get()),
        _ => Ok(T::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Issue 11, item 11: `5 EUR` went upstream as `5+EUR`.
    #[test]
    fn query_values_are_encoded_per_rfc_3986() {
        let url = Url::parse("http://127.0.0.1:1/logs").unwrap();
        let url = with_query(url, [("search", "5 EUR"), ("q", "a+b&c=d#e%f/ü~._-")]);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:1/logs?search=5%20EUR&q=a%2Bb%26c%3Dd%23e%25f%2F%C3%BC~._-"
        );
        let decoded: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(decoded[1].1, "a+b&c=d#e%f/ü~._-");
    }

    #[test]
    fn a_configured_query_is_kept_and_no_pairs_add_nothing() {
        let url = Url::parse("http://h/logs?tenant=a%20b").unwrap();
        let url = with_query(url, [("limit", "10")]);
        assert_eq!(url.query(), Some("tenant=a%20b&limit=10"));
        let bare = with_query(
            Url::parse("http://h/logs").unwrap(),
            Vec::<(&str, &str)>::new(),
        );
        assert_eq!(bare.as_str(), "http://h/logs");
    }

    #[test]
    fn a_byte_order_mark_is_packaging() {
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
        assert_eq!(strip_bom(b"{}"), b"{}");
    }

    #[derive(Debug, serde::Deserialize)]
    struct Page {
        #[serde(deserialize_with = "null_as_empty")]
        logs: Vec<Value>,
    }

    #[test]
    fn raw_fields_read_as_text_and_scalars() {
        let raw = |text: &str| RawValue::from_string(text.to_string()).unwrap();
        assert!(matches!(
            raw_str(&raw(r#""abc""#)),
            Some(Cow::Borrowed("abc"))
        ));
        assert_eq!(raw_str(&raw(r#""a\u00e9""#)).as_deref(), Some("aé"));
        assert_eq!(raw_str(&raw("12")), None);
        assert_eq!(raw_scalar(&raw("1.50")).unwrap().to_string(), "1.50");
        assert_eq!(raw_scalar(&raw("true")), Some(Value::Bool(true)));
        assert_eq!(raw_scalar(&raw(r#""x""#)), Some(Value::from("x")));
        for not_scalar in ["null", "{}", "[1]"] {
            assert_eq!(raw_scalar(&raw(not_scalar)), None);
        }
        let items = raw(r#"[{"a": 1}, 2]"#);
        let items: Vec<&str> = raw_items(&items).unwrap().iter().map(|i| i.get()).collect();
        assert_eq!(items, [r#"{"a": 1}"#, "2"]);
        assert_eq!(raw_items(&raw("null")).unwrap().len(), 0);
        assert!(raw_items(&raw(r#"{"logs": []}"#)).is_none());
    }

    #[test]
    fn a_null_list_is_empty_and_a_missing_one_still_fails() {
        let page: Page = serde_json::from_str(r#"{"logs":null}"#).unwrap();
        assert!(page.logs.is_empty());
        let page: Page = serde_json::from_str(r#"{"logs":[1]}"#).unwrap();
        assert_eq!(page.logs.len(), 1);
        assert!(serde_json::from_str::<Page>(r#"{}"#).is_err());
        assert!(serde_json::from_str::<Page>(r#"{"logs":{}}"#).is_err());
    }

    /// `ValueChecked` refuses exactly what a `Value` refuses, over text
    /// that is valid as a borrowed `RawValue` (how an answer's fields
    /// arrive): a lone surrogate escape, nesting past the recursion limit.
    #[test]
    fn value_checked_fails_where_value_fails() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let cases = [
            r#"{"a":[1,2.5,-3e400,{"b":null}],"c":"x\u00e9"}"#.to_string(),
            r#""\ud800""#.to_string(),
            r#"{"\udc00":1}"#.to_string(),
            r#"["ok", "\ud83d\ude00"]"#.to_string(),
            "123456789012345678901234567890".to_string(),
            "true".to_string(),
            deep,
        ];
        for text in &cases {
            let value = serde_json::from_str::<Value>(text).is_ok();
            let checked = serde_json::from_str::<ValueChecked>(text).is_ok();
            assert_eq!(checked, value, "{text}");
        }
        assert!(serde_json::from_str::<ValueChecked>(r#""\ud800""#).is_err());
    }
}
